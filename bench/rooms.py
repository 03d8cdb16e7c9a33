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

"""Room-making chains on memory- and vCPU-full clusters (issue 18).

    python -m bench.run rooms [--sizes 8 20 50] [--seeds 1 2 3 4 5]

Scenarios are ``bench.scenarios.tight``: Bitbrains clusters (a quarter of
the hosts overloaded) whose cooler hosts are filled with small idle VMs
until only a few GiB and vCPUs are free.  Ours plans on what the metrics
showed (``seen``, with measurement noise) twice in the same run: with
room-making off (``room_making_moves`` 0, the plugin before) and with the
default (2).  Each plan is executed by the simulator on the scenario's
*true* next window (the trace, not the planner's estimate); relief is
counted on that truth: hosts over a threshold before the plan that are
not after it.
"""

import itertools

from bench import contenders
from bench import scenarios

VARIANTS = (('room-making off (before)', 0), ('room-making 2 (default)', 2))


def run(sizes, seeds, log=None):
    """``{scenario: {variant: row}}``."""
    from bench import run as bench_run
    from watcher_informed.core import overload
    from watcher_informed.core import params as params_mod
    from watcher_informed.evaluation import simulate
    traces = scenarios.load_traces()
    results = {}
    for size, seed in itertools.product(sizes, seeds):
        sc = scenarios.tight(size, seed, traces=traces)
        p = params_mod.Params(migration_bandwidth=sc.link_mibps)
        setup = simulate.Setup(link_mibps=sc.link_mibps, workers=8)
        hot = sum(1 for v in overload.host_loads(sc.truth, p).values()
                  if overload.over_dims(v, p))
        rows = {}
        for label, moves in VARIANTS:
            peer, plan, _, _ = contenders.informed(
                sc.seen, max_migrations=1000,
                migration_bandwidth=sc.link_mibps, room_making_moves=moves)
            got = bench_run.measure(sc, peer, p, setup)
            got['hot_before'] = hot
            got['room_moves'] = sum(1 for m in plan.moves
                                    if 'makes room on' in m.reason)
            got['planned_left'] = len(plan.still_overloaded)
            rows[label] = got
        results[sc.name] = rows
        if log:
            log('%s done' % sc.name)
    return results


def table(results):
    names = [label for label, _ in VARIANTS]
    lines = ['| variant | hosts relieved (truth) | relief | scenarios '
             'fully relieved | migrations | of which room moves | mean '
             'completion (s) | capacity violations |', '|---' * 8 + '|']
    total_hot = sum(r[names[0]]['hot_before'] for r in results.values())
    for name in names:
        rows = [r[name] for r in results.values()]
        relieved = sum(max(0, x['hot_before'] - x['overloaded_after'])
                       for x in rows)
        comp = [x['mean_completion_s'] for x in rows
                if x['mean_completion_s'] is not None]
        lines.append('| %s | %d of %d | %.0f %% | %d of %d | %d | %d | '
                     '%.1f | %d |' % (
                         name, relieved, total_hot,
                         100.0 * relieved / max(total_hot, 1),
                         sum(1 for x in rows if x['overloaded_after'] == 0),
                         len(rows), sum(x['migrations'] for x in rows),
                         sum(x['room_moves'] for x in rows),
                         sum(comp) / max(len(comp), 1),
                         sum(x['violations'] for x in rows)))
    lines += ['', '| scenario | hot | ' + ' | '.join(
        'left / migrations: %s' % n for n in names) + ' |',
        '|---' * (len(names) + 2) + '|']
    for sc, rows in results.items():
        lines.append('| %s | %d | %s |' % (sc, rows[names[0]]['hot_before'],
                                           ' | '.join(
            '%d / %d' % (rows[n]['overloaded_after'], rows[n]['migrations'])
            for n in names)))
    return '\n'.join(lines)
