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

"""Load Ceilometer-shaped samples into Gnocchi and an OpenMetrics file.

Usage (tools/metrics/stack.sh calls it)::

    python load.py --run DIR --gnocchi URL [--vms 32] [--openmetrics FILE]

writes ``DIR/dataset.json`` (see :mod:`bitbrains`), then does what
``ceilometer-upgrade`` and Ceilometer's Gnocchi publisher do:

* archive policies ``ceilometer-low``, ``ceilometer-low-rate``,
  ``ceilometer-high``, ``ceilometer-high-rate`` (ceilometer 27's
  ``gnocchi_resources.yaml``);
* resource types ``instance``, ``instance_disk``,
  ``instance_network_interface`` and ``nova_compute`` in their final shape
  after ceilometer-upgrade's migrations;
* one resource per instance, disk and NIC with its metrics and their
  archive policies, then every measure in one batch request, and waits
  (at most 300 s) until metricd has processed the backlog.

The OpenMetrics file holds the same samples as Ceilometer's Prometheus
exporter names them (``ceilometer_cpu``, ``ceilometer_memory_usage``,
``ceilometer_disk_device_read_bytes``, ...; all gauges; labels
``resource``, ``vm_instance``, ``resource_name``, ...) for ``promtool tsdb
create-blocks-from openmetrics``.
"""

import argparse
import concurrent.futures
import datetime
import json
import math
import os
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bitbrains  # noqa: E402

AUTH = ('admin', '')
LOW = 'ceilometer-low'
LOW_RATE = 'ceilometer-low-rate'

ARCHIVE_POLICIES = [
    {'name': LOW, 'aggregation_methods': ['mean'], 'back_window': 0,
     'definition': [{'granularity': '5 minutes', 'timespan': '30 days'}]},
    {'name': LOW_RATE, 'aggregation_methods': ['mean', 'rate:mean'],
     'back_window': 0,
     'definition': [{'granularity': '5 minutes', 'timespan': '30 days'}]},
    {'name': 'ceilometer-high', 'aggregation_methods': ['mean'],
     'back_window': 0,
     'definition': [{'granularity': '1 second', 'timespan': '1 hour'},
                    {'granularity': '1 minute', 'timespan': '1 day'},
                    {'granularity': '1 hour', 'timespan': '365 days'}]},
    {'name': 'ceilometer-high-rate',
     'aggregation_methods': ['mean', 'rate:mean'], 'back_window': 0,
     'definition': [{'granularity': '1 second', 'timespan': '1 hour'},
                    {'granularity': '1 minute', 'timespan': '1 day'},
                    {'granularity': '1 hour', 'timespan': '365 days'}]},
]


def _string(required):
    return {'type': 'string', 'min_length': 0, 'max_length': 255,
            'required': required}


RESOURCE_TYPES = {
    'instance': {
        'flavor_id': _string(True), 'image_ref': _string(False),
        'host': _string(False), 'display_name': _string(True),
        'server_group': _string(False), 'flavor_name': _string(True),
        'launched_at': {'type': 'datetime', 'required': False},
        'created_at': {'type': 'datetime', 'required': False},
        'deleted_at': {'type': 'datetime', 'required': False},
        'availability_zone': _string(False),
    },
    'instance_disk': {'name': _string(True),
                      'instance_id': {'type': 'uuid', 'required': True}},
    'instance_network_interface': {
        'name': _string(True),
        'instance_id': {'type': 'uuid', 'required': True}},
    'nova_compute': {'host_name': _string(True)},
}

#: archive policy of each meter (gnocchi_resources.yaml).
POLICY = {
    'cpu': LOW_RATE, 'memory.usage': LOW, 'memory.resident': LOW,
    'disk.device.read.bytes': LOW_RATE, 'disk.device.write.bytes': LOW_RATE,
    'network.incoming.bytes': LOW_RATE, 'network.outgoing.bytes': LOW_RATE,
}
INSTANCE_METERS = ('cpu', 'memory.usage', 'memory.resident')


def iso(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).isoformat()


