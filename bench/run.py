#!/usr/bin/env python3
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
"""Benchmark: informed_live_migration vs Watcher's own strategies.

    python -m bench.run quality [--sizes 8 20 50] [--seeds 1 2 3]
    python -m bench.run gap
    python -m bench.run scale [--sizes 20x200 100x2000 500x10000]
    python -m bench.run fingerprint [--sizes 8 20 50] [--seeds 1 2 3]
    python -m bench.run cost [--sizes 8 20] [--seeds 1 2 3] [--before DIR]
    python -m bench.run nexthour [--sizes 8 20 50] [--seeds 1 2 3]
    python -m bench.run cli [--sizes 500x10000 5000x100000]
    python -m bench.run section33 [--orders 200]
    python -m bench.run rooms [--sizes 8 20 50] [--seeds 1 2 3 4 5]
    python -m bench.run balance [--sizes 8 20 50] [--seeds 1 2 3]
                                [--aggressiveness N]

Every contender plans on the *seen* metrics of a scenario; every plan is
executed by the simulator on the *true* parameters (bench/scenarios.py).
Each command prints a Markdown table and writes JSON under bench/out/.
"""

import argparse
import itertools
import json
import math
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

OUT = pathlib.Path(__file__).resolve().parent / 'out'

METRICS = (
    ('relieved_s', 'time to relieve (s)'),
    ('makespan_s', 'makespan (s)'),
    ('mean_completion_s', 'mean completion (s)'),
    ('downtime_s', 'total downtime (s)'),
    ('sent_gib', 'data sent (GiB)'),
    ('interference_vm_s', 'interference (VM-s)'),
    ('final_sd', 'final CPU load SD'),
    ('max_load', 'max host CPU load'),
    ('overloaded_after', 'hosts still overloaded'),
    ('migrations', 'migrations'),
    ('violations', 'capacity violations'),
    ('plan_time_s', 'plan time (s)'),
)
PEERS = ('workload_stabilization+ws_planner',
         'workload_stabilization+weight_planner',
         'workload_balance_loop+weight_planner')


def _sim_inputs(plan):
    """Keyed moves and parents, so one VM may move twice (audit loops)."""
    counts = {}
    keyed, last_key = [], {}
    chain = plan.audits > 1
    parents = {}
    previous = None
    for uuid, src, dst in plan.moves:
        counts[uuid] = counts.get(uuid, 0) + 1
        key = uuid if counts[uuid] == 1 else '%s#%d' % (uuid, counts[uuid])
        keyed.append((key, uuid, src, dst))
        if chain:
            parents[key] = (previous,) if previous else ()
        else:
            parents[key] = tuple(last_key.get(p, p)
                                 for p in plan.parents.get(uuid, ()))
        last_key[uuid] = key
        previous = key
    return keyed, parents


def measure(scenario, plan, p, setup):
    from watcher_informed.core import overload
    from watcher_informed.evaluation import simulate
    moves, parents = _sim_inputs(plan)
    result = simulate.simulate(scenario.truth, moves, parents, p, setup,
                               truths=scenario.truths or None)
    loads = result.final_loads
    return {
        'relieved_s': result.relieved_at_s,
        'makespan_s': result.makespan_s,
        'mean_completion_s': result.mean_completion_s,
        'downtime_s': result.total_downtime_s,
        'sent_gib': result.sent_mib / 1024.0,
        'interference_vm_s': result.interference_vm_s,
        'final_sd': overload.load_sd(loads),
        'max_load': max(v['cpu'] for v in loads.values()),
        'overloaded_after': sum(1 for v in loads.values()
                                if overload.over_dims(v, p)),
        'migrations': len(plan.moves),
        'violations': result.capacity_violations,
        'plan_time_s': plan.plan_time_s,
    }


def run_scenario(scenario):
    import dataclasses

    from bench import contenders
    from bench import peers
    from watcher_informed.adapters import parameters
    from watcher_informed.evaluation import simulate
    from watcher_informed.evaluation import workloads
    paper = scenario.name.startswith('paper')
    ours, plan, strategy, _ = contenders.informed(scenario.seen,
                                                  **_audit(scenario))
    p, _ = parameters.to_params(dict(strategy.input_parameters),
                                strategy.config)
    sim_p = workloads.paper_params() if paper else dataclasses.replace(
        p, migration_bandwidth=scenario.link_mibps)
    setup = simulate.Setup(link_mibps=scenario.link_mibps, workers=8)
    plans = [ours] + contenders.ablations(scenario.seen, plan, p)
    plans.append(peers.workload_stabilization(scenario.seen))
    plans.append(peers.workload_stabilization(scenario.seen,
                                              planner=peers.WEIGHT))
    # workload_balance's threshold (host CPU %) set to ours, not its 25 %
    plans.append(peers.workload_balance_loop(
        scenario.seen, threshold=p.cpu_threshold * 100))
    rows = {}
    for pl in plans:
        rows[pl.name] = measure(scenario, pl, sim_p, setup)
    return rows


