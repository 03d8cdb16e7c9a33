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

"""In what order the moves run (paper sections 3.3 and 3.4).

Contract: :func:`order_moves` takes placed moves and returns them in
execution order with, for each, the moves that must *complete* before it
starts, plus the moves it had to drop.  Pure function of values.

Priority (section 3.4): memory-dirtying and web-server VMs first (they slow
every migration out of their host while they stay, Fig. 4 and 6),
network-receive VMs last (they slow migrations into their new host, Fig.
5), everything else -- CPU and disk-I/O in particular -- shortest job
first by predicted migration time; ties by uuid.

Feasibility: a move into host H is emitted only once enough moves out of
H are already ordered before it that, in the *worst* reachable state, H
fits: initial use + every move into H ordered so far - only the moves out
of H that are its ancestors (completed for sure).  That makes every state
reachable by executing the DAG in any allowed order safe, which is what
``checks.check_capacity`` proves.  The same holds for the target load
(``rules.RoomFirst``) when :func:`target_bounds` is given: a host that
moves also leave stays at or below its target, or its starting load when
that is higher, in every dimension.  A move whose anti-affinity mate must
first leave its destination waits for that mate.  When no pending move can
run (a cycle of moves waiting for each other's room), the most blocked one
is dropped -- never an overcommitted intermediate state, never a second
move of the same instance.
"""

import dataclasses
import typing

from watcher_informed.core import constraints
from watcher_informed.core import kinds
from watcher_informed.core import ledger as ledger_mod
from watcher_informed.core import overload
from watcher_informed.core import paper
from watcher_informed.core import snapshot as snap

FIRST = paper.FIRST
LAST = paper.LAST


@dataclasses.dataclass(frozen=True)
class Move:
    """One live migration as the sequencer sees it."""

    uuid: str
    source: str
    dest: str
    cls: str
    time_s: float
    resources: snap.Resources


@dataclasses.dataclass(frozen=True)
class Ordering:
    order: typing.Tuple[Move, ...]
    deps: typing.Mapping[str, typing.Tuple[str, ...]]
    dropped: typing.Mapping[str, str]


def priority(move):
    """Total sort key of section 3.4's rule."""
    rank = 0 if move.cls in FIRST else 2 if move.cls in LAST else 1
    return (rank, move.time_s, move.uuid)


@dataclasses.dataclass(frozen=True)
class Bounds:
    """Target-load bounds of the hosts that moves both enter and leave.

    ``hosts`` maps such a host (not overloaded before the plan) to
    ``(start, bound, scale)``, tuples over ``kinds.DIMS``: its load before
    the plan (fractions), the most it may reach (``max(target, start)``)
    and the divisor turning a demand into a fraction; ``demand`` maps a
    moving instance to its demand over ``kinds.DIMS``.
    """

    hosts: typing.Mapping[str, tuple]
    demand: typing.Mapping[str, tuple]


def target_bounds(snapshot, p, moves):
    """The :class:`Bounds` of ``moves``, from the same demands and loads
    the plan checker's ``room-first`` rule reads."""
    both = {m.dest for m in moves} & {m.source for m in moves}
    if not both:
        return None
    demand = overload.demands(snapshot)
    loads = overload.host_loads(snapshot, p, None, demand)
    targets = p.targets()
    hosts = {}
    for host in snapshot.hosts:
        if host.name not in both or \
                overload.over_dims(loads[host.name], p):
            continue
        scale = overload.host_scale(host, p)
        start = tuple(loads[host.name][d] for d in kinds.DIMS)
        hosts[host.name] = (start, tuple(max(targets[d], v) for d, v in
                                         zip(kinds.DIMS, start)),
                            tuple(scale[d] for d in kinds.DIMS))
    if not hosts:
        return None
    return Bounds(hosts, {m.uuid: tuple(demand[m.uuid][d]
                                        for d in kinds.DIMS)
                          for m in moves if m.dest in hosts or
                          m.source in hosts})


def _mate_deps(moves, groups_of):
    """Moves that must complete first because of anti-affinity."""
    by_uuid = {m.uuid: m for m in moves}
    need = {m.uuid: set() for m in moves}
    for m in moves:
        for mate in constraints.anti_affinity_mates(m.uuid, groups_of):
            other = by_uuid.get(mate)
            if other is not None and other.source == m.dest:
                need[m.uuid].add(mate)
    return need


