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

"""The paper's three decisions, composed: snapshot in, checked plan out.

Contract: :func:`build_plan` is a pure function of a
:class:`~watcher_informed.core.snapshot.Snapshot` and
:class:`~watcher_informed.core.params.Params`.  It classifies, finds
overloaded hosts, selects (section 3.1), places (3.2), orders (3.3-3.4),
schedules, and runs every checker (``checks.verify``) before returning a
:class:`~watcher_informed.core.plan.Plan`.  Selection and placement
iterate: an instance that has no feasible destination is set aside with
its reason and the host's selection is recomputed without it.  A set's
cost includes the slowdown its moves suffer from the memory-dirtying and
web-server instances still on the host when they run (section 3.3), so
moving those first is chosen when it is cheaper overall.  A host's moves
are kept only if they pass the cost-benefit gate (``gate``); instances
cooling down after recent migrations do not move, and no move undoes a
recent one (``cooldown``).
"""

import collections
import logging

from watcher_informed.core import checks
from watcher_informed.core import classify as classify_mod
from watcher_informed.core import constraints
from watcher_informed.core import cooldown
from watcher_informed.core import cost as cost_mod
from watcher_informed.core import gate
from watcher_informed.core import overload
from watcher_informed.core import place
from watcher_informed.core import plan as plan_mod
from watcher_informed.core import schedule as schedule_mod
from watcher_informed.core import select
from watcher_informed.core import sequence

LOG = logging.getLogger(__name__)

MAX_ROUNDS = 20


def _candidates(hot, on_host, profiles, p, demand, costs, excluded):
    out = []
    for inst in on_host[hot.name]:
        if inst.uuid in excluded:
            continue
        cls = profiles[inst.uuid].cls
        c = costs[inst.uuid]
        out.append(select.Candidate(
            inst.uuid, inst.host, cls, demand[inst.uuid], c.time_s,
            c.time_s * p.class_weight.get(cls, 1.0)))
    return out


def _set_cost(host_classes, p):
    """Cost of moving a set off a host, in the paper's order (3.3-3.4).

    Each move is slowed by the memory-dirtying and web-server instances
    still on the host when it starts, so moving those first (or not
    leaving them behind) is cheaper than the sum of standalone costs.
    """
    def cost(chosen):
        remaining = collections.Counter(host_classes)
        total = 0.0
        for c in sorted(chosen, key=lambda c: sequence.priority(
                sequence.Move(c.uuid, c.host, '', c.cls, c.time_s, None))):
            remaining[c.cls] -= 1
            present = {k for k, n in remaining.items() if n > 0}
            factor, _ = cost_mod.interference_factors(present, (), p)
            total += c.cost * factor
        return total
    return cost


def _gate(sel, hot, snapshot, profiles, p, costs):
    """Cost-benefit verdict on a host's selection (``gate.judge``)."""
    insts = snapshot.instance_by_uuid
    host = snapshot.host_by_name[hot.name]
    prices = [gate.move_cost(insts[c.uuid], snapshot.usage_of(c.uuid),
                             c.cls, costs[c.uuid]) for c in sel.chosen]
    return gate.judge(host, hot.load, [c.demand for c in sel.chosen],
                      prices, p, p.horizon_s, p.aggressiveness)


def _select_all(hot_hosts, on_host, profiles, p, demand, costs, excluded,
                snapshot=None, gated=None):
    remaining = p.max_migrations
    selections = []
    for hot in hot_hosts:
        cands = _candidates(hot, on_host, profiles, p, demand, costs,
                            excluded)
        classes = collections.Counter(
            profiles[i.uuid].cls for i in on_host[hot.name])
        sel = select.choose_for_host(hot, cands, remaining,
                                     p.exact_select_limit, p.seed,
                                     _set_cost(classes, p))
        if sel.chosen and snapshot is not None:
            verdict = _gate(sel, hot, snapshot, profiles, p, costs)
            if not verdict.keep:
                LOG.info('not worth moving off %s: %s', hot.name,
                         verdict.why)
                gated[hot.name] = verdict
                sel = select.Selection(hot.name, (), False)
        remaining -= len(sel.chosen)
        selections.append(sel)
    return selections


def _position_reason(move, ordering, slot, key):
    why = key.why(move)
    waits = ordering.deps[move.uuid]
    if waits:
        why += '; waits for %s' % ', '.join(waits)
    if slot.slowed_by:
        why += '; slowed by %s' % ', '.join(slot.slowed_by)
    return why


