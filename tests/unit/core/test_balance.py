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

"""The balance stage (``core/balance.py``) on tiny clusters, and properties.

The base cluster has no overloaded host: A carries three busy CPU VMs
(load 0.6 of its cores, under the 0.8 threshold), B is empty, C has one
busy VM (0.2).  Balance should move one VM from A to B; each case changes
one fact and says what must happen instead.
"""

import dataclasses
from unittest import mock

from hypothesis import event
from hypothesis import given
from hypothesis import strategies as st
import pytest

from tests.unit import builders as b
from tests.unit.core import strategies
from tests.unit.core import test_properties as props
from watcher_informed.core import balance
from watcher_informed.core import checks
from watcher_informed.core import classify
from watcher_informed.core import constraints
from watcher_informed.core import ledger as ledger_mod
from watcher_informed.core import overload
from watcher_informed.core import params
from watcher_informed.core import pipeline
from watcher_informed.core import plan as plan_mod
from watcher_informed.core import snapshot as snap

# aggressiveness 4: on three hosts the second-best move (A to C) is worth
# it, so each rule's refusal of B shows as a move to C instead
ON = params.Params(balance=True, migration_bandwidth=100, aggressiveness=4)
OFF = dataclasses.replace(ON, balance=False)


def base(a_kind='cpu', a_extra=(), b_vms=(), c_usage=None, groups=(),
         comm=(), recent=(), b_host=None):
    """The base cluster with the changes a case asks for."""
    vms = [b.vm('a%d' % i, 'A') for i in range(3)] + [b.vm('c0', 'C')]
    usages = {'a%d' % i: b.usage(a_kind, cpu=0.8) for i in range(3)}
    usages['c0'] = c_usage or b.usage('cpu', cpu=0.8)
    for uuid, kind in a_extra:
        vms.append(b.vm(uuid, 'A', vcpus=1))
        usages[uuid] = b.usage(kind, cpu=0.01)
    for uuid, kind, over in b_vms:
        vms.append(b.vm(uuid, 'B', **over))
        usages[uuid] = b.usage(kind) if isinstance(kind, str) else kind
    host_list = [b.host('A'), b_host or b.host('B'), b.host('C')]
    snapshot = b.cluster(host_list, vms, usages, groups, comm)
    return dataclasses.replace(snapshot, recent_moves=tuple(recent),
                               now=10000.0)


def moves_of(plan):
    return sorted((m.uuid[0], m.source, m.dest) for m in plan.moves)


