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

"""The paper's rules reproduced end to end on tiny clusters."""

import pytest

from tests.unit import builders as b
from watcher_informed.core import checks
from watcher_informed.core import params
from watcher_informed.core import pipeline
from watcher_informed.core import plan as plan_mod
from watcher_informed.core import snapshot as snap

P = params.Params(migration_bandwidth=100)


def hot_host(workloads, extra_hosts=('B', 'C'), **kw):
    """Host A: one VM per workload, all CPU-busy enough to overload A."""
    vms, usages = [], {}
    for i, (kind, over) in enumerate(workloads):
        uuid = '%s%d' % (kind, i)
        vms.append(b.vm(uuid, 'A', vcpus=2,
                        ram_mb=over.pop('flavor_ram', 2048)))
        usages[uuid] = b.usage(kind, **over)
    hosts = [b.host('A')] + [b.host(h) for h in extra_hosts]
    return b.cluster(hosts, vms, usages, **kw)


def test_healthy_cluster_gives_no_plan():
    snapshot = hot_host([('cpu', {'cpu': 0.3})] * 2)
    plan = pipeline.build_plan(snapshot, P)
    assert plan.moves == () and plan.hot_hosts == ()


def test_cheap_cpu_vm_leaves_rather_than_dirtying_vm():
    # Section 3.1: both relieve A, the memory-dirtying VM costs more
    snapshot = hot_host([('cpu', {'cpu': 1.0}),
                         ('memory', {'cpu': 1.0}),
                         ('cpu', {'cpu': 1.0}),
                         ('cpu', {'cpu': 0.9})])
    plan = pipeline.build_plan(snapshot, P)
    moved = {m.uuid for m in plan.moves}
    assert moved and 'memory1' not in moved
    assert all(plan.profiles[u].cls == 'cpu' for u in moved)


def test_small_memory_preferred_over_large():
    snapshot = hot_host([('cpu', {'cpu': 1.0, 'ram': 4000,
                                  'flavor_ram': 4096}),
                         ('cpu', {'cpu': 1.0, 'ram': 1000}),
                         ('cpu', {'cpu': 1.0, 'ram': 4000,
                                  'flavor_ram': 4096}),
                         ('cpu', {'cpu': 0.9, 'ram': 4000,
                                  'flavor_ram': 4096})])
    plan = pipeline.build_plan(snapshot, P)
    assert 'cpu1' in {m.uuid for m in plan.moves}


def test_disk_io_vm_avoids_disk_io_neighbour():
    vms = [b.vm('d%d' % i, 'A') for i in range(4)] + \
        [b.vm('nb', 'B'), b.vm('nc', 'C'), b.vm('nd', 'D')]
    usages = {v.uuid: b.usage('disk_io', cpu=1.0) for v in vms[:4]}
    usages.update(nb=b.usage('disk_io'), nc=b.usage('cpu', cpu=0.3),
                  nd=b.usage('cpu', cpu=0.3))
    snapshot = b.cluster([b.host(h) for h in 'ABCD'], vms, usages)
    plan = pipeline.build_plan(snapshot, P)
    assert len(plan.moves) == 2
    assert sorted(m.dest for m in plan.moves) == ['C', 'D']


def test_talkers_are_kept_together():
    vms = [b.vm('t%d' % i, 'A') for i in range(4)]
    vms += [b.vm('peer', 'C'), b.vm('x', 'B')]
    usages = {v.uuid: b.usage('idle', cpu=1.0) for v in vms[:4]}
    snapshot = b.cluster([b.host('A'), b.host('B'), b.host('C')], vms,
                         usages, comm=[('t0', 'peer'), ('t1', 'peer')])
    plan = pipeline.build_plan(snapshot, P)
    dests = {m.uuid: m.dest for m in plan.moves}
    assert dests.get('t0') == 'C' or dests.get('t1') == 'C', dests


