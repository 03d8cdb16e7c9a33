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
from watcher_informed.core import sequence
from watcher_informed.core import snapshot as snap


def move(uuid, src, dst, cls='cpu', t=1.0, vcpus=2):
    return sequence.Move(uuid, src, dst, cls, t,
                         snap.Resources(vcpus, 2048, 10))


def roomy(*names):
    return [b.host(n, vcpus=64, ram_mb=65536) for n in names]


@pytest.mark.parametrize('moves, expected', [
    # memory-dirtying and web first, net_rx last, others SJF (3.4)
    ([move('a', 'A', 'B', 'net_rx', 1), move('b', 'A', 'B', 'cpu', 5),
      move('c', 'A', 'B', 'memory', 9), move('d', 'A', 'B', 'disk_io', 2),
      move('e', 'A', 'B', 'web', 3)],
     ['e', 'c', 'd', 'b', 'a']),
    # SJF among cpu and disk-io, uuid breaks ties
    ([move('z', 'A', 'B', 'cpu', 2), move('y', 'A', 'B', 'disk_io', 2),
      move('x', 'A', 'B', 'cpu', 1)], ['x', 'y', 'z']),
])
def test_paper_order(moves, expected):
    vms = [b.vm(m.uuid, m.source) for m in moves]
    snapshot = b.cluster(roomy('A', 'B'), vms)
    ordering = sequence.order_moves(snapshot, moves)
    assert [m.uuid for m in ordering.order] == expected
    assert all(ordering.deps[m.uuid] == () for m in moves)


def test_move_waits_for_the_room_it_needs():
    # B is full (8 vCPU used by 'out'); 'in' can only land once 'out' left
    hosts = [b.host('A'), b.host('B', vcpus=8), b.host('C')]
    vms = [b.vm('in', 'A', vcpus=4), b.vm('out', 'B', vcpus=8)]
    moves = [move('in', 'A', 'B', 'memory', vcpus=4),
             move('out', 'B', 'C', 'net_rx', vcpus=8)]
    ordering = sequence.order_moves(b.cluster(hosts, vms), moves)
    assert [m.uuid for m in ordering.order] == ['out', 'in']
    assert ordering.deps['in'] == ('out',)
    assert not ordering.dropped


@pytest.mark.parametrize('room_fits_c, order, dropped', [
    # 'out' makes room on B for 'in' (its load, not its vCPUs): 'in'
    # waits for it although B's capacity would not make it wait
    (True, ['out', 'in'], {}),
    # 'out' is dropped (C has no room for it): 'in' is dropped with it
    (False, [], {'out': 'cycle', 'in': 'which makes its room'}),
])
def test_move_waits_for_its_room_moves(room_fits_c, order, dropped):
    hosts = [b.host('A'), b.host('B', vcpus=64),
             b.host('C', vcpus=16 if room_fits_c else 4)]
    vms = [b.vm('in', 'A', vcpus=4), b.vm('out', 'B', vcpus=8),
           b.vm('c', 'C', vcpus=4)]
    moves = [move('in', 'A', 'B', 'memory', vcpus=4),
             move('out', 'B', 'C', 'net_rx', vcpus=8)]
    ordering = sequence.order_moves(b.cluster(hosts, vms), moves,
                                    after={'in': ('out',)})
    assert [m.uuid for m in ordering.order] == order
    assert set(ordering.dropped) == set(dropped)
    for uuid, fragment in dropped.items():
        assert fragment in ordering.dropped[uuid]
    if order:
        assert ordering.deps['in'] == ('out',)


@pytest.mark.parametrize('net_in, waits', [
    # B starts at net 0.617 (above its 0.6 target, under its 0.8
    # threshold); 'in' adds 0.05, 'out' takes 0.08 away (B ends at 0.587)
    (5.0, True),
    # 'in' adds no network: B never goes above where it starts
    (0.0, False),
])
def test_move_waits_for_the_target_room_it_needs(net_in, waits):
    from watcher_informed.core import params
    p = params.Params(net_threshold=0.8, target_margin=0.2,
                      host_network_capacity=100.0)
    hosts = [b.host('A'), b.host('B', vcpus=64, ram_mb=65536),
             b.host('C', vcpus=64, ram_mb=65536)]
    vms = [b.vm('in', 'A'), b.vm('out', 'B'), b.vm('stay', 'B'),
           b.vm('c', 'C')]
    usage = {'in': b.usage('net_rx', net_rx=net_in, net_tx=0.0),
             'out': b.usage('net_rx', net_rx=8.0, net_tx=0.0),
             'stay': b.usage('net_rx', net_rx=53.68, net_tx=0.0)}
    snapshot = b.cluster(hosts, vms, usage)
    # 'in' ranks first (memory), so only the bound makes it wait
    moves = [move('in', 'A', 'B', 'memory'), move('out', 'B', 'C')]
    bounds = sequence.target_bounds(snapshot, p, moves)
    assert bounds.hosts['B'][0][3] == pytest.approx(0.6168)
    ordering = sequence.order_moves(snapshot, moves, bounds=bounds)
    assert not ordering.dropped
    assert ('out' in ordering.deps['in']) is waits
    # without the bounds only capacity counts, and B has room
    assert sequence.order_moves(snapshot, moves).deps['in'] == ()


def test_swap_cycle_is_broken_by_dropping():
    hosts = [b.host('A', vcpus=2), b.host('B', vcpus=2)]
    vms = [b.vm('a', 'A'), b.vm('b', 'B')]
    moves = [move('a', 'A', 'B'), move('b', 'B', 'A')]
    ordering = sequence.order_moves(b.cluster(hosts, vms), moves)
    assert set(ordering.dropped) == {'a', 'b'}
    assert ordering.order == ()


def test_three_cycle_with_spare_room_is_not_dropped():
    hosts = [b.host('A', vcpus=2), b.host('B', vcpus=2),
             b.host('C', vcpus=4)]
    vms = [b.vm('a', 'A'), b.vm('b', 'B'), b.vm('c', 'C')]
    moves = [move('a', 'A', 'B'), move('b', 'B', 'C'), move('c', 'C', 'A')]
    ordering = sequence.order_moves(b.cluster(hosts, vms), moves)
    assert not ordering.dropped
    # b frees B for a, a frees A for c: the only safe order
    assert [m.uuid for m in ordering.order] == ['b', 'a', 'c']
    assert ordering.deps['a'] == ('b',)
    assert 'a' in ordering.deps['c']


def test_anti_affinity_mate_must_leave_first():
    hosts = roomy('A', 'B', 'C')
    vms = [b.vm('x', 'A'), b.vm('y', 'B')]
    group = snap.ServerGroup('g', snap.ANTI_AFFINITY, ('x', 'y'))
    moves = [move('x', 'A', 'B', 'memory'), move('y', 'B', 'C', 'net_rx')]
    ordering = sequence.order_moves(
        b.cluster(hosts, vms, groups=[group]), moves)
    assert [m.uuid for m in ordering.order] == ['y', 'x']
    assert 'y' in ordering.deps['x']
