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

"""Workload classification (paper sections 3.1-3.3).

Contract: :func:`classify` maps every instance of a snapshot to a
:class:`Profile` -- one of ``cpu``, ``memory`` (memory-dirtying), ``disk_io``,
``net_rx`` (network-receive), ``web`` (network-transmit), ``idle`` or
``unknown`` -- together with the evidence: each metric value against the
threshold it was compared with.  Pure function of the snapshot and params.

Rules, in order:

1. Instance metadata ``informed:workload_class`` forces the class.
2. Each heavy class gets an intensity = metric / threshold (``memory``:
   dirty rate; ``web``: network transmit; ``net_rx``: network receive;
   ``disk_io``: read + write; ``cpu``: CPU utilisation).  The network
   thresholds are a share (``network_heavy_share``) of the NIC of the
   instance's host, since what slows migrations is the part of the link
   an instance takes.  The highest
   intensity >= 1 wins; ties go to the class that matters most to the
   migration order (memory, web, net_rx, disk_io, cpu).
3. Otherwise, with CPU, disk and network all known and under the idle
   thresholds, the instance is ``idle``.
4. Otherwise, if CPU, disk or network is missing, the instance is
   ``unknown`` and the evidence says which metric is missing and why.
5. Otherwise it is a light workload of its dominant class (intensity < 1).

The dirty rate is optional: without it the ``memory`` class cannot be
detected, which the evidence states, but the other classes still can.
"""

import dataclasses
import functools
import typing

import numpy as np

from watcher_informed.core import kinds
from watcher_informed.core import params as params_mod
from watcher_informed.core import snapshot as snap
from watcher_informed.core import usage as usage_mod

#: Tie-break order among heavy classes (section 3.4's ordering concerns).
HEAVY_ORDER = (kinds.MEMORY, kinds.WEB, kinds.NET_RX, kinds.DISK_IO, kinds.CPU)


@dataclasses.dataclass(frozen=True)
class Profile:
    """The workload class of one instance and why."""

    uuid: str
    cls: str
    intensity: float
    evidence: typing.Tuple[str, ...]
    source: str = 'metrics'

    @property
    def weight(self):
        """Intensity capped at 1, used to scale interference penalties."""
        return min(1.0, self.intensity)


def _sum_known(usage, metrics):
    known = [usage.get(m) for m in metrics if usage.get(m) is not None]
    return sum(known) if known else None


def net_heavy_threshold(host, p):
    """Network rate from which an instance on ``host`` is a network class.

    A share (``network_heavy_share``) of the host's NIC: what matters to the
    migrations sharing that link is the part of it the instance takes.
    """
    return p.network_heavy_share * p.nic_mibps(host)


def _scores(usage, p, host):
    """Intensity per heavy class, ``None`` where the metric is missing."""
    disk = _sum_known(usage, (snap.DISK_READ, snap.DISK_WRITE))
    net_heavy = net_heavy_threshold(host, p)
    raw = {
        kinds.MEMORY: (usage.get(snap.DIRTY_RATE), p.dirty_heavy),
        kinds.WEB: (usage.get(snap.NET_TX), net_heavy),
        kinds.NET_RX: (usage.get(snap.NET_RX), net_heavy),
        kinds.DISK_IO: (disk, p.disk_heavy),
        kinds.CPU: (usage.get(snap.CPU), p.cpu_heavy),
    }
    scores = {}
    for cls, (value, threshold) in raw.items():
        if value is None:
            scores[cls] = None
        elif threshold <= 0:
            scores[cls] = float('inf') if value > 0 else 0.0
        else:
            scores[cls] = value / threshold
    return scores, disk


