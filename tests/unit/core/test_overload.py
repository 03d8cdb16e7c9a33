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
from watcher_informed.core import overload
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap

P = params.Params()


def two_hosts(cpu_a, vms_a=4):
    vms = [b.vm('a%d' % i, 'A') for i in range(vms_a)] + [b.vm('b0', 'B')]
    usages = {v.uuid: b.usage('idle', cpu=cpu_a) for v in vms[:-1]}
    return b.cluster([b.host('A'), b.host('B')], vms, usages)


@pytest.mark.parametrize('cpu, hot', [(0.5, False), (0.8, False),
                                      (0.85, True), (1.0, True)])
def test_cpu_threshold(cpu, hot):
    # 4 VMs x 2 vCPU x cpu on 8 cores = cpu
    found = overload.find_overloaded(two_hosts(cpu), P)
    assert [h.name for h in found] == (['A'] if hot else [])


def test_excess_is_what_brings_host_to_target():
    found = overload.find_overloaded(two_hosts(1.0), P)
    # load 8 cores, target 0.7 x 8 = 5.6 -> shed 2.4 cores
    assert found[0].excess == {'cpu': pytest.approx(2.4)}


def test_ram_falls_back_to_flavor_when_usage_missing():
    vms = [b.vm('a%d' % i, 'A', ram_mb=4096) for i in range(4)]
    usages = {v.uuid: snap.make_usage({'cpu': 0.0}) for v in vms}
    snapshot = b.cluster([b.host('A'), b.host('B')], vms, usages)
    loads = overload.host_loads(snapshot, P)
    assert loads['A']['ram'] == pytest.approx(1.0)
    assert [h.name for h in overload.find_overloaded(snapshot, P)] == ['A']


@pytest.mark.parametrize('dim, values', [
    ('disk_io', {'disk_read': 300.0, 'disk_write': 150.0}),
    ('net', {'net_rx': 600.0, 'net_tx': 500.0}),
])
def test_io_dimensions(dim, values):
    vm = b.vm('a', 'A')
    snapshot = b.cluster([b.host('A'), b.host('B')], [vm],
                         {'a': b.usage('idle', **values)})
    hot = overload.find_overloaded(snapshot, P)
    assert hot and dim in hot[0].excess


def test_worst_first_then_name():
    vms = [b.vm('%s%d' % (h, i), h) for h in 'ABC' for i in range(4)]
    cpu = {'A': 0.9, 'B': 1.0, 'C': 0.9}
    usages = {v.uuid: b.usage('idle', cpu=cpu[v.host]) for v in vms}
    snapshot = b.cluster([b.host(n) for n in 'CBA'], vms, usages)
    assert [h.name for h in overload.find_overloaded(snapshot, P)] == \
        ['B', 'A', 'C']


def test_sd_and_overload_amount():
    loads = {'A': {'cpu': 1.0, 'ram': 0.1, 'disk_io': 0, 'net': 0},
             'B': {'cpu': 0.0, 'ram': 0.1, 'disk_io': 0, 'net': 0}}
    assert overload.load_sd(loads) == pytest.approx(0.5)
    assert overload.overload_amount(loads, P) == pytest.approx(0.2)


# -- issue 18: the next hour's load, instances without metrics, hosts' own
# meters --------------------------------------------------------------------

def _with(snapshot, **fields):
    import dataclasses
    return dataclasses.replace(snapshot, **fields)


@pytest.mark.parametrize('forecast_cpu, hot', [
    (None, False),     # no forecast: the measured 0.5 -> 0.5 load
    (0.95, True),      # the next hour will be busier: plan on it
    (0.1, False),
])
def test_forecast_wins_over_the_measured_window(forecast_cpu, hot):
    from watcher_informed.core import demand
    snapshot = two_hosts(0.5)
    if forecast_cpu is not None:
        snapshot = _with(snapshot, forecast={
            'a%d' % i: demand.Forecast({'cpu': forecast_cpu}, {'cpu': 0.1})
            for i in range(4)})
    found = overload.find_overloaded(snapshot, P)
    assert [h.name for h in found] == (['A'] if hot else [])


