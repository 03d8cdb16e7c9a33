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

"""Parallel lanes, a predicted timeline, and the link-aware move order.

Contract: :func:`schedule` list-schedules the sequencer's order.  Each move
takes the earliest free outgoing slot of its source (``max_concurrent_out``,
default 1 like Nova's ``max_concurrent_live_migrations``), incoming slot of
its destination (``max_concurrent_in``) and, when ``max_parallel`` > 0, a
global slot; it starts when those slots and its dependencies are free.
The previous holder of each slot becomes a parent, so the DAG itself
enforces the limits in any execution.  Predicted duration comes from the
pre-copy model (``cost``) evaluated on the placement at the predicted
start (moves finished by then have happened): the migration's share of the
link next to what the instances still on the source send, what those on
the destination receive and the migrations already running on either NIC
(``cost.link_share``), and section 3.3 interference.

:func:`link_priority` is the sequencer's sort key derived from the same
predictions (section 3.4's rule, measured rather than assumed): a move
whose departure makes the other moves off its host faster (it frees the
source's link, or it dirties memory) goes first, the most time saved per
second of its own migration first; a move whose arrival makes the other
moves into its destination slower (it receives on that link) goes last;
the rest shortest job first.
"""

import collections
import dataclasses
import typing

import numpy as np

from watcher_informed.core import cost as cost_mod
from watcher_informed.core import snapshot as snap
from watcher_informed.core import usage as usage_mod

#: a move counts as freeing (or loading) a link when it changes the other
#: moves' predicted time by at least this many seconds ...
MATERIAL_S = 0.5
#: ... and at least this share of its own predicted time.
MATERIAL_SHARE = 0.05


@dataclasses.dataclass(frozen=True)
class Slotted:
    uuid: str
    parents: typing.Tuple[str, ...]
    lane: str
    start_s: float
    end_s: float
    cost: cost_mod.MigrationCost
    slowed_by: typing.Tuple[str, ...]


class _Slots:
    """``count`` chains; remembers who holds each and until when."""

    def __init__(self, count):
        self.free_at = [0.0] * count
        self.holder = [None] * count

    def pick(self):
        index = min(range(len(self.free_at)),
                    key=lambda i: (self.free_at[i], i))
        return index, self.free_at[index], self.holder[index]

    def take(self, index, uuid, end):
        self.free_at[index] = end
        self.holder[index] = uuid


def _traffic(usage):
    return (usage.get(snap.NET_TX) or 0.0, usage.get(snap.NET_RX) or 0.0)


def traffic(snapshot):
    """``(tx, rx)``: lists of every instance's :func:`_traffic` values
    (0 where unknown) in the snapshot's instance order (``position``),
    from the usage columns, once per snapshot.

    Two lists, not a pair per instance: the audit keeps them, and the
    cyclic collector scans every object the audit keeps once it ends.
    """
    net = snapshot.memo.get('traffic')
    if net is None:
        # + 0.0: a -0.0 reads as 0.0, as ``or 0.0`` makes it
        net = snapshot.memo['traffic'] = tuple(
            (np.nan_to_num(usage_mod.column(snapshot, m), nan=0.0) +
             0.0).tolist() for m in (snap.NET_TX, snap.NET_RX))
    return net


class _State:
    """Who is on which host at a time: classes and traffic per host.

    Only the hosts the moves touch are tracked (``hosts``), so the work is
    linear in the instances of those hosts.
    """

    def __init__(self, snapshot, profiles, hosts):
        self.cls, self.net = {}, {}
        self.base = collections.defaultdict(set)
        uuids, by_host = snapshot.uuids, snapshot.by_host
        tx, rx = traffic(snapshot)
        names = getattr(profiles, 'class_names', None)
        if names is not None and profiles.uuids != uuids:
            names = None
        for host in hosts:
            rows = by_host.get(host)
            if not rows:
                continue
            here = [uuids[k] for k in rows]
            self.base[host] = set(here)
            if names is not None:
                # classify.Profiles: the class of each row, no lookup
                self.cls.update(zip(here, map(names.__getitem__, rows)))
            else:
                self.cls.update((u, profiles[u].cls) for u in here)
            self.net.update(zip(here, zip(map(tx.__getitem__, rows),
                                          map(rx.__getitem__, rows))))
        self.finished = collections.defaultdict(list)

    def finish(self, end, uuid, source, dest):
        record = (end, uuid, source, dest)
        self.finished[source].append(record)
        self.finished[dest].append(record)

    def members(self, host, at):
        """Instances on ``host`` at time ``at`` (moves ended by then)."""
        there = set(self.base[host])
        for end, uuid, source, dest in self.finished.get(host, ()):
            if end <= at + 1e-9:
                if source == host:
                    there.discard(uuid)
                if dest == host:
                    there.add(uuid)
        return there

    def classes(self, members, moving):
        return {self.cls[u] for u in members if u != moving}


