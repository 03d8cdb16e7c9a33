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
much of each dimension must leave it.

An instance's load is its next-hour estimate where the snapshot has one
(``Snapshot.forecast``, ``core.demand``), else its measured usage.  A
missing metric contributes nothing to disk and network load; RAM falls
back to the flavor size (the conservative choice, since RAM is what
overcommit breaks first); CPU counts at a conservative estimate, never
zero (:func:`unmeasured_cpu`: the :data:`UNMEASURED_QUANTILE` quantile of
the measured instances' CPU, capped by what the host's own meter leaves
unexplained, at least :data:`UNMEASURED_MIN_CPU`).  Where the host's own
meters are known (``Snapshot.host_usage``), the part of its CPU and RAM
its instances do not explain (hypervisor overhead, instances without
metrics) is load that stays on the host whatever moves
(:func:`fixed_loads`).
"""

import collections
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


#: quantile of the measured instances' CPU (fraction of their vCPUs) at
#: which an instance without a CPU metric counts.
UNMEASURED_QUANTILE = 0.9
#: ... and the least it counts at (a fraction of its vCPUs), so it is
#: never zero; also the guess when no instance of the audit is measured
#: is 1 (all its vCPUs busy).
UNMEASURED_MIN_CPU = 0.05


def _reading(usage, forecast, metric):
    if forecast is not None:
        value = forecast.get(metric)
        if value is not None:
            return value
    return usage.get(metric)


def instance_demand(instance, usage, forecast=None, unmeasured_cpu=0.0):
    """Absolute load of one instance per dimension.

    ``forecast`` (a ``demand.Forecast``) wins where it has a value;
    ``unmeasured_cpu`` is the fraction of its vCPUs the instance counts
    at when its CPU is known neither way.
    """
    cpu = _reading(usage, forecast, snap.CPU)
    ram = _reading(usage, forecast, snap.RAM)
    disk = sum(v for v in (_reading(usage, forecast, snap.DISK_READ),
                           _reading(usage, forecast, snap.DISK_WRITE))
               if v is not None)
    net = sum(v for v in (_reading(usage, forecast, snap.NET_RX),
                          _reading(usage, forecast, snap.NET_TX))
              if v is not None)
    return {
        'cpu': (cpu if cpu is not None else unmeasured_cpu) *
        instance.vcpus,
        'ram': min(ram, instance.ram_mb) if ram is not None
        else instance.ram_mb,
        'disk_io': disk,
        'net': net,
    }


def host_scale(host, p):
    """Physical capacity per dimension used to normalise loads."""
    return {'cpu': max(host.vcpus, 1e-9), 'ram': max(host.ram_mb, 1e-9),
            'disk_io': p.host_disk_io_mibps, 'net': p.host_net_mibps}


def instance_spread(instance, forecast):
    """One standard deviation of an instance's estimated load, per dim.

    Absolute, like :func:`instance_demand`; 0 where the forecast has no
    spread (no forecast, a single hour of history).  Disk and network
    spreads of the two directions add in quadrature.
    """
    spread = getattr(forecast, 'spread', None) or {}

    def one(metric):
        return float(spread.get(metric) or 0.0)
    return {
        'cpu': one(snap.CPU) * instance.vcpus,
        'ram': one(snap.RAM),
        'disk_io': math.hypot(one(snap.DISK_READ), one(snap.DISK_WRITE)),
        'net': math.hypot(one(snap.NET_RX), one(snap.NET_TX)),
    }


def _cpu_known(snapshot, uuid):
    forecast = snapshot.forecast.get(uuid)
    return _reading(snapshot.usage_of(uuid), forecast, snap.CPU)


def unmeasured(snapshot):
    """Uuids of the instances whose CPU is unknown, sorted."""
    return sorted(i.uuid for i in snapshot.instances
                  if _cpu_known(snapshot, i.uuid) is None)


def unmeasured_cpu(snapshot):
    """The CPU fraction an instance without a CPU metric counts at.

    The :data:`UNMEASURED_QUANTILE` quantile of the measured instances'
    CPU fractions (nearest rank, so it is one of them), at least
    :data:`UNMEASURED_MIN_CPU`; 1.0 when no instance is measured.
    """
    known = sorted(v for v in (_cpu_known(snapshot, i.uuid)
                               for i in snapshot.instances)
                   if v is not None)
    if not known:
        return 1.0
    rank = min(len(known) - 1, int(math.ceil(
        UNMEASURED_QUANTILE * len(known))) - 1)
    return max(UNMEASURED_MIN_CPU, known[max(rank, 0)])


def _host_cpu(snapshot, host):
    usage = snapshot.host_usage.get(host.name)
    value = usage.get(snap.CPU) if usage is not None else None
    return None if value is None else value * host.vcpus


def _host_ram(snapshot, host):
    usage = snapshot.host_usage.get(host.name)
    return usage.get(snap.RAM) if usage is not None else None


def demands(snapshot):
    """``{uuid: demand}`` for every instance of the snapshot.

    Instances without a CPU metric count at :func:`unmeasured_cpu`; on a
    host whose own CPU meter is known, they share (in proportion to their
    vCPUs) at most what the measured instances leave unexplained, and
    never less than :data:`UNMEASURED_MIN_CPU`.
    """
    missing = set(unmeasured(snapshot))
    guess = unmeasured_cpu(snapshot) if missing else 0.0
    out = {i.uuid: instance_demand(i, snapshot.usage_of(i.uuid),
                                   snapshot.forecast.get(i.uuid), guess)
           for i in snapshot.instances}
    if not missing or not snapshot.host_usage:
        return out
    known = collections.defaultdict(float)
    vcpus = collections.defaultdict(float)
    for inst in snapshot.instances:
        if inst.uuid in missing:
            vcpus[inst.host] += inst.vcpus
        else:
            known[inst.host] += out[inst.uuid]['cpu']
    for inst in snapshot.instances:
        if inst.uuid not in missing:
            continue
        host = snapshot.host_by_name[inst.host]
        measured = _host_cpu(snapshot, host)
        if measured is None or vcpus[inst.host] <= 0:
            continue
        share = max(0.0, measured - known[inst.host]) * inst.vcpus / \
            vcpus[inst.host]
        floor = UNMEASURED_MIN_CPU * inst.vcpus
        out[inst.uuid]['cpu'] = max(floor, min(out[inst.uuid]['cpu'],
                                               share))
    return out


def fixed_loads(snapshot, demand=None):
    """``{host: {dim: absolute}}`` its instances do not explain.

    Per host with its own meters: CPU (busy cores) and RAM (MiB) measured
    on the host minus the sum of its instances' demand at the snapshot's
    placement, never negative; this load does not move with instances.
    Hosts without meters are left out.
    """
    if not snapshot.host_usage:
        return {}
    demand = demand or demands(snapshot)
    sums = {h.name: dict.fromkeys(DIMS, 0.0) for h in snapshot.hosts}
    for inst in sorted(snapshot.instances, key=lambda i: i.uuid):
        for dim, value in demand[inst.uuid].items():
            sums[inst.host][dim] += value
    out = {}
    for host in snapshot.hosts:
        extra = dict.fromkeys(DIMS, 0.0)
        cpu, ram = _host_cpu(snapshot, host), _host_ram(snapshot, host)
        if cpu is None and ram is None:
            continue
        if cpu is not None:
            extra['cpu'] = max(0.0, cpu - sums[host.name]['cpu'])
        if ram is not None:
            extra['ram'] = max(0.0, ram - sums[host.name]['ram'])
        out[host.name] = extra
    return out


def host_loads(snapshot, p, placement=None, demand=None):
    """``{host: {dim: fraction}}`` for a placement (default: current).

    Includes the :func:`fixed_loads` of hosts with their own meters.
    """
    placement = placement or snapshot.placement()
    demand = demand or demands(snapshot)
    sums = {h.name: dict.fromkeys(DIMS, 0.0) for h in snapshot.hosts}
    # a fixed summation order: float sums must not depend on input order
    for uuid, host in sorted(placement.items()):
        for dim, value in demand[uuid].items():
            sums[host][dim] += value
    for host, extra in fixed_loads(snapshot, demand).items():
        for dim, value in extra.items():
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
