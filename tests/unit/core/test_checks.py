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

"""Each checker catches its rule on hand-made plans (BtrPlace style)."""

import pytest

from tests.unit import builders as b
from watcher_informed.core import checks
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap

P = params.Params(max_concurrent_in=4)


mv = b.mv
plan_of = b.plan_of


def found(snapshot, plan, p=P):
    return checks.violations(snapshot, plan, p)


# B holds 7 of 8 vCPUs; 'x' (2) may only enter once 'o' (7) left.
HOSTS = [b.host('A'), b.host('B', vcpus=8), b.host('C')]
VMS = [b.vm('x', 'A'), b.vm('y', 'A'), b.vm('o', 'B', vcpus=7)]


@pytest.mark.parametrize('moves, fragment', [
    ((mv(1, 'o', 'B', 'C'), mv(2, 'x', 'A', 'B', ['o']),
      mv(3, 'y', 'A', 'B', ['o', 'x'])), None),
    # y is ordered after o through x
    ((mv(1, 'o', 'B', 'C'), mv(2, 'x', 'A', 'B', ['o']),
      mv(3, 'y', 'A', 'B', ['x'])), None),
    ((mv(1, 'o', 'B', 'C'), mv(2, 'x', 'A', 'B'),
      mv(3, 'y', 'A', 'B', ['o'])), 'overcommitted'),
    ((mv(1, 'x', 'A', 'B'),), 'overcommitted'),
])
def test_capacity_in_every_reachable_state(moves, fragment):
    snapshot = b.cluster(HOSTS, VMS)
    result = [v for v in found(snapshot, plan_of(*moves))
              if 'at once' not in v]
    if fragment is None:
        assert result == []
    else:
        assert any(fragment in v for v in result), result


def test_transitive_ancestor_counts():
    # x waits for z which waits for o: o completed before x starts
    vms = VMS + [b.vm('z', 'C')]
    snapshot = b.cluster(HOSTS[:2] + [b.host('C', vcpus=16)], vms)
    plan = plan_of(mv(1, 'o', 'B', 'C'), mv(2, 'z', 'C', 'A', ['o']),
                   mv(3, 'x', 'A', 'B', ['z']))
    assert found(snapshot, plan) == []


@pytest.mark.parametrize('inst, fragment', [
    (b.vm('x', 'A', excluded=True), 'watcher_exclude'),
    (b.vm('x', 'A', locked=True), 'locked'),
    (b.vm('x', 'A', state='paused'), 'paused'),
])
def test_immovable_instances(inst, fragment):
    snapshot = b.cluster(HOSTS, [inst])
    assert any(fragment in v for v in found(snapshot, plan_of(
        mv(1, 'x', 'A', 'C'))))


@pytest.mark.parametrize('hosts, dest, fragment', [
    ([b.host('A'), b.host('C', up=False)], 'C', 'down'),
    ([b.host('A'), b.host('C', enabled=False)], 'C', 'disabled'),
    ([b.host('A'), b.host('C')], 'A', 'is the source'),
    ([b.host('A'), b.host('C')], 'Z', 'unknown host'),
])
def test_destinations(hosts, dest, fragment):
    snapshot = b.cluster(hosts, [b.vm('x', 'A')])
    assert any(fragment in v for v in found(snapshot, plan_of(
        mv(1, 'x', 'A', dest))))


def test_moves_once_and_from_current_host():
    snapshot = b.cluster(HOSTS, VMS)
    result = found(snapshot, plan_of(mv(1, 'x', 'A', 'C'),
                                     mv(2, 'x', 'C', 'B', ['x'])))
    assert any('moves 2 times' in v for v in result)
    assert any('source C but it is on A' in v for v in result)


def test_dag_parents_must_be_earlier():
    snapshot = b.cluster(HOSTS, VMS)
    result = found(snapshot, plan_of(mv(1, 'x', 'A', 'C', ['y']),
                                     mv(2, 'y', 'A', 'C')))
    assert any('not earlier' in v for v in result)


@pytest.mark.parametrize('parents_y, bad', [((), True), (('x',), False)])
def test_anti_affinity_reachable_states(parents_y, bad):
    # x leaves A for C; y comes to A: only safe once x has left A
    group = snap.ServerGroup('g', snap.ANTI_AFFINITY, ('x', 'y'))
    snapshot = b.cluster(HOSTS, [b.vm('x', 'A'), b.vm('y', 'B')],
                         groups=[group])
    plan = plan_of(mv(1, 'x', 'A', 'C'),
                   mv(2, 'y', 'B', 'A', parents_y))
    result = [v for v in found(snapshot, plan) if 'anti-affinity' in v]
    assert bool(result) == bad


def test_affinity_member_must_not_move():
    group = snap.ServerGroup('g', snap.AFFINITY, ('x', 'y'))
    snapshot = b.cluster(HOSTS, VMS, groups=[group])
    result = found(snapshot, plan_of(mv(1, 'x', 'A', 'C')))
    assert any('affinity group' in v for v in result)


@pytest.mark.parametrize('limit, chained, bad', [
    (1, False, True), (1, True, False), (2, False, False)])
def test_outgoing_concurrency(limit, chained, bad):
    p = params.Params(max_concurrent_out=limit, max_concurrent_in=4)
    snapshot = b.cluster(HOSTS, VMS)
    plan = plan_of(mv(1, 'x', 'A', 'C'),
                   mv(2, 'y', 'A', 'C', ['x'] if chained else []))
    result = [v for v in found(snapshot, plan, p) if 'at once' in v]
    assert bool(result) == bad


def test_max_migrations():
    snapshot = b.cluster(HOSTS, VMS)
    p = params.Params(max_migrations=1, max_concurrent_out=2,
                      max_concurrent_in=2)
    result = found(snapshot, plan_of(mv(1, 'x', 'A', 'C'),
                                     mv(2, 'y', 'A', 'C')), p)
    assert any('max_migrations' in v for v in result)


def test_verify_raises_with_every_violation():
    snapshot = b.cluster(HOSTS, [b.vm('x', 'A', locked=True)])
    with pytest.raises(checks.PlanViolation) as err:
        checks.verify(snapshot, plan_of(mv(1, 'x', 'A', 'A')), P)
    assert len(err.value.violations) >= 2


@pytest.mark.parametrize('parents, bad', [((), True), (('o',), False)])
def test_host_over_capacity_may_shed_then_receive(parents, bad):
    hosts = [b.host('A'), b.host('B', vcpus=8), b.host('C')]
    vms = [b.vm('x', 'A'), b.vm('o', 'B', vcpus=7), b.vm('p', 'B')]
    snapshot = b.cluster(hosts, vms)   # B starts at 9 of 8 vCPUs
    plan = plan_of(mv(1, 'o', 'B', 'C'), mv(2, 'x', 'A', 'B', parents))
    result = [v for v in found(snapshot, plan) if 'overcommitted' in v]
    assert bool(result) == bad


def test_shedding_an_overcommitted_host_is_not_a_violation():
    hosts = [b.host('B', vcpus=8), b.host('C')]
    vms = [b.vm('o', 'B', vcpus=7), b.vm('p', 'B')]
    plan = plan_of(mv(1, 'o', 'B', 'C'))
    assert found(b.cluster(hosts, vms), plan) == []


def test_unknown_instance_is_reported_not_crashed_on():
    snapshot = b.cluster(HOSTS, VMS)
    plan = plan_of(mv(1, 'ghost', 'A', 'B'), mv(2, 'x', 'A', 'B', ['ghost']))
    result = found(snapshot, plan)
    assert any('ghost is not in the snapshot' in v for v in result)
