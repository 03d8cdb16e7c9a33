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
from watcher_informed.core import params
from watcher_informed.core import schedule
from watcher_informed.core import sequence
from watcher_informed.core import snapshot as snap


def setup(moves_spec, p, usages=None, hosts='ABCD'):
    vms = [b.vm(u, s) for u, s, _ in moves_spec]
    snapshot = b.cluster([b.host(h, vcpus=64, ram_mb=65536) for h in hosts],
                         vms, usages)
    profiles = classify.classify(snapshot, p)
    moves = [sequence.Move(u, s, d, profiles[u].cls, 1.0,
                           snap.Resources(2, 2048, 10))
             for u, s, d in moves_spec]
    ordering = sequence.order_moves(snapshot, moves)
    return schedule.schedule(ordering, snapshot, profiles, p), ordering


@pytest.mark.parametrize('out_limit, expect_chained', [(1, True),
                                                       (2, False)])
def test_outgoing_lane_limit(out_limit, expect_chained):
    p = params.Params(max_concurrent_out=out_limit, max_concurrent_in=4)
    slots, _ = setup([('x', 'A', 'B'), ('y', 'A', 'C')], p)
    chained = 'x' in slots['y'].parents or 'y' in slots['x'].parents
    assert chained == expect_chained
    if expect_chained:
        assert slots['y'].start_s == pytest.approx(slots['x'].end_s)


def test_incoming_lane_limit():
    p = params.Params(max_concurrent_in=1)
    slots, _ = setup([('x', 'A', 'C'), ('y', 'B', 'C')], p)
    assert 'x' in slots['y'].parents


def test_global_cap():
    p = params.Params(max_parallel=1, max_concurrent_in=4)
    slots, _ = setup([('x', 'A', 'C'), ('y', 'B', 'D')], p)
    assert slots['y'].start_s >= slots['x'].end_s - 1e-9


def test_independent_moves_run_in_parallel():
    p = params.Params()
    slots, _ = setup([('x', 'A', 'C'), ('y', 'B', 'D')], p)
    assert slots['x'].start_s == slots['y'].start_s == 0.0
    assert slots['x'].lane == 'A/out0' and slots['y'].lane == 'B/out0'


def test_dirty_vm_still_on_source_slows_the_others():
    # section 3.3 / Fig. 4(a): a move out of a host where a memory VM
    # still runs is slower than the same move once it has left
    p = params.Params(migration_bandwidth=100)
    usages = {'dirty': b.usage('memory'), 'x': b.usage('idle')}
    slots, ordering = setup([('dirty', 'A', 'C'), ('x', 'A', 'B')], p,
                            usages)
    assert [m.uuid for m in ordering.order] == ['dirty', 'x']
    assert slots['x'].slowed_by == ()
    alone, _ = setup([('x', 'A', 'B')], p)
    assert slots['x'].cost.time_s == pytest.approx(alone['x'].cost.time_s)


def test_slowed_by_is_reported():
    p = params.Params(migration_bandwidth=100)
    vms = [b.vm('x', 'A'), b.vm('dirty', 'A'), b.vm('rx', 'B')]
    snapshot = b.cluster([b.host('A'), b.host('B')], vms,
                         {'dirty': b.usage('memory'), 'rx': b.usage('net_rx')})
    profiles = classify.classify(snapshot, p)
    ordering = sequence.Ordering(
        (sequence.Move('x', 'A', 'B', 'idle', 1.0,
                       snap.Resources(2, 2048, 10)),), {'x': ()}, {})
    slots = schedule.schedule(ordering, snapshot, profiles, p)
    assert slots['x'].slowed_by == ('memory VM on source',
                                    'net_rx VM on destination')
    alone = schedule.schedule(
        ordering, b.cluster([b.host('A'), b.host('B')], [b.vm('x', 'A')]),
        {'x': profiles['x']}, p)
    assert slots['x'].cost.time_s > alone['x'].cost.time_s


# -- the link: NIC shared with the instances' traffic and other moves ------

GBE = dict(migration_bandwidth=119.0, host_network_capacity=119.0)


