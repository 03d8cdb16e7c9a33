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
"""Benchmark: our bulk metric readers vs Watcher's per-instance helpers.

    bash tools/metrics/stack.sh run python -m bench.metrics_readers \\
        [--sizes 100 1000 5000] [--stores gnocchi prometheus]

Against the running stores of ``tools/metrics/stack.sh`` it loads
``max(sizes)`` more instances (Bitbrains windows, one hour of 5-minute
samples as Ceilometer publishes them: cpu, memory.usage and
memory.resident on the instance, one disk and one vNIC with their byte
counters), then, for each size, gathers the metrics of that many instances

* with Watcher's own helper (``GnocchiHelper`` / ``PrometheusHelper``,
  configured as the decision engine would be): ``get_instance_cpu_usage``
  and ``get_instance_ram_usage`` for every instance, a fresh metric cache
  each time -- what Watcher's strategies do;
* with our reader on the *same* helper's client, for the same two metrics
  (CPU and RAM), and for all six Ceilometer metrics (adding disk
  read/write and network receive/transmit, which Watcher's helpers cannot
  read at all).

HTTP requests are counted by wrapping ``requests.Session.send`` (every
client here goes through it); times are wall-clock seconds of the whole
gathering.  Prints a Markdown table and writes ``bench/out/
metrics_readers.json``.  Loading 5,000 instances into Gnocchi is the slow
part (metricd processes ~35,000 metrics).
"""

import argparse
import datetime
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time

import requests

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools' / 'metrics'))
import bitbrains  # noqa: E402
import load  # noqa: E402

from watcher_informed.adapters.metrics import base  # noqa: E402
from watcher_informed.adapters.metrics import gnocchi  # noqa: E402
from watcher_informed.adapters.metrics import prometheus  # noqa: E402
from watcher_informed.core import snapshot as snap  # noqa: E402

OUT = REPO / 'bench' / 'out'
ROWS = 13            # one hour of rates and the base sample
WINDOW = base.Window(period_s=3600, granularity_s=300, stale_after_s=900)
CPU_RAM = (snap.CPU, snap.RAM)
ALL = (snap.CPU, snap.RAM, snap.DISK_READ, snap.DISK_WRITE, snap.NET_RX,
       snap.NET_TX)


class Counter:
    """Counts HTTP requests sent through any ``requests.Session``."""

    def __init__(self):
        self.count = 0
        self._real = requests.Session.send

    def __enter__(self):
        counter = self

        def send(session, request, **kwargs):
            counter.count += 1
            return counter._real(session, request, **kwargs)
        requests.Session.send = send
        return self

    def __exit__(self, *exc):
        requests.Session.send = self._real


def bench_dataset(count, t_end, seed=17):
    """``count`` instances from Bitbrains windows (1 disk, 1 vNIC each)."""
    traces = bitbrains.load_traces(bitbrains.DEFAULT_TRACE_DIR)
    rng = random.Random(seed)  # noqa: S311 - seeded data set
    pool = bitbrains.windows(traces, rng)
    times = [t_end - (ROWS - 1 - k) * bitbrains.STEP for k in range(ROWS)]
    instances, samples = [], {}
    for index in range(count):
        tid, start, w = pool[index % len(pool)]
        w = w[-ROWS:]
        uuid = bitbrains._uuid(rng)
        inst = bitbrains._instance(uuid, 'bench-%05d' % index, 'cmp-1',
                                   index, tid, start, w, rng)
        inst['disks'] = inst['disks'][:1]
        inst['disks'][0]['share'] = 1.0
        inst['nics'] = inst['nics'][:1]
        inst['nics'][0]['share'] = 1.0
        s, _ = bitbrains.series(inst, w, times, rng)
        instances.append(inst)
        samples.update(s)
    return {'t_end': t_end, 'project': bitbrains.PROJECT,
            'user': bitbrains.USER, 'instances': instances, 'probes': {},
            'samples': samples}


def tool(name):
    path = shutil.which(name)
    if path is None:
        raise SystemExit('%s not found (bash tools/metrics/stack.sh install)'
                         % name)
    return path


