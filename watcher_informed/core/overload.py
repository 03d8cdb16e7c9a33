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
    #: with ``relief_spread`` (:func:`shed_targets`): what it must shed
    #: to reach its target at the planned load alone; ``None``: no more
    #: than ``excess`` is asked.
    floor: typing.Optional[typing.Mapping[str, float]] = None
    #: with ``relief_spread``: the load (fractions) at its planned value
    #: plus that many quadrature spreads of the host's instances, which
    #: the cost-benefit gate values (``gate``); ``None``: ``load``.
    robust: typing.Optional[typing.Mapping[str, float]] = None

    @property
    def worst(self):
        return max(self.load.values()) if self.load else 0.0

    @property
    def at_risk(self):
        """Whether only its robust load is over a threshold."""
        return self.floor is not None and not self.floor


#: quantile of the measured instances' CPU (fraction of their vCPUs) at
#: which an instance without a CPU metric counts.
UNMEASURED_QUANTILE = 0.9
#: ... and the least it counts at (a fraction of its vCPUs), so it is
#: never zero; also what it counts at when no instance of the audit has a
#: CPU metric (then no host may look overloaded on guesses alone).
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
            'disk_io': p.host_disk_io_capacity, 'net': p.host_network_capacity}


class Demands(usage_mod.ByUuid):
    """Every instance's demand as one array, ``uuid -> {dim: value}``.

    ``array`` is (instances x ``DIMS``) in the snapshot's instance order,
    computed from the usage columns at once; the per-instance mapping of
    :func:`instance_demand` is built on access.
    """

    def __init__(self, snapshot):
        super().__init__(snapshot.uuids, snapshot.position)

        def col(metric):
            return planned_column(snapshot, metric)

        vcpus = np.array([i.vcpus for i in snapshot.instances], dtype=float)
        ram_mb = np.array([i.ram_mb for i in snapshot.instances],
                          dtype=float)
        cpu, ram = col(snap.CPU), col(snap.RAM)
        self.array = np.column_stack([
            _cpu_cores(snapshot, cpu, vcpus),
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


def planned_column(snapshot, metric):
    """``metric`` of every instance (instance order, NaN: unknown).

    The forecast's value where the snapshot has one, else the usage.
    """
    col = usage_mod.column(snapshot, metric)
    if not snapshot.forecast:
        return col
    table = getattr(snapshot.forecast, 'column', None)
    if table is not None:
        # a demand.ForecastTable: the whole metric at once
        planned = table(metric, snapshot.uuids)
        return np.where(np.isnan(planned), col, planned)
    col = np.array(col, dtype=float)
    for k, inst in enumerate(snapshot.instances):
        forecast = snapshot.forecast.get(inst.uuid)
        value = forecast.get(metric) if forecast is not None else None
        if value is not None:
            col[k] = value
    return col


def _guess(known):
    """:func:`unmeasured_cpu` of the known CPU fractions (an array)."""
    if not len(known):
        # nothing measured: no guess may make a host look overloaded
        return UNMEASURED_MIN_CPU
    ordered = np.sort(known)
    rank = min(len(ordered) - 1, int(math.ceil(
        UNMEASURED_QUANTILE * len(ordered))) - 1)
    return max(UNMEASURED_MIN_CPU, float(ordered[max(rank, 0)]))


def _cpu_cores(snapshot, cpu, vcpus):
    """Busy cores per instance; unknown CPU counts conservatively.

    See :func:`unmeasured_cpu`; on a host with its own CPU meter the
    instances without CPU share (in proportion to their vCPUs) at most
    what the measured ones leave unexplained, never less than
    :data:`UNMEASURED_MIN_CPU` of their vCPUs.
    """
    missing = np.isnan(cpu)
    if not missing.any():
        return cpu * vcpus
    cores = np.where(missing, _guess(cpu[~missing]), cpu) * vcpus
    if not snapshot.host_usage:
        return cores
    index = {h.name: k for k, h in enumerate(snapshot.hosts)}
    at = np.array([index[i.host] for i in snapshot.instances], dtype=int)
    nh = len(snapshot.hosts)
    known = np.bincount(at, weights=np.where(missing, 0.0, cores),
                        minlength=nh)
    blind = np.bincount(at, weights=np.where(missing, vcpus, 0.0),
                        minlength=nh)
    measured = np.array([_host_value(snapshot, h, snap.CPU, h.vcpus)
                         for h in snapshot.hosts], dtype=float)
    with np.errstate(invalid='ignore', divide='ignore'):
        share = np.maximum(0.0, measured[at] - known[at]) * vcpus / \
            blind[at]
    capped = np.maximum(UNMEASURED_MIN_CPU * vcpus,
                        np.minimum(cores, share))
    use = missing & ~np.isnan(measured[at]) & (blind[at] > 0)
    return np.where(use, capped, cores)


def _host_value(snapshot, host, metric, scale=1.0):
    """A host's own meter (``metric`` x ``scale``), NaN if unknown."""
    usage = snapshot.host_usage.get(host.name)
    value = usage.get(metric) if usage is not None else None
    return np.nan if value is None else value * scale


def unmeasured(snapshot):
    """Uuids of the instances whose CPU is unknown, sorted."""
    cpu = planned_column(snapshot, snap.CPU)
    uuids = snapshot.uuids
    return sorted(uuids[k] for k in np.flatnonzero(np.isnan(cpu)).tolist())


def unmeasured_cpu(snapshot):
    """The CPU fraction an instance without a CPU metric counts at.

    The :data:`UNMEASURED_QUANTILE` quantile of the measured instances'
    CPU fractions (nearest rank, so it is one of them), at least
    :data:`UNMEASURED_MIN_CPU`, which is also the answer when no instance
    is measured (guesses alone never make a host overloaded).  (On a
    host with its own CPU meter it is capped further, see
    :func:`demands`.)
    """
    cpu = planned_column(snapshot, snap.CPU)
    return _guess(cpu[~np.isnan(cpu)])


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


def spreads(snapshot, demand):
    """(instances x ``DIMS``) spreads in ``demand``'s row order.

    Each row is :func:`instance_spread` of the instance (0 without a
    forecast), absolute like the demand.
    """
    out = np.zeros((len(demand.uuids), len(DIMS)))
    forecast = snapshot.forecast or {}
    insts = snapshot.instance_by_uuid
    for uuid in forecast:
        k = demand.index.get(uuid)
        if k is None:
            continue
        s = instance_spread(insts[uuid], forecast[uuid])
        out[k] = [s[d] for d in DIMS]
    return out


def spread_shares(snapshot, demand, weight):
    """(instances x ``DIMS``) ``weight`` spreads, shared out per host.

    A host's instances are taken as independent: the spread of their
    summed load is the quadrature sum of theirs, ``sigma``.  Each
    instance's row is its share of ``weight * sigma`` in proportion to
    its variance (``weight * s**2 / sigma``, 0 where ``sigma`` is 0), so
    the rows of a host's instances add up to ``weight * sigma`` and an
    instance that dominates the host's spread carries almost all of it
    (an idle, steady one almost none).  In ``demand``'s row order.
    """
    demand = as_demands(demand, snapshot)
    extra = weight * spreads(snapshot, demand)
    if not len(demand.uuids):
        return extra
    index = {h.name: k for k, h in enumerate(snapshot.hosts)}
    insts = snapshot.instance_by_uuid
    at = np.array([index[insts[u].host] for u in demand.uuids], dtype=int)
    var = np.zeros((len(snapshot.hosts), len(DIMS)))
    np.add.at(var, at, extra * extra)
    sigma = np.sqrt(var)[at]
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(sigma > 0, extra * extra / sigma, 0.0)


def with_spreads(snapshot, demand, weight):
    """``demand`` plus each instance's :func:`spread_shares` (Demands).

    What a leaving instance sheds from its host's robust excess
    (:func:`shed_targets`): its planned load and its share of the host's
    ``weight`` spreads.
    """
    demand = as_demands(demand, snapshot)
    table = Demands.__new__(Demands)
    usage_mod.ByUuid.__init__(table, demand.uuids)
    table.array = demand.array + spread_shares(snapshot, demand, weight)
    return table


def host_sigmas(snapshot, demand, weight):
    """(hosts x ``DIMS``) ``weight`` quadrature spreads of each host.

    The spread of a host's summed load, its instances taken as
    independent (the square root of the sum of their squared spreads),
    absolute, in the snapshot's host order; 0 on a host without spreads.
    """
    demand = as_demands(demand, snapshot)
    var = np.zeros((len(snapshot.hosts), len(DIMS)))
    if len(demand.uuids):
        extra = weight * spreads(snapshot, demand)
        index = {h.name: k for k, h in enumerate(snapshot.hosts)}
        insts = snapshot.instance_by_uuid
        at = np.array([index[insts[u].host] for u in demand.uuids],
                      dtype=int)
        np.add.at(var, at, extra * extra)
    return np.sqrt(var)


def shed_targets(snapshot, p, hot, demand, weight, loads=None):
    """``hot`` with each excess raised for ``weight`` extra spreads.

    An overloaded host is relieved robustly once its staying instances
    fit under the target at their planned load plus ``weight`` spreads
    of their summed load (instances taken as independent: their spreads
    add in quadrature).  Each overloaded dimension must shed its planned
    load above the target plus ``weight`` times the quadrature spread of
    the host's instances, an instance leaving with its
    :func:`spread_shares` of it (:func:`with_spreads`); never less than
    before, and the load its instances do not explain stays as it was.
    ``HotHost.floor`` keeps the excess at the planned load, which the
    search falls back to when no set of the movable instances can shed
    the robust one (``pipeline``); ``HotHost.robust`` is the load at
    planned plus ``weight`` spreads, what the cost-benefit gate values.

    A dimension over its threshold only at the robust load is shed too.
    With ``loads`` (the :func:`host_loads` the hosts were found with), a
    host *at risk* -- under every threshold at its planned load, over one
    at its robust load -- is added after the overloaded ones (worst
    robust load first, ties by name), its floor empty: it sheds its
    robust excess or nothing.
    """
    if weight <= 0 or (not hot and loads is None):
        return hot
    demand = as_demands(demand, snapshot)
    sigma = host_sigmas(snapshot, demand, weight)
    thresholds, targets = p.thresholds(), p.targets()
    scales = host_scales(snapshot, p)
    row = {h.name: k for k, h in enumerate(snapshot.hosts)}

    def robust_of(name, load):
        k = row[name]
        return {d: load[d] + sigma[k, j] / scales[k, j]
                for j, d in enumerate(DIMS)}

    def excess_of(name, robust, need):
        k = row[name]
        excess = dict(need)
        for j, d in enumerate(DIMS):
            if d in need or robust[d] > thresholds[d] + 1e-12:
                over = (robust[d] - targets[d]) * scales[k, j]
                excess[d] = float(max(need.get(d, 0.0), over))
        return excess

    out = []
    for h in hot:
        robust = robust_of(h.name, h.load)
        out.append(HotHost(h.name, h.load, excess_of(h.name, robust,
                                                     h.excess),
                           dict(h.excess), robust))
    if loads is None:
        return out
    names = {h.name for h in hot}
    risk = []
    for host in snapshot.hosts:
        if host.name in names:
            continue
        load = loads[host.name]
        robust = robust_of(host.name, load)
        if not any(robust[d] > thresholds[d] + 1e-12 for d in DIMS):
            continue
        risk.append(HotHost(host.name, load,
                            excess_of(host.name, robust, {}), {}, robust))
    risk.sort(key=lambda h: (-max(h.robust.values()), h.name))
    return out + risk


def demands(snapshot):
    """``{uuid: demand}`` for every instance of the snapshot.

    Instances without a CPU metric count at :func:`unmeasured_cpu`; on a
    host whose own CPU meter is known, they share (in proportion to their
    vCPUs) at most what the measured instances leave unexplained, and
    never less than :data:`UNMEASURED_MIN_CPU`.

    Computed once per snapshot (``Snapshot.memo``): the search, the
    plan checker and the report read the same table, never changed.
    """
    table = snapshot.memo.get('demands')
    if table is None:
        table = snapshot.memo['demands'] = Demands(snapshot)
    return table


def instance_rows(snapshot):
    """``(uuids, by_uuid, host index, hosts)`` of the snapshot's instances.

    ``uuids`` in instance order, ``by_uuid`` the positions sorted by
    uuid, ``host index`` ``{name: k}`` and ``hosts`` each instance's
    host index; computed once per snapshot.
    """
    rows = snapshot.memo.get('instance_rows')
    if rows is None:
        uuids = snapshot.uuids
        by_uuid = np.array(sorted(range(len(uuids)),
                                  key=uuids.__getitem__), dtype=int)
        index = {h.name: k for k, h in enumerate(snapshot.hosts)}
        hosts = np.array([index[i.host] for i in snapshot.instances],
                         dtype=int)
        rows = snapshot.memo['instance_rows'] = (uuids, by_uuid, index,
                                                 hosts)
    return rows


def host_scales(snapshot, p):
    """(hosts x DIMS) :func:`host_scale` of every host, as an array."""
    nh = len(snapshot.hosts)
    sizes = snapshot.memo.get('host_sizes')
    if sizes is None:
        sizes = snapshot.memo['host_sizes'] = (
            np.maximum(np.array([h.vcpus for h in snapshot.hosts],
                                dtype=float), 1e-9),
            np.maximum(np.array([h.ram_mb for h in snapshot.hosts],
                                dtype=float), 1e-9))
    return np.column_stack([
        sizes[0], sizes[1],
        np.full(nh, float(p.host_disk_io_capacity)),
        np.full(nh, float(p.host_network_capacity))]).reshape(nh, len(DIMS))


def _fixed_array(snapshot, demand):
    """(hosts x DIMS) load the hosts' own meters show beyond their VMs."""
    nh = len(snapshot.hosts)
    out = np.zeros((nh, len(DIMS)))
    if not snapshot.host_usage:
        return out
    if not isinstance(demand, Demands):
        demand = _table(demand, snapshot)
    index = {h.name: k for k, h in enumerate(snapshot.hosts)}
    order = sorted(snapshot.instances, key=lambda i: i.uuid)
    sums = np.zeros((nh, len(DIMS)))
    if order:
        rows = np.array([demand.index[i.uuid] for i in order], dtype=int)
        at = np.array([index[i.host] for i in order], dtype=int)
        np.add.at(sums, at, demand.array[rows])
    for k, host in enumerate(snapshot.hosts):
        for j, (metric, scale) in ((0, (snap.CPU, host.vcpus)),
                                   (1, (snap.RAM, 1.0))):
            value = _host_value(snapshot, host, metric, scale)
            if not np.isnan(value):
                out[k, j] = max(0.0, value - sums[k, j])
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
    demand = demand if demand is not None else demands(snapshot)
    fixed = _fixed_array(snapshot, demand)
    return {h.name: {d: float(fixed[k, j]) for j, d in enumerate(DIMS)}
            for k, h in enumerate(snapshot.hosts)
            if h.name in snapshot.host_usage}


def host_loads(snapshot, p, placement=None, demand=None):
    """``{host: {dim: fraction}}`` for a placement (default: current).

    Includes the :func:`fixed_loads` of hosts with their own meters.
    """
    demand = demand if demand is not None else demands(snapshot)
    if not isinstance(demand, Demands):
        demand = _table(demand, snapshot)
    uuids, by_uuid, index, at = instance_rows(snapshot)
    if placement is not None:
        keys = tuple(placement)
        at = np.array([index[h] for h in placement.values()], dtype=int)
        if keys != uuids:
            uuids = keys
            by_uuid = np.array(sorted(range(len(keys)),
                                      key=keys.__getitem__), dtype=int)
    # a fixed summation order (by uuid): float sums must not depend on
    # input order; np.add.at adds repeated indices one after the other
    if demand.uuids == uuids:
        rows = by_uuid
    else:
        rows = np.array([demand.index[uuids[k]] for k in by_uuid],
                        dtype=int)
    at = at[by_uuid] if len(by_uuid) else by_uuid
    sums = np.zeros((len(snapshot.hosts), len(DIMS)))
    if len(rows):
        np.add.at(sums, at, demand.array[rows])
    if snapshot.host_usage:
        sums += _fixed_array(snapshot, demand)
    fractions = (sums / host_scales(snapshot, p)).tolist()
    return {h.name: dict(zip(DIMS, row))
            for h, row in zip(snapshot.hosts, fractions)}


def as_demands(demand, snapshot):
    """``demand`` as :class:`Demands` (a ``{uuid: dict}`` is converted)."""
    return demand if isinstance(demand, Demands) else \
        _table(demand, snapshot)


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


def find_overloaded(snapshot, p, placement=None, demand=None, loads=None):
    """Overloaded hosts, worst first (ties by name).

    ``loads``: the :func:`host_loads` of that placement, if known.
    """
    if loads is None:
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