def test_order_dirty_and_web_first_net_rx_last_sjf_between():
    # network and dirty rates dominate CPU (intensity > 4), and the
    # memory VM dirties slower than the link copies (it converges)
    kinds = [('net_rx', {'cpu': 1.0, 'net_rx': 500}),
             ('cpu', {'cpu': 1.0, 'ram_resident': 1800}),
             ('web', {'cpu': 1.0, 'net_tx': 500}),
             ('disk_io', {'cpu': 1.0, 'ram_resident': 300}),
             ('memory', {'cpu': 1.0, 'dirty_rate': 80, 'wss': 256})]
    snapshot = hot_host(kinds, extra_hosts=('B', 'C', 'D', 'E', 'F'))
    p = params.Params(migration_bandwidth=100, cpu_threshold=0.3,
                      target_margin=0.05, max_concurrent_out=1)
    plan = pipeline.build_plan(snapshot, p)
    classes = [m.cls for m in plan.moves]
    assert len(classes) == 4   # 10 busy cores on 8, target 0.25: shed 4
    assert {'cpu', 'disk_io', 'net_rx'} <= set(classes)
    first = [c for c in classes if c in ('memory', 'web')]
    assert classes[:len(first)] == first and first
    rest = classes[len(first):]
    assert rest == ['disk_io', 'cpu', 'net_rx']  # SJF: 300 then 1800 MiB
    # one outgoing lane: a strict chain, starts follow ends
    for prev, nxt in zip(plan.moves, plan.moves[1:]):
        assert prev.uuid in nxt.parents
        assert nxt.start_s == pytest.approx(prev.end_s)


@pytest.mark.parametrize('flag', [
    {'excluded': True}, {'locked': True}, {'state': 'stopped'}])
def test_pinned_instances_never_move(flag):
    vms = [b.vm('pin', 'A', **flag)] + [b.vm('v%d' % i, 'A')
                                        for i in range(3)]
    usages = {v.uuid: b.usage('cpu', cpu=1.0) for v in vms}
    usages['pin'] = b.usage('cpu', cpu=1.0, ram=10)
    plan = pipeline.build_plan(
        b.cluster([b.host('A'), b.host('B'), b.host('C')], vms, usages), P)
    assert plan.moves and 'pin' not in {m.uuid for m in plan.moves}
    assert 'pin' in plan.not_moved


def test_hard_affinity_group_stays():
    vms = [b.vm('g1', 'A'), b.vm('g2', 'A'), b.vm('v1', 'A'),
           b.vm('v2', 'A')]
    usages = {v.uuid: b.usage('cpu', cpu=1.0) for v in vms}
    group = snap.ServerGroup('g', snap.AFFINITY, ('g1', 'g2'))
    plan = pipeline.build_plan(
        b.cluster([b.host('A'), b.host('B'), b.host('C')], vms, usages,
                  groups=[group]), P)
    assert not {'g1', 'g2'} & {m.uuid for m in plan.moves}


def test_unrelievable_host_is_reported_not_hidden():
    vms = [b.vm('v%d' % i, 'A', vcpus=4) for i in range(2)]
    usages = {v.uuid: b.usage('cpu', cpu=1.0) for v in vms}
    snapshot = b.cluster([b.host('A'), b.host('B', enabled=False)], vms,
                         usages)
    plan = pipeline.build_plan(snapshot, P)
    assert plan.moves == ()
    assert plan.still_overloaded == ('A',)
    assert all('disabled' in r for r in plan.not_moved.values())


def test_plan_explains_each_step_and_reports_efficacy():
    snapshot = hot_host([('cpu', {'cpu': 1.0})] * 4)
    plan = pipeline.build_plan(snapshot, P)
    for m in plan.moves:
        assert 'why VM' in m.reason and 'why host' in m.reason
    eff = plan_mod.efficacy(plan)
    assert eff['instance_migrations_count'] == len(plan.moves)
    assert eff['overloaded_hosts_before'] == 1
    assert eff['overloaded_hosts_after'] == 0
    assert eff['standard_deviation_after_audit'] < \
        eff['standard_deviation_before_audit']
    assert eff['predicted_makespan'] == pytest.approx(plan.makespan_s, 1e-3)
    assert checks.violations(snapshot, plan, P) == []


