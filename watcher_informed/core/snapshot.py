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

"""Frozen, Watcher-free description of one audit's cluster.

Contract: adapters build a :class:`Snapshot` once per audit; every core
stage reads it and never mutates it.  Units are fixed here so no stage has
to guess: memory and disk sizes in MiB / GiB as Nova reports them,
throughputs (disk, network, memory dirtying) in MiB/s, CPU utilisation as a
fraction of the instance's vCPUs (1.0 = all its vCPUs busy).

A metric value is either a finite, non-negative float or ``None``; when it
is ``None`` the reason is kept in :attr:`Usage.missing`, so the
classification can say *why* it does not know (design rule "missing
metrics degrade to unknown, never crash").
"""

import dataclasses
import functools
import math
import types
import typing

from watcher_informed.core import kinds
from watcher_informed.core import scheduling

CPU = kinds.Metric.CPU
RAM = kinds.Metric.RAM
RAM_RESIDENT = kinds.Metric.RAM_RESIDENT
DISK_READ = kinds.Metric.DISK_READ
DISK_WRITE = kinds.Metric.DISK_WRITE
NET_RX = kinds.Metric.NET_RX
NET_TX = kinds.Metric.NET_TX
DIRTY_RATE = kinds.Metric.DIRTY_RATE
WSS = kinds.Metric.WSS
L3_CACHE = kinds.Metric.L3_CACHE

#: Every metric the core understands, with its unit.
METRICS = types.MappingProxyType(kinds.UNITS)

AFFINITY = 'affinity'
ANTI_AFFINITY = 'anti-affinity'
SOFT_AFFINITY = 'soft-affinity'
SOFT_ANTI_AFFINITY = 'soft-anti-affinity'
POLICIES = (AFFINITY, ANTI_AFFINITY, SOFT_AFFINITY, SOFT_ANTI_AFFINITY)

#: Instance metadata key an operator sets to force a workload class.
CLASS_METADATA_KEY = 'informed:workload_class'


@dataclasses.dataclass(frozen=True)
class Resources:
    """Allocated (flavor) resources: vCPUs, RAM MiB, disk GiB."""

    vcpus: float = 0.0
    ram_mb: float = 0.0
    disk_gb: float = 0.0

    def __add__(self, other):
        return Resources(self.vcpus + other.vcpus,
                         self.ram_mb + other.ram_mb,
                         self.disk_gb + other.disk_gb)

    def __sub__(self, other):
        return Resources(self.vcpus - other.vcpus,
                         self.ram_mb - other.ram_mb,
                         self.disk_gb - other.disk_gb)

    def fits_in(self, capacity):
        """True when every dimension is within ``capacity`` (with 1e-9)."""
        pairs = zip(self.as_tuple(), capacity.as_tuple())
        return all(a <= b + 1e-9 for a, b in pairs)

    def over(self, capacity):
        """Names of the dimensions where ``self`` exceeds ``capacity``."""
        names = ('vcpus', 'ram_mb', 'disk_gb')
        return tuple(n for n, a, b in zip(names, self.as_tuple(),
                                          capacity.as_tuple())
                     if a > b + 1e-9)

    def as_tuple(self):
        return (self.vcpus, self.ram_mb, self.disk_gb)


@dataclasses.dataclass(frozen=True)
class Host:
    """A compute node as the placement service sees it."""

    name: str
    vcpus: float
    ram_mb: float
    disk_gb: float
    vcpu_reserved: float = 0.0
    ram_reserved_mb: float = 0.0
    disk_reserved_gb: float = 0.0
    vcpu_ratio: float = 1.0
    ram_ratio: float = 1.0
    disk_ratio: float = 1.0
    up: bool = True
    enabled: bool = True
    az: typing.Optional[str] = None
    uuid: str = ''
    #: traits of the host's compute-node resource provider (Placement)
    traits: typing.FrozenSet[str] = frozenset()
    #: allocatable PCPU (dedicated CPUs; ``None``: no PCPU inventory)
    pcpus: typing.Optional[float] = None

    @property
    def capacity(self):
        """Allocatable resources: (total - reserved) x allocation ratio."""
        return Resources(
            (self.vcpus - self.vcpu_reserved) * self.vcpu_ratio,
            (self.ram_mb - self.ram_reserved_mb) * self.ram_ratio,
            (self.disk_gb - self.disk_reserved_gb) * self.disk_ratio)

    @property
    def usable(self):
        """Whether the host may receive instances (up and enabled)."""
        return self.up and self.enabled