# (case id, cluster, params, expected moves as (first letter, src, dst));
# where the coolest host B is refused to A's VMs, one goes to C and C's VM
# then to B -- a second move that flattens the load further
CASES = [
    ('most to least loaded', base(), ON, [('a', 'A', 'B')]),
    ('off: nothing moves', base(), OFF, []),
    ('flat: nothing moves',
     b.cluster([b.host('A'), b.host('B')],
               [b.vm('a0', 'A'), b.vm('b0', 'B')],
               {'a0': b.usage('cpu', cpu=0.8),
                'b0': b.usage('cpu', cpu=0.8)}), ON, []),
    # every VM of A migrated a minute ago: resting (cooldown)
    ('cooldown keeps resting VMs',
     base(recent=[snap.RecentMove('a%d' % i, 'C', 'A', 9940.0)
                  for i in range(3)]), ON, []),
    # the VMs left B a minute ago: never back, C is the next best
    ('no move back to a host just left',
     base(recent=[snap.RecentMove('a%d' % i, 'B', 'A', 9000.0 - i)
                  for i in range(3)]),
     dataclasses.replace(ON, cooldown=0), [('a', 'A', 'C'), ('c', 'C', 'B')]),
    ('anti-affinity mate on the coolest host',
     base(b_vms=[('m%d' % i, 'idle', {}) for i in range(3)],
          groups=[snap.ServerGroup('g%d' % i, snap.ANTI_AFFINITY,
                                   ('a%d' % i, 'm%d' % i))
                  for i in range(3)]),
     ON, [('a', 'A', 'C'), ('c', 'C', 'B')]),
    ('no allocatable room on the coolest host',
     base(b_vms=[('f0', 'idle', {'vcpus': 31})]), ON, [('a', 'A', 'C')]),
    ('destination disabled',
     base(b_host=b.host('B', enabled=False)), ON, [('a', 'A', 'C')]),
    # at the default aggressiveness 3 a move must remove 0.4 x 2 / 3 of
    # the spread: A to B does (0.249 -> 0.094), A to C does not (-> 0.189)
    ('default aggressiveness: A to B',
     base(), dataclasses.replace(ON, aggressiveness=3), [('a', 'A', 'B')]),
    ('default aggressiveness: A to C too small',
     base(b_host=b.host('B', enabled=False)),
     dataclasses.replace(ON, aggressiveness=3), []),
    # disk-I/O VMs: B holds three (more than A's two neighbours), C a CPU
    # one -- never B, though B is the least loaded; once c leaves C, no
    # move goes to C (its target would hold only after c has left)
    ('interference never made worse',
     base(a_kind='disk_io',
          b_vms=[('d%d' % i, 'disk_io', {}) for i in range(3)]),
     ON, [('a', 'A', 'C'), ('c', 'C', 'B')]),
    ('interference lowered is fine',
     base(a_kind='disk_io', b_vms=[('d0', 'disk_io', {})]),
     ON, [('a', 'A', 'B')]),
    # each VM of A talks to another VM on A: splitting them is worse
    ('talkers stay together',
     base(comm=[('a0', 'a1', 'a2')]), ON, []),
    ('max_migrations shared with relief',
     base(), dataclasses.replace(ON, max_migrations=0), []),
    # slow link, short horizon: the move costs more than it is worth at
    # aggressiveness 1, and is worth it at 5
    ('gate refuses at aggressiveness 1',
     base(), dataclasses.replace(ON, migration_bandwidth=2, horizon=60,
                                 aggressiveness=1), []),
    ('gate accepts at aggressiveness 5',
     base(), dataclasses.replace(ON, migration_bandwidth=2, horizon=60,
                                 aggressiveness=5), [('a', 'A', 'B')]),
    # RAM only: the CPU spread does not count, and RAM is flat
    ('metrics without CPU',
     base(c_usage=b.usage('cpu', cpu=0.8, ram=768),
          b_vms=[('r0', b.usage('idle', ram=768), {})]),
     dataclasses.replace(ON, metrics=['instance_ram_usage']), []),
    ('the same cluster with CPU',
     base(c_usage=b.usage('cpu', cpu=0.8, ram=768),
          b_vms=[('r0', b.usage('idle', ram=768), {})]),
     dataclasses.replace(ON, metrics=['instance_ram_usage',
                                      'instance_cpu_usage']),
     [('a', 'A', 'B')]),
    ('CPU weight 0',
     base(), dataclasses.replace(ON, weights={
         'instance_cpu_usage_weight': 0.0}), []),
]


@pytest.mark.parametrize('case,snapshot,p,expected', CASES,
                         ids=[c[0] for c in CASES])
def test_balance_cases(case, snapshot, p, expected):
    plan = pipeline.build_plan(snapshot, p)
    assert moves_of(plan) == expected
    assert checks.violations(snapshot, plan, p) == []
    if p.balance:
        assert len(plan.balance.moves) == len(expected)
    else:
        assert plan.balance is None


@pytest.mark.parametrize('loads,metrics,weights,expected', [
    # two hosts, CPU 0.2 and 0.6: population SD 0.2
    ({'h1': {'cpu': 0.2, 'ram': 0.1, 'disk_io': 0, 'net': 0},
      'h2': {'cpu': 0.6, 'ram': 0.1, 'disk_io': 0, 'net': 0}},
     ['instance_cpu_usage'], {}, 0.2),
    ({'h1': {'cpu': 0.2, 'ram': 0.1, 'disk_io': 0, 'net': 0},
      'h2': {'cpu': 0.6, 'ram': 0.5, 'disk_io': 0, 'net': 0}},
     ['instance_cpu_usage', 'instance_ram_usage'],
     {'instance_cpu_usage_weight': 0.5}, 0.5 * 0.2 + 0.2),
    ({'h1': {'cpu': 0.2, 'ram': 0.1, 'disk_io': 0.4, 'net': 0},
      'h2': {'cpu': 0.6, 'ram': 0.5, 'disk_io': 0.0, 'net': 0}},
     ['instance_disk_io_usage'], {'instance_disk_io_usage_weight': 0.25},
     0.25 * 0.2),
    ({}, ['instance_cpu_usage'], {}, 0.0),
])
def test_spread_is_the_weighted_sd(loads, metrics, weights, expected):
    p = dataclasses.replace(ON, metrics=metrics, weights=weights)
    assert balance.spread(loads, p) == pytest.approx(expected)


