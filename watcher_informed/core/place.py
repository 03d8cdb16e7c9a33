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

"""Where each selected instance goes (paper section 3.2).

Contract: :func:`choose_destinations` gives every selected instance a
destination or a reason why none exists, deciding on values only.  Hard
rules first (``constraints``: host usable, pinned AZ, anti-affinity; never
back to a host the instance left recently (``cooldown``);
allocation capacity after reserved x ratio in the final placement; no
destination pushed above its target load).  Among feasible hosts the
lowest score wins (ties by host name), where the score adds:

* interference: for each resident, the class-pair penalty (Table 2 / Fig. 3
  defaults, e.g. two disk-I/O VMs 0.5, two cache-polluting CPU VMs 0.25,
  CPU + disk-I/O 0) scaled by both workloads' intensities;
* minus ``communication_bonus`` per communicating partner already there
  (Fig. 2(b)-(c): VMs that talk go together);
* plus ``soft_anti_affinity_penalty`` per soft-anti-affinity group mate;
* plus ``headroom_weight`` x the highest load fraction after the move.

Instances are placed hardest first (largest normalised demand), and every
decision updates the working placement, so later choices see earlier ones.
Each score is logged at DEBUG with its terms, like Nova's weighers.
"""

import collections
import dataclasses
import logging
import typing

import numpy as np

from watcher_informed.core import constraints
from watcher_informed.core import cooldown
from watcher_informed.core import overload
from watcher_informed.core import snapshot as snap

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Destination:
    uuid: str
    source: str
    host: str
    score: float
    why: str


@dataclasses.dataclass
class _State:
    placement: dict
    alloc: dict
    load: dict
    residents: dict


def _initial_state(snapshot, p, demand):
    alloc = {h.name: snap.Resources() for h in snapshot.hosts}
    for inst in snapshot.instances:
        alloc[inst.host] = alloc[inst.host] + inst.resources
    loads = overload.host_loads(snapshot, p, None, demand)
    residents = {h.name: set() for h in snapshot.hosts}
    for inst in snapshot.instances:
        residents[inst.host].add(inst.uuid)
    return _State(snapshot.placement(), alloc, loads, residents)


def _load_after(state, host, p, demand_frac):
    return {d: state.load[host.name][d] + demand_frac[d]
            for d in overload.DIMS}


def _frac(demand, host, p):
    scale = overload.host_scale(host, p)
    return {d: demand[d] / scale[d] for d in overload.DIMS}


def _score(uuid, host, state, ctx, after):
    profiles, p, talk, groups_of, history, now = ctx
    me = profiles[uuid]
    residents = sorted(state.residents[host.name] - {uuid})
    interference = 0.0
    notes = []
    for other in residents:
        prof = profiles[other]
        pen = p.pair_penalty(me.cls, prof.cls) * me.weight * prof.weight
        if pen > 0:
            interference += pen
            notes.append('%s+%s with %s' % (me.cls, prof.cls, other))
    partners = sorted(talk.get(uuid, set()).intersection(residents))
    soft_mates = constraints.soft_mates(uuid, groups_of,
                                        snap.SOFT_ANTI_AFFINITY)
    soft = sorted(soft_mates.intersection(residents))
    headroom = max(after.values())
    score = (interference - p.communication_bonus * len(partners) +
             p.soft_anti_affinity_penalty * len(soft) +
             p.headroom_weight * headroom)
    why = 'interference %.2f%s; talkers %d; soft-anti %d; peak load %.2f' % (
        interference, (' (%s)' % ', '.join(notes)) if notes else '',
        len(partners), len(soft), headroom)
    LOG.debug('place %s on %s: score %.3f = %s', uuid, host.name, score, why)
    return score, why


def _feasible(inst, host, state, ctx, demand_frac):
    """Return (after-load, None) or (None, reason)."""
    profiles, p, talk, groups_of, history, now = ctx
    source = state.placement[inst.uuid]
    reason = constraints.destination_reason(inst, source, host)
    if reason:
        return None, reason
    if not (state.alloc[host.name] + inst.resources).fits_in(host.capacity):
        return None, 'not enough allocatable vCPU/RAM/disk'
    undo = cooldown.undo_reason(inst.uuid, host.name, history, now, p)
    if undo:
        return None, undo
    mates = constraints.anti_affinity_mates(inst.uuid, groups_of)
    for mate in sorted(mates):
        if state.placement.get(mate) == host.name:
            return None, 'anti-affinity with %s' % mate
    after = _load_after(state, host, p, demand_frac)
    targets = p.targets()
    over = [d for d in overload.DIMS if after[d] > targets[d] + 1e-12]
    if over:
        return None, 'would exceed target load (%s)' % ', '.join(over)
    return after, None


def _apply(state, inst, src, dst, demand_frac_src, demand_frac_dst):
    state.placement[inst.uuid] = dst.name
    state.residents[src].discard(inst.uuid)
    state.residents[dst.name].add(inst.uuid)
    state.alloc[src] = state.alloc[src] - inst.resources
    state.alloc[dst.name] = state.alloc[dst.name] + inst.resources
    for d in overload.DIMS:
        state.load[src][d] -= demand_frac_src[d]
        state.load[dst.name][d] += demand_frac_dst[d]


#: clusters up to this size are searched exhaustively for each instance.
EXHAUSTIVE_HOSTS = 200
#: on larger clusters, how many of the least-loaded feasible hosts are
#: scored (plus the hosts of the instance's talkers and soft mates).
SHORTLIST = 16