def test_max_migrations_caps_the_plan():
    snapshot = hot_host([('cpu', {'cpu': 1.0})] * 4)
    plan = pipeline.build_plan(snapshot, params.Params(max_migrations=1))
    assert len(plan.moves) == 1


def test_invalid_params_are_refused_before_anything_runs():
    with pytest.raises(params.ParamError):
        pipeline.build_plan(hot_host([]), params.Params(max_precopy_rounds=0))


@pytest.mark.parametrize('action, expected', [
    ('abort', 'Nova aborts it'),
    ('force_complete', 'pauses the guest'),
])
def test_a_move_nova_would_not_converge_is_avoided(action, expected):
    # A must shed one VM: the memory VM dirties faster than the link
    # copies, the CPU VM does not; either relieves A
    kinds = [('memory', {'cpu': 1.0, 'dirty_rate': 300.0, 'wss': 1024,
                         'ram_resident': 2048}),
             ('cpu', {'cpu': 1.0, 'ram_resident': 2048}),
             ('cpu', {'cpu': 1.0, 'ram_resident': 2048})]
    snapshot = hot_host(kinds, extra_hosts=('B', 'C'))
    p = params.Params(migration_bandwidth=100, cpu_threshold=0.3,
                      target_margin=0.05, live_migration_timeout_action=action)
    plan = pipeline.build_plan(snapshot, p)
    assert plan.moves and 'memory0' not in {m.uuid for m in plan.moves}
    if action == 'abort':
        assert expected in plan.not_moved['memory0']
    else:
        # priced as Nova runs it: far costlier than a CPU VM's move
        from watcher_informed.core import cost
        c = cost.instance_cost(snapshot.instance_by_uuid['memory0'],
                               snapshot.usage_of('memory0'), p)
        assert c.outcome == cost.PAUSED and c.completes
        assert any(expected in n for n in c.notes)


DIRTY_FASTER_THAN_THE_LINK = {'cpu': 1.0, 'dirty_rate': 300.0, 'wss': 1024,
                              'ram_resident': 2048}


@pytest.mark.parametrize('nova, expected', [
    ({}, None),
    ({'live_migration_permit_auto_converge': True},
     'converges only with auto-converge throttling the guest'),
    ({'live_migration_timeout_action': 'force_complete',
      'live_migration_permit_post_copy': True},
     'Nova completes it by post-copy'),
    ({'live_migration_timeout_action': 'force_complete'},
     'Nova pauses the guest to complete it'),
])
def test_a_move_nova_must_end_its_own_way_says_which(nova, expected):
    # only memory VMs that dirty faster than the link copies: under
    # Nova's defaults none is planned (Nova would abort each), otherwise
    # each planned move's reason says how Nova ends its migration
    snapshot = hot_host([('memory', dict(DIRTY_FASTER_THAN_THE_LINK))
                         for _ in range(3)])
    p = params.Params(migration_bandwidth=100, cpu_threshold=0.3,
                      target_margin=0.05, **nova)
    plan = pipeline.build_plan(snapshot, p)
    if expected is None:
        assert plan.moves == ()
        assert set(plan.not_moved) == {'memory0', 'memory1', 'memory2'}
        assert all('Nova aborts it' in why
                   for why in plan.not_moved.values())
        return
    assert plan.moves
    for m in plan.moves:
        assert 'cost: ' in m.reason and expected in m.reason, m.reason


@pytest.mark.parametrize('metrics, first_round, note', [
    # no memory.resident: round 1 is the flavor's RAM, said in the reason
    ({}, 2048.0, 'round 1 = flavor RAM 2048 MiB, an upper bound'),
    # the resident size, never the used memory (the builders' 'ram')
    ({'ram_resident': 512.0}, 512.0, None),
])
def test_reason_and_efficacy_follow_the_first_round(metrics, first_round,
                                                    note):
    snapshot = hot_host([('cpu', dict(metrics, cpu=1.0))
                         for _ in range(4)])
    plan = pipeline.build_plan(snapshot, P)
    assert plan.moves
    for m in plan.moves:
        assert m.sent_mib == pytest.approx(first_round)
        assert (note in m.reason) if note else ('upper bound' not in
                                                m.reason)
    # what Horizon shows is the model's: the indicators are the moves'
    eff = plan_mod.efficacy(plan)
    assert eff['predicted_makespan'] == pytest.approx(
        max(m.end_s for m in plan.moves), abs=1e-3)
    assert eff['predicted_migration_time_sum'] == pytest.approx(
        sum(m.end_s - m.start_s for m in plan.moves), abs=1e-3)
    assert eff['predicted_total_downtime'] == pytest.approx(
        sum(m.downtime_s for m in plan.moves), abs=1e-3)
    assert eff['predicted_transferred_data'] == pytest.approx(
        len(plan.moves) * first_round, abs=0.1)


