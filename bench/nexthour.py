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

"""Plans that hold in the next hour (issue 18), on the Bitbrains traces.

    python -m bench.run nexthour [--sizes 8 20 50] [--seeds 1 2 3]

Every VM of a scenario is a Bitbrains trace from a seeded point: the
``history`` (25 hours of 5-minute samples, the last of which is hour H)
is what the metric store holds; hours H+1 and H+2 are what the VM really
does next.  The store's samples carry one 10 % log-normal measurement
error per VM and metric (as ``bench/scenarios.py``); the truth does not.
About a quarter of the hosts are filled with busy VMs until their *H+1*
load is over the CPU threshold, the rest get random VMs.

Contenders plan at the end of hour H:

* ``informed-<estimator>`` -- our strategy through its real class, reading
  the history from the in-memory store (one query per metric), with
  ``demand_estimator`` set to each of ``core.demand.ESTIMATORS``;
* ``informed-oracle`` -- our strategy fed hour H+1 itself, exactly
  (perfect foresight, ``demand_estimator`` ``last``);
* ``workload_stabilization`` and ``workload_balance`` looped audit after
  audit (threshold set to ours), on hour H as Watcher reads it
  (``bench/peers.py``).

Every plan is executed by the simulator on the *true* hour H+1 (the
trace, never an estimate); the placement it leaves is then graded on the
true hours H+1 and H+2.  Per contender: relief rate (hosts overloaded in
the true hour before the plan that are not after it, over all such
hosts), hosts made overloaded by the plan, scenarios fully relieved
(no host over in H+1 and no capacity violation), migrations, mean
completion, total downtime and capacity violations.
"""

import collections
import dataclasses
import math
import random
import time

import numpy as np

from bench import peers
from bench import scenarios
from watcher_informed import harness
from watcher_informed.adapters.metrics import memory
from watcher_informed.core import demand
from watcher_informed.core import overload
from watcher_informed.core import snapshot as snap

STEP_S = 300
HOUR = scenarios.HOUR
HISTORY_H = 25
NOW = 1.0e9          # the audit's clock: the end of hour H
ORACLE = 'informed-oracle'


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    hosts: tuple
    instances: tuple
    #: {metric: {uuid: [(t, value)]}} of the store (history, noisy).
    series: dict
    seen: snap.Snapshot       # hour H as Watcher's datasources read it
    truth1: snap.Snapshot     # hour H+1, exact
    truth2: snap.Snapshot     # hour H+2, exact
    link_mibps: float = 1250.0


def step_values(rows):
    """Per-step values of the core metrics for trace rows (5 minutes)."""
    used = rows[:, 6] / 1024.0
    churn = np.abs(np.diff(used, prepend=used[0])) / float(STEP_S)
    write = rows[:, 8] / 1024.0
    return {
        snap.CPU: rows[:, 4] / 100.0,
        snap.RAM: used,
        snap.DISK_READ: rows[:, 7] / 1024.0,
        snap.DISK_WRITE: write,
        snap.NET_RX: rows[:, 9] / 1024.0,
        snap.NET_TX: rows[:, 10] / 1024.0,
        snap.DIRTY_RATE: write + churn,
        snap.WSS: np.maximum(16.0, 0.25 * used),
    }


def _draw(traces, ids, rng):
    need = HISTORY_H * HOUR + 2 * HOUR
    for _ in range(10000):
        rows = traces[rng.choice(ids)]
        if len(rows) < need + 1:
            continue
        start = rng.randrange(HISTORY_H * HOUR, len(rows) - 2 * HOUR)
        window = rows[start - HISTORY_H * HOUR:start + 2 * HOUR]
        if np.any(window[:, 1] <= 0) or np.any(window[:, 5] <= 0):
            continue
        ram_mb = int(window[HISTORY_H * HOUR - 1, 5] / 1024)
        if ram_mb > 65536:
            continue
        vcpus = int(window[HISTORY_H * HOUR - 1, 1])
        return vcpus, ram_mb, window
    raise RuntimeError('no usable trace window found')


def _hour(window, k):
    """Rows of hour ``k`` relative to H (0 = H, 1 = H+1, 2 = H+2)."""
    end = HISTORY_H * HOUR + k * HOUR
    return window[end - HOUR:end]


def _busy(vm, k):
    vcpus, _, window = vm
    return float(np.mean(_hour(window, k)[:, 4])) / 100.0 * vcpus