class Gnocchi:
    """Minimal Gnocchi REST client (basic auth, as user ``admin``)."""

    def __init__(self, url, timeout=60):
        self.url = url.rstrip('/')
        self.session = requests.Session()
        self.session.auth = AUTH
        self.timeout = timeout

    def call(self, method, path, ok=(200, 201, 202, 204), **kwargs):
        resp = self.session.request(method, self.url + path,
                                    timeout=self.timeout, **kwargs)
        if resp.status_code not in ok:
            raise RuntimeError('%s %s -> %s %s' % (
                method, path, resp.status_code, resp.text[:500]))
        return resp

    def setup(self):
        """Ceilometer's archive policies and resource types (idempotent)."""
        for policy in ARCHIVE_POLICIES:
            self.call('POST', '/v1/archive_policy', json=policy,
                      ok=(201, 409))
        for name, attributes in RESOURCE_TYPES.items():
            self.call('POST', '/v1/resource_type',
                      json={'name': name, 'attributes': attributes},
                      ok=(201, 409))

    def create_resources(self, bodies, workers=4):
        """POST ``[(type, body)]`` in parallel (Ceilometer creates each)."""
        def one(item):
            rtype, body = item
            self.call('POST', '/v1/resource/' + rtype, json=body,
                      ok=(201, 409))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, bodies))

    def push(self, measures, chunk=2000):
        """Batch ``{resource original id: {metric: [(t, v)]}}``."""
        items = list(measures.items())
        for i in range(0, len(items), chunk):
            body = {rid: {m: [{'timestamp': iso(t), 'value': v}
                              for t, v in pts] for m, pts in per.items()}
                    for rid, per in items[i:i + chunk]}
            self.call('POST', '/v1/batch/resources/metrics/measures',
                      data=json.dumps(body),
                      headers={'Content-Type': 'application/json'})

    def backlog(self):
        status = self.call('GET', '/v1/status').json()
        return status['storage']['summary']['measures']

    def wait_processed(self, limit_s=300):
        end = time.monotonic() + limit_s
        while True:
            left = self.backlog()
            if left == 0:
                return
            if time.monotonic() > end:
                raise RuntimeError('metricd left %d measures unprocessed '
                                   'after %d s' % (left, limit_s))
            time.sleep(0.5)


def resource_bodies(inst, project, user, launched):
    """Ceilometer-shaped resources of one instance and its devices."""
    out = [('instance', {
        'id': inst['uuid'], 'project_id': project, 'user_id': user,
        'display_name': inst['name'], 'flavor_id': inst['flavor_id'],
        'flavor_name': inst['flavor_name'], 'host': inst['host'],
        'image_ref': '1b1b6c0e-3d4e-4d7f-9a43-0c3f4c1e2a11',
        'launched_at': launched, 'created_at': launched,
        'metrics': {m: {'archive_policy_name': POLICY[m]}
                    for m in INSTANCE_METERS}})]
    for rtype, key, meters in (
            ('instance_disk', 'disks', bitbrains.DEVICE_METERS['disk']),
            ('instance_network_interface', 'nics',
             bitbrains.DEVICE_METERS['nic'])):
        for dev in inst[key]:
            out.append((rtype, {
                'id': dev['id'], 'project_id': project, 'user_id': user,
                'name': dev['name'], 'instance_id': inst['uuid'],
                'metrics': {m: {'archive_policy_name': POLICY[m]}
                            for m in meters}}))
    return out


def load_gnocchi(url, data):
    g = Gnocchi(url)
    g.setup()
    launched = iso(data['t_end'] - 86400)
    bodies = []
    for inst in bitbrains.all_instances(data):
        bodies.extend(resource_bodies(inst, data['project'], data['user'],
                                      launched))
    g.create_resources(bodies)
    g.push(data['samples'])
    g.wait_processed()
    return g


# -- OpenMetrics (Ceilometer's Prometheus exporter naming) ---------------

def prom_name(meter):
    return 'ceilometer_' + meter.replace('.', '_')


