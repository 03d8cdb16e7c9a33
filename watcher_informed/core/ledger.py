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

"""One cluster-state ledger: what every host holds, as arrays.

Contract: a :class:`Ledger` is built once per audit from a frozen
:class:`~watcher_informed.core.snapshot.Snapshot` and holds, per host (one
row each, in the snapshot's host order), in the spirit of Nova's
``HostState``:

* ``cap`` -- allocatable vCPUs, RAM MiB and disk GiB: (total - reserved)
  x allocation ratio, as Placement computes it;
* ``alloc`` -- what the instances placed there are allocated (flavors);
* ``load`` -- measured load per dimension (``kinds.DIMS``: CPU, RAM, disk
  I/O, network) as a fraction of the host (``overload.host_scale``);
* ``counts`` / ``weights`` -- per workload class, how many instances and
  the sum of their intensities (interference scoring, section 3.2);
* ``usable`` -- up and enabled;

and per instance its host, flavor and demand.  :meth:`move` updates the two
hosts involved in O(1) (plus the class columns) and records what it
changed, so :meth:`undo` restores them *exactly* (no floating-point
drift); :meth:`mark` / :meth:`rollback` undo everything since a mark.
Listeners (:meth:`listen`) hear the index of every host that changed, so
derived indexes are kept up to date in O(1) per move instead of being
recomputed.

Placement, sequencing, the gate and the evaluation simulator read and
update this one ledger; the plan checker only reads facts from it (its
proofs stay independent of the search).
"""

import functools
import operator

import numpy as np

from watcher_informed.core import kinds
from watcher_informed.core import overload
from watcher_informed.core import params as params_mod
from watcher_informed.core import snapshot as snap

#: resource columns of ``cap`` and ``alloc``.
RESOURCES = ('vcpus', 'ram_mb', 'disk_gb')
_CLASS_INDEX = {c: i for i, c in enumerate(kinds.CLASSES)}
_HOST = operator.attrgetter('host')