class _Sequencer:
    def __init__(self, snapshot, moves, groups_of, ledger, after=None,
                 bounds=None):
        # capacity and allocation before any move, from the one ledger
        # (Ledger.capacity and .allocated of every host, read at once)
        caps, used = ledger.cap.tolist(), ledger.alloc.tolist()
        self.cap = {n: snap.Resources(*caps[k])
                    for k, n in enumerate(ledger.names)}
        self.used = {n: snap.Resources(*used[k])
                     for k, n in enumerate(ledger.names)}
        self.incoming = {h.name: snap.Resources() for h in snapshot.hosts}
        self.out_seq = {h.name: [] for h in snapshot.hosts}
        self.ancestors = {}
        self.mates = _mate_deps(moves, groups_of)
        self.by_uuid = {m.uuid: m for m in moves}
        # moves that must complete first because they make the room
        self.room = {u: set(d) & set(self.by_uuid)
                     for u, d in (after or {}).items() if u in self.by_uuid}
        for uuid, deps in self.room.items():
            self.mates[uuid] |= deps
        self.bounds = bounds
        # demand moved into each bounded host so far (absolute units)
        self.inload = {h: (0.0,) * len(kinds.DIMS)
                       for h in (bounds.hosts if bounds else ())}

    def _freed(self, dest, chosen):
        """What the moves off ``dest`` among ``chosen`` and their
        ancestors free, ``(vcpus, ram_mb, disk_gb)``: summed in uuid
        order from 0.0, as adding ``Resources`` does."""
        closure = set(chosen)
        for u in chosen:
            closure |= self.ancestors[u]
        vcpus = ram = disk = 0.0
        for u in sorted(closure):
            m = self.by_uuid[u]
            if m.source == dest:
                res = m.resources
                vcpus, ram, disk = (vcpus + res.vcpus, ram + res.ram_mb,
                                    disk + res.disk_gb)
        return vcpus, ram, disk

    def try_deps(self, move):
        """Parents that make ``move`` safe now, or ``None``."""
        mates = self.mates[move.uuid]
        # not mates.issubset(dict): that would copy the dict into a set
        if any(m not in self.ancestors for m in mates):
            return None
        # used + incoming + the move's, dimension by dimension in that
        # order (what adding ``Resources`` computes, without the objects)
        used, inc, res = (self.used[move.dest], self.incoming[move.dest],
                          move.resources)
        need = (used.vcpus + inc.vcpus + res.vcpus,
                used.ram_mb + inc.ram_mb + res.ram_mb,
                used.disk_gb + inc.disk_gb + res.disk_gb)
        cap = self.cap[move.dest].as_tuple()
        outs = self.out_seq[move.dest]
        for n in range(len(outs) + 1):
            chosen = list(outs[:n]) + sorted(mates)
            freed = self._freed(move.dest, chosen)
            # (need - freed).fits_in(cap), number by number
            if all(need[k] - freed[k] <= cap[k] + 1e-9
                   for k in range(3)) and \
                    self._within_target(move, chosen):
                return tuple(sorted(set(chosen)))
        return None

    def _within_target(self, move, chosen):
        """Whether ``move``'s destination stays within its bound while
        only the moves out of it in ``chosen`` (and their ancestors) are
        sure to have completed."""
        if move.dest not in self.inload:
            return True
        start, bound, scale = self.bounds.hosts[move.dest]
        demand = self.bounds.demand
        closure = set(chosen)
        for u in chosen:
            closure |= self.ancestors[u]
        value = [a + b for a, b in zip(self.inload[move.dest],
                                       demand[move.uuid])]
        for u in sorted(closure):
            if self.by_uuid[u].source == move.dest:
                value = [a - b for a, b in zip(value, demand[u])]
        return all(s0 + v / sc <= b + 1e-9 for s0, v, sc, b in
                   zip(start, value, scale, bound))

    def deficit(self, move):
        need = self.used[move.dest] + self.incoming[move.dest] + \
            move.resources
        gap = need - self.cap[move.dest]
        return max(gap.vcpus, 0) + max(gap.ram_mb, 0) / 1024.0 + \
            max(gap.disk_gb, 0)

    def clone(self):
        other = object.__new__(_Sequencer)
        other.__dict__.update(self.__dict__)
        other.incoming = dict(self.incoming)
        other.out_seq = {h: list(v) for h, v in self.out_seq.items()}
        other.ancestors = dict(self.ancestors)
        other.inload = dict(self.inload)
        return other

    def completes(self, pending):
        """Whether ``pending`` can all be committed in the given order."""
        trial = self.clone()
        for move in pending:
            deps = trial.try_deps(move)
            if deps is None:
                return False
            trial.commit(move, deps)
        return True

    def commit(self, move, deps):
        anc = set(deps)
        for u in deps:
            anc |= self.ancestors[u]
        self.ancestors[move.uuid] = anc
        self.incoming[move.dest] = self.incoming[move.dest] + move.resources
        self.out_seq[move.source].append(move.uuid)
        if move.dest in self.inload:
            self.inload[move.dest] = tuple(
                a + b for a, b in zip(self.inload[move.dest],
                                      self.bounds.demand[move.uuid]))