def _fmt(value, none='never'):
    if value is None:
        return none
    if isinstance(value, int):
        return str(value)
    return '%.3g' % value


def _geo_ratio(results, metric, ours, peer):
    ratios = []
    for rows in results.values():
        a, b = rows[ours][metric], rows[peer][metric]
        if a is None or b is None or a <= 0 or b <= 0:
            continue
        ratios.append(math.log(a / b))
    if not ratios:
        return None
    return math.exp(sum(ratios) / len(ratios))


def quality_table(results):
    names = list(next(iter(results.values())))
    lines = ['| metric (mean over %d scenarios) | %s |'
             % (len(results), ' | '.join(names)),
             '|---' * (len(names) + 1) + '|']
    for metric, label in METRICS:
        cells = []
        for name in names:
            values = [rows[name][metric] for rows in results.values()]
            known = [v for v in values if v is not None]
            cell = _fmt(statistics.mean(known)) if known else 'never'
            never = len(values) - len(known)
            if never:
                cell += ' (%d never)' % never
            cells.append(cell)
        lines.append('| %s | %s |' % (label, ' | '.join(cells)))
    lines += ['', '| ours / peer (geometric mean of per-scenario ratios) | '
              + ' | '.join(PEERS) + ' |', '|---' * (len(PEERS) + 1) + '|']
    for metric, label in METRICS:
        cells = [_fmt(_geo_ratio(results, metric, 'informed', peer), 'n/a')
                 for peer in PEERS]
        lines.append('| %s | %s |' % (label, ' | '.join(cells)))
    return '\n'.join(lines)


def cmd_quality(args):
    from bench import scenarios
    traces = scenarios.load_traces()
    results = {}
    todo = [scenarios.paper_mix(s) for s in args.seeds]
    for size, seed in itertools.product(args.sizes, args.seeds):
        todo.append(scenarios.bitbrains(size, seed, traces=traces))
    for scenario in todo:
        t0 = time.perf_counter()
        results[scenario.name] = run_scenario(scenario)
        print('%-24s %5.1f s' % (scenario.name, time.perf_counter() - t0),
              file=sys.stderr)
    table = quality_table(results)
    print(table)
    OUT.mkdir(exist_ok=True)
    (OUT / 'quality.json').write_text(json.dumps(results, indent=1))
    return results


def best_orders(scenario, plan, p, setup, limit=7):
    """Exhaustive search over move orders (<= limit moves)."""
    from bench import contenders
    n = len(plan.moves)
    if not 0 < n <= limit:
        return None
    best = {'mean_completion_s': math.inf, 'makespan_s': math.inf}
    for perm in itertools.permutations(range(n)):
        rank = {plan.moves[i].uuid: k for k, i in enumerate(perm)}
        pl = contenders.reorder(scenario.seen, plan, p,
                                lambda m: (rank[m.uuid],), 'perm')
        got = measure(scenario, pl, p, setup)
        for metric in best:
            best[metric] = min(best[metric], got[metric])
    return best


def cmd_gap(args):
    import dataclasses

    from bench import contenders
    from bench import scenarios
    from watcher_informed.adapters import parameters
    from watcher_informed.evaluation import simulate
    from watcher_informed.evaluation import workloads
    traces = scenarios.load_traces()
    rows = []
    todo = [scenarios.paper_mix(s) for s in args.seeds] + [
        scenarios.bitbrains(8, s, traces=traces) for s in args.seeds]
    for scenario in todo:
        paper = scenario.name.startswith('paper')
        ours, plan, strategy, _ = contenders.informed(
            scenario.seen, migration_bandwidth=scenario.link_mibps)
        p, _ = parameters.to_params(dict(strategy.input_parameters),
                                    strategy.config)
        sim_p = workloads.paper_params() if paper else dataclasses.replace(
            p, migration_bandwidth=scenario.link_mibps)
        setup = simulate.Setup(link_mibps=scenario.link_mibps, workers=8)
        best = best_orders(scenario, plan, sim_p, setup)
        if best is None:
            continue
        got = measure(scenario, ours, sim_p, setup)
        rows.append({'scenario': scenario.name, 'moves': len(plan.moves),
                     'ours': got, 'best': best})
    lines = ['| scenario | moves | mean completion ours / best | '
             'makespan ours / best |', '|---|---|---|---|']
    for r in rows:
        lines.append('| %s | %d | %.3f | %.3f |' % (
            r['scenario'], r['moves'],
            r['ours']['mean_completion_s'] / r['best']['mean_completion_s'],
            r['ours']['makespan_s'] / r['best']['makespan_s']))
    print('\n'.join(lines))
    OUT.mkdir(exist_ok=True)
    (OUT / 'gap.json').write_text(json.dumps(rows, indent=1))


