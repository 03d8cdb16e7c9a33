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
from watcher_informed.core import classify
from watcher_informed.core import overload
from watcher_informed.core import params
from watcher_informed.core import place
from watcher_informed.core import snapshot as snap

P = params.Params()


def run(snapshot, selected, p=P):
    profiles = classify.classify(snapshot, p)
    return place.choose_destinations(selected, snapshot, profiles, p,
                                     overload.demands(snapshot))


def dest(snapshot, uuid, p=P):
    placed, unplaced = run(snapshot, [uuid], p)
    return placed[uuid].host if uuid in placed else unplaced[uuid]


@pytest.mark.parametrize('mover, resident_b, resident_c, expected', [
    # a disk-io VM avoids a disk-io neighbour (section 3.2, Fig. 3)
    ('disk_io', 'disk_io', 'cpu', 'C'),
    ('disk_io', 'cpu', 'disk_io', 'B'),
    # two cache-polluting CPU workloads are kept apart (Table 2)
    ('cpu', 'cpu', 'disk_io', 'C'),
    ('cpu', 'disk_io', 'cpu', 'B'),
    # classes without a penalty: lighter host wins on headroom, then name
    ('idle', 'idle', 'idle', 'B'),
])
def test_interference_matrix(mover, resident_b, resident_c, expected):
    vms = [b.vm('m', 'A'), b.vm('rb', 'B'), b.vm('rc', 'C')]
    snapshot = b.cluster(
        [b.host('A'), b.host('B'), b.host('C')], vms,
        {'m': b.usage(mover), 'rb': b.usage(resident_b),
         'rc': b.usage(resident_c)})
    assert dest(snapshot, 'm') == expected


def test_override_can_flip_the_choice():
    vms = [b.vm('m', 'A'), b.vm('rb', 'B'), b.vm('rc', 'C')]
    snapshot = b.cluster(
        [b.host('A'), b.host('B'), b.host('C')], vms,
        {'m': b.usage('cpu'), 'rb': b.usage('cpu'),
         'rc': b.usage('disk_io')})
    p = P.with_interference({'cpu+disk_io': 1.0, 'cpu+cpu': 0.0})
    assert dest(snapshot, 'm', p) == 'B'


def test_talkers_go_together():
    vms = [b.vm('m', 'A'), b.vm('peer', 'C'), b.vm('other', 'B')]
    snapshot = b.cluster([b.host('A'), b.host('B'), b.host('C')], vms,
                         comm=[('m', 'peer')])
    assert dest(snapshot, 'm') == 'C'


@pytest.mark.parametrize('policy, expected', [
    (snap.SOFT_AFFINITY, 'C'),
    (snap.SOFT_ANTI_AFFINITY, 'B'),
])
def test_soft_policies_are_scores(policy, expected):
    vms = [b.vm('m', 'A'), b.vm('mate', 'C')]
    group = snap.ServerGroup('g', policy, ('m', 'mate'))
    snapshot = b.cluster([b.host('A'), b.host('B'), b.host('C')], vms,
                         groups=[group])
    assert dest(snapshot, 'm') == expected


@pytest.mark.parametrize('hosts, vms, groups, reason', [
    ([b.host('A'), b.host('B', up=False)], [], [], 'down'),
    ([b.host('A'), b.host('B', enabled=False)], [], [], 'disabled'),
    ([b.host('A'), b.host('B', vcpus=1)], [], [], 'allocatable'),
    ([b.host('A'), b.host('B', ram_mb=4096, ram_reserved_mb=3000)], [], [],
     'allocatable'),
    ([b.host('A'), b.host('B')], [b.vm('mate', 'B')],
     [snap.ServerGroup('g', snap.ANTI_AFFINITY, ('m', 'mate'))],
     'anti-affinity'),
    ([b.host('A'), b.host('B', az='az2')], [], [], 'availability zone'),
])
def test_hard_rules(hosts, vms, groups, reason):
    mover = b.vm('m', 'A', pinned_az='az1' if reason.startswith(
        'availability') else None)
    snapshot = b.cluster(hosts, [mover] + vms, groups=groups)
    result = dest(snapshot, 'm')
    assert result.startswith('no destination') and reason in result


def test_allocation_ratio_makes_room():
    hosts = [b.host('A'), b.host('B', vcpus=1, vcpu_ratio=4.0)]
    snapshot = b.cluster(hosts, [b.vm('m', 'A')])
    assert dest(snapshot, 'm') == 'B'


