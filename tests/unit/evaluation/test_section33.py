# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Section 3.3's scenarios: all eight VMs leave, in the paper's order."""

import dataclasses

import pytest

from watcher_informed.core import checks
from watcher_informed.core import pipeline
from watcher_informed.evaluation import section33

NAMES = section33.KINDS + ('mixed',)


@pytest.mark.parametrize('name', NAMES)
def test_default_parameters_move_all_eight_in_the_papers_order(name):
    sc = section33.scenario(name)
    p = section33.params()
    plan = pipeline.build_plan(sc.snapshot, p)
    assert checks.violations(sc.snapshot, plan, p) == []
    # every VM leaves A, A is relieved
    assert sorted(m.uuid for m in plan.moves) == sorted(sc.classes)
    assert {m.source for m in plan.moves} == {'A'}
    assert plan.still_overloaded == ()
    # the planner sees each VM's real class ...
    classes = {u: plan.profiles[u].cls for u in sc.classes}
    assert classes == dict(sc.classes)
    # ... and orders by section 3.4's rule, one after the other
    assert section33.order_breaks(plan, classes) == []
    ordered = sorted(plan.moves, key=lambda m: m.start_s)
    for a, b in zip(ordered, ordered[1:]):
        assert a.end_s <= b.start_s + 1e-9


def _reordered(plan, order):
    """``plan`` with its moves' start times following ``order``."""
    by_uuid = {m.uuid: m for m in plan.moves}
    moves = []
    for k, uuid in enumerate(order):
        moves.append(dataclasses.replace(by_uuid[uuid], start_s=float(k),
                                         end_s=float(k) + 1.0))
    return dataclasses.replace(plan, moves=tuple(moves))


@pytest.mark.parametrize('name, broken', [
    # the workload VM moved to the other end of the sequence
    ('memory', 'leaves before vm4-memory'),
    ('web', 'leaves before vm4-web'),
    ('net_rx', 'vm4-net_rx (net_rx) leaves before'),
])
def test_order_rules_catch_the_papers_bad_positions(name, broken):
    sc = section33.scenario(name)
    plan = pipeline.build_plan(sc.snapshot, section33.params())
    order = [m.uuid for m in sorted(plan.moves, key=lambda m: m.start_s)]
    found = section33.order_breaks(_reordered(plan, order[::-1]),
                                   sc.classes)
    assert any(broken in f for f in found), found


def test_shortest_job_first_is_checked():
    sc = section33.scenario('cpu')
    plan = pipeline.build_plan(sc.snapshot, section33.params())
    slow = max(plan.moves, key=lambda m: (m.time_s, m.uuid))
    moves = [dataclasses.replace(m, start_s=-1.0) if m is slow else m
             for m in plan.moves]
    found = section33.order_breaks(
        dataclasses.replace(plan, moves=tuple(moves)), sc.classes)
    assert any('leaves before the shorter' in f for f in found), found


def test_unknown_scenario_is_refused():
    with pytest.raises(ValueError, match='unknown section 3.3'):
        section33.scenario('nope')
