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
"""Regenerate watcher_informed/data/demo.json from the Bitbrains trace.

Usage: python3 tools/make_demo_data.py [TRACE_DIR]

TRACE_DIR defaults to ../shared/data/bitbrains-gwa-t-12-rnd.  Each VM keeps
its real flavor (cores, provisioned memory) and the mean of its real CPU,
memory, disk and network series over one hour (2013-07-10 12:00-13:00 UTC).
The trace has no memory dirty rate: Bitbrains VMs get 0 (unknown to the
demo's reader is worse than an explicit assumption), and six VMs running
the paper's Table 1 workload types are added with stated metrics.  Hosts
and placement are seeded so three hosts start overloaded.

Data: GWA-T-12 Bitbrains trace, provided by Bitbrains IT Services Inc. and
published by the Grid Workloads Archive, TU Delft (Shen, van Beek, Iosup,
CCGrid 2015).
"""

import json
import pathlib
import random
import sys
import uuid

from watcher_informed.adapters import bitbrains

START, END = 1373457600, 1373461200   # 2013-07-10 12:00 / 13:00 UTC
#: 42 ... 408 are heavy in the trace's own classes, the rest typical VMs.
HEAVY = (42, 45, 51, 52, 198, 237, 274, 383, 407, 413, 94, 95, 174, 297,
         384, 385, 394, 408, 62, 65, 421, 488, 27, 171, 287)
PAPER = (  # name, class metrics (core units), flavor
    ('oltp-db', {'cpu': 0.6, 'ram': 3500, 'dirty_rate': 180.0,
                 'disk_read': 0.5, 'disk_write': 0.5, 'net_rx': 0.05,
                 'net_tx': 0.05}, (2, 4096)),
    ('webbench', {'cpu': 0.35, 'ram': 1500, 'dirty_rate': 4.0,
                  'disk_read': 0.1, 'disk_write': 0.0, 'net_rx': 2.0,
                  'net_tx': 40.0}, (2, 2048)),
    ('iozone', {'cpu': 0.3, 'ram': 900, 'dirty_rate': 2.0,
                'disk_read': 60.0, 'disk_write': 45.0, 'net_rx': 0.0,
                'net_tx': 0.0}, (2, 2048)),
    ('spec-cpu', {'cpu': 0.99, 'ram': 700, 'dirty_rate': 1.0,
                  'disk_read': 0.0, 'disk_write': 0.0, 'net_rx': 0.0,
                  'net_tx': 0.0}, (4, 2048)),
    ('video-recv', {'cpu': 0.25, 'ram': 1200, 'dirty_rate': 6.0,
                    'disk_read': 0.0, 'disk_write': 1.0, 'net_rx': 60.0,
                    'net_tx': 0.5}, (2, 2048)),
    ('spec-jbb', {'cpu': 0.8, 'ram': 3000, 'dirty_rate': 40.0,
                  'disk_read': 0.0, 'disk_write': 0.0, 'net_rx': 0.1,
                  'net_tx': 0.1}, (4, 4096)),
)


def read_vm(path):
    rows = [cols for cols in bitbrains.read_trace(path).tolist()
            if START <= cols[0] < END and cols[1] > 0]
    if not rows:
        return None
    n = len(rows)

    def mean(i):
        return sum(r[i] for r in rows) / n
    return {
        'vcpus': int(rows[-1][1]), 'ram_mb': int(rows[-1][5] / 1024),
        'metrics': {
            'cpu': round(mean(4) / 100.0, 4),
            'ram': round(mean(6) / 1024.0, 1),
            'disk_read': round(mean(7) / 1024.0, 4),
            'disk_write': round(mean(8) / 1024.0, 4),
            'net_rx': round(mean(9) / 1024.0, 4),
            'net_tx': round(mean(10) / 1024.0, 4),
            'dirty_rate': 0.0,
        },
    }


def main(argv):
    trace = pathlib.Path(argv[1] if len(argv) > 1 else
                         '../shared/data/bitbrains-gwa-t-12-rnd')
    rng = random.Random(2013)  # noqa: S311 - seeded scenario, not crypto
    hosts = [{'name': 'compute-%02d' % i, 'vcpus': 16 if i < 8 else 8,
              'ram_mb': 131072, 'disk_gb': 2000,
              'vcpu_ratio': 4.0, 'ram_ratio': 1.5, 'disk_ratio': 1.0,
              'az': 'nova'} for i in range(12)]
    files = dict(bitbrains.trace_files(trace))
    listed = sorted(files)
    others = [i for i in listed if i not in HEAVY][:30]
    vms = []
    for vm_id in [i for i in HEAVY if i in listed] + others:
        got = read_vm(files[vm_id])
        if got is None or got['ram_mb'] > 32768:
            continue
        got['name'] = 'bitbrains-%d' % vm_id
        vms.append(got)
    for name, metrics, (vcpus, ram) in PAPER:
        vms.append({'name': name, 'vcpus': vcpus, 'ram_mb': ram,
                    'metrics': dict(metrics)})
    busy = sorted(vms, key=lambda v: -v['metrics']['cpu'] * v['vcpus'])
    instances, metrics = [], {}
    hot = ['compute-08', 'compute-09', 'compute-10']
    room = {h['name']: [h['vcpus'] * h['vcpu_ratio'],
                        h['ram_mb'] * h['ram_ratio']] for h in hosts}
    for i, vm in enumerate(busy):
        wanted = [hot[i % 3]] if i < 15 else []
        wanted += [hosts[rng.randrange(12)]['name'] for _ in range(50)]
        host = next(h for h in wanted if room[h][0] >= vm['vcpus'] and
                    room[h][1] >= vm['ram_mb'])
        room[host][0] -= vm['vcpus']
        room[host][1] -= vm['ram_mb']
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        instances.append({'uuid': uid, 'name': vm['name'], 'host': host,
                          'vcpus': vm['vcpus'], 'ram_mb': vm['ram_mb'],
                          'disk_gb': 20})
        metrics[uid] = vm['metrics']
    by_name = {i['name']: i['uuid'] for i in instances}
    scenario = {
        'version': 1,
        'description': 'Demo: 12 hosts, Bitbrains GWA-T-12 VMs (mean of '
                       '2013-07-10 12:00-13:00 UTC) plus the paper\'s '
                       'Table 1 workload types.',
        'hosts': hosts, 'instances': instances,
        'server_groups': [{'uuid': str(uuid.UUID(int=rng.getrandbits(128),
                                                 version=4)),
                           'name': 'web-tier', 'policy': 'anti-affinity',
                           'members': [by_name['webbench'],
                                       by_name['video-recv']]}],
        'communication_groups': [[by_name['oltp-db'], by_name['spec-jbb']]],
        'metrics': metrics,
    }
    out = pathlib.Path(__file__).resolve().parents[1] / 'watcher_informed' \
        / 'data' / 'demo.json'
    out.write_text(json.dumps(scenario, indent=1, sort_keys=True) + '\n')
    print('wrote %s: %d hosts, %d instances' % (out, len(hosts),
                                                len(instances)))


if __name__ == '__main__':
    main(sys.argv)
