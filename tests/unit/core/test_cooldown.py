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

import pytest

from tests.unit import builders as b
from watcher_informed.core import checks
from watcher_informed.core import cooldown
from watcher_informed.core import params
from watcher_informed.core import pipeline
from watcher_informed.core import plan as plan_mod
from watcher_informed.core import snapshot as snap

P = params.Params(cooldown=600, cooldown_cap=3000,
                  history_window=86400)


@pytest.mark.parametrize('count, rest', [(0, 0), (1, 600), (2, 1200),
                                         (3, 2400), (4, 3000), (9, 3000)])
def test_rest_doubles_and_is_capped(count, rest):
    assert cooldown.rest_needed(count, 600.0, 3000.0) == rest


def history(*ages, uuid='x', now=100000.0):
    return tuple(snap.RecentMove(uuid, 'S%d' % i, 'D%d' % i, now - age)
                 for i, age in enumerate(ages))


@pytest.mark.parametrize('ages, resting', [
    ((), False),
    ((500,), True),          # 1 move, rest 600 s
    ((700,), False),
    ((700, 5000), True),     # 2 moves, rest 1200 s
    ((700, 90000), False),   # the old one is outside the window
])
def test_resting(ages, resting):
    reason = cooldown.resting_reason('x', history(*ages), 100000.0, P)
    assert (reason is not None) is resting


def test_undo_is_refused_within_the_window():
    moves = history(7000)
    assert 'would undo' in cooldown.undo_reason('x', 'S0', moves, 100000.0,
                                                P)
    assert cooldown.undo_reason('x', 'D0', moves, 100000.0, P) is None
    assert cooldown.undo_reason('y', 'S0', moves, 100000.0, P) is None


def hot_cluster(recent=(), now=100000.0):
    vms = [b.vm('v%d' % i, 'A') for i in range(4)]
    usages = {v.uuid: b.usage('cpu', cpu=1.0) for v in vms}
    snapshot = b.cluster([b.host('A'), b.host('B'), b.host('C')], vms,
                         usages)
    return snap.Snapshot(snapshot.hosts, snapshot.instances, snapshot.usage,
                         recent_moves=tuple(recent), now=now)


def test_pipeline_respects_cooldown_and_never_undoes():
    baseline = pipeline.build_plan(hot_cluster(), P)
    first = baseline.moves[0]
    # the same VM just arrived on A from B: it rests, another VM moves
    resting = pipeline.build_plan(hot_cluster(
        [snap.RecentMove(first.uuid, 'B', 'A', 100000.0 - 60)]), P)
    assert first.uuid not in {m.uuid for m in resting.moves}
    assert 'cooling down' in resting.not_moved[first.uuid]
    # long rested, but B is where it came from: it may move, not to B
    undo = pipeline.build_plan(hot_cluster(
        [snap.RecentMove(first.uuid, first.dest, 'A', 100000.0 - 7000)]), P)
    for m in undo.moves:
        assert not (m.uuid == first.uuid and m.dest == first.dest)


def test_checker_catches_ping_pong():
    recent = [snap.RecentMove('v0', 'B', 'A', 100000.0 - 60)]
    snapshot = hot_cluster(recent)
    move = plan_mod.PlannedMove(1, 'v0', 'v0', 'cpu', 'A', 'B', (), 'A/out0',
                                0.0, 1.0, 0.01, 10.0, True, '')
    plan = plan_mod.Plan((move,), {}, (), {}, {}, {}, (), 4)
    found = checks.violations(snapshot, plan, P)
    assert any('cooling down' in v for v in found)