class Ledger:
    """Mutable cluster state (see the module documentation)."""

    def __init__(self, snapshot, p=None, demand=None, profiles=None):
        p = p if p is not None else params_mod.Params()
        self.snapshot = snapshot
        self.hosts = tuple(snapshot.hosts)
        self.names = tuple(h.name for h in self.hosts)
        self.index = {n: i for i, n in enumerate(self.names)}
        nh = len(self.hosts)
        self.cap = np.array([h.capacity.as_tuple() for h in self.hosts],
                            dtype=float).reshape(nh, 3)
        self.usable = np.array([h.usable for h in self.hosts], dtype=bool)
        self.scale = overload.host_scales(snapshot, p)
        # the fixed rows as Python floats: a single move or question
        # reads a few numbers, cheaper from lists than from numpy
        self._scale = self.scale.tolist()
        self._cap = self.cap.tolist()
        self.demand = demand if demand is not None else \
            overload.demands(snapshot)
        insts = snapshot.instances
        uuids, by_uuid, _, at = overload.instance_rows(snapshot)
        n = len(insts)
        flavors = np.column_stack([
            np.fromiter(map(operator.attrgetter(r), insts), float, n)
            for r in RESOURCES]).reshape(n, 3)
        position = snapshot.position
        self.res = _ByRow(flavors, position, lambda row: tuple(row.tolist()))
        self.where = dict(zip(uuids, map(_HOST, insts)))
        by_host = snapshot.by_host
        self.residents = [{uuids[k] for k in by_host[n]}
                          for n in self.names]
        self.alloc = np.zeros((nh, 3))
        # np.add.at adds one instance after the other, in instance order:
        # the same float sums as adding Resources values one by one
        np.add.at(self.alloc, at, flavors)
        self.load = _loads(self, uuids, by_uuid, at)
        self.cls = {}
        self.intensity = {}
        self.counts = np.zeros((nh, len(kinds.CLASSES)), dtype=np.int64)
        self.weights = np.zeros((nh, len(kinds.CLASSES)))
        if profiles is not None:
            if hasattr(profiles, 'cls'):
                # classify.Profiles: arrays, no per-instance objects
                cls = np.asarray(profiles.cls, dtype=np.int64)
                weight = np.asarray(profiles.weight, dtype=float)
                if getattr(profiles, 'uuids', None) != uuids and \
                        tuple(profiles) != uuids:
                    rows = np.array([profiles.index[u] for u in uuids],
                                    dtype=np.intp)
                    cls, weight = cls[rows], weight[rows]
            else:
                cls = np.array([_CLASS_INDEX[profiles[u].cls]
                                for u in uuids], dtype=np.int64)
                weight = np.array([profiles[u].weight for u in uuids],
                                  dtype=float)
            self.cls = _ByRow(cls.tolist(), position)
            self.intensity = _ByRow(weight.tolist(), position)
            np.add.at(self.counts, (at, cls), 1)
            np.add.at(self.weights, (at, cls), weight)
        self._undo = []
        self._listeners = []

    @functools.cached_property
    def name_rank(self):
        """Each host's rank by name (an array, host order)."""
        return np.argsort(np.argsort(np.array(self.names, dtype=object)))

    # -- reading ---------------------------------------------------------
    def host(self, name):
        return self.hosts[self.index[name]]

    def frac(self, uuid, host):
        """Demand of ``uuid`` as load fractions of ``host`` (a row)."""
        demand = self.demand[uuid]
        scale = self._scale[self.index[host]]
        return [demand[d] / scale[k] for k, d in enumerate(kinds.DIMS)]

    def fits(self, uuid, host):
        """Whether ``host`` has the allocatable room for ``uuid``."""
        h = self.index[host]
        row = self.alloc[h].tolist()
        cap = self._cap[h]
        res = self.res[uuid]
        return all(row[k] + res[k] <= cap[k] + 1e-9 for k in range(3))

    def load_after(self, uuid, host):
        """``{dim: load}`` of ``host`` once ``uuid`` arrives."""
        h = self.index[host]
        row = self.load[h].tolist()
        demand = self.demand[uuid]
        scale = self._scale[h]
        # the four dimensions spelled out (asked for every candidate host)
        cpu, ram, disk, net = kinds.DIMS
        return {cpu: row[0] + demand[cpu] / scale[0],
                ram: row[1] + demand[ram] / scale[1],
                disk: row[2] + demand[disk] / scale[2],
                net: row[3] + demand[net] / scale[3]}

    def capacity(self, name):
        """Allocatable resources of host ``name`` (a ``Resources``)."""
        return snap.Resources(*(float(x) for x in self.cap[self.index[name]]))

    def allocated(self, name):
        """What the instances now on ``name`` are allocated."""
        return snap.Resources(*(float(x)
                                for x in self.alloc[self.index[name]]))

    def loads(self):
        """``{host: {dim: load}}`` of the current state."""
        return {n: {d: float(self.load[i, k])
                    for k, d in enumerate(kinds.DIMS)}
                for i, n in enumerate(self.names)}

    def placement(self):
        """A copy of the current placement: uuid -> host name."""
        return dict(self.where)

    def class_weight(self, host, cls):
        """Sum of the intensities of class ``cls`` instances on ``host``."""
        return float(self.weights[self.index[host], _CLASS_INDEX[cls]])

    # -- changing --------------------------------------------------------
    def listen(self, callback):
        """Call ``callback(host_index)`` for every host that changes."""
        self._listeners.append(callback)

    def unlisten(self, callback):
        self._listeners.remove(callback)

    def move(self, uuid, dest):
        """Move ``uuid`` to host ``dest``; O(1) in hosts and instances."""
        src = self.where[uuid]
        s, d = self.index[src], self.index[dest]
        self._undo.append((uuid, src, s, d) + tuple(
            a[h].copy() for a in (self.alloc, self.load, self.weights)
            for h in (s, d)))
        res = self.res[uuid]
        fs, fd = self.frac(uuid, src), self.frac(uuid, dest)
        for k in range(3):
            self.alloc[s, k] = self.alloc[s, k] - res[k]
            self.alloc[d, k] = self.alloc[d, k] + res[k]
        for k in range(4):
            self.load[s, k] = self.load[s, k] - fs[k]
            self.load[d, k] = self.load[d, k] + fd[k]
        self._shift(uuid, s, d)
        self.where[uuid] = dest
        self._notify(s, d)

    def undo(self):
        """Undo the last :meth:`move`, restoring both hosts exactly."""
        record = self._undo.pop()
        uuid, src, s, d = record[:4]
        self._shift(uuid, d, s)
        rows = iter(record[4:])
        for array in (self.alloc, self.load, self.weights):
            array[s], array[d] = next(rows), next(rows)
        self.where[uuid] = src
        self._notify(s, d)

    def mark(self):
        """A point to :meth:`rollback` to."""
        return len(self._undo)

    def rollback(self, mark):
        while len(self._undo) > mark:
            self.undo()

    def _shift(self, uuid, s, d):
        self.residents[s].discard(uuid)
        self.residents[d].add(uuid)
        c = self.cls.get(uuid)
        if c is not None:
            w = self.intensity[uuid]
            self.counts[s, c] -= 1
            self.counts[d, c] += 1
            self.weights[s, c] -= w
            self.weights[d, c] += w

    def _notify(self, *hosts):
        for callback in self._listeners:
            for h in hosts:
                callback(h)