def _scale_one(contender, hosts, vms):
    """Run in a child process: plan time and peak RSS of one contender."""
    from bench import contenders
    from bench import peers
    from bench import scenarios
    scenario = scenarios.bitbrains(hosts, 1, vms_per_host=vms // hosts)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if contender == 'informed':
        plan = contenders.informed(scenario.seen, max_migrations=10000)[0]
    else:
        plan = peers.workload_stabilization(scenario.seen)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({'contender': contender, 'hosts': hosts,
                      'vms': len(scenario.seen.instances),
                      'plan_time_s': plan.plan_time_s,
                      'plan_cpu_s': plan.plan_cpu_s,
                      'moves': len(plan.moves), 'peak_rss_mib': peak / 1024,
                      'rss_before_plan_mib': base / 1024}))


def cmd_scale(args):
    rows = []
    for size in args.sizes:
        hosts, vms = (int(x) for x in size.split('x'))
        for contender in args.contenders:
            if contender != 'informed' and hosts > args.peer_max_hosts:
                continue
            proc = subprocess.run(
                [sys.executable, '-W', 'ignore', '-m', 'bench.run',
                 '_scale_one', contender, str(hosts), str(vms)],
                capture_output=True, text=True, timeout=3600,
                cwd=OUT.parent.parent)
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(rows[-1], file=sys.stderr)
    lines = ['| hosts x VMs | contender | plan time (s) | plan CPU (s) | '
             'moves | peak RSS (MiB) |', '|---|---|---|---|---|---|']
    for r in rows:
        lines.append('| %dx%d | %s | %.2f | %.2f | %d | %.0f |' % (
            r['hosts'], r['vms'], r['contender'], r['plan_time_s'],
            r['plan_cpu_s'], r['moves'], r['peak_rss_mib']))
    ours = {(r['hosts'], r['vms']): r for r in rows
            if r['contender'] == 'informed'}
    for r in rows:
        mine = ours.get((r['hosts'], r['vms']))
        if r['contender'] != 'informed' and mine:
            lines.append('\n%dx%d: informed %.0fx faster than %s in CPU '
                         '(%.0fx in wall time), same run' % (
                             r['hosts'], r['vms'],
                             r['plan_cpu_s'] / mine['plan_cpu_s'],
                             r['contender'],
                             r['plan_time_s'] / mine['plan_time_s']))
    print('\n'.join(lines))
    OUT.mkdir(exist_ok=True)
    (OUT / 'scale.json').write_text(json.dumps(rows, indent=1))


#: what the audit can be told of the platform the simulator runs the
#: paper mixes on (``workloads.paper_params``: Xen, no completion
#: timeout, a constant 300 ms downtime limit); the downtime steps (Xen
#: has none) and the round cap (29) cannot be said in an audit.
PAPER_PLATFORM = {'live_migration_completion_timeout': 0,
                  'live_migration_downtime': 300}


def _audit(scenario, paper_platform=False):
    """Audit parameters of a scenario: its link as bandwidth and NIC.

    ``paper_platform``: a paper mix's audit is also told
    :data:`PAPER_PLATFORM` (otherwise it plans for Nova's defaults).
    """
    from watcher_informed.adapters import parameters
    audit = {'max_migrations': 1000,
             'migration_bandwidth': scenario.link_mibps}
    known = parameters.schema()['properties']
    overrides = {}
    if scenario.link_mibps != 1250.0:
        overrides['host_network_capacity'] = scenario.link_mibps
    if paper_platform and scenario.name.startswith('paper'):
        overrides.update(PAPER_PLATFORM)
    if 'deploy_overrides' in known and overrides:
        audit['deploy_overrides'] = overrides
    return audit


def _cost_scenarios(args):
    """Paper mixes, then Bitbrains sizes x seeds (``cost``, ``balance``)."""
    from bench import scenarios
    traces = scenarios.load_traces()
    todo = [scenarios.paper_mix(s) for s in args.seeds]
    for size, seed in itertools.product(args.sizes, args.seeds):
        todo.append(scenarios.bitbrains(size, seed, traces=traces))
    return todo


def cmd_cost_plans(args):
    """Our plans with their predicted times, as JSON on stdout.

    Runs with whatever ``watcher_informed`` is importable, so that the
    ``cost`` command can ask an older checkout (``--before``) for its
    plans on the same scenarios.  ``--no-resident`` hides the
    ``ram_resident`` metric from the planner.
    """
    import dataclasses

    from bench import contenders
    from watcher_informed.core import snapshot as snap
    out = {}
    for scenario in _cost_scenarios(args):
        seen = scenario.seen
        if args.no_resident:
            seen = dataclasses.replace(seen, usage={
                u: snap.make_usage({k: v for k, v in us.values.items()
                                    if k != 'ram_resident'})
                for u, us in seen.usage.items()})
        plan = contenders.informed(seen, **_audit(scenario))[1]
        out[scenario.name] = [
            [m.uuid, m.source, m.dest, list(m.parents), m.start_s, m.end_s]
            for m in plan.moves]
    print(json.dumps(out))