def _link_case(moves_spec, usages, p, key=None):
    """Order with ``key`` (default: the link priority) and schedule."""
    hosts = sorted({h for _, s, d in moves_spec for h in (s, d)} | {'A'})
    vms = [b.vm(u, s) for u, s, _ in moves_spec] + [
        b.vm(u, 'A') for u in usages if u not in
        {m[0] for m in moves_spec}]
    snapshot = b.cluster([b.host(h, vcpus=64, ram_mb=65536) for h in hosts],
                         vms, usages)
    profiles = classify.classify(snapshot, p)
    moves = [sequence.Move(u, s, d, profiles[u].cls, 1.0,
                           snap.Resources(2, 2048, 10))
             for u, s, d in moves_spec]
    prio = schedule.link_priority(snapshot, moves, profiles, p)
    ordering = sequence.order_moves(snapshot, moves, key=key or prio)
    return schedule.schedule(ordering, snapshot, profiles, p), ordering, \
        prio


def test_web_first_follows_from_freeing_the_link():
    # two web servers send 50 MiB/s each on A's 1 GbE NIC: the migrations
    # off A get a third of the link until they have left
    p = params.Params(**GBE)
    usages = {'w1': b.usage('web', net_tx=50.0, ram_resident=2048),
              'w2': b.usage('web', net_tx=50.0, ram_resident=2048),
              'c1': b.usage('cpu', ram_resident=1024),
              'c2': b.usage('cpu', ram_resident=1024)}
    spec = [('w1', 'A', 'B'), ('w2', 'A', 'C'), ('c1', 'A', 'D'),
            ('c2', 'A', 'E')]
    slots, ordering, prio = _link_case(spec, usages, p)
    order = [m.uuid for m in ordering.order]
    assert set(order[:2]) == {'w1', 'w2'}
    assert prio.rank('w1') == 0 and prio.rank('c1') == 1
    assert 'faster' in prio.why(ordering.order[0])
    # the CPU VMs migrate at the full link once the web servers left
    assert slots['c1'].cost.rate_mibps == pytest.approx(119.0)
    # visibly better than the CPU VMs first (shortest job first only)
    sjf, _, _ = _link_case(spec, usages, p,
                           key=lambda m: (prio.time[m.uuid], m.uuid))
    makespan = max(s.end_s for s in slots.values())
    assert makespan < 0.8 * max(s.end_s for s in sjf.values())


def test_net_rx_last_only_when_it_loads_a_shared_destination():
    p = params.Params(**GBE)
    usages = {'rx': b.usage('net_rx', net_rx=80.0, ram_resident=512),
              'c': b.usage('cpu', ram_resident=1024)}
    shared = [('rx', 'A', 'C'), ('c', 'B', 'C')]
    _, ordering, prio = _link_case(shared, usages, p)
    assert [m.uuid for m in ordering.order] == ['c', 'rx']
    assert prio.rank('rx') == 2 and 'slower' in prio.why(ordering.order[1])
    # into different hosts it slows nobody: shortest job first
    apart = [('rx', 'A', 'C'), ('c', 'B', 'D')]
    _, ordering, prio = _link_case(apart, usages, p)
    assert [m.uuid for m in ordering.order] == ['rx', 'c']
    assert prio.rank('rx') == 1


def test_concurrent_migrations_share_the_nic():
    p = params.Params(max_concurrent_out=2, **GBE)
    usages = {'x': b.usage('idle', ram_resident=1190),
              'y': b.usage('idle', ram_resident=1190)}
    slots, _, _ = _link_case([('x', 'A', 'B'), ('y', 'A', 'C')], usages, p)
    assert slots['x'].start_s == slots['y'].start_s == 0.0
    # the second one sees the first on A's NIC: half the link
    rates = sorted(s.cost.rate_mibps for s in slots.values())
    assert rates == pytest.approx([59.5, 119.0])


@pytest.mark.parametrize('per_host, rate', [
    ({}, 119.0),                   # every NIC at host_network_capacity
    ({'A': 30.0}, 30.0),           # the source's own, slower NIC
    ({'B': 40.0}, 40.0),           # the destination's
    ({'A': 1250.0}, 119.0),        # a faster NIC: migration_bandwidth
])
def test_each_host_has_its_own_nic(per_host, rate):
    p = params.Params(host_network_capacities=per_host, **GBE)
    usages = {'x': b.usage('idle', ram_resident=1190)}
    slots, _, _ = _link_case([('x', 'A', 'B')], usages, p)
    assert slots['x'].cost.rate_mibps == pytest.approx(rate)
    assert slots['x'].cost.time_s >= 1190 / rate


def test_cost_notes_say_round_1_is_the_flavor_without_resident():
    p = params.Params(**GBE)
    slots, _, _ = _link_case([('x', 'A', 'B')], {'x': b.usage('idle')}, p)
    assert any('flavor RAM 2048 MiB, an upper bound' in n
               for n in slots['x'].cost.notes)