def load_stores(data, run, gnocchi_url, gvenv, stack, stores):
    t0 = time.monotonic()
    if 'gnocchi' in stores:
        g = load.Gnocchi(gnocchi_url)
        g.setup()
        path = pathlib.Path(run, 'bench-resources.jsonl')
        launched = load.iso(data['t_end'] - 86400)
        with open(path, 'w') as f:
            for inst in data['instances']:
                for item in load.resource_bodies(inst, data['project'],
                                                 data['user'], launched):
                    f.write(json.dumps(item) + '\n')
        with open(path) as f:
            subprocess.run([os.path.join(gvenv, 'bin', 'python'),
                            str(REPO / 'tools' / 'metrics' /
                                'bulk_resources.py'),
                            '--config-file', str(pathlib.Path(
                                run, 'gnocchi.conf')), '--workers=2'],
                           stdin=f, check=True, timeout=1800)
        path.unlink()
        g.push(data['samples'], chunk=1000)
        t1 = time.monotonic()
        print('gnocchi: resources and measures sent in %.0f s; waiting for '
              'metricd' % (t1 - t0), flush=True)
        g.wait_processed(limit_s=3600)
        print('gnocchi: metricd done in %.0f s' % (time.monotonic() - t1),
              flush=True)
    if 'prometheus' in stores:
        t1 = time.monotonic()
        om = pathlib.Path(run, 'bench.om')
        load.write_openmetrics(om, data)
        with tempfile.TemporaryDirectory(dir=run) as blocks:
            subprocess.run([tool('promtool'), 'tsdb', 'create-blocks-from',
                            'openmetrics', str(om), blocks], check=True,
                           timeout=900, stdout=subprocess.DEVNULL)
            om.unlink()
            subprocess.run([tool('bash'), stack, 'stop-service',
                            'prometheus'],
                           check=True, timeout=120)
            for block in pathlib.Path(blocks).iterdir():
                if block.is_dir():
                    block.rename(pathlib.Path(run, 'prom-data', block.name))
            subprocess.run([tool('bash'), stack, 'start-service',
                            'prometheus'],
                           check=True, timeout=120)
        print('prometheus: backfilled and restarted in %.0f s'
              % (time.monotonic() - t1), flush=True)


def watcher_conf(run, gnocchi_url, prometheus_url):
    """Configure Watcher's helpers as the decision engine would be."""
    from oslo_config import cfg
    import watcher.conf  # noqa: F401 - registers Watcher's options
    path = pathlib.Path(run, 'watcher-bench.conf')
    host, port = prometheus_url.split('://', 1)[1].rsplit(':', 1)
    path.write_text(
        '[watcher_clients_auth]\nauth_type = gnocchi-basic\nuser = admin\n'
        'endpoint = %s\n[watcher_datasources]\nquery_max_retries = 1\n'
        'query_interval = 0\n[prometheus_client]\nhost = %s\nport = %s\n'
        % (gnocchi_url, host, port))
    cfg.CONF(['--config-file', str(path)], project='watcher')


def helper(store):
    if store == 'gnocchi':
        from watcher.decision_engine.datasources import gnocchi as wg
        return wg.GnocchiHelper()
    from watcher.decision_engine.datasources import prometheus as wp
    return wp.PrometheusHelper()


def watcher_elements(insts):
    from watcher.decision_engine.model import element
    return [element.Instance(uuid=i['uuid'], name=i['name'],
                             vcpus=i['vcpus'], memory=i['ram_mb'],
                             disk=i['disk_gb'], state='active',
                             metadata={}, project_id=bitbrains.PROJECT,
                             locked=False, watcher_exclude=False,
                             pinned_az='')
            for i in insts]


def run_watcher(store, elements):
    h = helper(store)
    from watcher.decision_engine.datasources import cache
    h.metric_cache = cache.MetricDataCache()
    found = 0
    with Counter() as c:
        t0 = time.perf_counter()
        for inst in elements:
            cpu = h.get_instance_cpu_usage(inst, WINDOW.period_s, 'mean',
                                           WINDOW.granularity_s)
            ram = h.get_instance_ram_usage(inst, WINDOW.period_s, 'mean',
                                           WINDOW.granularity_s)
            found += (cpu is not None) + (ram is not None)
        dt = time.perf_counter() - t0
    return c.count, dt, found