@dataclasses.dataclass(frozen=True)
class Instance:
    """A server with its flavor sizes and the flags that pin it."""

    uuid: str
    host: str
    vcpus: float
    ram_mb: float
    disk_gb: float = 0.0
    name: str = ''
    state: str = 'active'
    locked: bool = False
    excluded: bool = False
    metadata: typing.Mapping[str, str] = dataclasses.field(
        default_factory=dict)
    pinned_az: typing.Optional[str] = None
    #: the flavor's extra specs (Nova's scheduler reads them)
    extra_specs: typing.Mapping[str, str] = dataclasses.field(
        default_factory=dict)
    project_id: str = ''
    #: vnic_type of each of its ports that is not ``normal``
    vnic_types: typing.Tuple[str, ...] = ()

    @property
    def resources(self):
        return Resources(self.vcpus, self.ram_mb, self.disk_gb)

    @property
    def label(self):
        return self.name or self.uuid

    def immovable_reason(self):
        """Why this instance must not be live-migrated, or ``None``."""
        if self.excluded:
            return 'excluded from the audit (watcher_exclude)'
        if self.locked:
            return 'locked'
        if self.state != 'active':
            return 'state is %s, live migration needs active' % self.state
        return None


def instance_of(uuid, host, vcpus, ram_mb, disk_gb, name, state, locked,
                excluded, metadata, pinned_az, extra_specs, project_id,
                vnic_types=()):
    """``Instance(...)`` of these field values, built faster.

    For an adapter reading every instance of a cloud (100,000): the
    values must already be of their fields' types, as ``Instance``
    does not convert them either.  The object equals the one the
    constructor makes; only the frozen dataclass's field-by-field
    ``object.__setattr__`` (half the cost of reading Watcher's model)
    is skipped.
    """
    inst = object.__new__(Instance)
    object.__setattr__(inst, '__dict__', {
        'uuid': uuid, 'host': host, 'vcpus': vcpus, 'ram_mb': ram_mb,
        'disk_gb': disk_gb, 'name': name, 'state': state, 'locked': locked,
        'excluded': excluded, 'metadata': metadata, 'pinned_az': pinned_az,
        'extra_specs': extra_specs, 'project_id': project_id,
        'vnic_types': vnic_types})
    return inst


@dataclasses.dataclass(frozen=True)
class Usage:
    """Measured usage of one instance over the audit window."""

    values: typing.Mapping[str, float] = dataclasses.field(
        default_factory=dict)
    missing: typing.Mapping[str, str] = dataclasses.field(
        default_factory=dict)

    def get(self, metric):
        return self.values.get(metric)

    def reason(self, metric):
        return self.missing.get(metric, 'no samples')


#: Larger readings (in any unit above) are implausible and counted as
#: missing, which also keeps every sum and square of loads finite.
MAX_READING = 1e15


def make_usage(readings, reasons=None):
    """Build a :class:`Usage`, refusing NaN, infinite, negative and
    implausibly large (> :data:`MAX_READING`) values.

    ``readings`` maps metric names to floats or ``None``; ``reasons`` maps
    metric names to why they are missing.  Bad numbers become missing with
    the reason recorded; nothing here raises on bad data.
    """
    values = {}
    missing = dict(reasons or {})
    for metric, value in readings.items():
        if value is None:
            missing.setdefault(metric, 'no samples')
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            missing[metric] = 'not a number: %r' % (value,)
            continue
        if math.isnan(value) or math.isinf(value):
            missing[metric] = 'value is %s' % value
        elif value < 0:
            missing[metric] = 'negative value %g' % value
        elif value > MAX_READING:
            missing[metric] = 'implausible value %g' % value
        else:
            values[metric] = value
            missing.pop(metric, None)
    return Usage(types.MappingProxyType(values),
                 types.MappingProxyType(missing))


