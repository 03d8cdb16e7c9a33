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

import numpy as np

from watcher_informed.core import kinds
from watcher_informed.core import snapshot as snap
from watcher_informed.core import usage as usage_mod

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
            'disk_io': p.host_disk_io_capacity, 'net': p.host_network_capacity}


class Demands(usage_mod.ByUuid):
    """Every instance's demand as one array, ``uuid -> {dim: value}``.

    ``array`` is (instances x ``DIMS``) in the snapshot's instance order,
    computed from the usage columns at once; the per-instance mapping of
    :func:`instance_demand` is built on access.
    """

    def __init__(self, snapshot):
        super().__init__(i.uuid for i in snapshot.instances)

        def col(metric):
            return usage_mod.column(snapshot, metric)

        vcpus = np.array([i.vcpus for i in snapshot.instances], dtype=float)
        ram_mb = np.array([i.ram_mb for i in snapshot.instances],
                          dtype=float)
        cpu, ram = col(snap.CPU), col(snap.RAM)
        self.array = np.column_stack([
            np.nan_to_num(cpu, nan=0.0) * vcpus,
            np.where(np.isnan(ram), ram_mb, np.minimum(ram, ram_mb)),
            _known_sum(col(snap.DISK_READ), col(snap.DISK_WRITE)),
            _known_sum(col(snap.NET_RX), col(snap.NET_TX)),
        ]).reshape(len(self.uuids), len(DIMS))

    def row(self, uuid):
        return self.array[self.index[uuid]]

    def build(self, uuid):
        row = self.array[self.index[uuid]]
        return {d: float(row[k]) for k, d in enumerate(DIMS)}


def _known_sum(a, b):
    """``a + b`` counting a missing (NaN) term as absent, as 0 + known."""
    return np.nan_to_num(a, nan=0.0) + np.nan_to_num(b, nan=0.0)


def demands(snapshot):
    """``{uuid: demand}`` for every instance of the snapshot."""
    return Demands(snapshot)


def host_loads(snapshot, p, placement=None, demand=None):
    """``{host: {dim: fraction}}`` for a placement (default: current)."""
    demand = demand if demand is not None else demands(snapshot)
    if not isinstance(demand, Demands):
        demand = _table(demand, snapshot)
    index = {h.name: k for k, h in enumerate(snapshot.hosts)}
    if placement is None:
        uuids = [i.uuid for i in snapshot.instances]
        hosts = [i.host for i in snapshot.instances]
    else:
        uuids, hosts = list(placement), list(placement.values())
    # a fixed summation order (by uuid): float sums must not depend on
    # input order; np.add.at adds repeated indices one after the other
    order = sorted(range(len(uuids)), key=uuids.__getitem__)
    rows = np.array([demand.index[uuids[k]] for k in order], dtype=int)
    at = np.array([index[hosts[k]] for k in order], dtype=int)
    sums = np.zeros((len(snapshot.hosts), len(DIMS)))
    if len(rows):
        np.add.at(sums, at, demand.array[rows])
    scale = np.array([[host_scale(h, p)[d] for d in DIMS]
                      for h in snapshot.hosts],
                     dtype=float).reshape(len(snapshot.hosts), len(DIMS))
    fractions = (sums / scale).tolist()
    return {h.name: dict(zip(DIMS, row))
            for h, row in zip(snapshot.hosts, fractions)}


def _table(demand, snapshot):
    """A :class:`Demands` holding the values of a ``{uuid: dict}``."""
    table = Demands.__new__(Demands)
    usage_mod.ByUuid.__init__(table, demand)
    table.array = np.array([[demand[u][d] for d in DIMS]
                            for u in table.uuids],
                           dtype=float).reshape(len(table.uuids), len(DIMS))
    return table


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