def test_forecast_missing_a_metric_keeps_the_measured_one():
    from watcher_informed.core import demand
    snapshot = _with(two_hosts(0.9), forecast={
        'a0': demand.Forecast({'ram': 100.0})})
    assert overload.demands(snapshot)['a0']['cpu'] == pytest.approx(1.8)
    assert overload.demands(snapshot)['a0']['ram'] == pytest.approx(100.0)


def test_spread_is_absolute_per_dimension():
    from watcher_informed.core import demand
    vm = b.vm('a', 'A', vcpus=4)
    spread = overload.instance_spread(vm, demand.Forecast(
        {'cpu': 0.5}, {'cpu': 0.1, 'disk_read': 3.0, 'disk_write': 4.0}))
    assert spread == {'cpu': pytest.approx(0.4), 'ram': 0.0,
                      'disk_io': pytest.approx(5.0), 'net': 0.0}
    assert overload.instance_spread(vm, None)['cpu'] == 0.0


def _unmeasured_cluster(measured_cpus, host_cpu=None):
    """VMs m0.. measured on A, one 4-vCPU VM 'x' without CPU on A."""
    vms = [b.vm('m%d' % i, 'A', vcpus=1) for i in range(len(
        measured_cpus))] + [b.vm('x', 'A', vcpus=4)]
    usages = {'m%d' % i: b.usage('idle', cpu=c)
              for i, c in enumerate(measured_cpus)}
    usages['x'] = snap.make_usage({'ram': 100.0})
    snapshot = b.cluster([b.host('A', vcpus=16), b.host('B', vcpus=16)],
                         vms, usages)
    if host_cpu is not None:
        snapshot = _with(snapshot, host_usage={
            'A': snap.make_usage({'cpu': host_cpu})})
    return snapshot


@pytest.mark.parametrize('measured, host_cpu, cores', [
    # nearest-rank 90th percentile of the measured fractions x 4 vCPUs
    ([0.1] * 9 + [0.9], None, 0.1 * 4),
    ([0.1] * 5 + [0.9] * 5, None, 0.9 * 4),
    # never below the floor, even when every measured VM is idle
    ([0.0] * 4, None, overload.UNMEASURED_MIN_CPU * 4),
    # nothing measured at all: the floor (guesses alone never overload)
    ([], None, overload.UNMEASURED_MIN_CPU * 4),
    # the host meter caps it at what the measured VMs leave unexplained:
    # host 0.25 x 16 = 4 cores, measured 5 x 0.5 = 2.5 -> at most 1.5
    ([0.5] * 5, 0.25, 1.5),
    # ... but never below the floor
    ([0.5] * 5, 0.1, overload.UNMEASURED_MIN_CPU * 4),
])
def test_instance_without_cpu_counts_conservatively(measured, host_cpu,
                                                    cores):
    snapshot = _unmeasured_cluster(measured, host_cpu)
    assert overload.unmeasured(snapshot) == ['x']
    assert overload.demands(snapshot)['x']['cpu'] == pytest.approx(cores)
    assert overload.demands(snapshot)['x']['cpu'] > 0


@pytest.mark.parametrize('host_cpu, host_ram, fixed_cpu, fixed_ram', [
    # 4 VMs x 2 vCPU x 0.5 = 4 cores on 8: the host shows 6 -> 2 stay
    (0.75, None, 2.0, None),
    # the host shows less than its VMs: nothing is added
    (0.25, None, 0.0, None),
    (None, 16000.0, None, 16000.0 - 4 * b.IDLE['ram']),
])
def test_unexplained_host_load_stays_on_the_host(host_cpu, host_ram,
                                                 fixed_cpu, fixed_ram):
    snapshot = two_hosts(0.5)
    meters = {}
    if host_cpu is not None:
        meters['cpu'] = host_cpu
    if host_ram is not None:
        meters['ram'] = host_ram
    snapshot = _with(snapshot, host_usage={'A': snap.make_usage(meters)})
    fixed = overload.fixed_loads(snapshot)
    assert set(fixed) == {'A'}
    if fixed_cpu is not None:
        assert fixed['A']['cpu'] == pytest.approx(fixed_cpu)
    if fixed_ram is not None:
        assert fixed['A']['ram'] == pytest.approx(fixed_ram)
    # it does not move: with every VM gone, A keeps exactly that load
    empty = {u: 'B' for u in snapshot.placement()}
    loads = overload.host_loads(snapshot, P, empty)
    assert loads['A']['cpu'] == pytest.approx((fixed_cpu or 0.0) / 8)
    before = overload.host_loads(snapshot, P)['A']['cpu']
    if host_cpu is not None:
        assert before == pytest.approx(max(host_cpu, 0.5))