def build(hosts, seed, traces, vms_per_host=12, hot_fraction=0.25):
    """One next-hour scenario (deterministic for a seed)."""
    rng = random.Random(seed)  # noqa: S311 - seeded scenario
    ids = sorted(traces)
    pool = [_draw(traces, ids, rng)
            for _ in range(max(200, hosts * vms_per_host * 2))]
    busy = [v for v in pool if _busy(v, 1) >= 0.5] or pool
    host_list = [snap.Host('cmp%04d' % i, 16, 131072, 4000,
                           vcpu_ratio=4.0, ram_ratio=1.5)
                 for i in range(hosts)]
    n_hot = max(1, int(round(hosts * hot_fraction)))
    placed = []
    alloc = {h.name: [0, 0] for h in host_list}
    cores = dict.fromkeys(alloc, 0.0)

    def add(host, vm):
        vcpus, ram_mb, _ = vm
        cap = host.capacity
        if alloc[host.name][0] + vcpus > cap.vcpus or \
                alloc[host.name][1] + ram_mb > cap.ram_mb:
            return False
        placed.append((scenarios._uuid(rng), host.name, vm))
        alloc[host.name][0] += vcpus
        alloc[host.name][1] += ram_mb
        cores[host.name] += _busy(vm, 1)
        return True

    for host in host_list[:n_hot]:
        target = host.vcpus * rng.uniform(0.9, 1.15)
        for _ in range(400):
            if cores[host.name] >= target:
                break
            add(host, rng.choice(busy))
    for _ in range(hosts * vms_per_host - len(placed)):
        host = rng.choice(host_list[n_hot:] or host_list)
        vm = rng.choice(pool)
        if cores[host.name] + _busy(vm, 1) < 0.6 * host.vcpus:
            add(host, vm)
    noise = random.Random(seed + 7919)  # noqa: S311 - seeded noise
    insts, series = [], collections.defaultdict(dict)
    seen, truth1, truth2 = {}, {}, {}
    times = NOW - STEP_S / 2.0 - STEP_S * np.arange(
        HISTORY_H * HOUR)[::-1]
    for k, (uuid, host, (vcpus, ram_mb, window)) in enumerate(placed):
        insts.append(snap.Instance(uuid, host, vcpus, ram_mb, 20,
                                   name='bb-%d' % k))
        hist = step_values(window[:HISTORY_H * HOUR])
        last = {}
        for metric, values in sorted(hist.items()):
            factor = math.exp(noise.gauss(0.0, scenarios.NOISE))
            noisy = values * factor
            series[metric][uuid] = list(zip(times.tolist(),
                                            noisy.tolist()))
            last[metric] = float(np.mean(noisy[-HOUR:]))
        seen[uuid] = snap.make_usage(last)
        truth1[uuid] = snap.make_usage(
            scenarios._window_usage(_hour(window, 1)))
        truth2[uuid] = snap.make_usage(
            scenarios._window_usage(_hour(window, 2)))
    hosts_t, insts_t = tuple(host_list), tuple(insts)
    return Scenario(
        'bitbrains-%dh-s%d' % (hosts, seed), hosts_t, insts_t,
        dict(series), snap.Snapshot(hosts_t, insts_t, seen),
        snap.Snapshot(hosts_t, insts_t, truth1),
        snap.Snapshot(hosts_t, insts_t, truth2))


def informed(scenario, reader, name, **params):
    """Our strategy, through its real class, on ``reader``."""
    cloud = harness.Cloud(model=peers.build_model(scenario.seen),
                          reader=reader, now=NOW)
    strategy = harness.prepare(cloud, params)
    start = time.perf_counter()
    strategy.execute()
    elapsed = time.perf_counter() - start
    plan = strategy.informed_plan
    return peers.PeerPlan(name, tuple((m.uuid, m.source, m.dest)
                                      for m in plan.moves),
                          {m.uuid: m.parents for m in plan.moves},
                          elapsed, 1)


def contenders(scenario, estimators=demand.ESTIMATORS, history=None,
               params=None):
    """Every contender's plan (see the module documentation).

    ``params`` are more audit parameters of the ``informed-<estimator>``
    contenders (e.g. ``relief_spread``).
    """
    audit = {'max_migrations': 1000,
             'migration_bandwidth': scenario.link_mibps}
    history = history or HISTORY_H * 3600
    plans = []
    for method in estimators:
        reader = memory.InMemoryMetrics(scenario.series, NOW)
        plans.append(informed(scenario, reader, 'informed-%s' % method,
                              demand_estimator=method,
                              demand_history=history,
                              **dict(audit, **(params or {}))))
    oracle = memory.InMemoryMetrics.from_values(
        {u: dict(v.values) for u, v in scenario.truth1.usage.items()},
        now=NOW)
    plans.append(informed(scenario, oracle, ORACLE,
                          demand_estimator='last', **audit))
    plans.append(peers.workload_stabilization(scenario.seen))
    plans.append(peers.workload_balance_loop(scenario.seen, threshold=80.0))
    return plans


