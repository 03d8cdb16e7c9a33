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

"""Room-making chains: moves that free the room a leaving instance needs.

Paper section 3.2 (where each goes: a destination that fits) and the
ordering rule of sections 3.3-3.4 (never a move that needs room another
move has not yet freed); issue 18 "room-making chains".

Contract: :func:`make_room` is asked about an instance ``X`` of an
overloaded host that found no destination.  A host ``D`` that refuses
``X`` *only* for room -- allocatable capacity (``rules.Capacity``) or
its target load (``rules.TargetLoad``), every other rule admitting it --
can receive ``X`` once up to ``max_moves`` (the audit's
``room_making_moves``, default :data:`MAX_ROOM_MOVES`) of ``D``'s own
instances have left.  Each of those instances must be movable
(every rule's ``movable``), is placed by ``place.choose_destinations``
like any instance (so its destination passes every rule and stays at or
below its target), never onto an overloaded host nor back onto ``D``,
and must complete its migration alone (``schedule.standalone``, the
pre-copy cost model).  ``D`` is never overloaded itself, never ``X``'s
source, and only instances that have not moved in this plan make room
(each instance moves once).

Among feasible chains the one whose room moves cost least wins (class-
weighted predicted migration time, as ``select``; ties by host name and
uuids).  The search is bounded: the :data:`ROOM_HOSTS` hosts with the
smallest shortfall, and for each the :data:`ROOM_SETS` cheapest sets of
its instances that cover the shortfall.  On success the working ledger
holds the chain (room moves, then ``X``) and a :class:`Chain` is
returned; otherwise the ledger is left as it was and ``None`` returned.

The pipeline makes ``X``'s move depend on the room moves (DAG parents,
``sequence.order_moves(after=...)``), so the plan checker proves
capacity and target load in every state the DAG can reach
(``rules.Capacity``, ``rules.RoomFirst``), and it prices the room moves
through the cost-benefit gate with the moves of ``X``'s host.
"""

import dataclasses
import typing

import numpy as np

from watcher_informed.core import cost as cost_mod
from watcher_informed.core import kinds
from watcher_informed.core import place
from watcher_informed.core import rules
from watcher_informed.core import select

#: most instances that leave one destination to make room for one move
#: (a chain is then at most this + 1 moves; issue 18: depth 2-3).
MAX_ROOM_MOVES = 2
#: candidate destinations tried per instance (smallest shortfall first).
ROOM_HOSTS = 8
#: covering sets of a destination's instances tried, cheapest first.
ROOM_SETS = 4
#: the rules whose refusal room-making can lift.
ROOM_RULES = ('capacity', 'target-load')


@dataclasses.dataclass(frozen=True)
class Chain:
    """Room moves off ``dest.host`` and the move they make room for."""

    dest: place.Destination
    room: typing.Tuple[place.Destination, ...]
    costs: typing.Mapping[str, cost_mod.MigrationCost]
    #: class-weighted predicted time of the room moves (``select``).
    cost: float

    @property
    def uuids(self):
        return tuple(d.uuid for d in self.room)


class Context:
    """The audit's fixed facts for room-making (built once per plan)."""

    def __init__(self, snapshot, profiles, p, demand, groups_of, ledger,
                 standalone, avoid):
        self.snapshot = snapshot
        self.profiles = profiles
        self.p = p
        self.demand = demand
        self.groups_of = groups_of
        self.ledger = ledger
        self.standalone = standalone
        #: hosts that neither receive room moves nor are made room on.
        self.avoid = frozenset(avoid)
        self.view = rules.View(snapshot, p, ledger, groups_of)
        #: the rules that may refuse a destination, but the room rules
        self.other_rules = tuple(r for r in self.view.admitting
                                 if r.name not in ROOM_RULES)
        self.targets = p.targets()
        self._priced = {}
        # the class from the classification's arrays when it has them
        self.class_of = getattr(profiles, 'class_of', None) or (
            lambda uuid: profiles[uuid].cls)

    def price(self, inst):
        """``(migration cost, class-weighted cost)`` or ``None``."""
        if inst.uuid not in self._priced:
            value = None
            if rules.movable_reason(self.view, inst) is None:
                c = self.standalone(inst)
                if c.completes:
                    cls = self.class_of(inst.uuid)
                    value = (c, c.time_s * self.p.class_weight.get(cls, 1.0))
            self._priced[inst.uuid] = value
        return self._priced[inst.uuid]


def _only_room(ctx, inst, source, host):
    """Whether every rule but the room rules admits ``inst`` on ``host``."""
    for rule in ctx.other_rules:
        if rule.admits(ctx.view, inst, source, host):
            return False
    return True


def _shortfall(ctx, uuid, host):
    """What ``host`` lacks for ``uuid``: (resources, load fractions)."""
    led = ctx.ledger
    h = led.index[host]
    res = led.res[uuid]
    # the host's rows as floats (the same numbers, read at once)
    used, cap, now = (a[h].tolist() for a in (led.alloc, led.cap, led.load))
    alloc = [max(0.0, used[k] + res[k] - cap[k]) for k in range(3)]
    frac = led.frac(uuid, host)
    load = [max(0.0, now[k] + frac[k] - ctx.targets[d])
            for k, d in enumerate(kinds.DIMS)]
    return alloc, load