@dataclasses.dataclass(frozen=True)
class ServerGroup:
    """A Nova server group (policy applies to its members)."""

    uuid: str
    policy: str
    members: typing.Tuple[str, ...]
    name: str = ''


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """A Nova host aggregate: its hosts and metadata."""

    name: str
    hosts: typing.Tuple[str, ...]
    metadata: typing.Mapping[str, str] = dataclasses.field(
        default_factory=dict)
    uuid: str = ''


@dataclasses.dataclass(frozen=True)
class RecentMove:
    """A migration that completed recently (from Watcher's records)."""

    uuid: str
    source: str
    dest: str
    finished_at: float


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Everything one audit decides on.

    ``now`` is the audit's time (seconds since the epoch) against which
    ``recent_moves`` are aged.  ``forecast`` maps an instance uuid to its
    next-hour estimate (a :class:`~watcher_informed.core.demand.Forecast`:
    ``get(metric)`` and ``spread``), which load and overload read instead
    of ``usage`` where it has a value (``usage`` still classifies).
    ``host_usage`` maps a host name to what the host's own meters show (a
    :class:`Usage` with ``cpu`` as a fraction of the host's cores and
    ``ram`` in MiB); the part its instances do not explain stays on the
    host (``overload.fixed_loads``).  ``aggregates`` are Nova's host
    aggregates, read with the hosts' traits and the instances' extra
    specs by Nova's scheduling rules (``scheduling``).
    """

    hosts: typing.Tuple[Host, ...]
    instances: typing.Tuple[Instance, ...]
    usage: typing.Mapping[str, Usage] = dataclasses.field(
        default_factory=dict)
    server_groups: typing.Tuple[ServerGroup, ...] = ()
    communication_groups: typing.Tuple[typing.Tuple[str, ...], ...] = ()
    recent_moves: typing.Tuple[RecentMove, ...] = ()
    now: float = 0.0
    forecast: typing.Mapping[str, typing.Any] = dataclasses.field(
        default_factory=dict)
    host_usage: typing.Mapping[str, Usage] = dataclasses.field(
        default_factory=dict)
    aggregates: typing.Tuple[Aggregate, ...] = ()

    def __post_init__(self):
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            raise ValueError('duplicate host names in snapshot')
        uuids = [i.uuid for i in self.instances]
        if len(set(uuids)) != len(uuids):
            raise ValueError('duplicate instance uuids in snapshot')
        known = set(names)
        for inst in self.instances:
            if inst.host not in known:
                raise ValueError('instance %s is on unknown host %s'
                                 % (inst.uuid, inst.host))

    # cached: the snapshot is frozen, so these indexes never go stale
    @functools.cached_property
    def host_by_name(self):
        return types.MappingProxyType({h.name: h for h in self.hosts})

    @functools.cached_property
    def instance_by_uuid(self):
        return types.MappingProxyType({i.uuid: i for i in self.instances})

    @functools.cached_property
    def scheduling(self):
        """Nova's scheduling facts (:class:`scheduling.Index`)."""
        return scheduling.Index(self)

    @functools.cached_property
    def uuids(self):
        """The instances' uuids, in instance order."""
        return tuple(i.uuid for i in self.instances)

    @functools.cached_property
    def position(self):
        """``{uuid: its position in instances}``."""
        return types.MappingProxyType(
            {u: k for k, u in enumerate(self.uuids)})

    @functools.cached_property
    def by_host(self):
        """``{host name: positions of its instances}``, instance order."""
        out = {h.name: [] for h in self.hosts}
        for k, inst in enumerate(self.instances):
            out[inst.host].append(k)
        return types.MappingProxyType(out)

    @functools.cached_property
    def memo(self):
        """Values derived from this snapshot alone, by their stage's key.

        Each is computed once, on first use, by the function that owns
        it (e.g. ``overload.demands``); the snapshot is frozen, so they
        never go stale, and ``dataclasses.replace`` starts afresh.
        """
        return {}

    def usage_of(self, uuid):
        return self.usage.get(uuid) or Usage()

    @functools.cached_property
    def _placement(self):
        # never handed out: placement() gives copies
        return {i.uuid: i.host for i in self.instances}

    def placement(self):
        """Initial placement: instance uuid -> host name (a new dict)."""
        return self._placement.copy()
