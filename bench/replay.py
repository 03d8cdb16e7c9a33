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

"""A day of continuous audits replayed on the Bitbrains traces.

    python -m bench.replay [--hosts 20] [--hours 24] [--interval 600]

Each VM follows its own real trace from a seeded starting point.  Every
``interval`` seconds each contender audits the cluster on what the metrics
show (the mean of the previous hour, with 10 % noise), its plan is
executed by the simulator on what the VMs really do during the next
interval, and the resulting placement carries over to the next audit.
Ours is given Watcher's record of the migrations it executed (the
strategy reads it from Watcher's database in production); Watcher's
strategies keep no such memory.

Contenders: ours (``informed``), ours with the opt-in balance after
relief (``informed+balance``, audit parameter ``balance``), Watcher's
``workload_balance`` and ``workload_stabilization``.

Reported per contender: migrations, migrations per VM per day,
migrations per moved VM (max), VMs
moved back to a host they left within the day ("ping-pong"), the cost of
the migrations to the tenants (core-seconds, as the gate prices them),
the share of (host, audit) samples over the CPU threshold, and the mean
over audits of the hosts' true CPU-load standard deviation.
"""

import argparse
import collections
import dataclasses
import json
import random
import sys

import numpy as np

from bench import contenders
from bench import peers
from bench import scenarios
from watcher_informed.core import classify
from watcher_informed.core import gate
from watcher_informed.core import overload
from watcher_informed.core import params as params_mod
from watcher_informed.core import snapshot as snap
from watcher_informed.evaluation import simulate

STEP_S = 300


@dataclasses.dataclass
class Tenant:
    uuid: str
    rows: np.ndarray
    start: int
    vcpus: int
    ram_mb: int


def _tenants(traces, count, samples, rng):
    ids = sorted(traces)
    out = []
    while len(out) < count:
        rows = traces[rng.choice(ids)]
        if len(rows) < samples + 24:
            continue
        start = rng.randrange(12, len(rows) - samples - 12)
        window = rows[start - 12:start + samples + 12]
        if np.any(window[:, 1] <= 0) or np.any(window[:, 5] <= 0):
            continue
        ram_mb = int(window[-1, 5] / 1024)
        if ram_mb > 65536:
            continue
        out.append(Tenant(scenarios._uuid(rng), rows, start,
                          int(window[-1, 1]), ram_mb))
    return out


def _usage(tenant, k, steps_per_audit, seen, rng):
    i = tenant.start + k * steps_per_audit
    rows = tenant.rows[i - 12:i] if seen else \
        tenant.rows[i:i + steps_per_audit]
    values = scenarios._window_usage(rows)
    if seen:
        values = scenarios._noisy(values, rng)
    return snap.make_usage(values)


def _busy(tenant):
    rows = tenant.rows[tenant.start - 12:tenant.start]
    return float(np.mean(rows[:, 4])) / 100.0 * tenant.vcpus