def run_ours(store, elements, metrics, now):
    h = helper(store)
    if store == 'gnocchi':
        reader = gnocchi.GnocchiMetrics(h.gnocchi, clock=lambda: now)
    else:
        reader = prometheus.PrometheusMetrics(h.prometheus,
                                              clock=lambda: now)
    with Counter() as c:
        t0 = time.perf_counter()
        usage = base.read_usage(reader, elements, WINDOW, metrics)
        dt = time.perf_counter() - t0
    found = sum(1 for u in usage.values() for m in metrics
                if u.get(m) is not None)
    return c.count, dt, found


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bench.metrics_readers')
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[100, 1000, 5000])
    parser.add_argument('--stores', nargs='+',
                        default=['prometheus', 'gnocchi'])
    parser.add_argument('--reuse', action='store_true',
                        help='measure again on the instances an earlier '
                        'run loaded into this stack (within the hour)')
    parser.add_argument('--repeat', type=int, default=1,
                        help='runs of our readers per size (best kept)')
    args = parser.parse_args(argv)
    run = os.environ.get('WI_METRICS_RUN')
    if not run:
        parser.error('no running stack: bash tools/metrics/stack.sh run '
                     'python -m bench.metrics_readers')
    gnocchi_url = os.environ['WI_GNOCCHI_URL']
    prometheus_url = os.environ['WI_PROMETHEUS_URL']
    gvenv = os.environ.get('WI_GNOCCHI_VENV',
                           str(REPO / '.tox' / 'metrics-gnocchi'))
    saved = pathlib.Path(run, 'bench-dataset.json')
    if args.reuse and saved.exists():
        data = json.loads(saved.read_text())
        t_end = data['t_end']
        if len(data['instances']) < max(args.sizes):
            parser.error('the loaded bench data set has only %d instances'
                         % len(data['instances']))
    else:
        t_end = int(time.time()) // bitbrains.STEP * bitbrains.STEP
        data = bench_dataset(max(args.sizes), t_end)
        load_stores(data, run, gnocchi_url, gvenv,
                    os.environ['WI_METRICS_STACK'], args.stores)
        saved.write_text(json.dumps({'t_end': t_end,
                                     'instances': data['instances']}))
    watcher_conf(run, gnocchi_url, prometheus_url)
    now = t_end + 60
    # Watcher's Gnocchi helper reads the window ending at utcnow(): give
    # it the same "now" as our readers, so that both read the same data
    # however long the run takes.  (Watcher's Prometheus queries carry no
    # time and are evaluated at the server's clock; they are run first,
    # within minutes of the load.)
    from oslo_utils import timeutils
    timeutils.set_time_override(datetime.datetime.fromtimestamp(
        now, datetime.timezone.utc).replace(tzinfo=None))
    rows = []
    for store in args.stores:
        for size in args.sizes:
            insts = data['instances'][:size]
            elements = watcher_elements(insts)
            w_req, w_time, w_found = run_watcher(store, elements)
            best = {}
            for label, metrics in (('cpu+ram', CPU_RAM), ('all 6', ALL)):
                tries = [run_ours(store, elements, metrics, now)
                         for _ in range(args.repeat)]
                best[label] = min(tries, key=lambda r: r[1])
            rows.append({
                'store': store, 'instances': size,
                'watcher_requests': w_req, 'watcher_s': w_time,
                'watcher_values': w_found,
                'ours_requests': best['cpu+ram'][0],
                'ours_s': best['cpu+ram'][1],
                'ours_values': best['cpu+ram'][2],
                'ours_all_requests': best['all 6'][0],
                'ours_all_s': best['all 6'][1],
                'ours_all_values': best['all 6'][2],
            })
            print('%s %d done' % (store, size), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / 'metrics_readers.json').write_text(json.dumps(rows, indent=1))
    print(table(rows))


def table(rows):
    lines = [
        '| store | instances | Watcher helper: requests | time (s) | '
        'ours, CPU+RAM: requests | time (s) | fewer requests | faster | '
        'ours, 6 metrics: requests | time (s) |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append(
            '| %s | %d | %d | %.2f | %d | %.3f | %.0fx | %.0fx | %d | %.3f |'
            % (r['store'], r['instances'], r['watcher_requests'],
               r['watcher_s'], r['ours_requests'], r['ours_s'],
               r['watcher_requests'] / max(1, r['ours_requests']),
               r['watcher_s'] / max(1e-9, r['ours_s']),
               r['ours_all_requests'], r['ours_all_s']))
    lines.append('')
    lines.append('Values found (Watcher / ours CPU+RAM / ours 6 metrics): ' +
                 '; '.join('%s %d: %d / %d / %d' % (
                     r['store'], r['instances'], r['watcher_values'],
                     r['ours_values'], r['ours_all_values']) for r in rows))
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