def _share(p, state, host, members, side, count):
    """Fair share of ``host``'s NIC next to ``members``' traffic.

    ``side`` 0: what they send (the source), 1: what they receive.
    """
    flows = [state.net[u][side] for u in sorted(members)]
    return cost_mod.fair_share(p.nic_mibps(host), flows, float('inf'),
                               count)


def _shared(memo, p, state, host, members, side, count):
    """:func:`_share`, kept in ``memo`` (``members``: a frozenset)."""
    key = (host, side, count, members)
    share = memo.get(key)
    if share is None:
        share = memo[key] = _share(p, state, host, members, side, count)
    return share


def costs(snapshot, p):
    """The audit's ``{key: MigrationCost}`` of predictions made so far.

    ``cost.instance_cost`` of an instance of ``snapshot`` depends only on
    ``p`` and on :func:`_cost_key` (its uuid, factors, rate and the
    stop-and-copy rate the link allows), so every stage that predicts
    a migration (pricing, room-making, the move order, the schedule)
    shares one table; it is kept in ``snapshot.memo`` with ``p`` and
    starts afresh for another ``p``.
    """
    entry = snapshot.memo.get('instance_costs')
    if entry is None or entry[0] is not p:
        entry = snapshot.memo['instance_costs'] = (p, {})
    return entry[1]


def forget_costs(snapshot):
    """Drop the table of :func:`costs` (it starts afresh if asked)."""
    snapshot.memo.pop('instance_costs', None)


def _cost_key(inst, p, t_f, d_f, rate, link):
    stop = p.stop_copy_bandwidth
    return (inst.uuid, t_f, d_f, rate,
            min(stop, link) if stop and link is not None else stop)


def predict(table, inst, usage, p, t_f, d_f, rate, link):
    """``cost.instance_cost`` of these inputs, kept in ``table``
    (:func:`costs`; ``None``: computed)."""
    if table is None:
        return cost_mod.instance_cost(inst, usage, p, t_f, d_f, rate, link)
    key = _cost_key(inst, p, t_f, d_f, rate, link)
    c = table.get(key)
    if c is None:
        c = table[key] = cost_mod.instance_cost(inst, usage, p, t_f, d_f,
                                                rate, link)
    return c


def _move_cost(inst, usage, p, state, source, dest, src_members,
               dst_members, out_count=1, in_count=1, memo=None,
               table=None):
    """(cost, source classes, destination classes) of one move.

    ``memo``: a dict keeping the NIC shares by host and members (then
    frozensets); ``table``: the audit's predictions (:func:`costs`).
    """
    if memo is None:
        link = min(_share(p, state, source, src_members, 0, out_count),
                   _share(p, state, dest, dst_members, 1, in_count))
    else:
        link = min(_shared(memo, p, state, source, src_members, 0,
                           out_count),
                   _shared(memo, p, state, dest, dst_members, 1, in_count))
    rate = min(p.migration_bandwidth, link)
    src_cls = state.classes(src_members, inst.uuid)
    dst_cls = state.classes(dst_members, inst.uuid)
    t_f, d_f = cost_mod.interference_factors(src_cls, dst_cls, p)
    c = predict(table, inst, usage, p, t_f, d_f, rate, link)
    return c, src_cls, dst_cls


def schedule(ordering, snapshot, profiles, p):
    """Return ``{uuid: Slotted}`` for every move of ``ordering``."""
    insts = snapshot.instance_by_uuid
    state = _State(snapshot, profiles, {h for m in ordering.order
                                        for h in (m.source, m.dest)})
    outs, ins = {}, {}
    glob = _Slots(p.max_parallel) if p.max_parallel else None
    running_out = collections.defaultdict(list)
    running_in = collections.defaultdict(list)
    result = {}
    table = costs(snapshot, p)
    for move in ordering.order:
        out = outs.setdefault(move.source, _Slots(p.max_concurrent_out))
        inn = ins.setdefault(move.dest, _Slots(p.max_concurrent_in))
        deps = ordering.deps[move.uuid]
        ready = max([result[d].end_s for d in deps] or [0.0])
        o_idx, o_free, o_hold = out.pick()
        i_idx, i_free, i_hold = inn.pick()
        start = max(ready, o_free, i_free)
        parents = set(deps)
        parents.update(h for h in (o_hold, i_hold) if h)
        if glob is not None:
            g_idx, g_free, g_hold = glob.pick()
            start = max(start, g_free)
            if g_hold:
                parents.add(g_hold)
        n_out = 1 + sum(1 for a, z in running_out[move.source]
                        if a <= start + 1e-9 < z)
        n_in = 1 + sum(1 for a, z in running_in[move.dest]
                       if a <= start + 1e-9 < z)
        src_members = state.members(move.source, start)
        dst_members = state.members(move.dest, start)
        c, src_cls, dst_cls = _move_cost(
            insts[move.uuid], snapshot.usage_of(move.uuid), p, state,
            move.source, move.dest, src_members, dst_members, n_out, n_in,
            table=table)
        end = start + c.time_s
        out.take(o_idx, move.uuid, end)
        inn.take(i_idx, move.uuid, end)
        if glob is not None:
            glob.take(g_idx, move.uuid, end)
        running_out[move.source].append((start, end))
        running_in[move.dest].append((start, end))
        slowed = sorted(
            [n for n, hit in (('memory VM on source', 'memory' in src_cls),
                              ('web VM on source', 'web' in src_cls),
                              ('net_rx VM on destination',
                               'net_rx' in dst_cls)) if hit])
        state.finish(end, move.uuid, move.source, move.dest)
        result[move.uuid] = Slotted(
            move.uuid, tuple(sorted(parents)),
            '%s/out%d' % (move.source, o_idx), start, end, c, tuple(slowed))
    return result


