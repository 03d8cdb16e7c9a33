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
rules first (``constraints``: host usable, pinned AZ, anti-affinity;
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

import dataclasses
import logging
import typing

from watcher_informed.core import constraints
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


def _initial_state(snapshot, p, demand):
    alloc = {h.name: snap.Resources() for h in snapshot.hosts}
    for inst in snapshot.instances:
        alloc[inst.host] = alloc[inst.host] + inst.resources
    loads = overload.host_loads(snapshot, p, None, demand)
    return _State(snapshot.placement(), alloc, loads)


def _load_after(state, host, p, demand_frac):
    return {d: state.load[host.name][d] + demand_frac[d]
            for d in overload.DIMS}


def _frac(demand, host, p):
    scale = overload.host_scale(host, p)
    return {d: demand[d] / scale[d] for d in overload.DIMS}


def _score(uuid, host, state, ctx, after):
    profiles, p, talk, groups_of = ctx
    me = profiles[uuid]
    residents = sorted(u for u, h in state.placement.items()
                       if h == host.name and u != uuid)
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
    profiles, p, talk, groups_of = ctx
    source = state.placement[inst.uuid]
    reason = constraints.destination_reason(inst, source, host)
    if reason:
        return None, reason
    if not (state.alloc[host.name] + inst.resources).fits_in(host.capacity):
        return None, 'not enough allocatable vCPU/RAM/disk'
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
    state.alloc[src] = state.alloc[src] - inst.resources
    state.alloc[dst.name] = state.alloc[dst.name] + inst.resources
    for d in overload.DIMS:
        state.load[src][d] -= demand_frac_src[d]
        state.load[dst.name][d] += demand_frac_dst[d]


def choose_destinations(selected, snapshot, profiles, p, demand,
                        groups_of=None):
    """Place ``selected`` uuids: ``({uuid: Destination}, {uuid: reason})``.

    ``demand`` is ``{uuid: absolute demand}`` (see ``overload``).
    """
    groups_of = groups_of if groups_of is not None else \
        constraints.groups_by_member(snapshot)
    talk = constraints.talkers(snapshot, groups_of)
    ctx = (profiles, p, talk, groups_of)
    hosts = sorted(snapshot.hosts, key=lambda h: h.name)
    by_name = snapshot.host_by_name
    insts = snapshot.instance_by_uuid
    state = _initial_state(snapshot, p, demand)

    def hardness(uuid):
        host = by_name[insts[uuid].host]
        frac = _frac(demand[uuid], host, p)
        return (-sum(frac.values()), uuid)

    placed, unplaced = {}, {}
    for uuid in sorted(selected, key=hardness):
        inst = insts[uuid]
        src = state.placement[uuid]
        best = None
        reasons = {}
        for host in hosts:
            frac = _frac(demand[uuid], host, p)
            after, reason = _feasible(inst, host, state, ctx, frac)
            if reason:
                reasons[host.name] = reason
                continue
            score, why = _score(uuid, host, state, ctx, after)
            if best is None or (score, host.name) < (best[0], best[1].name):
                best = (score, host, why)
        if best is None:
            unplaced[uuid] = 'no destination: ' + '; '.join(
                '%s %s' % kv for kv in sorted(reasons.items())
                if kv[1] != 'is the source')
            continue
        score, host, why = best
        _apply(state, inst, src, host, _frac(demand[uuid], by_name[src], p),
               _frac(demand[uuid], host, p))
        placed[uuid] = Destination(uuid, src, host.name, score, why)
    return placed, unplaced


def placement_after(snapshot, destinations: typing.Mapping):
    """Placement once every destination in ``destinations`` is reached."""
    placement = snapshot.placement()
    for uuid, dest in destinations.items():
        placement[uuid] = dest.host
    return placement
