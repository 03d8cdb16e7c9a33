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

"""What the integration tests share: the loaded data set and the stores.

``tools/metrics/stack.sh`` starts PostgreSQL + Gnocchi and Prometheus,
loads ``dataset.json`` (Bitbrains windows as Ceilometer publishes them)
into both and exports ``WI_METRICS_RUN``, ``WI_GNOCCHI_URL``,
``WI_PROMETHEUS_URL``, ``WI_PROBE_PORT`` and ``WI_METRICS_STACK``.
"""

import datetime
import http.server
import json
import math
import os
import pathlib
import shutil
import subprocess
import threading
import time
import types

import requests

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import memory
from watcher_informed.core import snapshot as snap

#: the metrics Ceilometer's meters give (no dirty rate, WSS, L3 cache).
CEILOMETER_METRICS = (snap.CPU, snap.RAM, snap.DISK_READ, snap.DISK_WRITE,
                      snap.NET_RX, snap.NET_TX)
WINDOW = base.Window(period_s=3600, granularity_s=300, stale_after_s=900)
HOW_TO = 'run them with: bash tools/metrics/stack.sh run'


def run_dir():
    value = os.environ.get('WI_METRICS_RUN')
    return pathlib.Path(value) if value else None


def load_dataset():
    path = run_dir() / 'dataset.json'
    with open(path) as f:
        return json.load(f)


def reachable(url, timeout=3.0, **kwargs):
    try:
        return requests.get(url, timeout=timeout, **kwargs).status_code \
            == 200
    except requests.RequestException:
        return False


def iso(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).isoformat()


def model_instance(item):
    """Duck-typed instance (``uuid``, ``vcpus``) of a data set entry."""
    return types.SimpleNamespace(uuid=item['uuid'], vcpus=item['vcpus'])


def scenario_instances(data, probes=False):
    items = list(data['instances'])
    if probes:
        items += list(data['probes'].values())
    return items


def truth_reader(data, now):
    """``InMemoryMetrics`` holding the traces' own windowed values."""
    per_metric = {}
    for uuid, metrics in data['truth'].items():
        for metric, points in metrics.items():
            per_metric.setdefault(metric, {})[uuid] = [
                (float(t), float(v)) for t, v in points]
    return memory.InMemoryMetrics(per_metric, now)


def snapshot(data, usage, probes=False):
    """The core :class:`Snapshot` of the loaded cluster with ``usage``."""
    hosts = tuple(snap.Host(h['name'], h['vcpus'], h['ram_mb'], h['disk_gb'],
                            vcpu_ratio=h['vcpu_ratio'],
                            ram_ratio=h['ram_ratio'])
                  for h in data['hosts'])
    insts = tuple(snap.Instance(i['uuid'], i['host'], i['vcpus'],
                                i['ram_mb'], i['disk_gb'], name=i['name'])
                  for i in scenario_instances(data, probes))
    return snap.Snapshot(hosts=hosts, instances=insts, usage=usage)


def usage_of(reader, data, probes=False, window=WINDOW):
    insts = [model_instance(i) for i in scenario_instances(data, probes)]
    return base.read_usage(reader, insts, window, CEILOMETER_METRICS)


def plan_summary(plan):
    """What must be equal between two plans: classes and moves."""
    classes = {u: p.cls for u, p in plan.profiles.items()}
    moves = [(m.step, m.uuid, m.source, m.dest, tuple(m.parents))
             for m in plan.moves]
    return classes, moves, tuple(sorted(plan.still_overloaded))


def close(a, b, rel=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def stack_service(action, name, timeout=120):
    """``stack.sh stop-service|start-service NAME`` on the running stack."""
    script = os.environ['WI_METRICS_STACK']
    subprocess.run([shutil.which('bash') or '/bin/bash', script,
                    '%s-service' % action, name],
                   check=True, timeout=timeout,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_until(predicate, timeout, what, interval=0.5):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError('%s: not true after %s s' % (what, timeout))
        time.sleep(interval)


class GnocchiAdmin:
    """Direct Gnocchi REST calls the tests use to damage the data."""

    def __init__(self, url):
        self.url = url.rstrip('/')
        self.session = requests.Session()
        self.session.auth = ('admin', '')

    def push(self, rtype, rid, metric, points):
        body = json.dumps([{'timestamp': iso(t), 'value': v}
                           for t, v in points], allow_nan=True)
        resp = self.session.post(
            '%s/v1/resource/%s/%s/metric/%s/measures' % (
                self.url, rtype, rid, metric), data=body,
            headers={'Content-Type': 'application/json'}, timeout=30)
        assert resp.status_code == 202, resp.text

    def delete_metric(self, rtype, rid, metric):
        resp = self.session.delete('%s/v1/resource/%s/%s/metric/%s' % (
            self.url, rtype, rid, metric), timeout=30)
        assert resp.status_code in (204, 404), resp.text

    def backlog(self):
        return self.session.get(self.url + '/v1/status', timeout=10).json()[
            'storage']['summary']['measures']

    def wait_processed(self, timeout=120):
        wait_until(lambda: self.backlog() == 0, timeout,
                   'gnocchi-metricd processed the measures')

    def measures(self, rtype, rid, metric, aggregation):
        resp = self.session.get(
            '%s/v1/resource/%s/%s/metric/%s/measures' % (
                self.url, rtype, rid, metric),
            params={'aggregation': aggregation, 'refresh': 'true'},
            timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()


class LiveExporter:
    """A scrape target standing in for ceilometer-polling's exporter.

    Serves, in the Prometheus text format with explicit timestamps (whole
    seconds), one sample per series computed by ``series[name](t)`` at
    the current second.  Prometheus scrapes it every second
    (``job_name: ceilometer`` in the stack's prometheus.yml).
    """

    def __init__(self, port):
        self.port = port
        self.series = {}     # (metric, labels text) -> f(t) -> value
        self.started = None
        self._server = None
        self._thread = None

    def add(self, metric, labels, fn):
        text = ','.join('%s="%s"' % kv for kv in sorted(labels.items()))
        self.series[(metric, text)] = fn

    def body(self):
        t = int(time.time())
        lines = []
        for metric in sorted({m for m, _ in self.series}):
            lines.append('# TYPE %s gauge' % metric)
            for (m, labels), fn in sorted(self.series.items(),
                                          key=lambda kv: kv[0]):
                if m != metric:
                    continue
                value = fn(t)
                text = 'NaN' if math.isnan(value) else repr(float(value))
                lines.append('%s{%s} %s %d' % (m, labels, text, t * 1000))
        return ('\n'.join(lines) + '\n').encode()

    def start(self):
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                data = exporter.body()
                self.send_response(200)
                self.send_header('Content-Type',
                                 'text/plain; version=0.0.4')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)
        self._thread.start()
        self.started = time.time()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