def _shortfalls(ctx, uuid):
    """:func:`_shortfall` of every host at once.

    ``(alloc, load)``: (hosts x 3) and (hosts x ``DIMS``) arrays of the
    same numbers, element by element, as :func:`_shortfall` (``+ 0.0``
    turns a -0.0 into the 0.0 ``max`` gives).
    """
    led = ctx.ledger
    demand = led.demand[uuid]
    need = np.array([demand[d] for d in kinds.DIMS], dtype=float)
    targets = np.array([ctx.targets[d] for d in kinds.DIMS], dtype=float)
    alloc = np.maximum(0.0, led.alloc + np.array(led.res[uuid]) -
                       led.cap) + 0.0
    load = np.maximum(0.0, led.load + need / led.scale - targets) + 0.0
    return alloc, load


def _room_sets(ctx, host, alloc, load, moved, max_moves):
    """Cheapest sets of ``host``'s instances covering the shortfall."""
    insts = ctx.snapshot.instance_by_uuid
    led = ctx.ledger
    movers = []
    for uuid in sorted(led.residents[led.index[host]]):
        inst = insts[uuid]
        if uuid in moved or inst.host != host:
            continue
        priced = ctx.price(inst)
        if priced is not None:
            movers.append((priced[1], uuid))
    movers.sort()
    found = []
    # a set covers the shortfall when what its instances are allocated
    # reaches ``alloc`` (within 1e-9) and their load fractions reach
    # ``load`` (within 1e-12) in every dimension; every combination of
    # a size at once, in itertools' order, sums added left to right
    n = len(movers)
    res = np.array([led.res[u] for _, u in movers],
                   dtype=float).reshape(n, 3)
    fracs = np.array([led.frac(u, host) for _, u in movers],
                     dtype=float).reshape(n, len(kinds.DIMS))
    for size in range(1, min(max_moves, n) + 1):
        idx = select.combination_rows(n, size)
        ok = np.ones(len(idx), dtype=bool)
        for k in range(3):
            ok &= ~(select.row_sums(res[:, k], idx) < alloc[k] - 1e-9)
        for k in range(len(kinds.DIMS)):
            ok &= select.row_sums(fracs[:, k], idx) >= load[k] - 1e-12
        for j in np.flatnonzero(ok).tolist():
            combo = [movers[i] for i in idx[j].tolist()]
            found.append((sum(c for c, _ in combo),
                          tuple(u for _, u in combo)))
    found.sort()
    return found[:ROOM_SETS]


def _try(ctx, inst, host, uuids):
    """Apply the chain in the ledger; its :class:`Chain` or ``None``.

    On ``None`` the ledger is rolled back to where it was.
    """
    led = ctx.ledger
    mark = led.mark()
    room, unplaced = place.choose_destinations(
        uuids, ctx.snapshot, ctx.profiles, ctx.p, ctx.demand, ctx.groups_of,
        led, avoid=ctx.avoid | {host})
    if not unplaced:
        others = frozenset(led.names) - {host}
        placed, _ = place.choose_destinations(
            [inst.uuid], ctx.snapshot, ctx.profiles, ctx.p, ctx.demand,
            ctx.groups_of, led, avoid=others)
        if inst.uuid in placed:
            costs = {u: ctx.price(ctx.snapshot.instance_by_uuid[u])[0]
                     for u in uuids}
            weighted = sum(ctx.price(ctx.snapshot.instance_by_uuid[u])[1]
                           for u in uuids)
            return Chain(placed[inst.uuid],
                         tuple(room[u] for u in uuids), costs, weighted)
    led.rollback(mark)
    return None


def make_room(ctx, uuid, moved, max_moves=MAX_ROOM_MOVES):
    """The cheapest :class:`Chain` for instance ``uuid``, or ``None``.

    ``moved`` holds the uuids that already move in this plan (they make
    no room: each instance moves once).  See the module contract.
    """
    if max_moves <= 0:
        return None
    led = ctx.ledger
    inst = ctx.snapshot.instance_by_uuid[uuid]
    source = led.where[uuid]
    options = []
    allocs, loads = _shortfalls(ctx, uuid)
    # the hosts that lack something (the rest fit already: not a room
    # problem), then every rule but the room rules
    short = np.flatnonzero(allocs.any(axis=1) | loads.any(axis=1))
    for h in short.tolist():
        host = led.hosts[h]
        if host.name == source or host.name in ctx.avoid or \
                not _only_room(ctx, inst, source, host):
            continue
        alloc, load = allocs[h].tolist(), loads[h].tolist()
        options.append((sum(alloc[:1]) + alloc[1] / 1024.0 + alloc[2] +
                        sum(load), host.name, alloc, load))
    options.sort(key=lambda o: (o[0], o[1]))
    best = None
    for _, host, alloc, load in options[:ROOM_HOSTS]:
        for weighted, uuids in _room_sets(ctx, host, alloc, load, moved,
                                          max_moves):
            if best is not None and (weighted, host, uuids) >= best[0]:
                break
            mark = led.mark()
            chain = _try(ctx, inst, host, uuids)
            if chain is None:
                continue
            led.rollback(mark)
            best = ((weighted, host, uuids), chain)
            break
    if best is None:
        return None
    _, host, uuids = best[0]
    return _try(ctx, inst, host, uuids)