def test_relief_moves_come_first_and_are_not_moved_again():
    # A overloaded (4 busy CPU VMs = 1.0), B empty, C and D lightly used
    vms = [b.vm('h%d' % i, 'A') for i in range(4)] + \
        [b.vm('c0', 'C'), b.vm('c1', 'C'), b.vm('c2', 'C'), b.vm('d0', 'D')]
    usages = {v.uuid: b.usage('cpu', cpu=1.0) for v in vms}
    usages['d0'] = b.usage('cpu', cpu=0.2)
    snapshot = b.cluster([b.host(h) for h in 'ABCD'], vms, usages)
    relief = pipeline.build_plan(snapshot, OFF)
    plan = pipeline.build_plan(snapshot, ON)
    relief_ids = [m.uuid for m in relief.moves]
    assert relief_ids and plan.balance.moves
    assert [m.uuid for m in plan.moves][:len(relief_ids)] == relief_ids
    assert not set(relief_ids) & set(plan.balance.moves)
    for m in plan.moves:
        if m.uuid in plan.balance.moves:
            assert m.reason.startswith('why VM: balances load')
            assert 'after the relief moves' in m.reason
    assert balance.spread(plan.loads_after, ON) < \
        balance.spread(relief.loads_after, ON)


def test_efficacy_reports_spread_and_cost_only_when_on():
    snapshot = base()
    on = plan_mod.efficacy(pipeline.build_plan(snapshot, ON))
    off = plan_mod.efficacy(pipeline.build_plan(snapshot, OFF))
    assert not [k for k in off if k.startswith('balance_')]
    assert on['balance_migrations_count'] == 1
    # loads 0.6 / 0 / 0.2 -> 0.4 / 0.2 / 0.2
    assert on['balance_spread_before'] == pytest.approx(0.2494, abs=1e-4)
    assert on['balance_spread_after_relief'] == pytest.approx(
        on['balance_spread_before'], abs=1e-4)
    assert on['balance_spread_after'] == pytest.approx(0.0943, abs=1e-4)
    assert on['balance_migration_time_sum'] > 0
    assert on['balance_tenant_cost'] > 0
    # the plan's other indicators are the same moves' figures
    assert on['instance_migrations_count'] == 1


def test_balance_stage_alone_matches_the_ledger():
    snapshot = base()
    p = ON
    profiles = classify.classify(snapshot, p)
    demand = overload.demands(snapshot)
    ledger = ledger_mod.Ledger(snapshot, p, demand, profiles)
    groups_of = constraints.groups_by_member(snapshot)
    result = balance.balance(snapshot, p, profiles, ledger, groups_of, {},
                             budget=5)
    assert [(m.source, m.dest) for m in result.moves] == [('A', 'B')]
    assert result.spread_end == pytest.approx(
        balance.spread(ledger.loads(), p))
    assert result.spread_start > result.spread_end
    assert result.moves[0].benefit >= result.moves[0].margin * \
        result.moves[0].cost
    assert result.stopped == 'no move is worth its cost'


# -- balance off: identical plans -------------------------------------------

def _relief_only(snapshot, p):
    """The pipeline's stages without the balance stage."""
    profiles = pipeline.classify(snapshot, p)
    demand = overload.demands(snapshot)
    loads_before, hot = pipeline.find_hot(snapshot, p, demand)
    groups_of = constraints.groups_by_member(snapshot)
    priced = pipeline.price(snapshot, p, hot, groups_of)
    ledger = ledger_mod.Ledger(snapshot, p, demand, profiles)
    placed = pipeline.select_and_place(snapshot, p, profiles, demand, hot,
                                       priced, groups_of, ledger)
    ledger.rollback(0)
    ordering, key = pipeline.order(snapshot, profiles, priced, placed,
                                   groups_of, ledger, p)
    slots = pipeline.schedule(snapshot, profiles, p, ordering)
    return pipeline.assemble(snapshot, p, profiles, demand, hot,
                             loads_before, placed, ordering, slots, ledger,
                             priced, key)