def build_plan(snapshot, p):
    """Run the whole pipeline and return a verified :class:`Plan`."""
    p.validate()
    profiles = classify_mod.classify(snapshot, p)
    demand = overload.demands(snapshot)
    loads_before = overload.host_loads(snapshot, p, None, demand)
    hot_hosts = overload.find_overloaded(snapshot, p, None, demand)
    groups_of = constraints.groups_by_member(snapshot)
    present = {i.uuid for i in snapshot.instances}
    hot_names = {h.name for h in hot_hosts}
    not_moved = {}
    costs = {}
    alone = schedule_mod.standalone(snapshot, p)
    for inst in snapshot.instances:
        if inst.host not in hot_names:
            continue
        reason = constraints.immovable_reason(
            inst, groups_of, present, snapshot.host_by_name[inst.host]) \
            or cooldown.resting_reason(inst.uuid, snapshot.recent_moves,
                                       snapshot.now, p)
        if reason:
            not_moved[inst.uuid] = reason
            continue
        costs[inst.uuid] = alone(inst)
        if not costs[inst.uuid].completes:
            not_moved[inst.uuid] = 'its live migration %s' % '; '.join(
                costs.pop(inst.uuid).notes)
    excluded = dict(not_moved)
    on_host = collections.defaultdict(list)
    for inst in snapshot.instances:
        if inst.host in hot_names:
            on_host[inst.host].append(inst)
    placed = {}
    selections = []
    for _ in range(MAX_ROUNDS):
        gated = {}
        selections = _select_all(hot_hosts, on_host, profiles, p, demand,
                                 costs, excluded, snapshot, gated)
        chosen = [c.uuid for s in selections for c in s.chosen]
        placed, unplaced = place.choose_destinations(
            chosen, snapshot, profiles, p, demand, groups_of)
        if not unplaced:
            break
        for uuid, reason in unplaced.items():
            LOG.info('instance %s cannot move: %s', uuid, reason)
            excluded[uuid] = reason
            not_moved[uuid] = reason
    for host, verdict in sorted(gated.items()):
        for inst in on_host[host]:
            if inst.uuid not in not_moved:
                not_moved[inst.uuid] = 'not worth it: ' + verdict.why
    insts = snapshot.instance_by_uuid
    moves = [sequence.Move(u, d.source, d.host, profiles[u].cls,
                           costs[u].time_s, insts[u].resources)
             for u, d in sorted(placed.items())]
    key = schedule_mod.link_priority(snapshot, moves, profiles, p)
    ordering = sequence.order_moves(snapshot, moves, groups_of,
                                    safe_order=list(placed), key=key)
    not_moved.update(ordering.dropped)
    slots = schedule_mod.schedule(ordering, snapshot, profiles, p)
    why_vm = _selection_reasons(selections, hot_hosts, p)
    planned = []
    for step, move in enumerate(ordering.order, 1):
        slot = slots[move.uuid]
        reason = 'why VM: %s. why host: %s. why now: %s' % (
            why_vm[move.uuid], placed[move.uuid].why,
            _position_reason(move, ordering, slot, key))
        if slot.cost.notes:
            reason += '. cost: ' + '; '.join(slot.cost.notes)
        planned.append(plan_mod.PlannedMove(
            step, move.uuid, insts[move.uuid].name, move.cls, move.source,
            move.dest, slot.parents, slot.lane, slot.start_s, slot.end_s,
            slot.cost.downtime_s, slot.cost.sent_mib, slot.cost.converged,
            reason))
    placement = snapshot.placement()
    for m in planned:
        placement[m.uuid] = m.dest
    loads_after = overload.host_loads(snapshot, p, placement, demand)
    still = tuple(sorted(h for h, load in loads_after.items()
                         if overload.over_dims(load, p)))
    result = plan_mod.Plan(tuple(planned), profiles, tuple(hot_hosts),
                           not_moved, loads_before, loads_after, still,
                           len(snapshot.instances))
    return checks.verify(snapshot, result, p)


def _selection_reasons(selections, hot_hosts, p):
    over = {h.name: '/'.join(sorted(h.excess)) for h in hot_hosts}
    reasons = {}
    for sel in selections:
        for c in sel.chosen:
            reasons[c.uuid] = (
                'relieves %s on %s at least cost (%.1f s x class weight '
                '%.1f)%s' % (over[sel.host], sel.host, c.time_s,
                             p.class_weight.get(c.cls, 1.0),
                             '' if sel.relieved else ', partial relief'))
    return reasons