class LinkPriority:
    """Sort key of the sequencer from predicted effects (module doc).

    For each move, at the placement the plan starts from: ``saving`` --
    how much sooner the other moves off its source finish when it has
    left; ``penalty`` -- how much later the other moves into its
    destination finish once it has arrived.
    """

    def __init__(self, snapshot, moves, profiles, p):
        state = _State(snapshot, profiles,
                       {h for m in moves for h in (m.source, m.dest)})
        insts = snapshot.instance_by_uuid
        self.time, self.saving, self.penalty = {}, {}, {}
        by_source = collections.defaultdict(list)
        by_dest = collections.defaultdict(list)
        for m in moves:
            by_source[m.source].append(m)
            by_dest[m.dest].append(m)

        memo = {}
        table = costs(snapshot, p)

        def cost(m, src, dst):
            return _move_cost(insts[m.uuid], snapshot.usage_of(m.uuid), p,
                              state, m.source, m.dest, src, dst,
                              memo=memo, table=table)[0].time_s

        members = {h: frozenset(state.members(h, 0.0))
                   for h in set(by_source) | set(by_dest)}
        for m in moves:
            self.time[m.uuid] = cost(m, members[m.source],
                                     members[m.dest])
        for m in moves:
            gain = 0.0
            # the moves off m's source, once m has left (one set for all)
            left = members[m.source] - {m.uuid}
            for k in by_source[m.source]:
                if k is not m:
                    gain += self.time[k.uuid] - cost(k, left,
                                                     members[k.dest])
            self.saving[m.uuid] = gain
            loss = 0.0
            # the moves into m's destination, once m has arrived
            arrived = members[m.dest] | {m.uuid}
            for k in by_dest[m.dest]:
                if k is not m:
                    loss += cost(k, members[k.source], arrived) - \
                        self.time[k.uuid]
            self.penalty[m.uuid] = loss

    def _net(self, uuid):
        return self.saving[uuid] - self.penalty[uuid]

    def rank(self, uuid):
        net = self._net(uuid)
        material = max(MATERIAL_S, MATERIAL_SHARE * self.time[uuid])
        if net >= material:
            return 0
        if -net >= material:
            return 2
        return 1

    def __call__(self, move):
        rank = self.rank(move.uuid)
        if rank == 0:
            return (0, -self._net(move.uuid) / max(self.time[move.uuid],
                                                   1e-9), move.uuid)
        return (rank, self.time[move.uuid], move.uuid)

    def why(self, move):
        rank = self.rank(move.uuid)
        if rank == 0:
            return ('first: leaving %s it makes the other moves off it '
                    '%.1f s faster' % (move.source, self.saving[move.uuid]))
        if rank == 2:
            return ('last: arriving on %s it makes the other moves into '
                    'it %.1f s slower' % (move.dest,
                                          self.penalty[move.uuid]))
        return 'shortest job first (%.1f s predicted)' % \
            self.time[move.uuid]


def link_priority(snapshot, moves, profiles, p):
    """The :class:`LinkPriority` key of ``moves``."""
    return LinkPriority(snapshot, moves, profiles, p)


def standalone(snapshot, p):
    """``cost(instance)``: its migration alone, from where it is now.

    The source's instances all still send on its NIC; the destination is
    not known yet, so its NIC counts as free.
    """
    by_host = snapshot.by_host
    links = {}
    tx = traffic(snapshot)[0]

    def share(host):
        # the same for every instance of the host
        if host not in links:
            links[host] = cost_mod.fair_share(
                p.nic_mibps(host), [tx[k] for k in by_host[host]],
                float('inf'))
        return links[host]

    table = costs(snapshot, p)

    def cost(inst):
        link = share(inst.host)
        return predict(table, inst, snapshot.usage_of(inst.uuid), p, 1.0,
                       1.0, min(p.migration_bandwidth, link), link)
    return cost
