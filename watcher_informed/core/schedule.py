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

"""Parallel lanes and a predicted timeline for an ordered set of moves.

Contract: :func:`schedule` list-schedules the sequencer's order.  Each move
takes the earliest free outgoing slot of its source (``max_concurrent_out``,
default 1 like Nova's ``max_concurrent_live_migrations``), incoming slot of
its destination (``max_concurrent_in``) and, when ``max_parallel`` > 0, a
global slot; it starts when those slots and its dependencies are free.
The previous holder of each slot becomes a parent, so the DAG itself
enforces the limits in any execution.  Predicted duration comes from the
pre-copy model with section 3.3 interference evaluated on the placement at
the predicted start (moves finished by then have happened).
"""

import collections
import dataclasses
import typing

from watcher_informed.core import cost as cost_mod


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


def _base_counts(snapshot, profiles):
    counts = {h.name: collections.Counter() for h in snapshot.hosts}
    class_of = getattr(profiles, 'class_of', None) or (
        lambda uuid: profiles[uuid].cls)
    for inst in snapshot.instances:
        counts[inst.host][class_of(inst.uuid)] += 1
    return counts


def _classes_at(start, base, finished, host, moving):
    """Classes of the instances on ``host`` at ``start``, minus ``moving``.

    ``moving`` is ``(class, source)`` of the migrating instance;
    ``finished`` maps a host to the moves touching it.
    """
    counts = collections.Counter(base[host])
    for end, cls, source, dest in finished.get(host, ()):
        if end <= start + 1e-9:
            if source == host:
                counts[cls] -= 1
            if dest == host:
                counts[cls] += 1
    if moving[1] == host:
        counts[moving[0]] -= 1
    return {c for c, n in counts.items() if n > 0}


def schedule(ordering, snapshot, profiles, p):
    """Return ``{uuid: Slotted}`` for every move of ``ordering``."""
    insts = snapshot.instance_by_uuid
    base = _base_counts(snapshot, profiles)
    outs, ins = {}, {}
    glob = _Slots(p.max_parallel) if p.max_parallel else None
    finished = {}
    result = {}
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
        moving = (profiles[move.uuid].cls, move.source)
        src_cls = _classes_at(start, base, finished, move.source, moving)
        dst_cls = _classes_at(start, base, finished, move.dest, moving)
        t_f, d_f = cost_mod.interference_factors(src_cls, dst_cls, p)
        c = cost_mod.instance_cost(insts[move.uuid],
                                   snapshot.usage_of(move.uuid), p, t_f, d_f)
        end = start + c.time_s
        out.take(o_idx, move.uuid, end)
        inn.take(i_idx, move.uuid, end)
        if glob is not None:
            glob.take(g_idx, move.uuid, end)
        slowed = sorted(
            [n for n, hit in (('memory VM on source', 'memory' in src_cls),
                              ('web VM on source', 'web' in src_cls),
                              ('net_rx VM on destination',
                               'net_rx' in dst_cls)) if hit])
        record = (end, moving[0], move.source, move.dest)
        finished.setdefault(move.source, []).append(record)
        finished.setdefault(move.dest, []).append(record)
        result[move.uuid] = Slotted(
            move.uuid, tuple(sorted(parents)),
            '%s/out%d' % (move.source, o_idx), start, end, c, tuple(slowed))
    return result