@pytest.mark.parametrize('case, expected, kind', [
    # the only other host is disabled: no destination
    ('disabled', 'no destination', 'no_destination'),
    # both instances locked: a rule holds them
    ('locked', '8 locked', 'rule'),
    # a cap of one migration: the cap is named
    ('cap', 'max_migrations (1) reached', 'max_migrations'),
])
def test_every_host_left_overloaded_says_why(case, expected, kind):
    vms = [b.vm('v%d' % i, 'A', vcpus=2, locked=case == 'locked')
           for i in range(8)]
    usages = {v.uuid: b.usage('cpu', cpu=1.0) for v in vms}
    hosts = [b.host('A', vcpus=16),
             b.host('B', vcpus=16, enabled=case != 'disabled'),
             b.host('C', vcpus=16, enabled=case != 'disabled')]
    p = params.Params(max_migrations=1 if case == 'cap' else 50)
    plan = pipeline.build_plan(b.cluster(hosts, vms, usages), p)
    assert plan.still_overloaded == ('A',)
    assert expected in plan.left['A'], plan.left
    assert plan.left_kinds == {'A': kind}
    # one efficacy indicator per kind of reason, counting the host once
    eff = plan_mod.efficacy(plan)
    counts = {k: eff[name] for k, name in plan_mod.LEFT_INDICATOR.items()}
    assert counts == {k: int(k == kind) for k in counts}
    assert 'A (partial relief' in plan_mod.left_summary(plan)


def test_budget_freed_by_a_failed_placement_goes_to_the_next_host():
    # A (worst) takes the whole budget of 2 for a1 and a2, but a2 (12
    # GiB) fits nowhere; the migration it leaves unspent relieves B
    gib = 1024
    hosts = [b.host('A'), b.host('B'), b.host('C', vcpus=16, ram_mb=8 * gib)]
    vms = [b.vm('a1', 'A'), b.vm('a2', 'A', ram_mb=12 * gib),
           b.vm('a-rest', 'A', vcpus=4, locked=True),
           b.vm('b1', 'B'), b.vm('b-rest', 'B', vcpus=5, locked=True)]
    usages = {v.uuid: b.usage('cpu', cpu=1.0) for v in vms}
    p = params.Params(migration_bandwidth=100, max_migrations=2)
    plan = pipeline.build_plan(b.cluster(hosts, vms, usages), p)
    assert {m.uuid: m.dest for m in plan.moves} == {'a1': 'C', 'b1': 'C'}
    assert 'no destination' in plan.not_moved['a2']
    assert plan.still_overloaded == ()


@pytest.mark.parametrize('relief_spread, volatile_leaves', [
    (0.0, False),   # planned load only: the cheaper steady VMs leave
    (2.0, True),    # its 2 spreads would not fit if it stayed
])
def test_relief_spread_moves_the_volatile_instance_off(relief_spread,
                                                       volatile_leaves):
    import dataclasses

    from watcher_informed.core import demand
    from watcher_informed.core import overload
    snapshot = hot_host([('cpu', {'cpu': 0.8, 'flavor_ram': 4096})] +
                        [('cpu', {'cpu': 0.8})] * 4)
    snapshot = dataclasses.replace(snapshot, forecast={
        'cpu0': demand.Forecast({'cpu': 0.8}, {'cpu': 0.4})})
    p = dataclasses.replace(P, relief_spread=relief_spread)
    plan = pipeline.build_plan(snapshot, p)
    moved = {m.uuid for m in plan.moves}
    assert ('cpu0' in moved) == volatile_leaves
    # what stays on A fits under its target at planned + relief_spread
    # spreads
    credit = overload.with_spreads(snapshot, overload.demands(snapshot),
                                   relief_spread)
    staying = sum(credit[i.uuid]['cpu'] for i in snapshot.instances
                  if i.host == 'A' and i.uuid not in moved)
    assert staying <= p.targets()['cpu'] * 8 + 1e-9
    assert plan.still_overloaded == ()