def grade(scenario, plan, p, setup):
    """Simulate ``plan`` on the true H+1; grade H+1 and H+2."""
    from bench import run as bench_run
    from watcher_informed.evaluation import simulate
    moves, parents = bench_run._sim_inputs(plan)
    result = simulate.simulate(scenario.truth1, moves, parents, p, setup)
    placement = scenario.truth1.placement()
    for m in result.moves:
        placement[m.uuid] = m.dest
    row = {'migrations': len(plan.moves),
           'mean_completion_s': result.mean_completion_s,
           'downtime_s': result.total_downtime_s,
           'violations': result.capacity_violations,
           'plan_time_s': plan.plan_time_s}
    for label, truth in (('h1', scenario.truth1), ('h2', scenario.truth2)):
        before = overload.host_loads(truth, p)
        after = overload.host_loads(truth, p, placement)
        hot = {h for h, v in before.items() if overload.over_dims(v, p)}
        still = {h for h, v in after.items() if overload.over_dims(v, p)}
        row[label + '_hot'] = len(hot)
        row[label + '_relieved'] = len(hot - still)
        row[label + '_new'] = len(still - hot)
        row[label + '_after'] = len(still)
    row['scenario_relieved'] = (row['h1_after'] == 0 and
                                row['violations'] == 0)
    return row


def run(sizes=(8, 20, 50), seeds=(1, 2, 3), estimators=demand.ESTIMATORS,
        history=None, log=None, params=None):
    """``{scenario: {contender: row}}``."""
    from watcher_informed.core import params as params_mod
    from watcher_informed.evaluation import simulate
    traces = scenarios.load_traces()
    p = params_mod.Params()
    setup = simulate.Setup(link_mibps=1250.0, workers=8)
    results = {}
    for size in sizes:
        for seed in seeds:
            t0 = time.perf_counter()
            sc = build(size, seed, traces)
            rows = {}
            for plan in contenders(sc, estimators, history, params):
                rows[plan.name] = grade(sc, plan, p, setup)
            results[sc.name] = rows
            if log:
                log('%-22s %5.1f s' % (sc.name, time.perf_counter() - t0))
    return results


def _sum(results, name, key):
    return sum(rows[name][key] for rows in results.values())


def _mean(results, name, key):
    values = [rows[name][key] for rows in results.values()
              if rows[name][key] is not None]
    return sum(values) / len(values) if values else None


def table(results):
    """Markdown: per-contender totals and ratios to the oracle."""
    names = list(next(iter(results.values())))
    hot1 = _sum(results, ORACLE, 'h1_hot')
    hot2 = _sum(results, ORACLE, 'h2_hot')
    oracle_rel = _sum(results, ORACLE, 'h1_relieved')
    oracle_mig = _sum(results, ORACLE, 'migrations')
    peer_ok = {s for s, rows in results.items()
               if any(r['scenario_relieved'] for n, r in rows.items()
                      if not n.startswith('informed'))}
    lines = [
        '%d scenarios; hosts overloaded before any plan: %d in H+1, %d in '
        'H+2; scenarios some peer fully relieves: %d' % (
            len(results), hot1, hot2, len(peer_ok)),
        '',
        '| contender | relief H+1 | relief H+2 | made hot H+1 | scenarios '
        'relieved | of peers\' | migrations | relief / oracle | '
        'migrations / oracle | mean completion (s) | downtime (s) | '
        'capacity violations |',
        '|---' * 13 + '|']
    for name in names:
        rel1 = _sum(results, name, 'h1_relieved')
        rel2 = _sum(results, name, 'h2_relieved')
        mig = _sum(results, name, 'migrations')
        ok = sum(1 for rows in results.values()
                 if rows[name]['scenario_relieved'])
        ok_peer = sum(1 for s in peer_ok
                      if results[s][name]['scenario_relieved'])
        comp = _mean(results, name, 'mean_completion_s')
        lines.append(
            '| %s | %.0f %% | %.0f %% | %d | %d | %d / %d | %d | %s | %s | '
            '%s | %.3g | %d |' % (
                name, 100.0 * rel1 / max(hot1, 1),
                100.0 * rel2 / max(hot2, 1),
                _sum(results, name, 'h1_new'), ok, ok_peer, len(peer_ok),
                mig, '%.2f' % (rel1 / oracle_rel) if oracle_rel else 'n/a',
                '%.2f' % (mig / oracle_mig) if oracle_mig else 'n/a',
                '%.0f' % comp if comp is not None else 'n/a',
                _mean(results, name, 'downtime_s') or 0.0,
                _sum(results, name, 'violations')))
    return '\n'.join(lines)


def per_scenario(results):
    """Markdown: hosts still overloaded in H+1 per scenario/contender."""
    names = list(next(iter(results.values())))
    lines = ['| scenario | hot H+1 | ' + ' | '.join(names) + ' |',
             '|---' * (len(names) + 2) + '|']
    for sc, rows in results.items():
        cells = ['%d (%d mig)' % (rows[n]['h1_after'], rows[n]['migrations'])
                 for n in names]
        lines.append('| %s | %d | %s |' % (sc, rows[ORACLE]['h1_hot'],
                                           ' | '.join(cells)))
    return '\n'.join(lines)