def initial(tenants, hosts, rng, steps):
    """Place tenants so about a quarter of hosts start overloaded."""
    host_list = [snap.Host('cmp%03d' % i, 16, 131072, 4000, vcpu_ratio=4.0,
                           ram_ratio=1.5) for i in range(hosts)]
    placement = {}
    alloc, busy = collections.Counter(), collections.Counter()
    hot = host_list[:max(1, hosts // 4)]
    cold = host_list[len(hot):] or host_list
    by_busy = sorted(tenants, key=lambda t: (-_busy(t), t.uuid))
    for host in hot:
        target = host.vcpus * rng.uniform(0.9, 1.1)
        for tenant in list(by_busy):
            if busy[host.name] >= target:
                break
            if alloc[host.name] + tenant.vcpus <= host.capacity.vcpus:
                placement[tenant.uuid] = host.name
                alloc[host.name] += tenant.vcpus
                busy[host.name] += _busy(tenant)
                by_busy.remove(tenant)
    for tenant in by_busy:
        for _ in range(200):
            host = rng.choice(cold)
            if alloc[host.name] + tenant.vcpus <= host.capacity.vcpus and \
                    busy[host.name] + _busy(tenant) <= 0.6 * host.vcpus:
                break
        placement[tenant.uuid] = host.name
        alloc[host.name] += tenant.vcpus
        busy[host.name] += _busy(tenant)
    return host_list, placement


def snapshot_at(host_list, tenants, placement, k, steps, seen, rng):
    insts = tuple(snap.Instance(t.uuid, placement[t.uuid], t.vcpus,
                                t.ram_mb, 20, name=t.uuid[:8])
                  for t in tenants)
    usage = {t.uuid: _usage(t, k, steps, seen, rng) for t in tenants}
    return snap.Snapshot(tuple(host_list), insts, usage)


def run_contender(name, hosts, hours, interval, seed, traces):
    rng = random.Random(seed)  # noqa: S311 - seeded replay
    steps = interval // STEP_S
    audits = int(hours * 3600 // interval)
    tenants = _tenants(traces, hosts * 10, audits * steps, rng)
    host_list, placement = initial(tenants, hosts, rng, steps)
    p = params_mod.Params()
    history, moves_per_vm = [], collections.Counter()
    visited = collections.defaultdict(list)
    ping_pong, cost, over, samples = 0, 0.0, 0, 0
    spreads = []
    noise = random.Random(seed + 1)  # noqa: S311 - seeded noise
    for k in range(audits):
        now = k * float(interval)
        seen = snapshot_at(host_list, tenants, placement, k, steps, True,
                           noise)
        truth = snapshot_at(host_list, tenants, placement, k, steps, False,
                            noise)
        if name in ('informed', 'informed+balance'):
            plan = contenders.informed(
                seen, history=history, now=now, max_migrations=1000,
                **({'balance': True} if name == 'informed+balance' else {}))[0]
        elif name == 'workload_stabilization':
            plan = peers.workload_stabilization(seen, seed=seed + k)
        else:
            plan = peers.workload_balance_loop(
                seen, threshold=p.cpu_threshold * 100, max_audits=20)
        loads = overload.host_loads(truth, p)
        spreads.append(overload.load_sd(loads))
        samples += len(loads)
        over += sum(1 for v in loads.values() if v['cpu'] > p.cpu_threshold)
        if not plan.moves:
            continue
        from bench import run as bench_run
        keyed, parents = bench_run._sim_inputs(plan)
        result = simulate.simulate(truth, keyed, parents, p,
                                   simulate.Setup(workers=8))
        profiles = classify.classify(truth, p)
        insts = truth.instance_by_uuid
        for m in result.moves:
            moves_per_vm[m.uuid] += 1
            if m.dest in visited[m.uuid]:
                ping_pong += 1
            visited[m.uuid].append(m.source)
            placement[m.uuid] = m.dest
            history.append(snap.RecentMove(m.uuid, m.source, m.dest,
                                           now + m.end_s))
            mig = simulate.cost_mod.MigrationCost(
                m.end_s - m.start_s, m.downtime_s, m.sent_mib, m.rounds,
                True)
            cost += gate.move_cost(insts[m.uuid], truth.usage_of(m.uuid),
                                   profiles[m.uuid].cls, mig)
    return {
        'contender': name, 'audits': audits, 'vms': len(tenants),
        'migrations': sum(moves_per_vm.values()),
        'per_vm_day': sum(moves_per_vm.values()) / len(tenants) /
        (hours / 24.0),
        'max_moves_per_vm': max(moves_per_vm.values(), default=0),
        'ping_pong': ping_pong, 'cost_core_s': cost,
        'over_threshold_share': over / samples if samples else 0.0,
        'mean_cpu_sd': sum(spreads) / len(spreads) if spreads else 0.0,
    }


def replay(hosts=20, hours=24, interval=600, seed=1, traces=None,
           names=('informed', 'informed+balance', 'workload_balance',
                  'workload_stabilization')):
    traces = traces if traces is not None else scenarios.load_traces()
    return [run_contender(n, hosts, hours, interval, seed, traces)
            for n in names]


def table(rows):
    lines = ['| contender | audits | migrations | per VM per day | '
             'max per VM | ping-pong | migration cost (core-s) | '
             'host-audits over threshold | mean CPU load SD |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append('| %s | %d | %d | %.3f | %d | %d | %.0f | %.1f %% | '
                     '%.3f |' % (
                         r['contender'], r['audits'], r['migrations'],
                         r['per_vm_day'], r['max_moves_per_vm'],
                         r['ping_pong'], r['cost_core_s'],
                         100 * r['over_threshold_share'],
                         r['mean_cpu_sd']))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bench.replay')
    parser.add_argument('--hosts', type=int, default=20)
    parser.add_argument('--hours', type=float, default=24)
    parser.add_argument('--interval', type=int, default=600)
    parser.add_argument('--seeds', type=int, nargs='+', default=[1])
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seeds:
        for r in replay(args.hosts, args.hours, args.interval, seed):
            r['seed'] = seed
            rows.append(r)
            print(r, file=sys.stderr)
    print(table(rows))
    scenarios.CACHE.parent.mkdir(exist_ok=True)
    (scenarios.CACHE.parent / 'replay.json').write_text(
        json.dumps(rows, indent=1))
    return rows


if __name__ == '__main__':
    import warnings
    warnings.simplefilter('ignore')
    main()