def prom_labels(meter, resource_id, inst, project, user, unit, device=None):
    """Labels as ceilometer/polling/prom_exporter.py sets them.

    Checked against ceilometer-polling 27's exporter by tests/ceilometer:
    ``resource_name`` is ``<display name>:<domain name>`` for the
    instance and its disks, ``<display name>:<tap>`` for a vNIC; every
    series carries the flavor's id and name.
    """
    shards = meter.split('.')
    plugin_val = shards[2] if len(shards) > 2 else resource_id
    ctype = shards[1] if len(shards) > 1 else shards[0]
    nic = meter.startswith('network.') and device is not None
    labels = [(shards[0], plugin_val), ('publisher', 'ceilometer'),
              ('type', ctype), ('counter', meter), ('project', project),
              ('user', user), ('unit', unit), ('resource', resource_id),
              ('vm_instance', bitbrains.host_id(inst['host'])),
              ('resource_name', '%s:%s' % (
                  inst['name'], device if nic else inst['instance_name'])),
              ('server_group', 'none'),
              ('flavor_id', inst['flavor_id']),
              ('flavor_name', inst['flavor_name'])]
    return labels


UNITS = {'cpu': 'ns', 'memory.usage': 'MiB', 'memory.resident': 'MiB',
         'disk.device.read.bytes': 'B', 'disk.device.write.bytes': 'B',
         'network.incoming.bytes': 'B', 'network.outgoing.bytes': 'B'}


def fmt_value(v):
    if isinstance(v, float) and math.isnan(v):
        return 'NaN'
    return repr(float(v))


def label_text(labels):
    return ','.join('%s="%s"' % (k, str(v).replace('\\', '\\\\')
                                 .replace('"', '\\"')) for k, v in labels)


def openmetrics_lines(data, extra_labels=()):
    """OpenMetrics text lines of every sample, grouped by family."""
    families = {}
    project, user = data['project'], data['user']
    for inst in bitbrains.all_instances(data):
        uuid = inst['uuid']
        owners = [(uuid, None)] + [(d['id'], d['name'])
                                   for d in inst['disks'] + inst['nics']]
        for rid, device in owners:
            for meter, points in sorted(data['samples'].get(rid,
                                                            {}).items()):
                labels = prom_labels(meter, rid, inst, project, user,
                                     UNITS[meter], device)
                labels = labels + list(extra_labels)
                families.setdefault(prom_name(meter), []).append(
                    (label_text(labels), points))
    for family in sorted(families):
        yield '# TYPE %s gauge' % family
        for labels, points in families[family]:
            for t, v in points:
                yield '%s{%s} %s %d' % (family, labels, fmt_value(v), t)
    yield '# EOF'


def write_openmetrics(path, data, extra_labels=()):
    with open(path, 'w') as f:
        for line in openmetrics_lines(data, extra_labels):
            f.write(line + '\n')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--run', required=True)
    parser.add_argument('--gnocchi', required=True)
    parser.add_argument('--vms', type=int, default=32)
    parser.add_argument('--openmetrics')
    parser.add_argument('--t-end', type=int,
                        help='last sample time (default: now, rounded '
                        'down to 300 s)')
    parser.add_argument('--trace-dir', default=str(
        bitbrains.DEFAULT_TRACE_DIR))
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    t_end = args.t_end or int(time.time()) // bitbrains.STEP * \
        bitbrains.STEP
    data = bitbrains.dataset(t_end, vms=args.vms, trace_dir=args.trace_dir)
    with open(os.path.join(args.run, 'dataset.json'), 'w') as f:
        json.dump(data, f)
    t1 = time.monotonic()
    load_gnocchi(args.gnocchi, data)
    t2 = time.monotonic()
    if args.openmetrics:
        write_openmetrics(args.openmetrics, data)
    print('load: %d instances + %d probes; traces %.1f s, gnocchi %.1f s, '
          'openmetrics %.1f s' % (len(data['instances']), len(data['probes']),
                                  t1 - t0, t2 - t1, time.monotonic() - t2))


if __name__ == '__main__':
    main()
