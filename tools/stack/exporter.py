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

"""Ceilometer-style Prometheus exporter for the end-to-end stack.

Contract: ``python exporter.py PORT LIVE_JSON`` serves ``/metrics`` in the
Prometheus text format with the series Ceilometer's exporter publishes
for each instance of the scenario file ``LIVE_JSON`` (written by
``seed.py cloud`` with Nova's server UUIDs; re-read when it changes):

* ``ceilometer_cpu`` -- cumulative CPU time in ns, ``resource`` = UUID;
* ``ceilometer_memory_usage`` -- MiB, ``resource`` = UUID;
* ``ceilometer_disk_device_read_bytes`` / ``..._write_bytes`` --
  cumulative bytes, ``resource`` = ``<uuid>-vda``;
* ``ceilometer_network_incoming_bytes`` / ``..._outgoing_bytes`` --
  cumulative bytes, ``resource`` = ``instance-<n>-<uuid>-tap0``;
* ``ceilometer_memory_dirty_rate`` -- MiB/s, ``resource`` = UUID;
* ``ceilometer_memory_dirty_working_set`` -- MiB, ``resource`` = UUID,
  for the instances whose scenario metrics have a ``wss`` (the names of
  the ``watcher-informed-dirtyrate`` agent).

The scenario's per-instance rates are constant: a counter is its rate
times the seconds since the exporter first saw the instance, so any
window Prometheus is asked about gives back the scenario's value.
"""

import http.server
import json
import os
import sys
import threading
import time

MIB = 1024 * 1024
COUNTERS = (
    ('ceilometer_disk_device_read_bytes', 'disk_read', 'disk'),
    ('ceilometer_disk_device_write_bytes', 'disk_write', 'disk'),
    ('ceilometer_network_incoming_bytes', 'net_rx', 'nic'),
    ('ceilometer_network_outgoing_bytes', 'net_tx', 'nic'),
)


class Source:
    """The scenario, re-read when its file changes."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.instances = []
        self.metrics = {}
        self.first_seen = {}
        self.lock = threading.Lock()

    def refresh(self):
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return
        if stamp == self.stamp:
            return
        with open(self.path) as f:
            data = json.load(f)
        self.stamp = stamp
        self.instances = data['instances']
        self.metrics = data.get('metrics', {})
        now = time.time()
        for inst in self.instances:
            self.first_seen.setdefault(inst['uuid'], now)

    def render(self):
        with self.lock:
            self.refresh()
            return render(self.instances, self.metrics, self.first_seen,
                          time.time())


def _labels(**labels):
    return '{%s}' % ','.join('%s="%s"' % kv for kv in sorted(labels.items()))


def render(instances, metrics, first_seen, now):
    """The exposition text of every instance at ``now``."""
    out = {}

    def add(name, kind, labels, value):
        out.setdefault(name, ['# TYPE %s %s' % (name, kind)]).append(
            '%s%s %r' % (name, _labels(**labels), float(value)))

    for n, inst in enumerate(instances, start=1):
        uuid = inst['uuid']
        m = metrics.get(uuid, {})
        age = max(0.0, now - first_seen.get(uuid, now))
        base = {'project': inst.get('project_id', 'e2e'),
                'resource_name': inst.get('name', uuid)}
        add('ceilometer_cpu', 'gauge', dict(base, resource=uuid,
                                              unit='ns'),
            m.get('cpu', 0.0) * inst['vcpus'] * 1e9 * age)
        add('ceilometer_memory_usage', 'gauge',
            dict(base, resource=uuid, unit='MiB'), m.get('ram', 0.0))
        add('ceilometer_memory_dirty_rate', 'gauge',
            dict(base, resource=uuid, unit='MiB/s'),
            m.get('dirty_rate', 0.0))
        if 'wss' in m:
            add('ceilometer_memory_dirty_working_set', 'gauge',
                dict(base, resource=uuid, unit='MiB'), m['wss'])
        for name, metric, owner in COUNTERS:
            rid = ('%s-vda' % uuid if owner == 'disk' else
                   'instance-%08x-%s-tap0' % (n, uuid))
            add(name, 'gauge', dict(base, resource=rid, unit='B'),
                m.get(metric, 0.0) * MIB * age)
    return '\n'.join(line for lines in out.values() for line in lines) + \
        '\n'


class Handler(http.server.BaseHTTPRequestHandler):
    source = None

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path.split('?')[0] != '/metrics':
            self.send_error(404)
            return
        body = self.source.render().encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain; version=0.0.4')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(argv):
    Handler.source = Source(argv[2])
    server = http.server.ThreadingHTTPServer(('127.0.0.1', int(argv[1])),
                                             Handler)
    server.serve_forever()


if __name__ == '__main__':
    main(sys.argv)
