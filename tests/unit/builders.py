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

"""Tiny fluent builders for core snapshots (Kubernetes test-wrapper style)."""

from watcher_informed.core import plan as plan_mod
from watcher_informed.core import snapshot as snap

IDLE = {'cpu': 0.01, 'ram': 256, 'disk_read': 0.0, 'disk_write': 0.0,
        'net_rx': 0.0, 'net_tx': 0.0, 'dirty_rate': 0.0}
WORKLOADS = {
    'cpu': dict(IDLE, cpu=0.95),
    'memory': dict(IDLE, cpu=0.3, dirty_rate=200.0, ram=1536),
    'disk_io': dict(IDLE, cpu=0.2, disk_read=20.0, disk_write=20.0),
    # network classes take at least 5 % of a 10 GbE NIC (62.5 MiB/s)
    'net_rx': dict(IDLE, cpu=0.2, net_rx=100.0),
    'web': dict(IDLE, cpu=0.2, net_tx=100.0),
    'idle': dict(IDLE),
}


def host(name, vcpus=8, ram_mb=16384, disk_gb=200, **kw):
    return snap.Host(name, vcpus, ram_mb, disk_gb, **kw)


def vm(uuid, on, vcpus=2, ram_mb=2048, disk_gb=10, **kw):
    kw.setdefault('name', uuid)
    return snap.Instance(uuid, on, vcpus, ram_mb, disk_gb, **kw)


def usage(kind='idle', **over):
    values = dict(WORKLOADS[kind])
    values.update(over)
    return snap.make_usage(values)


def cluster(hosts, vms, usages=None, groups=(), comm=()):
    usages = dict(usages or {})
    for v in vms:
        usages.setdefault(v.uuid, usage('idle'))
    return snap.Snapshot(tuple(hosts), tuple(vms), usages, tuple(groups),
                         tuple(comm))


def mv(step, uuid, src, dst, parents=()):
    """A hand-made planned move (checker tests)."""
    return plan_mod.PlannedMove(step, uuid, uuid, 'cpu', src, dst,
                                tuple(parents), src + '/out0', 0.0, 1.0,
                                0.01, 100.0, True, '')


def plan_of(*moves):
    """A plan value holding only ``moves`` (checker tests)."""
    return plan_mod.Plan(tuple(moves), {}, (), {}, {}, {}, (), 0)
