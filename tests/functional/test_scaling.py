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

"""Every path an operator runs grows linearly with hosts + instances.

Work is counted, not timed: the number of Python function calls (what
``cProfile`` counts, deterministic for the same code and input) of a run
on a cluster and on one twice its size, with the same shape (instances
per host, share of overloaded hosts).  Linear work doubles; work that
grows with instances x hosts would quadruple.  Both sizes are above the
exhaustive-placement limit, so they take the same search path.
"""

import cProfile
import json
import pstats

import pytest

from watcher_informed import harness
from watcher_informed.adapters.metrics import memory
from watcher_informed.cli import main as cli_main
from watcher_informed.core import place
from watcher_informed.core import snapshot as snap

PER_HOST = 6
SIZES = (place.EXHAUSTIVE_HOSTS + 40, 2 * (place.EXHAUSTIVE_HOSTS + 40))


def _cluster(hosts):
    """Core values: every 4th host overloaded, the rest half busy."""
    host_list, insts, values = [], [], {}
    for h in range(hosts):
        name = 'h%05d' % h
        host_list.append(snap.Host(name, 14, 65536, 1000,
                                   uuid='00000000-0000-4000-8000-%012d' % h))
        for v in range(PER_HOST):
            uuid = '%08d-0000-4000-8000-%012d' % (h, v)
            insts.append(snap.Instance(uuid, name, 2, 4096, 20,
                                       name='vm-%d-%d' % (h, v)))
            busy = 1.0 if h % 4 == 0 else 0.5
            values[uuid] = {'cpu': busy - 0.01 * v, 'ram': 2048.0,
                            'disk_read': 0.1 * v, 'disk_write': 0.1,
                            'net_rx': 0.01, 'net_tx': 0.01 * v,
                            'dirty_rate': 1.0}
    return host_list, insts, values


def _audit(hosts):
    host_list, insts, values = _cluster(hosts)
    cloud = harness.Cloud(
        model=harness.build_model(host_list, insts),
        reader=memory.InMemoryMetrics.from_values(values))
    strategy, _, _ = harness.run(cloud, {'max_migrations': 10000})
    assert strategy.informed_plan.moves


def _cli(hosts, tmp_path):
    host_list, insts, values = _cluster(hosts)
    doc = {
        'version': 1,
        'hosts': [{'name': h.name, 'vcpus': h.vcpus, 'ram_mb': h.ram_mb,
                   'disk_gb': h.disk_gb} for h in host_list],
        'instances': [{'uuid': i.uuid, 'name': i.name, 'host': i.host,
                       'vcpus': int(i.vcpus), 'ram_mb': int(i.ram_mb),
                       'disk_gb': int(i.disk_gb)} for i in insts],
        'metrics': values,
        'parameters': {'max_migrations': 10000},
    }
    path = tmp_path / ('s%d.json' % hosts)
    path.write_text(json.dumps(doc))
    out = tmp_path / ('out%d.json' % hosts)
    import contextlib
    with open(out, 'w') as f, contextlib.redirect_stdout(f):
        assert cli_main.main(['plan', '--scenario', str(path),
                              '--format', 'json']) == 0


def _simulate(hosts):
    """The evaluation simulator on a plan of moves off every hot host."""
    from watcher_informed.core import params
    from watcher_informed.evaluation import simulate
    host_list, insts, values = _cluster(hosts)
    snapshot = snap.Snapshot(tuple(host_list), tuple(insts),
                             {u: snap.make_usage(v)
                              for u, v in values.items()})
    # the first instance of each hot host to the next cool host
    moves = tuple((i.uuid, i.host, host_list[h + 1].name)
                  for h, i in enumerate(insts[::PER_HOST]) if h % 4 == 0)
    result = simulate.simulate(snapshot, moves, {}, params.Params(),
                               simulate.Setup(workers=8))
    assert len(result.moves) == len(moves)


def _calls(run):
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    return pstats.Stats(profiler).total_calls


@pytest.mark.parametrize('path', ['audit', 'cli', 'simulate'])
def test_work_grows_linearly(path, tmp_path):
    runs = {'audit': lambda n: (lambda: _audit(n)),
            'cli': lambda n: (lambda: _cli(n, tmp_path)),
            'simulate': lambda n: (lambda: _simulate(n))}[path]
    runs(SIZES[0])()   # imports and one-time set-up are not work
    small, large = (_calls(runs(n)) for n in SIZES)
    ratio = large / small
    # linear: 2; quadratic in hosts x instances: 4
    assert ratio < 2.6, (small, large, ratio)