def _plans_from(tree, args, no_resident=False):
    """``cost_plans`` run in ``tree`` (a checkout) or here."""
    import os
    cmd = [sys.executable, '-W', 'ignore', '-m', 'bench.run', '_cost_plans',
           '--sizes'] + [str(x) for x in args.sizes] + ['--seeds'] + \
        [str(x) for x in args.seeds]
    if no_resident:
        cmd.append('--no-resident')
    env = dict(os.environ)
    cwd = OUT.parent.parent
    if tree:
        cwd = pathlib.Path(tree)
        env['PYTHONPATH'] = str(cwd)
        env.setdefault('WATCHER_INFORMED_TRACE', str(
            OUT.parent.parent.parent / 'shared' / 'data' /
            'bitbrains-gwa-t-12-rnd'))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=7200, check=False)
    if proc.returncode:
        raise SystemExit('plans from %s failed:\n%s'
                         % (tree or 'here', proc.stderr[-3000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cost_rows(scenario, moves, p, setup):
    """Per-move predicted vs simulated time, makespan and its bound."""
    from watcher_informed.evaluation import simulate
    keyed = [(u, s, d) for u, s, d, _, _, _ in moves]
    parents = {u: tuple(par) for u, _, _, par, _, _ in moves}
    result = simulate.simulate(scenario.truth, keyed, parents, p, setup,
                               truths=scenario.truths or None)
    sim = {m.uuid: m for m in result.moves}
    pairs = [(end - start, sim[u].end_s - sim[u].start_s)
             for u, _, _, _, start, end in moves
             if sim[u].end_s > sim[u].start_s]
    out_mib, in_mib = {}, {}
    for m in result.moves:
        out_mib[m.source] = out_mib.get(m.source, 0.0) + m.sent_mib
        in_mib[m.dest] = in_mib.get(m.dest, 0.0) + m.sent_mib
    bound = max([v / setup.nic_mibps.get(h, setup.link_mibps)
                 for table in (out_mib, in_mib)
                 for h, v in table.items()] or [0.0])
    return {'pairs': pairs,
            'pred_makespan_s': max([e for *_, e in moves] or [0.0]),
            'sim_makespan_s': result.makespan_s, 'bound_s': bound,
            'aborted': sum(1 for m in result.moves
                           if m.outcome == 'aborted')}


def cost_table(results):
    """One row per (scenario family, plan variant)."""
    lines = ['| scenarios | planner | moves | predicted / simulated time '
             '(median) | median error | moves within 25 % | makespan '
             'predicted (s) | makespan simulated (s) | physical bound (s) '
             '| simulated / bound | aborted |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for family in ('paper-mix', 'bitbrains'):
        for variant, rows in results.items():
            mine = [r for name, r in rows.items()
                    if name.startswith(family)]
            pairs = [pr for r in mine for pr in r['pairs']]
            if not pairs:
                continue
            ratios = [a / b for a, b in pairs]
            errors = [abs(x - 1.0) for x in ratios]
            sim = sum(r['sim_makespan_s'] for r in mine)
            bound = sum(r['bound_s'] for r in mine)
            lines.append(
                '| %s (%d) | %s | %d | %.2f | %.0f %% | %d of %d | %.0f '
                '| %.0f | %.0f | %.2f | %d |' % (
                    family, len(mine), variant, len(pairs),
                    statistics.median(ratios),
                    100 * statistics.median(errors),
                    sum(1 for e in errors if e <= 0.25), len(pairs),
                    sum(r['pred_makespan_s'] for r in mine) / len(mine),
                    sim / len(mine), bound / len(mine),
                    sim / bound if bound else float('nan'),
                    sum(r['aborted'] for r in mine)))
    return '\n'.join(lines)


def cmd_cost(args):
    """Predicted vs simulated migration times, before and after.

    Every plan -- ours from this checkout, with and without the
    ``ram_resident`` metric, and from ``--before`` (an older checkout)
    when given -- is executed by this checkout's simulator on the
    scenario's truth (round 1 = the resident size derived from the
    trace, bench/scenarios.py), with this checkout's Nova settings and
    each scenario's link as every host's NIC.
    """
    from watcher_informed.adapters import parameters
    from watcher_informed.evaluation import simulate
    scenarios_ = {s.name: s for s in _cost_scenarios(args)}
    variants = {}
    if args.before:
        variants['before (%s)' % args.before_label] = _plans_from(
            args.before, args)
    variants['after'] = _plans_from(None, args)
    variants['after, no ram_resident'] = _plans_from(None, args,
                                                     no_resident=True)
    results = {}
    for variant, plans in variants.items():
        rows = {}
        for name, moves in plans.items():
            scenario = scenarios_[name]
            p, _ = parameters.to_params(_audit(scenario), None)
            setup = simulate.Setup(link_mibps=scenario.link_mibps,
                                   workers=8)
            rows[name] = cost_rows(scenario, moves, p, setup)
        results[variant] = rows
    table = cost_table(results)
    print(table)
    OUT.mkdir(exist_ok=True)
    (OUT / 'cost.json').write_text(json.dumps(results, indent=1))
    return results
def scenario_file(snapshot, path):
    """Write a bench snapshot as a ``watcher-informed`` scenario file."""
    doc = {
        'version': 1,
        'description': 'bench scale scenario',
        'hosts': [{'name': h.name, 'vcpus': h.vcpus, 'ram_mb': h.ram_mb,
                   'disk_gb': h.disk_gb, 'vcpu_ratio': h.vcpu_ratio,
                   'ram_ratio': h.ram_ratio, 'disk_ratio': h.disk_ratio,
                   'vcpu_reserved': h.vcpu_reserved,
                   'ram_reserved_mb': h.ram_reserved_mb,
                   'disk_reserved_gb': h.disk_reserved_gb}
                  for h in snapshot.hosts],
        'instances': [{'uuid': i.uuid, 'name': i.name, 'host': i.host,
                       'vcpus': int(i.vcpus), 'ram_mb': int(i.ram_mb),
                       'disk_gb': int(i.disk_gb)}
                      for i in snapshot.instances],
        'metrics': {u: dict(usage.values)
                    for u, usage in snapshot.usage.items()},
        'parameters': {'max_migrations': 10000},
    }
    pathlib.Path(path).write_text(json.dumps(doc))


def cmd_cli(args):
    """``watcher-informed plan --scenario`` end to end on big files.

    Wall time and peak RSS of the whole command (start-up, file load,
    model, metrics, planning, output), measured by ``/usr/bin/time``-like
    ``resource.getrusage`` of the child.
    """
    from bench import scenarios
    OUT.mkdir(exist_ok=True)
    rows = []
    for size in args.sizes:
        hosts, vms = (int(x) for x in size.split('x'))
        scenario = scenarios.bitbrains(hosts, 1, vms_per_host=vms // hosts)
        path = OUT / ('scale-%s.json' % size)
        scenario_file(scenario.seen, path)
        exe = pathlib.Path(sys.executable).parent / 'watcher-informed'
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(exe), 'plan', '--scenario', str(path), '--format', 'json'],
            capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            print(proc.stderr[-2000:], file=sys.stderr)
            continue
        doc = json.loads(proc.stdout)
        rows.append({'hosts': hosts, 'vms': len(scenario.seen.instances),
                     'wall_s': wall, 'moves': len(doc['actions']),
                     'cpu_s': (after.ru_utime + after.ru_stime) -
                     (before.ru_utime + before.ru_stime),
                     'peak_rss_mib': after.ru_maxrss / 1024})
        print(rows[-1], file=sys.stderr)
    lines = ['| hosts x VMs | wall (s) | CPU (s) | moves | peak RSS (MiB) |',
             '|---|---|---|---|---|']
    for r in rows:
        lines.append('| %dx%d | %.1f | %.1f | %d | %.0f |' % (
            r['hosts'], r['vms'], r['wall_s'], r['cpu_s'], r['moves'],
            r['peak_rss_mib']))
    print('\n'.join(lines))
    (OUT / 'cli.json').write_text(json.dumps(rows, indent=1))


def cmd_startup(args):
    """The demo command's start-up: ``watcher-informed plan --scenario``
    on the embedded example, ``--runs`` times, each in a fresh process.

    Prints each run's wall and CPU time (``resource.getrusage`` of the
    child) and their medians; the CPU time is the figure to compare on a
    shared machine, the wall time on a quiet one.  With ``--peer DIR``
    (another revision's ``watcher_informed`` package in ``DIR``, e.g.
    ``git archive main watcher_informed | tar -x -C DIR``) the peer's
    command runs too, first on ``PYTHONPATH``, interleaved with ours run
    by run, and the ratios of the medians are printed, with whether the
    two commands printed the same text.
    """
    demo = pathlib.Path(__file__).resolve().parent.parent / \
        'watcher_informed' / 'data' / 'demo.json'
    exe = pathlib.Path(sys.executable).parent / 'watcher-informed'
    contenders = [('ours', dict(os.environ))]
    if args.peer:
        peer = pathlib.Path(args.peer).resolve()
        if not (peer / 'watcher_informed' / 'cli' / 'main.py').is_file():
            raise SystemExit('--peer %s: no watcher_informed package' % peer)
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [str(peer)] + [p for p in [env.get('PYTHONPATH')] if p])
        contenders.insert(0, ('peer', env))
    times = {name: ([], []) for name, _ in contenders}
    outputs = set()
    for _ in range(args.runs):
        for name, env in contenders:
            walls, cpus = times[name]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [str(exe), 'plan', '--scenario', str(demo)], env=env,
                capture_output=True, text=True, timeout=600)
            walls.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
                raise SystemExit(1)
            cpus.append((after.ru_utime + after.ru_stime) -
                        (before.ru_utime + before.ru_stime))
            outputs.add(proc.stdout)
    load = os.getloadavg()[0]
    names = [name for name, _ in contenders]
    lines = ['| run | ' + ' | '.join(
        '%s wall (s) | %s CPU (s)' % (n, n) for n in names) + ' |',
        '|---|' + '---|---|' * len(names)]
    rows = [list(range(1, args.runs + 1)) + ['median']]
    for name in names:
        walls, cpus = times[name]
        rows.append(walls + [statistics.median(walls)])
        rows.append(cpus + [statistics.median(cpus)])
    for row in zip(*rows):
        lines.append('| %s | ' % (row[0],) + ' | '.join(
            '%.2f' % v for v in row[1:]) + ' |')
    print('\n'.join(lines))
    if args.peer:
        print('ours / peer: wall %.2f, CPU %.2f (medians)' % tuple(
            statistics.median(times['ours'][k]) /
            statistics.median(times['peer'][k]) for k in (0, 1)))
        print('same output: %s' % ('yes' if len(outputs) == 1 else 'NO'))
    print('load average at the end: %.2f' % load)


def _bench_plans(sizes, seeds):
    """(scenario, our plan) of the paper-mix and Bitbrains scenarios,
    planned on the seen window with ``max_migrations`` 1000."""
    from bench import contenders
    from bench import scenarios
    traces = scenarios.load_traces()
    todo = [scenarios.paper_mix(s) for s in seeds]
    for size, seed in itertools.product(sizes, seeds):
        todo.append(scenarios.bitbrains(size, seed, traces=traces))
    for scenario in todo:
        audit = {'max_migrations': 1000,
                 'migration_bandwidth': scenario.link_mibps}
        yield scenario, contenders.informed(scenario.seen, **audit)[1]


def cmd_fingerprint(args):
    """Our plan, move for move, on every bench scenario (refactor check).

    Prints one line per scenario -- its name, number of moves and a
    SHA-256 of the moves (uuid, source, destination, parents) in plan
    order -- and writes the moves to ``bench/out/fingerprint.json``, so
    two runs can be compared with ``diff``.
    """
    import hashlib

    plans = {}
    for scenario, plan in _bench_plans(args.sizes, args.seeds):
        moves = [[m.uuid, m.source, m.dest, sorted(m.parents)]
                 for m in plan.moves]
        digest = hashlib.sha256(
            json.dumps(moves).encode()).hexdigest()[:16]
        plans[scenario.name] = moves
        print('%-24s %4d moves %s' % (scenario.name, len(moves), digest))
    OUT.mkdir(exist_ok=True)
    (OUT / 'fingerprint.json').write_text(json.dumps(plans, indent=1))


def cmd_reasons(args):
    """Where each planned move's reason survives (issue 22).

    For every bench scenario and the demo: the moves, those whose reason
    has cost notes, and how many keep them whole in Watcher's
    255-character ``status_message`` -- as :func:`~watcher_informed.
    adapters.solution.status_message` writes it (compact) and, as the
    peer, the previous form (the head then the whole reason cut to fit)
    -- and in ``informed_migrate``'s input ``explanation``.
    """
    from watcher_informed.adapters import solution
    from watcher_informed.cli import main as cli_main
    from watcher_informed.cli import scenario as scenario_mod

    def kept(text):
        return '. cost: ' in text and not text.endswith('\u2026')

    def counts(moves):
        noted = [m for m in moves if '. cost: ' in m.reason]
        now = {m.uuid: solution.status_message(m) for m in moves}
        before = [solution.head(m) + solution.fit(
            m.reason, solution.STATUS_MESSAGE_MAX - len(solution.head(m)))
            for m in noted]
        whole = [solution.explanation(m) for m in noted]
        longest = max(map(len, now.values()), default=0)
        return (len(moves), len(noted), sum(map(kept, before)),
                sum(kept(now[m.uuid]) for m in noted),
                sum(1 for m, w in zip(noted, whole)
                    if w.endswith(m.reason)), longest)

    rows = [(scenario.name,) + counts(plan.moves)
            for scenario, plan in _bench_plans(args.sizes, args.seeds)]
    demo = cli_main.run(scenario_mod.load(scenario_mod.demo_path()), {})
    rows.append(('demo',) + counts(demo['plan'].moves))
    total = ('all',) + tuple(sum(r[i] for r in rows) for i in (1, 2, 3, 4,
                                                              5)) + (
        max(r[6] for r in rows),)
    print('| scenario | moves | with cost notes | cost kept, status '
          'message before | cost kept, status message now | whole in '
          'explanation | longest status message |')
    print('|' + '---|' * 7)
    for r in rows + [total]:
        print('| %s | %d | %d | %d | %d | %d | %d |' % r)


def cmd_nexthour(args):
    """Plan on hour H, grade on H+1 and H+2 (issue 18, bench/nexthour.py)."""
    from bench import nexthour
    from watcher_informed.core import demand
    extra = {} if args.relief_spread is None else {
        'relief_spread': args.relief_spread}
    results = nexthour.run(args.sizes, args.seeds,
                           estimators=tuple(args.estimators or
                                            demand.ESTIMATORS),
                           history=args.history, params=extra,
                           log=lambda line: print(line, file=sys.stderr))
    print(nexthour.table(results))
    print()
    print(nexthour.per_scenario(results))
    OUT.mkdir(exist_ok=True)
    (OUT / 'nexthour.json').write_text(json.dumps(results, indent=1))
    return results


def cmd_section33(args):
    """The paper's section 3.3 experiment, planned (bench/section33.py)."""
    from bench import section33
    rows = section33.run(orders=args.orders)
    print(section33.table(rows))
    OUT.mkdir(exist_ok=True)
    (OUT / 'section33.json').write_text(json.dumps(rows, indent=1))
    return rows


def cmd_rooms(args):
    """Room-making on memory- and vCPU-full clusters (bench/rooms.py)."""
    from bench import rooms
    results = rooms.run(args.sizes, args.seeds,
                        log=lambda line: print(line, file=sys.stderr))
    print(rooms.table(results))
    OUT.mkdir(exist_ok=True)
    (OUT / 'rooms.json').write_text(json.dumps(results, indent=1))


BALANCE_CONTENDERS = ('informed', 'informed+balance',
                      'workload_stabilization')


def balance_scenario(scenario, paper_platform=False, **more):
    """Ours with ``balance`` off and on, and workload_stabilization.

    One scenario, one run: the three plans are made on the same seen
    metrics and executed by the simulator on the same truth.  ``more``:
    audit parameters of the balanced run (e.g. ``aggressiveness``);
    ``paper_platform``: see :func:`_audit` (the simulator's truth is the
    same either way).
    """
    import dataclasses

    from bench import contenders
    from bench import peers
    from watcher_informed.adapters import parameters
    from watcher_informed.evaluation import simulate
    from watcher_informed.evaluation import workloads
    paper = scenario.name.startswith('paper')
    audit = _audit(scenario, paper_platform)
    rows = {}
    for name, extra in (('informed', {}),
                        ('informed+balance', dict(balance=True, **more))):
        plan, core, strategy, _ = contenders.informed(
            scenario.seen, **dict(audit, **extra))
        p, _ = parameters.to_params(dict(strategy.input_parameters),
                                    strategy.config)
        sim_p = workloads.paper_params() if paper else \
            dataclasses.replace(p, migration_bandwidth=scenario.link_mibps)
        setup = simulate.Setup(link_mibps=scenario.link_mibps, workers=8)
        rows[name] = measure(scenario, plan, sim_p, setup)
        report = core.balance
        rows[name]['balance_moves'] = len(report.moves) if report else 0
        rows[name]['balance_cost_core_s'] = \
            report.tenant_cost if report else 0.0
    rows['workload_stabilization'] = measure(
        scenario, peers.workload_stabilization(scenario.seen), sim_p, setup)
    return rows


def balance_table(results):
    """Per scenario, then per family: SD, migrations, violations."""
    lines = ['| scenario | final CPU SD: informed / +balance / WS | '
             'migrations: informed / +balance (balance moves) / WS | '
             '+balance / WS migrations | capacity violations: +balance / '
             'WS | balance tenant cost (core-s) |',
             '|---|---|---|---|---|---|']
    for name, rows in results.items():
        a, b, w = (rows[c] for c in BALANCE_CONTENDERS)
        lines.append('| %s | %.3f / %.3f / %.3f | %d / %d (%d) / %d | %.2f '
                     '| %d / %d | %.1f |' % (
                         name, a['final_sd'], b['final_sd'], w['final_sd'],
                         a['migrations'], b['migrations'],
                         b['balance_moves'], w['migrations'],
                         b['migrations'] / max(w['migrations'], 1),
                         b['violations'], w['violations'],
                         b['balance_cost_core_s']))
    lines += ['', '| scenarios | mean final CPU SD: informed / +balance / '
              'WS | +balance SD / WS SD | migrations (sum): informed / '
              '+balance / WS | +balance / WS migrations | capacity '
              'violations (sum): +balance / WS |', '|---|---|---|---|---|---|']
    for family in ('paper-mix', 'bitbrains'):
        mine = [r for n, r in results.items() if n.startswith(family)]
        if not mine:
            continue
        sd = {c: statistics.mean(r[c]['final_sd'] for r in mine)
              for c in BALANCE_CONTENDERS}
        mig = {c: sum(r[c]['migrations'] for r in mine)
               for c in BALANCE_CONTENDERS}
        vio = {c: sum(r[c]['violations'] for r in mine)
               for c in BALANCE_CONTENDERS}
        lines.append('| %s (%d) | %.3f / %.3f / %.3f | %.2f | %d / %d / %d '
                     '| %.2f | %d / %d |' % (
                         family, len(mine), sd['informed'],
                         sd['informed+balance'],
                         sd['workload_stabilization'],
                         sd['informed+balance'] /
                         sd['workload_stabilization'],
                         mig['informed'], mig['informed+balance'],
                         mig['workload_stabilization'],
                         mig['informed+balance'] /
                         max(mig['workload_stabilization'], 1),
                         vio['informed+balance'],
                         vio['workload_stabilization']))
    return '\n'.join(lines)


def cmd_balance(args):
    """Issue 19: balance on vs off vs workload_stabilization."""
    results = {}
    for scenario in _cost_scenarios(args):
        t0 = time.perf_counter()
        results[scenario.name] = balance_scenario(
            scenario, args.paper_platform,
            **({'aggressiveness': args.aggressiveness}
               if args.aggressiveness else {}))
        print('%-24s %5.1f s' % (scenario.name, time.perf_counter() - t0),
              file=sys.stderr)
    print(balance_table(results))
    OUT.mkdir(exist_ok=True)
    (OUT / 'balance.json').write_text(json.dumps(results, indent=1))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bench.run')
    sub = parser.add_subparsers(dest='command', required=True)
    q = sub.add_parser('quality')
    q.add_argument('--sizes', type=int, nargs='+', default=[8, 20, 50])
    q.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    g = sub.add_parser('gap')
    g.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3, 4])
    s = sub.add_parser('scale')
    s.add_argument('--sizes', nargs='+',
                   default=['20x200', '100x2000', '500x10000',
                            '5000x100000'])
    s.add_argument('--contenders', nargs='+',
                   default=['informed', 'workload_stabilization'])
    s.add_argument('--peer-max-hosts', type=int, default=500)
    f = sub.add_parser('fingerprint')
    f.add_argument('--sizes', type=int, nargs='+',
                   default=[8, 20, 50, 300])
    f.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    co = sub.add_parser('cost')
    co.add_argument('--sizes', type=int, nargs='+', default=[8, 20])
    co.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    co.add_argument('--before', help='an older checkout whose plans to '
                    'compare (e.g. a git worktree of main)')
    co.add_argument('--before-label', default='main')
    cp = sub.add_parser('_cost_plans')
    cp.add_argument('--sizes', type=int, nargs='+', default=[8, 20])
    cp.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    cp.add_argument('--no-resident', action='store_true')
    n = sub.add_parser('nexthour')
    n.add_argument('--sizes', type=int, nargs='+', default=[8, 20, 50])
    n.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    n.add_argument('--history', type=int, default=None,
                   help='demand_history in seconds (default 25 hours)')
    n.add_argument('--estimators', nargs='+', default=None,
                   help='demand_estimator contenders (default: all)')
    n.add_argument('--relief-spread', type=float, default=None,
                   help='relief_spread of the informed-<estimator> '
                   'contenders (default: the parameter default)')
    s33 = sub.add_parser('section33')
    s33.add_argument('--orders', type=int, default=200,
                     help='random sequences compared on the mixed scenario')
    ro = sub.add_parser('rooms')
    ro.add_argument('--sizes', type=int, nargs='+', default=[8, 20, 50])
    ro.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3, 4, 5])
    c = sub.add_parser('cli')
    c.add_argument('--sizes', nargs='+',
                   default=['500x10000', '5000x100000'])
    su = sub.add_parser('startup')
    su.add_argument('--runs', type=int, default=5)
    su.add_argument('--peer', metavar='DIR', default=None,
                    help='also time the command of the watcher_informed '
                         'package in DIR, interleaved with ours')
    b = sub.add_parser('balance')
    b.add_argument('--sizes', type=int, nargs='*', default=[8, 20, 50],
                   help='Bitbrains cluster sizes (none: the paper mixes '
                   'only)')
    b.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    b.add_argument('--aggressiveness', type=int, default=None,
                   help='of the balanced run (default: the audit default)')
    b.add_argument('--paper-platform', action='store_true',
                   help="tell our audits of the paper mixes the platform "
                   "the simulator runs them on (no completion timeout, "
                   "300 ms downtime; default: Nova's defaults)")
    rs = sub.add_parser('reasons')
    rs.add_argument('--sizes', type=int, nargs='+', default=[8, 20, 50])
    rs.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    one = sub.add_parser('_scale_one')
    one.add_argument('contender')
    one.add_argument('hosts', type=int)
    one.add_argument('vms', type=int)
    args = parser.parse_args(argv)
    if args.command == 'quality':
        cmd_quality(args)
    elif args.command == 'gap':
        cmd_gap(args)
    elif args.command == 'scale':
        cmd_scale(args)
    elif args.command == 'fingerprint':
        cmd_fingerprint(args)
    elif args.command == 'cost':
        cmd_cost(args)
    elif args.command == '_cost_plans':
        cmd_cost_plans(args)
    elif args.command == 'nexthour':
        cmd_nexthour(args)
    elif args.command == 'cli':
        cmd_cli(args)
    elif args.command == 'section33':
        cmd_section33(args)
    elif args.command == 'rooms':
        cmd_rooms(args)
    elif args.command == 'reasons':
        cmd_reasons(args)
    elif args.command == 'balance':
        cmd_balance(args)
    elif args.command == 'startup':
        cmd_startup(args)
    else:
        _scale_one(args.contender, args.hosts, args.vms)


if __name__ == '__main__':
    import warnings
    warnings.simplefilter('ignore')
    main()