@pytest.mark.parametrize('relief_spread, locked, moved', [
    # planned load only: one busy VM brings A to its target
    (0.0, True, {'cpu1'}),
    # the robust excess is out of reach (the VM carrying A's spread is
    # locked): A sheds its planned excess only, the idle VMs stay
    (2.0, True, {'cpu1'}),
    # within reach: the volatile VM leaves (with a busy one: A must shed
    # 1.56 cores + 2 x its 4-core spread, v sheds 1 + 8)
    (2.0, False, {'v', 'cpu1'}),
])
def test_relief_spread_falls_back_to_the_planned_excess(relief_spread,
                                                        locked, moved):
    import dataclasses

    from watcher_informed.core import demand
    vms = ([b.vm('v', 'A', locked=locked)] +
           [b.vm('cpu%d' % i, 'A') for i in (1, 2, 3)] +
           [b.vm('idle%d' % i, 'A', ram_mb=512) for i in range(4)])
    usages = {'v': b.usage('cpu', cpu=0.5)}
    usages.update({'cpu%d' % i: b.usage('cpu', cpu=1.0) for i in (1, 2, 3)})
    usages.update({'idle%d' % i: b.usage('idle', cpu=0.02)
                   for i in range(4)})
    hosts = [b.host('A'), b.host('B', vcpus=16), b.host('C', vcpus=16)]
    snapshot = dataclasses.replace(
        b.cluster(hosts, vms, usages),
        forecast={'v': demand.Forecast({'cpu': 0.5}, {'cpu': 2.0})})
    p = dataclasses.replace(P, relief_spread=relief_spread)
    plan = pipeline.build_plan(snapshot, p)
    assert {m.uuid for m in plan.moves} == moved
    assert plan.still_overloaded == ()


@pytest.mark.parametrize('relief_spread, aggressiveness, moved', [
    # planned load only: A (0.6 of its cores) is not overloaded
    (0.0, 3, set()),
    # 1 spread: 0.6 + 0.25 x 2 / 8 -- still under its threshold
    (1.0, 3, set()),
    # 4 spreads: at risk (0.85 > 0.8); the volatile VM leaves, worth it
    # by the robust overload it removes (the planned one is 0)
    (4.0, 3, {'cpu0'}),
    # ... unless the gate asks for an overwhelming benefit: then A stays
    # and, not being overloaded, is not reported
    (4.0, 1, set()),
])
def test_relief_spread_relieves_a_host_at_risk(relief_spread,
                                               aggressiveness, moved):
    import dataclasses

    from watcher_informed.core import demand
    # 16 GiB VMs take minutes to move: over a minute, removing the
    # robust overload (0.05 x 8 cores x 60 s = 24 core-s) is worth one
    # move (7 core-s) at the default aggressiveness, not at 1 (8 x)
    snapshot = hot_host([('cpu', {'cpu': 0.6, 'flavor_ram': 16384})
                         for _ in range(4)])
    snapshot = dataclasses.replace(snapshot, forecast={
        'cpu0': demand.Forecast({'cpu': 0.6}, {'cpu': 0.25})})
    p = dataclasses.replace(P, relief_spread=relief_spread,
                            aggressiveness=aggressiveness, horizon=60)
    plan = pipeline.build_plan(snapshot, p)
    assert {m.uuid for m in plan.moves} == moved
    if moved:
        assert 'at risk' in plan.moves[0].reason
    # a host only at risk was never overloaded: not counted, not left
    assert plan.hot_hosts == ()
    assert plan.still_overloaded == ()
    assert not any('not worth it' in why
                   for why in plan.not_moved.values())
