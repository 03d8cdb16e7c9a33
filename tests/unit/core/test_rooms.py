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

"""Room-making chains (issue 18), end to end through the pipeline.

H is overloaded by one busy 6 GiB instance ``big`` (the rest of H is
locked); no host has 6 GiB free.  D has ``room`` GiB free and small idle
instances that could leave it; the other hosts have ``free`` GiB each.
"""

import dataclasses

import pytest

from tests.unit import builders as b
from watcher_informed.core import checks
from watcher_informed.core import gate
from watcher_informed.core import overload
from watcher_informed.core import params
from watcher_informed.core import pipeline
from watcher_informed.core import schedule

GIB = 1024
P = params.Params(migration_bandwidth=1000)


def cluster(room=4, smalls=(2,), free=(3,), hot_free=8, locked_d=False,
            small_cpu=0.01, rest_cpu=1.0):
    """The module's cluster; sizes in GiB."""
    hosts = [b.host('H', vcpus=8, ram_mb=32 * GIB),
             b.host('D', vcpus=8, ram_mb=16 * GIB)]
    vms = [b.vm('big', 'H', vcpus=4, ram_mb=6 * GIB),
           b.vm('h-rest', 'H', vcpus=3, ram_mb=(26 - hot_free) * GIB,
                locked=True)]
    usages = {'big': b.usage('cpu', cpu=1.0),
              'h-rest': b.usage('cpu', cpu=rest_cpu)}
    used = 16 - room - sum(smalls)
    vms.append(b.vm('d-rest', 'D', vcpus=1, ram_mb=used * GIB, locked=True))
    for i, size in enumerate(smalls):
        uuid = 'small%d' % i
        vms.append(b.vm(uuid, 'D', vcpus=1, ram_mb=size * GIB,
                        locked=locked_d))
        usages[uuid] = b.usage('idle', cpu=small_cpu)
    for i, gib in enumerate(free):
        name = 'E%d' % i
        hosts.append(b.host(name, vcpus=8, ram_mb=16 * GIB))
        vms.append(b.vm('%s-rest' % name, name, vcpus=1,
                        ram_mb=(16 - gib) * GIB, locked=True))
    return b.cluster(hosts, vms, usages)


def moved(plan):
    return {m.uuid: (m.source, m.dest) for m in plan.moves}


@pytest.mark.parametrize('case, kw, chain', [
    # the example: one 2 GiB instance leaves D first
    ('one room move', {}, ('small0',)),
    # D needs two of its instances gone: the two cheapest that cover
    ('two room moves', dict(room=3, smalls=(1.5, 1.5, 4), free=(3, 3)),
     ('small0', 'small1')),
    # three would be needed: beyond the depth bound, nothing moves
    ('deeper than the bound', dict(room=3, smalls=(1, 1, 1), free=(4,)),
     None),
    # the instance that would make room is locked
    ('room cannot move', dict(locked_d=True), None),
    # the small instance fits nowhere but on the overloaded host itself
    ('room only on the hot host', dict(free=(1,)), None),
    # the operator's bound: no room-making at all, or one move at most
    ('room-making off', dict(room_making_moves=0), None),
    ('bound of one', dict(room=3, smalls=(1.5, 1.5, 4), free=(3, 3),
                          room_making_moves=1), None),
])
def test_room_is_made_first_or_the_host_is_left_with_a_reason(case, kw,
                                                              chain):
    p = dataclasses.replace(
        P, room_making_moves=kw.pop('room_making_moves', 2))
    snapshot = cluster(**kw)
    plan = pipeline.build_plan(snapshot, p)
    assert checks.violations(snapshot, plan, p) == []
    got = moved(plan)
    if chain is None:
        assert 'big' not in got and plan.still_overloaded == ('H',)
        assert 'no destination' in plan.left['H'], plan.left
        return
    assert got['big'] == ('H', 'D')
    assert set(got) == {'big'} | set(chain)
    assert plan.still_overloaded == ()
    steps = {m.uuid: m for m in plan.moves}
    hot = {h.name for h in plan.hot_hosts}
    for uuid in chain:
        # the room moves run first, and the big move waits for each
        assert uuid in steps['big'].parents
        assert steps[uuid].step < steps['big'].step
        # ... to a host that was not overloaded and stays under target
        assert steps[uuid].dest not in hot | {'D'}
        assert 'makes room on D for big' in steps[uuid].reason
        load = plan.loads_after[steps[uuid].dest]
        assert not overload.over_dims(load, p)
    assert 'to make room' in steps['big'].reason


def test_no_room_making_when_a_direct_move_exists():
    # E0 has 8 GiB free: the big instance goes there, nothing else moves
    plan = pipeline.build_plan(cluster(free=(8,)), P)
    assert moved(plan) == {'big': ('H', 'E0')}


def test_room_moves_count_against_max_migrations():
    p = dataclasses.replace(P, max_migrations=1)
    plan = pipeline.build_plan(cluster(), p)
    assert plan.moves == () and 'no destination' in plan.left['H']


def test_the_gate_prices_room_moves():
    # the horizon at which H's relief pays for the big move alone, and
    # for the big move plus the busy small one that makes its room (H
    # barely overloaded, the most cautious gate: both above 60 s)
    snapshot = cluster(small_cpu=1.0, rest_cpu=0.81)
    p = dataclasses.replace(P, aggressiveness=1)
    alone = schedule.standalone(snapshot, p)
    insts = snapshot.instance_by_uuid

    def price(uuid, cls):
        return gate.move_cost(insts[uuid], snapshot.usage_of(uuid), cls,
                              alone(insts[uuid]))
    hot = overload.find_overloaded(snapshot, p)[0]
    per_s = gate.relief(snapshot.host_by_name['H'], hot.load,
                        overload.demands(snapshot)['big'], p)
    margin = gate.MARGINS[p.aggressiveness]
    big = price('big', 'cpu')
    both = big + price('small0', 'cpu')
    for horizon, kept in ((margin * (big + both) / 2 / per_s, False),
                          (margin * both * 1.01 / per_s, True)):
        plan = pipeline.build_plan(
            snapshot, dataclasses.replace(p, horizon=int(horizon) + 1))
        assert ('big' in moved(plan)) == kept, (horizon, plan.left)
        if not kept:
            assert plan.moves == ()


@pytest.mark.parametrize('kw', [
    {}, dict(room=3, smalls=(1.5, 1.5, 4), free=(3, 3)),
    dict(free=(1,), hot_free=2), dict(small_cpu=0.9, rest_cpu=6.0)])
def test_shortfalls_of_all_hosts_are_each_hosts_shortfall(kw):
    from watcher_informed.core import classify
    from watcher_informed.core import constraints
    from watcher_informed.core import ledger as ledger_mod
    from watcher_informed.core import rooms
    snapshot = cluster(**kw)
    demand = overload.demands(snapshot)
    profiles = classify.classify(snapshot, P)
    led = ledger_mod.Ledger(snapshot, P, demand, profiles)
    ctx = rooms.Context(snapshot, profiles, P, demand,
                        constraints.groups_by_member(snapshot), led,
                        schedule.standalone(snapshot, P), ())
    for uuid in snapshot.uuids:
        allocs, loads = rooms._shortfalls(ctx, uuid)
        for h, name in enumerate(led.names):
            alloc, load = rooms._shortfall(ctx, uuid, name)
            assert allocs[h].tolist() == alloc, (uuid, name)
            assert loads[h].tolist() == load, (uuid, name)