class _Coolest:
    """Vectorised pre-filter of hosts for large clusters (numpy).

    Keeps every host's load (4 dimensions), allocation and capacity in
    arrays; :meth:`take` screens all hosts at once on the numeric hard
    rules (capacity, target load, usable, not the source) and hands the
    survivors, least full first (the higher of peak load and allocation
    ratio; ties by name), to the exact per-host check.
    """

    def __init__(self, state, hosts, p):
        self.state = state
        self.hosts = list(hosts)
        self.index = {h.name: i for i, h in enumerate(self.hosts)}
        self.scale = np.array([[overload.host_scale(h, p)[d]
                                for d in overload.DIMS] for h in hosts])
        self.cap = np.array([h.capacity.as_tuple() for h in hosts])
        self.usable = np.array([h.usable for h in hosts])
        self.targets = np.array([p.targets()[d] for d in overload.DIMS])
        self.load = np.zeros((len(hosts), len(overload.DIMS)))
        self.alloc = np.zeros((len(hosts), 3))
        for h in hosts:
            self.touch(h.name)

    def touch(self, name):
        i = self.index[name]
        self.load[i] = [self.state.load[name][d] for d in overload.DIMS]
        self.alloc[i] = self.state.alloc[name].as_tuple()

    def take(self, accept, count, demand, resources, source):
        """Up to ``count`` hosts passing ``accept``, least full first."""
        need = np.array([demand[d] for d in overload.DIMS])
        after = self.load + need / self.scale
        ok = self.usable & np.all(after <= self.targets + 1e-12, axis=1)
        ok &= np.all(self.alloc + np.array(resources.as_tuple()) <=
                     self.cap + 1e-9, axis=1)
        ok[self.index[source]] = False
        if not ok.any():
            return []
        with np.errstate(divide='ignore', invalid='ignore'):
            allocated = np.where(self.cap > 0, self.alloc / self.cap, 1.0)
        full = np.maximum(self.load.max(axis=1), allocated.max(axis=1))
        order = np.flatnonzero(ok)
        order = order[np.lexsort((order, full[order]))]
        taken = []
        for i in order:
            if accept(self.hosts[i]):
                taken.append(self.hosts[i])
                if len(taken) >= count:
                    break
        return taken


def _summary(reasons):
    by_reason = collections.defaultdict(list)
    for host, reason in sorted(reasons.items()):
        if reason != 'is the source':
            by_reason[reason].append(host)
    parts = []
    for reason, hosts in sorted(by_reason.items()):
        more = ' and %d more' % (len(hosts) - 3) if len(hosts) > 3 else ''
        parts.append('%s %s%s' % (', '.join(hosts[:3]), reason, more))
    return 'no destination: ' + '; '.join(parts)


def choose_destinations(selected, snapshot, profiles, p, demand,
                        groups_of=None):
    """Place ``selected`` uuids: ``({uuid: Destination}, {uuid: reason})``.

    ``demand`` is ``{uuid: absolute demand}`` (see ``overload``).  Up to
    :data:`EXHAUSTIVE_HOSTS` hosts every host is scored; beyond, the
    :data:`SHORTLIST` (16) least-full feasible hosts (by load and by
    allocation) plus the hosts of the
    instance's talkers and soft-policy mates are (Nova's scheduler narrows
    its choice the same way at scale).
    """
    groups_of = groups_of if groups_of is not None else \
        constraints.groups_by_member(snapshot)
    talk = constraints.talkers(snapshot, groups_of)
    ctx = (profiles, p, talk, groups_of, snapshot.recent_moves,
           snapshot.now)
    hosts = sorted(snapshot.hosts, key=lambda h: h.name)
    by_name = snapshot.host_by_name
    insts = snapshot.instance_by_uuid
    state = _initial_state(snapshot, p, demand)
    coolest = _Coolest(state, hosts, p) \
        if len(hosts) > EXHAUSTIVE_HOSTS else None

    def hardness(uuid):
        host = by_name[insts[uuid].host]
        frac = _frac(demand[uuid], host, p)
        return (-sum(frac.values()), uuid)

    def candidates(uuid):
        if coolest is None:
            return hosts
        near = set(talk.get(uuid, ()))
        for policy in (snap.SOFT_AFFINITY, snap.SOFT_ANTI_AFFINITY):
            near |= constraints.soft_mates(uuid, groups_of, policy)
        names = {state.placement[u] for u in near if u in state.placement}
        inst = insts[uuid]

        def accept(host):
            frac = _frac(demand[uuid], host, p)
            return _feasible(inst, host, state, ctx, frac)[1] is None
        names.update(h.name for h in coolest.take(
            accept, SHORTLIST, demand[uuid], inst.resources,
            state.placement[uuid]))
        return [by_name[n] for n in sorted(names)]

    placed, unplaced = {}, {}
    for uuid in sorted(selected, key=hardness):
        inst = insts[uuid]
        src = state.placement[uuid]
        best = None
        reasons = {}
        for host in candidates(uuid):
            frac = _frac(demand[uuid], host, p)
            after, reason = _feasible(inst, host, state, ctx, frac)
            if reason:
                reasons[host.name] = reason
                continue
            score, why = _score(uuid, host, state, ctx, after)
            if best is None or (score, host.name) < (best[0], best[1].name):
                best = (score, host, why)
        if best is None:
            unplaced[uuid] = _summary(reasons) if reasons else \
                'no destination: no feasible host'
            continue
        score, host, why = best
        _apply(state, inst, src, host, _frac(demand[uuid], by_name[src], p),
               _frac(demand[uuid], host, p))
        if coolest is not None:
            coolest.touch(src)
            coolest.touch(host.name)
        placed[uuid] = Destination(uuid, src, host.name, score, why)
    return placed, unplaced


def placement_after(snapshot, destinations: typing.Mapping):
    """Placement once every destination in ``destinations`` is reached."""
    placement = snapshot.placement()
    for uuid, dest in destinations.items():
        placement[uuid] = dest.host
    return placement
