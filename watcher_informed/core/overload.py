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

"""Host load and overload detection (paper section 2, "overloaded host").

Contract: loads are fractions of a host's physical capacity in four
dimensions -- ``cpu`` (busy cores / cores), ``ram`` (used MiB / MiB),
``disk_io`` and ``net`` (MiB/s / the host's configured throughput).  A host
is *overloaded* when any dimension exceeds its threshold; it is *relieved*
when every overloaded dimension is back at or below ``threshold -
target_margin``.  :func:`find_overloaded` returns, per overloaded host, how
much of each dimension must leave it.  A missing metric contributes
nothing to CPU, disk and network load; RAM falls back to the flavor size
(the conservative choice, since RAM is what overcommit breaks first).
"""

import dataclasses
import math
import typing

from watcher_informed.core import kinds
from watcher_informed.core import snapshot as snap

DIMS = kinds.DIMS


@dataclasses.dataclass(frozen=True)
class HotHost:
    """An overloaded host and what it must shed (absolute amounts)."""

    name: str
    load: typing.Mapping[str, float]
    excess: typing.Mapping[str, float]

    @property
    def worst(self):
        return max(self.load.values()) if self.load else 0.0


def instance_demand(instance, usage):
    """Absolute load of one instance per dimension."""
    cpu = usage.get(snap.CPU)
    ram = usage.get(snap.RAM)
    disk = sum(v for v in (usage.get(snap.DISK_READ),
                           usage.get(snap.DISK_WRITE)) if v is not None)
    net = sum(v for v in (usage.get(snap.NET_RX), usage.get(snap.NET_TX))
              if v is not None)
    return {
        'cpu': (cpu or 0.0) * instance.vcpus,
        'ram': min(ram, instance.ram_mb) if ram is not None
        else instance.ram_mb,
        'disk_io': disk,
        'net': net,
    }


def host_scale(host, p):
    """Physical capacity per dimension used to normalise loads."""
    return {'cpu': max(host.vcpus, 1e-9), 'ram': max(host.ram_mb, 1e-9),
            'disk_io': p.host_disk_io_mibps, 'net': p.host_net_mibps}


def demands(snapshot):
    """``{uuid: demand}`` for every instance of the snapshot."""
    return {i.uuid: instance_demand(i, snapshot.usage_of(i.uuid))
            for i in snapshot.instances}


def host_loads(snapshot, p, placement=None, demand=None):
    """``{host: {dim: fraction}}`` for a placement (default: current)."""
    placement = placement or snapshot.placement()
    demand = demand or demands(snapshot)
    sums = {h.name: dict.fromkeys(DIMS, 0.0) for h in snapshot.hosts}
    # a fixed summation order: float sums must not depend on input order
    for uuid, host in sorted(placement.items()):
        for dim, value in demand[uuid].items():
            sums[host][dim] += value
    loads = {}
    for host in snapshot.hosts:
        scale = host_scale(host, p)
        loads[host.name] = {d: sums[host.name][d] / scale[d] for d in DIMS}
    return loads


def over_dims(load, p):
    """Dimensions of ``load`` above their threshold."""
    thresholds = p.thresholds()
    return tuple(d for d in DIMS if load[d] > thresholds[d] + 1e-12)


def find_overloaded(snapshot, p, placement=None, demand=None):
    """Overloaded hosts, worst first (ties by name)."""
    loads = host_loads(snapshot, p, placement, demand)
    targets = p.targets()
    hot = []
    for host in snapshot.hosts:
        load = loads[host.name]
        dims = over_dims(load, p)
        if not dims:
            continue
        scale = host_scale(host, p)
        excess = {d: (load[d] - targets[d]) * scale[d] for d in dims}
        hot.append(HotHost(host.name, load, excess))
    hot.sort(key=lambda h: (-h.worst, h.name))
    return hot


def load_sd(loads, dim='cpu'):
    """Population standard deviation of one dimension across hosts."""
    values = [v[dim] for v in loads.values()]
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def overload_amount(loads, p):
    """Sum over hosts and dimensions of load above threshold."""
    thresholds = p.thresholds()
    return sum(max(0.0, load[d] - thresholds[d])
               for load in loads.values() for d in DIMS)