def test_destination_stays_under_target_load():
    hosts = [b.host('A'), b.host('B')]
    vms = [b.vm('m', 'A'), b.vm('busy', 'B', vcpus=4)]
    snapshot = b.cluster(hosts, vms, {'m': b.usage('idle', cpu=1.0),
                                      'busy': b.usage('idle', cpu=1.0)})
    # B at 0.5 + 0.25 = 0.75 > target 0.7
    assert 'target load' in dest(snapshot, 'm')


def test_later_choices_see_earlier_ones():
    hosts = [b.host('A'), b.host('B', vcpus=2), b.host('C', vcpus=2)]
    vms = [b.vm('m1', 'A'), b.vm('m2', 'A')]
    snapshot = b.cluster(hosts, vms)
    placed, unplaced = run(snapshot, ['m1', 'm2'])
    assert {placed['m1'].host, placed['m2'].host} == {'B', 'C'}


@pytest.mark.parametrize('whole', [0, place.WHOLE])
def test_large_cluster_shortlist_still_finds_talkers_and_cool_hosts(
        whole, monkeypatch):
    # whole=0: the index is screened chunk by chunk (clusters above
    # place.WHOLE hosts); the default screens all hosts at once
    monkeypatch.setattr(place, 'WHOLE', whole)
    hosts = [b.host('A')] + [b.host('h%03d' % i) for i in range(250)]
    vms = [b.vm('m', 'A'), b.vm('peer', 'h200')]
    # every host but h007 carries some load; h200 (the peer's) a bit more
    usages = {'m': b.usage('idle', cpu=1.0)}
    for i in range(250):
        if i != 7:
            vms.append(b.vm('f%03d' % i, 'h%03d' % i))
            usages['f%03d' % i] = b.usage('idle', cpu=0.4)
    assert len(hosts) > place.EXHAUSTIVE_HOSTS
    alone = b.cluster(hosts, vms, usages)
    assert dest(alone, 'm') == 'h007'
    talking = b.cluster(hosts, vms, usages, comm=[('m', 'peer')])
    assert dest(talking, 'm') == 'h200'


def test_screening_all_hosts_at_once_places_as_chunk_by_chunk(monkeypatch):
    # 260 hosts with various loads; many movers: every placement (and the
    # index moved by each) must be the same with either screen
    hosts = [b.host('h%03d' % i) for i in range(260)]
    vms, usages = [], {}
    for i in range(260):
        for j in range(i % 4):
            u = 'r%03d-%d' % (i, j)
            vms.append(b.vm(u, 'h%03d' % i))
            usages[u] = b.usage('idle', cpu=0.1 + 0.2 * j)
    movers = ['r%03d-%d' % (i, j) for i in range(3, 260, 7)
              for j in range(i % 4)]
    snapshot = b.cluster(hosts, vms, usages)
    got = []
    for whole in (0, place.WHOLE):
        monkeypatch.setattr(place, 'WHOLE', whole)
        placed, unplaced = run(snapshot, movers)
        got.append(({u: d.host for u, d in placed.items()}, unplaced))
    assert len(got[0][0]) > 20
    assert got[0] == got[1]


@pytest.mark.parametrize('relief_spread, volatile, expected', [
    # planned loads are equal: the tie goes to the name
    (0.0, 'B', 'B'),
    (0.0, 'C', 'B'),
    # with relief_spread the steadier destination wins
    (1.0, 'B', 'C'),
    (1.0, 'C', 'B'),
    # whatever the weight
    (2.0, 'B', 'C'),
])
def test_relief_spread_prefers_the_steady_destination(relief_spread,
                                                      volatile, expected):
    import dataclasses

    from watcher_informed.core import demand
    vms = [b.vm('m', 'A'), b.vm('rb', 'B'), b.vm('rc', 'C')]
    snapshot = b.cluster(
        [b.host('A'), b.host('B'), b.host('C')], vms,
        {'m': b.usage('idle', cpu=0.5), 'rb': b.usage('idle', cpu=0.5),
         'rc': b.usage('idle', cpu=0.5)})
    resident = 'r' + volatile.lower()
    snapshot = dataclasses.replace(snapshot, forecast={
        resident: demand.Forecast({'cpu': 0.5}, {'cpu': 0.4})})
    p = dataclasses.replace(P, relief_spread=relief_spread)
    placed, _ = run(snapshot, ['m'], p)
    assert placed['m'].host == expected
    if relief_spread:
        assert 'at +%g spreads' % relief_spread in placed['m'].why