def test_hosts_without_meters_are_unchanged():
    snapshot = two_hosts(0.9)
    assert overload.fixed_loads(snapshot) == {}
    with_meter = _with(snapshot, host_usage={
        'A': snap.make_usage({'cpu': 0.95})})
    loads = overload.host_loads(with_meter, P)
    plain = overload.host_loads(snapshot, P)
    assert loads['B'] == plain['B']
    assert loads['A']['cpu'] == pytest.approx(0.95)


def test_ledger_counts_the_fixed_load():
    from watcher_informed.core import ledger
    snapshot = _with(two_hosts(0.5), host_usage={
        'A': snap.make_usage({'cpu': 0.75})})
    led = ledger.Ledger(snapshot, P)
    assert led.loads()['A']['cpu'] == pytest.approx(
        overload.host_loads(snapshot, P)['A']['cpu'])
    led.move('a0', 'B')
    placement = dict(snapshot.placement(), a0='B')
    assert led.loads()['A']['cpu'] == pytest.approx(
        overload.host_loads(snapshot, P, placement)['A']['cpu'])


@pytest.mark.parametrize('weight, excess', [
    (0.0, 1.6),   # (0.9 - 0.7) x 8 cores, as before
    (1.0, 2.1),   # + 1 spread of a0 (0.25 x 2 vCPUs)
    (2.0, 2.6),
])
def test_shed_targets_add_the_staying_spreads(weight, excess):
    from watcher_informed.core import demand
    snapshot = _with(two_hosts(0.9), forecast={
        'a0': demand.Forecast({'cpu': 0.9}, {'cpu': 0.25})})
    hot = overload.find_overloaded(snapshot, P)
    got = overload.shed_targets(snapshot, P, hot, overload.demands(snapshot),
                                weight)
    assert [h.name for h in got] == ['A']
    assert got[0].excess['cpu'] == pytest.approx(excess)
    # what is overloaded and its load do not change
    assert got[0].load == hot[0].load


def test_with_spreads_adds_weighted_spreads_per_instance():
    from watcher_informed.core import demand
    snapshot = _with(two_hosts(0.5), forecast={
        'a0': demand.Forecast({'cpu': 0.5}, {'cpu': 0.1})})
    base = overload.demands(snapshot)
    more = overload.with_spreads(snapshot, base, 2.0)
    assert more['a0']['cpu'] == pytest.approx(base['a0']['cpu'] + 0.4)
    assert more['a1']['cpu'] == pytest.approx(base['a1']['cpu'])


@pytest.mark.parametrize('spreads, weight, shares', [
    # one volatile instance carries its whole weighted spread
    ({'a0': 0.25}, 2.0, {'a0': 1.0, 'a1': 0.0}),
    # two: their spreads (0.3 and 0.4 x 2 vCPUs = 0.6 and 0.8 cores) add
    # in quadrature (1.0 core), shared by variance: 0.36 and 0.64
    ({'a0': 0.3, 'a1': 0.4}, 1.0, {'a0': 0.36, 'a1': 0.64}),
    ({'a0': 0.3, 'a1': 0.4}, 2.0, {'a0': 0.72, 'a1': 1.28}),
    # steady instances carry nothing
    ({'a0': 0.0, 'a1': 0.0}, 1.0, {'a0': 0.0, 'a1': 0.0}),
])
def test_spread_shares_add_up_in_quadrature(spreads, weight, shares):
    from watcher_informed.core import demand
    snapshot = _with(two_hosts(0.5), forecast={
        u: demand.Forecast({'cpu': 0.5}, {'cpu': s})
        for u, s in spreads.items()})
    base = overload.demands(snapshot)
    got = overload.spread_shares(snapshot, base, weight)
    for uuid, share in shares.items():
        assert got[base.index[uuid], 0] == pytest.approx(share)
    # a host's shares add up to weight x the quadrature sum of spreads
    cores = [2 * s for s in spreads.values()]
    assert sum(got[base.index[u], 0] for u in spreads) == pytest.approx(
        weight * sum(c * c for c in cores) ** 0.5)
    # with_spreads adds them to the demand; B's instance is untouched
    more = overload.with_spreads(snapshot, base, weight)
    assert more['a0']['cpu'] == pytest.approx(
        base['a0']['cpu'] + shares['a0'])
    assert more['b0']['cpu'] == pytest.approx(base['b0']['cpu'])