def _evidence(usage, p, disk, host):
    lines = []
    net_heavy = net_heavy_threshold(host, p)
    specs = (
        (snap.CPU, usage.get(snap.CPU), p.cpu_heavy, ''),
        ('disk', disk, p.disk_heavy, ' MiB/s'),
        (snap.NET_RX, usage.get(snap.NET_RX), net_heavy, ' MiB/s'),
        (snap.NET_TX, usage.get(snap.NET_TX), net_heavy, ' MiB/s'),
        (snap.DIRTY_RATE, usage.get(snap.DIRTY_RATE), p.dirty_heavy,
         ' MiB/s'),
    )
    for name, value, threshold, unit in specs:
        if value is None:
            metric = snap.DISK_READ if name == 'disk' else name
            lines.append('%s: missing (%s)' % (name, usage.reason(metric)))
        else:
            lines.append('%s=%.3g%s (heavy >= %.3g)'
                         % (name, value, unit, threshold))
    return lines


def _forced(instance):
    value = (instance.metadata or {}).get(snap.CLASS_METADATA_KEY)
    if value is None:
        return None, None
    value = str(value).strip().lower()
    if value in params_mod.CLASSES and value != 'unknown':
        return value, None
    return None, ('ignored metadata %s=%r (not one of %s)'
                  % (snap.CLASS_METADATA_KEY, value,
                     ', '.join(params_mod.CLASSES[:-1])))


def classify_instance(instance, usage, p):
    """Return the :class:`Profile` of one instance."""
    forced, note = _forced(instance)
    if forced:
        return Profile(instance.uuid, forced, 1.0,
                       ('forced by metadata %s=%s'
                        % (snap.CLASS_METADATA_KEY, forced),),
                       source='metadata')
    scores, disk = _scores(usage, p, instance.host)
    evidence = _evidence(usage, p, disk, instance.host)
    if note:
        evidence.insert(0, note)
    known = {c: s for c, s in scores.items() if s is not None}
    best = max(HEAVY_ORDER, key=lambda c: (known.get(c, -1.0),
                                           -HEAVY_ORDER.index(c)))
    if known.get(best, -1.0) >= 1.0:
        return Profile(instance.uuid, best, known[best], tuple(evidence))
    cpu = usage.get(snap.CPU)
    net = _sum_known(usage, (snap.NET_RX, snap.NET_TX))
    blockers = [m for m, v in (('cpu', cpu), ('disk', disk), ('net', net))
                if v is None]
    if blockers:
        evidence.insert(0, 'unknown: no heavy metric and %s missing'
                        % '/'.join(blockers))
        return Profile(instance.uuid, 'unknown', 0.0, tuple(evidence),
                       source='missing')
    if cpu < p.idle_cpu and disk < p.idle_disk_mibps and \
            net < p.idle_net_mibps:
        return Profile(instance.uuid, 'idle', 0.0, tuple(evidence))
    evidence.insert(0, 'light %s workload (below heavy thresholds)' % best)
    return Profile(instance.uuid, best, known[best], tuple(evidence))


class Profiles(usage_mod.ByUuid):
    """Every instance's class as arrays; :class:`Profile` on access.

    ``cls`` (class index into ``kinds.CLASSES``) and ``weight`` (intensity
    capped at 1) are arrays in the snapshot's instance order, computed for
    all instances at once by :func:`classify_arrays`; the
    :class:`Profile` of one instance, with its evidence, is built by
    :func:`classify_instance` when asked for (the same rules, so the same
    class -- a property test holds the two together).
    """

    def __init__(self, snapshot, p, cls, intensity):
        super().__init__(snapshot.uuids, snapshot.position)
        self._snapshot = snapshot
        self._p = p
        self.cls = cls
        self.intensity = intensity
        self.weight = np.minimum(intensity, 1.0)

    @functools.cached_property
    def class_names(self):
        """The class name of every row (a list: no numpy scalar read
        per instance)."""
        return list(map(kinds.CLASSES.__getitem__, self.cls.tolist()))

    def class_of(self, uuid):
        return self.class_names[self.index[uuid]]

    def build(self, uuid):
        inst = self._snapshot.instance_by_uuid[uuid]
        return classify_instance(inst, self._snapshot.usage_of(uuid),
                                 self._p)

    def of_class(self, cls):
        """uuids of the instances of class ``cls``, sorted."""
        k = kinds.CLASSES.index(cls)
        return sorted(self.uuids[i] for i in np.flatnonzero(self.cls == k))