def order_moves(snapshot, moves, groups_of=None, safe_order=None,
                key=priority, ledger=None, after=None, bounds=None):
    """Return an :class:`Ordering` of ``moves``.

    ``safe_order`` (uuids) is an order known to be safe when the moves run
    one at a time -- the placement's decision order is one.  When greedy
    ordering by priority has to drop moves, ordering is redone so that a
    move is only committed if the rest can still follow in
    ``safe_order``, which never drops a move.  ``key`` replaces the
    paper's priority (the benchmark's ablations use it).  ``ledger`` is
    the cluster state *before* the moves (default: the snapshot's).
    ``after`` maps a move's uuid to the moves that must complete before
    it (the room-making moves of its chain, ``rooms``); when one of those
    is dropped, the move is dropped too.  ``bounds``
    (:func:`target_bounds`) adds the target-load condition.
    """
    groups_of = groups_of if groups_of is not None else \
        constraints.groups_by_member(snapshot)
    if ledger is None:
        ledger = ledger_mod.Ledger(snapshot)
    result = _order(snapshot, moves, groups_of, None, key, ledger, after,
                    bounds)
    if result.dropped and safe_order:
        rank = {u: i for i, u in enumerate(safe_order)}
        fallback = sorted(moves, key=lambda m: (rank.get(m.uuid, len(rank)),
                                                m.uuid))
        alt = _order(snapshot, moves, groups_of, fallback, key, ledger,
                     after, bounds)
        if len(alt.dropped) < len(result.dropped):
            result = alt
    return result


def _order(snapshot, moves, groups_of, lookahead, key, ledger, after=None,
           bounds=None):
    seq = _Sequencer(snapshot, moves, groups_of, ledger, after, bounds)
    pending = sorted(moves, key=key)
    order, deps, dropped = [], {}, {}
    while pending:
        for move in pending:
            found = seq.try_deps(move)
            if found is not None and lookahead is not None:
                trial = seq.clone()
                trial.commit(move, found)
                rest = [m for m in lookahead
                        if m in pending and m is not move]
                if not trial.completes(rest):
                    found = None
            if found is not None:
                seq.commit(move, found)
                order.append(move)
                deps[move.uuid] = found
                pending.remove(move)
                break
        else:
            victim = max(pending, key=lambda m: (seq.deficit(m), m.uuid))
            pending.remove(victim)
            dropped[victim.uuid] = (
                'dropped: waits for room or an anti-affinity mate that no '
                'remaining move can free (cycle)')
            doomed = [victim.uuid]
            while doomed:
                gone = doomed.pop()
                for other in list(pending):
                    if gone not in seq.mates[other.uuid]:
                        continue
                    pending.remove(other)
                    doomed.append(other.uuid)
                    if gone in seq.room.get(other.uuid, ()):
                        dropped[other.uuid] = (
                            'dropped: %s, which makes its room, was '
                            'dropped' % gone)
                    else:
                        dropped[other.uuid] = (
                            'dropped: its anti-affinity mate %s stays on '
                            'the destination' % gone)
    return Ordering(tuple(order), deps, dropped)