@pytest.mark.parametrize('spreads, weight, excess', [
    # planned excess 1.6 cores (0.9 -> 0.7 of 8 cores), plus weight x
    # the quadrature spread of A's instances, not their linear sum
    ({'a0': 0.3, 'a1': 0.4}, 1.0, 2.6),       # 1.0 core, not 1.4
    ({'a0': 0.3, 'a1': 0.4}, 0.5, 2.1),
    ({'a0': 0.3, 'a1': 0.4, 'a2': 0.0}, 1.0, 2.6),
])
def test_shed_targets_quadrature_and_floor(spreads, weight, excess):
    from watcher_informed.core import demand
    snapshot = _with(two_hosts(0.9), forecast={
        u: demand.Forecast({'cpu': 0.9}, {'cpu': s})
        for u, s in spreads.items()})
    hot = overload.find_overloaded(snapshot, P)
    got = overload.shed_targets(snapshot, P, hot, overload.demands(snapshot),
                                weight)
    assert got[0].excess['cpu'] == pytest.approx(excess)
    # the planned excess is kept as the floor to fall back to
    assert got[0].floor == pytest.approx(hot[0].excess)
    assert got[0].floor['cpu'] == pytest.approx(1.6)


@pytest.mark.parametrize('spread, weight, at_risk, excess', [
    # A at 0.6 planned: 1 spread of a0 (0.25 x 2 vCPUs) keeps it under
    (0.25, 1.0, False, None),
    # 4 spreads: 0.6 + 2 / 8 = 0.85 > 0.8, shed to 0.7: 1.2 cores
    (0.25, 4.0, True, 1.2),
    # exactly at the threshold is not over it
    (0.25, 3.2, False, None),
    # steady instances put no host at risk, whatever the weight
    (0.0, 5.0, False, None),
    (0.25, 0.0, False, None),
])
def test_shed_targets_add_the_hosts_at_risk(spread, weight, at_risk,
                                            excess):
    from watcher_informed.core import demand
    snapshot = _with(two_hosts(0.6), forecast={
        'a0': demand.Forecast({'cpu': 0.6}, {'cpu': spread})})
    loads = overload.host_loads(snapshot, P)
    hot = overload.find_overloaded(snapshot, P, loads=loads)
    assert hot == []
    got = overload.shed_targets(snapshot, P, hot, overload.demands(snapshot),
                                weight, loads)
    assert [h.name for h in got] == (['A'] if at_risk else [])
    if at_risk:
        assert got[0].at_risk
        # it sheds its robust excess or nothing (its floor is empty)
        assert got[0].floor == {}
        assert got[0].excess['cpu'] == pytest.approx(excess)
        assert got[0].load == loads['A']
        assert got[0].robust['cpu'] == pytest.approx(0.6 + weight * 0.5
                                                     / 8)


def test_hot_hosts_carry_their_robust_load_and_come_first():
    from watcher_informed.core import demand
    # A overloaded at planned load; B only at risk (one volatile VM)
    vms = [b.vm('a%d' % i, 'A') for i in range(4)] + \
        [b.vm('b%d' % i, 'B') for i in range(3)]
    usages = {v.uuid: b.usage('idle', cpu=0.9) for v in vms}
    snapshot = _with(b.cluster([b.host('A'), b.host('B')], vms, usages),
                     forecast={'b0': demand.Forecast({'cpu': 0.9},
                                                     {'cpu': 0.5})})
    loads = overload.host_loads(snapshot, P)
    hot = overload.find_overloaded(snapshot, P, loads=loads)
    got = overload.shed_targets(snapshot, P, hot, overload.demands(snapshot),
                                2.0, loads)
    assert [(h.name, h.at_risk) for h in got] == [('A', False),
                                                  ('B', True)]
    # A has no spread: its robust load is its planned load
    assert got[0].robust == pytest.approx(got[0].load)
    # B: 0.675 + 2 x (0.5 x 2 vCPUs) / 8 = 0.925
    assert got[1].robust['cpu'] == pytest.approx(0.925)