def _shape(plan):
    return [(m.uuid, m.source, m.dest, m.parents, m.start_s, m.end_s,
             m.reason) for m in plan.moves]


@props.PROPERTY
@given(props.CLUSTERS, strategies.params(),
       st.sampled_from([['instance_ram_usage'],
                        ['instance_cpu_usage', 'instance_network_usage']]),
       st.sampled_from([0.0, 0.3, 1.0]))
def test_balance_off_gives_the_relief_only_plan(snapshot, p, metrics, w):
    off = dataclasses.replace(p, balance=False, metrics=metrics, weights={
        'instance_cpu_usage_weight': w})
    plan = pipeline.build_plan(snapshot, off)
    assert _shape(plan) == _shape(_relief_only(snapshot, p))
    assert plan.balance is None
    assert plan_mod.efficacy(plan) == plan_mod.efficacy(
        pipeline.build_plan(snapshot, p))


# -- balance on: never a broken hard rule -----------------------------------

@st.composite
def _with_history(draw, snapshot):
    """Recent migrations of some instances, to exercise no-ping-pong."""
    names = [h.name for h in snapshot.hosts]
    recent = []
    for inst in snapshot.instances:
        if draw(st.integers(0, 7)) == 0:
            recent.append(snap.RecentMove(
                inst.uuid, draw(st.sampled_from(names)), inst.host,
                100000.0 - draw(st.sampled_from([60.0, 4000.0, 80000.0]))))
    return dataclasses.replace(snapshot, recent_moves=tuple(recent),
                               now=100000.0)


@props.PROPERTY
@given(st.one_of(strategies.snapshots(), props.CLUSTERS).flatmap(
    _with_history), strategies.params(),
       st.sampled_from([1, 3, 5]),
       st.sampled_from([['instance_cpu_usage'],
                        ['instance_cpu_usage', 'instance_ram_usage'],
                        ['instance_disk_io_usage', 'instance_network_usage']]),
       st.sampled_from([balance.MIN_GAIN, 0.0, 0.0]))
def test_balance_moves_never_break_a_hard_rule(snapshot, p, aggressiveness,
                                               metrics, min_gain):
    # MIN_GAIN 0: every move worth its cost, so many more balance moves
    # (up to a flat cloud) put the rules to the test
    p = dataclasses.replace(p, balance=True, aggressiveness=aggressiveness,
                            metrics=metrics,
                            max_migrations=max(p.max_migrations, 8),
                            ).validate()
    with mock.patch.object(balance, 'MIN_GAIN', min_gain):
        plan = pipeline.build_plan(snapshot, p)
    assert checks.violations(snapshot, plan, p) == []
    props.assert_static_rules(snapshot, plan, p)
    props.assert_overload_never_grows(snapshot, plan, p)
    mine = set(plan.balance.moves)
    event('balance moves: %d' % min(len(mine), 3))
    event('history: %s' % bool(snapshot.recent_moves))
    steps = [m.uuid in mine for m in plan.moves]
    # relief first: no relief move after a balance move, and a lane of
    # one migration at a time runs the relief moves first
    assert steps == sorted(steps)
    for m in plan.moves:
        for r in plan.moves:
            if m.uuid in mine and r.uuid not in mine and \
                    ((p.max_concurrent_out == 1 and m.source == r.source) or
                     (p.max_concurrent_in == 1 and m.dest == r.dest)):
                assert r.end_s <= m.start_s + 1e-9, (r, m)
    # the balance never makes the weighted spread worse
    if mine:
        assert plan.balance.spread_after <= \
            plan.balance.spread_after_relief + 1e-9
    if len(plan.moves) <= props.BRUTE_FORCE_MAX_MOVES:
        found = props.brute_force(snapshot, plan, p)
        assert found == {k: set() for k in found}, found