def _score_column(value, threshold):
    """value / threshold; a threshold of 0 makes any positive value inf.

    ``threshold`` is a number or an array (one per instance).
    """
    threshold = np.broadcast_to(np.asarray(threshold, dtype=float),
                                value.shape)
    zero = threshold <= 0
    with np.errstate(divide='ignore', invalid='ignore'):
        ratio = value / np.where(zero, 1.0, threshold)
    return np.where(zero, np.where(np.isnan(value), np.nan,
                                   np.where(value > 0, np.inf, 0.0)), ratio)


def classify_arrays(snapshot, p):
    """``(class index, intensity)`` arrays of every instance at once.

    The rules of :func:`classify_instance`, on the usage columns; an
    instance forced by metadata is classified by that function.
    """
    def col(metric):
        return usage_mod.column(snapshot, metric)

    n = len(snapshot.instances)
    cpu, net_rx, net_tx = col(snap.CPU), col(snap.NET_RX), col(snap.NET_TX)
    disk = _nan_sum(col(snap.DISK_READ), col(snap.DISK_WRITE))
    net = _nan_sum(net_rx, net_tx)
    # the network thresholds follow each instance's host NIC
    nic = {h.name: net_heavy_threshold(h.name, p) for h in snapshot.hosts}
    net_heavy = np.array([nic[i.host] for i in snapshot.instances],
                         dtype=float).reshape(n)
    raw = {
        kinds.MEMORY: _score_column(col(snap.DIRTY_RATE),
                                    p.dirty_heavy),
        kinds.WEB: _score_column(net_tx, net_heavy),
        kinds.NET_RX: _score_column(net_rx, net_heavy),
        kinds.DISK_IO: _score_column(disk, p.disk_heavy),
        kinds.CPU: _score_column(cpu, p.cpu_heavy),
    }
    scores = np.column_stack([np.nan_to_num(raw[c], nan=-1.0)
                              for c in HEAVY_ORDER]).reshape(n, 5)
    # argmax takes the first of equal maxima: HEAVY_ORDER's tie-break
    best = np.argmax(scores, axis=1) if n else np.zeros(0, dtype=int)
    top = scores[np.arange(n), best]
    order_index = np.array([kinds.CLASSES.index(c) for c in HEAVY_ORDER])
    cls = order_index[best]
    intensity = top.copy()
    light = top < 1.0
    blocked = np.isnan(cpu) | np.isnan(disk) | np.isnan(net)
    with np.errstate(invalid='ignore'):
        idle = (cpu < p.idle_cpu) & (disk < p.idle_disk_mibps) & \
            (net < p.idle_net_mibps)
    unknown = light & blocked
    cls = np.where(unknown, kinds.CLASSES.index(kinds.UNKNOWN), cls)
    is_idle = light & ~blocked & idle
    cls = np.where(is_idle, kinds.CLASSES.index(kinds.IDLE), cls)
    intensity = np.where(unknown | is_idle, 0.0, intensity)
    for k, inst in enumerate(snapshot.instances):
        if inst.metadata and snap.CLASS_METADATA_KEY in inst.metadata:
            prof = classify_instance(inst, snapshot.usage_of(inst.uuid), p)
            cls[k] = kinds.CLASSES.index(prof.cls)
            intensity[k] = prof.intensity
    return cls.astype(int), intensity.astype(float)


def _nan_sum(a, b):
    """Sum of the known terms; NaN only when both are missing."""
    both = np.isnan(a) & np.isnan(b)
    return np.where(both, np.nan,
                    np.nan_to_num(a, nan=0.0) + np.nan_to_num(b, nan=0.0))


def classify(snapshot, p):
    """Classify every instance: ``{uuid: Profile}`` (:class:`Profiles`)."""
    cls, intensity = classify_arrays(snapshot, p)
    return Profiles(snapshot, p, cls, intensity)