class _ByRow(dict):
    """``uuid -> value`` of the instance's row, built on first access.

    What ``dict(zip(uuids, values))`` answers to ``[uuid]`` and
    ``get(uuid)`` (a ``KeyError`` / the default for an unknown uuid),
    without a dictionary entry per instance up front: an audit reads a
    few hundred of the 10,000 (the instances it moves and their
    neighbours).  ``rows`` in ``position`` order (``{uuid: row}``),
    ``make`` turns a row into the value (default: the row itself).
    """

    __slots__ = ('_rows', '_position', '_make')

    def __init__(self, rows, position, make=None):
        super().__init__()
        self._rows = rows
        self._position = position
        self._make = make

    def __missing__(self, uuid):
        row = self._rows[self._position[uuid]]
        value = self[uuid] = row if self._make is None else self._make(row)
        return value

    def get(self, uuid, default=None):
        try:
            return self[uuid]
        except KeyError:
            return default

    def __contains__(self, uuid):
        return uuid in self._position

    def __iter__(self):
        return iter(self._position)

    def __len__(self):
        return len(self._position)

    def keys(self):
        return self._position.keys()

    def items(self):
        return [(uuid, self[uuid]) for uuid in self._position]

    def values(self):
        return [self[uuid] for uuid in self._position]

    def __eq__(self, other):
        return dict(self.items()) == other

    def __ne__(self, other):
        return not self == other

    __hash__ = None


def _loads(ledger, uuids, by_uuid, at):
    """Initial loads, summed in uuid order like ``overload.host_loads``.

    ``uuids``: the snapshot's instances, ``by_uuid`` their positions
    sorted by uuid, ``at`` their host rows (``overload.instance_rows``).
    """
    sums = np.zeros((len(ledger.hosts), 4))
    demand = overload.as_demands(ledger.demand, ledger.snapshot)
    if len(by_uuid):
        rows = by_uuid if demand.uuids == uuids else np.array(
            [demand.index[uuids[k]] for k in by_uuid], dtype=np.intp)
        # one instance after the other, in uuid order (np.add.at)
        np.add.at(sums, at[by_uuid], demand.array[rows])
    # load the host's own meters show and its instances do not explain
    for host, extra in overload.fixed_loads(ledger.snapshot,
                                            ledger.demand).items():
        h = ledger.index[host]
        for k, d in enumerate(kinds.DIMS):
            sums[h, k] += extra[d]
    return sums / ledger.scale
