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
:class:`~watcher_informed.core.params.Params`, made of named stages, each
a function that can be called and tested alone:

1. :func:`classify` -- workload class of every instance (sections 3.1-3.3);
2. :func:`find_hot` -- host loads and the overloaded hosts (section 2);
3. :func:`price` -- which instances on hot hosts may move (``rules``) and
   what each migration costs (pre-copy model);
4. :func:`select_and_place` -- which instances leave each hot host
   (section 3.1) and where each goes (3.2), in rounds: an instance that
   has no feasible destination is set aside with its reason, and every
   host not yet relieved (it lost an instance, or the migration budget
   left it short) selects more instances, for what it must still shed;
   the ledger keeps every earlier placement across rounds.  Hosts still
   short then try room-making chains (:func:`make_rooms`, ``rooms``):
   a set-aside instance goes where up to ``room_making_moves`` instances
   of a cooler host leave first, its move waiting for theirs;
5. :func:`balance` -- only with the audit's ``balance``: further moves
   from the most to the least loaded hosts, each kept when the spread it
   removes is worth its cost (``balance``), in the same ledger after the
   relief moves;
6. :func:`order` -- the paper's order with capacity and anti-affinity
   dependencies (3.3-3.4), every relief move ranked before every balance
   move;
7. :func:`schedule` -- lanes and a predicted timeline;
8. :func:`assemble` -- the plan with a reason per move, the loads after,
   every host left overloaded with its reason and kind
   (:func:`left_reasons`), and every checker run on it
   (``checks.verify``).

A set's cost includes the slowdown its moves suffer from the
memory-dirtying and web-server instances still on the host when they run
(section 3.3), so moving those first is chosen when it is cheaper overall.
A host's moves are kept only if they pass the cost-benefit gate
(``gate``); instances cooling down after recent migrations do not move,
and no move undoes a recent one (``rules.NoPingPong``).
"""

import collections
import dataclasses
import logging
import typing

from watcher_informed.core import balance as balance_mod
from watcher_informed.core import checks
from watcher_informed.core import classify as classify_mod
from watcher_informed.core import constraints
from watcher_informed.core import cost as cost_mod
from watcher_informed.core import gate
from watcher_informed.core import ledger as ledger_mod
from watcher_informed.core import overload
from watcher_informed.core import place
from watcher_informed.core import plan as plan_mod
from watcher_informed.core import rooms as rooms_mod
from watcher_informed.core import rules
from watcher_informed.core import schedule as schedule_mod
from watcher_informed.core import select
from watcher_informed.core import sequence

LOG = logging.getLogger(__name__)

MAX_ROUNDS = 20


# -- 1. classify --------------------------------------------------------
def classify(snapshot, p):
    """``{uuid: Profile}`` of every instance."""
    return classify_mod.classify(snapshot, p)


# -- 2. find hot hosts --------------------------------------------------
def find_hot(snapshot, p, demand):
    """``(loads before, overloaded hosts worst first)``."""
    loads = overload.host_loads(snapshot, p, None, demand)
    return loads, overload.find_overloaded(snapshot, p, None, demand,
                                           loads)


# -- 3. price -----------------------------------------------------------
@dataclasses.dataclass
class Priced:
    """Movable instances of the hot hosts, their costs, the rest's why."""

    on_host: typing.Mapping[str, list]
    costs: typing.Mapping[str, cost_mod.MigrationCost]
    not_moved: typing.Dict[str, str]


def price(snapshot, p, hot_hosts, groups_of):
    """Ask every rule whether each instance on a hot host may move."""
    hot_names = {h.name for h in hot_hosts}
    view = rules.View(snapshot, p, None, groups_of)
    on_host = collections.defaultdict(list)
    costs, not_moved = {}, {}
    alone = schedule_mod.standalone(snapshot, p)
    for inst in snapshot.instances:
        if inst.host not in hot_names:
            continue
        on_host[inst.host].append(inst)
        reason = rules.movable_reason(view, inst)
        if reason:
            not_moved[inst.uuid] = reason
            continue
        costs[inst.uuid] = alone(inst)
        if not costs[inst.uuid].completes:
            # Nova would abort it: the instance would not move
            not_moved[inst.uuid] = 'its live migration %s' % '; '.join(
                costs.pop(inst.uuid).notes)
    return Priced(on_host, costs, not_moved)


# -- 4. select and place ------------------------------------------------
def _class_of(profiles):
    """``uuid -> workload class``.

    Read from the classification's arrays when it has them: no
    per-instance Profile is built for every candidate.
    """
    of = getattr(profiles, 'class_of', None)
    return of if of is not None else (lambda uuid: profiles[uuid].cls)


def _candidates(hot, priced, profiles, p, demand, excluded):
    out = []
    class_of = _class_of(profiles)
    for inst in priced.on_host[hot.name]:
        if inst.uuid in excluded or inst.uuid not in priced.costs:
            continue
        cls = class_of(inst.uuid)
        c = priced.costs[inst.uuid]
        out.append(select.candidate(
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
        # the move order's key reads the class, time and uuid, which a
        # candidate has (no Move built per candidate and set)
        for c in sorted(chosen, key=sequence.priority):
            remaining[c.cls] -= 1
            present = {k for k, n in remaining.items() if n > 0}
            factor, _ = cost_mod.interference_factors(present, (), p)
            total += c.cost * factor
        return total
    return cost


def _gate(sel, hot, snapshot, p, costs, extra=()):
    """Cost-benefit verdict on a host's selection (``gate.judge``).

    ``extra`` are the core-second prices of the room-making moves its
    instances need (``rooms``): they cost tenants, relieve nothing.  With
    ``relief_spread`` the benefit is the overload removed at the host's
    robust load (``HotHost.robust``: planned plus that many spreads), so
    a host at risk is worth relieving too.
    """
    insts = snapshot.instance_by_uuid
    host = snapshot.host_by_name[hot.name]
    prices = [gate.move_cost(insts[c.uuid], snapshot.usage_of(c.uuid),
                             c.cls, costs[c.uuid]) for c in sel.chosen]
    prices += list(extra)
    load = hot.robust if hot.robust is not None else hot.load
    return gate.judge(host, load, [c.demand for c in sel.chosen],
                      prices, p, p.horizon, p.aggressiveness)


@dataclasses.dataclass
class _Choice:
    """One host's selection and the gate's verdict on it."""

    selection: select.Selection
    verdict: typing.Optional[gate.Verdict]


def _select_host(hot, priced, profiles, p, demand, excluded, snapshot,
                 remaining, planned=None):
    cands = _candidates(hot, priced, profiles, p, demand, excluded)
    classes = collections.Counter(
        _class_of(profiles)(i.uuid) for i in priced.on_host[hot.name])
    goal, cands = _goal(hot, cands, hot.excess, (), planned)
    sel = select.Selection(hot.name, (), False)
    if goal.excess:
        sel = select.choose_for_host(goal, cands, remaining,
                                     p.exact_select_limit, p.seed,
                                     _set_cost(classes, p))
    verdict = None
    if sel.chosen:
        verdict = _gate(sel, hot, snapshot, p, priced.costs)
        if not verdict.keep:
            LOG.info('not worth moving off %s: %s', hot.name, verdict.why)
            sel = select.Selection(hot.name, (), False)
    return _Choice(sel, verdict)


def select_hosts(hot_hosts, priced, profiles, p, demand, excluded,
                 snapshot, planned=None):
    """Selection per hot host, under the audit's migration budget.

    ``planned``: the planned demands, when ``demand`` is a credit with
    spreads (``relief_spread``, see :func:`_goal`).
    """
    remaining = p.max_migrations
    choices = {}
    for hot in hot_hosts:
        choice = _select_host(hot, priced, profiles, p, demand, excluded,
                              snapshot, remaining, planned)
        remaining -= len(choice.selection.chosen)
        choices[hot.name] = choice
    return choices


@dataclasses.dataclass
class Placed:
    """What selection and placement decided."""

    selections: typing.List[select.Selection]
    destinations: typing.Dict[str, place.Destination]
    gated: typing.Dict[str, gate.Verdict]
    not_moved: typing.Dict[str, str]
    rounds: int
    #: ``{uuid: room-making chain}`` of moves that waited for room.
    chains: typing.Dict[str, rooms_mod.Chain] = dataclasses.field(
        default_factory=dict)

    @property
    def room_moves(self):
        """``{room move uuid: (uuid it makes room for, chain)}``."""
        return {d.uuid: (u, c) for u, c in self.chains.items()
                for d in c.room}

    @property
    def after(self):
        """``{uuid: room moves it waits for}`` (``sequence``)."""
        return {u: c.uuids for u, c in self.chains.items()}


def _goal(hot, cands, rest, placed_here=(), planned=None):
    """``(what to shed, candidates)`` for a host that must shed ``rest``.

    ``rest`` itself, when the candidates together can shed it (or the
    host has no ``floor``: no ``relief_spread``).  Otherwise the robust
    excess is out of reach and moving every instance with some credit
    would only add migrations: the host sheds what it still must at the
    planned load (its ``HotHost.floor``, less the planned load of
    ``placed_here``), every candidate counted at its planned demand
    (``planned``).
    """
    if hot.floor is None or planned is None or \
            select.covers(cands, rest):
        return overload.HotHost(hot.name, hot.load, rest, hot.floor), cands
    low = {}
    for dim, need in hot.floor.items():
        left = need - sum(planned[c.uuid][dim] for c in placed_here)
        if left > 1e-9:
            low[dim] = left
    cands = [dataclasses.replace(c, demand=planned[c.uuid]) for c in cands]
    return overload.HotHost(hot.name, hot.load, low, hot.floor), cands


def _rest(hot, placed_here):
    """What ``hot`` must still shed once ``placed_here`` have left."""
    rest = {}
    for dim, need in hot.excess.items():
        left = need - sum(c.demand[dim] for c in placed_here)
        if left > 1e-9:
            rest[dim] = left
    return rest


def _keep_going(hot, choice, destinations, priced, profiles, p, demand,
                excluded, snapshot, budget, planned=None):
    """More instances off ``hot``, whose choice lost some to placement.

    The instances of its choice that found a destination stay placed;
    the cheapest set of the remaining movable instances that covers what
    the host must still shed is selected, and kept if the whole set (the
    placed ones and the new ones) still passes the cost-benefit gate.
    Returns the host's new :class:`_Choice` and the new instances.
    ``planned`` as in :func:`select_hosts`.
    """
    placed_here = [c for c in choice.selection.chosen
                   if c.uuid in destinations]
    rest = _rest(hot, placed_here)
    new = ()
    if rest:
        skip = dict(excluded)
        skip.update(dict.fromkeys((c.uuid for c in placed_here), 'placed'))
        cands = _candidates(hot, priced, profiles, p, demand, skip)
        classes = collections.Counter(
            _class_of(profiles)(i.uuid) for i in priced.on_host[hot.name])
        goal, cands = _goal(hot, cands, rest, placed_here, planned)
        if goal.excess:
            new = select.choose_for_host(
                goal, cands, budget, p.exact_select_limit, p.seed,
                _set_cost(classes, p)).chosen
    union = tuple(sorted(placed_here + list(new), key=lambda c: c.uuid))
    verdict = choice.verdict
    if new:
        verdict = _gate(select.Selection(hot.name, union, False), hot,
                        snapshot, p, priced.costs)
        if not verdict.keep:
            LOG.info('not worth moving more off %s: %s', hot.name,
                     verdict.why)
            new = ()
            union = tuple(sorted(placed_here, key=lambda c: c.uuid))
            verdict = choice.verdict
    relieved = select.covers(union, hot.excess)
    return _Choice(select.Selection(hot.name, union, relieved),
                   verdict), [c.uuid for c in new]


def _unrelieved(hot, choice, destinations):
    """Whether ``hot`` still has to shed more than its placed choice."""
    if choice.verdict is not None and not choice.verdict.keep:
        return False
    placed_here = [c for c in choice.selection.chosen
                   if c.uuid in destinations]
    return bool(_rest(hot, placed_here))


def select_and_place(snapshot, p, profiles, demand, hot_hosts, priced,
                     groups_of, ledger, credit=None):
    """Select and place; keep going while a host is not relieved.

    Round 1 selects for every hot host and places every choice.  An
    instance with no feasible destination is set aside with its reason;
    the hosts it came from, and every host the migration budget left
    short, are selected again, for what they must still shed, and only
    the new instances are placed -- into the same ledger, which keeps
    every earlier placement.  Rounds stop when every host is relieved,
    nothing more can be selected, the migration budget is spent, or
    after :data:`MAX_ROUNDS`.  Hosts still short then try room-making
    chains for their set-aside instances (:func:`make_rooms`).

    ``credit`` is what a leaving instance sheds from its host's excess
    (default ``demand``; with ``relief_spread``, its demand plus that
    many spreads, see :func:`overload.shed_targets`); destinations are
    always checked with ``demand``.
    """
    credit = demand if credit is None else credit
    excluded = dict(priced.not_moved)
    not_moved = dict(priced.not_moved)
    planned = None if credit is demand else demand
    choices = select_hosts(hot_hosts, priced, profiles, p, credit, excluded,
                           snapshot, planned)
    chosen = [c.uuid for h in hot_hosts
              for c in choices[h.name].selection.chosen]
    destinations, unplaced = place.choose_destinations(
        chosen, snapshot, profiles, p, demand, groups_of, ledger)
    rounds = 1
    insts = snapshot.instance_by_uuid
    while rounds < MAX_ROUNDS:
        for uuid, reason in unplaced.items():
            LOG.info('instance %s cannot move: %s', uuid, reason)
            excluded[uuid] = reason
            not_moved[uuid] = reason
        budget = p.max_migrations - len(destinations)
        # hosts that lost an instance to placement, and hosts the budget
        # left short that may now have some of it back
        todo = {insts[u].host for u in unplaced}
        if budget > 0:
            todo |= {h.name for h in hot_hosts
                     if _unrelieved(h, choices[h.name], destinations)}
        if not todo:
            break
        more = []
        for hot in hot_hosts:
            if hot.name not in todo or budget <= 0:
                continue
            choices[hot.name], new = _keep_going(
                hot, choices[hot.name], destinations, priced, profiles, p,
                credit, excluded, snapshot, budget, planned)
            budget -= len(new)
            more += new
        unplaced = {}
        if not more:
            break
        rounds += 1
        placed, unplaced = place.choose_destinations(
            more, snapshot, profiles, p, demand, groups_of, ledger)
        destinations.update(placed)
    for uuid, reason in unplaced.items():
        excluded[uuid] = reason
        not_moved[uuid] = reason
    chains = make_rooms(snapshot, p, profiles, demand, hot_hosts, priced,
                        groups_of, ledger, choices, destinations, excluded,
                        credit)
    for uuid in chains:
        not_moved.pop(uuid, None)
    for hot in hot_hosts:
        sel = choices[hot.name].selection
        if any(c.uuid not in destinations for c in sel.chosen):
            kept = tuple(c for c in sel.chosen if c.uuid in destinations)
            choices[hot.name] = dataclasses.replace(
                choices[hot.name], selection=select.Selection(
                    hot.name, kept, select.covers(kept, hot.excess)))
    # a host only at risk that is not worth relieving is no news
    risk = {h.name for h in hot_hosts if h.at_risk}
    gated = {h: c.verdict for h, c in choices.items()
             if c.verdict is not None and not c.verdict.keep and
             h not in risk}
    for host, verdict in sorted(gated.items()):
        for inst in priced.on_host[host]:
            if inst.uuid not in not_moved:
                not_moved[inst.uuid] = 'not worth it: ' + verdict.why
    selections = [choices[h.name].selection for h in hot_hosts]
    return Placed(selections, destinations, gated, not_moved, rounds,
                  chains)


def _room_prices(snapshot, profiles, chains):
    """Core-second prices of the room moves of ``chains``."""
    insts = snapshot.instance_by_uuid
    return [gate.move_cost(insts[u], snapshot.usage_of(u), profiles[u].cls,
                           c) for chain in chains for u, c in
            sorted(chain.costs.items())]


def _prune(hot, chosen, chains, destinations, ledger):
    """Drop picks a new chain made redundant (most expensive first)."""
    kept = list(chosen)
    for c in sorted(chosen, key=lambda c: (-c.cost, c.uuid)):
        if c.uuid in chains:
            continue
        rest = [x for x in kept if x is not c]
        if select.covers(rest, hot.excess):
            kept = rest
            # back where it is: the later decisions only gain room
            ledger.move(c.uuid, hot.name)
            del destinations[c.uuid]
    return kept


def make_rooms(snapshot, p, profiles, demand, hot_hosts, priced, groups_of,
               ledger, choices, destinations, excluded, credit=None):
    """Room-making chains for the hosts still short (``rooms``).

    For each host still short after the rounds (worst first), its
    set-aside instances that found no destination are tried cheapest
    first: a chain is kept when the host's moves, priced with the room
    moves, still pass the cost-benefit gate, and within the migration
    budget.  Picks the new move makes redundant are dropped.  Updates
    ``choices``, ``destinations`` (room moves first) and ``excluded``;
    returns ``{uuid: Chain}``.  ``credit`` as in :func:`select_and_place`.
    """
    credit = demand if credit is None else credit
    chains = {}
    budget = p.max_migrations - len(destinations)
    if budget < 2 or p.room_making_moves <= 0 or not any(
            _unrelieved(h, choices[h.name], destinations)
            for h in hot_hosts):
        return chains
    ctx = rooms_mod.Context(snapshot, profiles, p, demand, groups_of,
                            ledger, schedule_mod.standalone(snapshot, p),
                            {h.name for h in hot_hosts})
    for hot in hot_hosts:
        choice = choices[hot.name]
        if not _unrelieved(hot, choice, destinations):
            continue
        chosen = [c for c in choice.selection.chosen
                  if c.uuid in destinations]
        mine = {}
        waiting = [c for c in _candidates(hot, priced, profiles, p, credit,
                                          {})
                   if excluded.get(c.uuid, '').startswith('no destination')]
        for cand in sorted(waiting, key=lambda c: (c.cost, c.uuid)):
            rest = _rest(hot, chosen)
            if not rest or budget < 2:
                break
            if not any(cand.demand[d] > 1e-9 for d in rest):
                continue
            mark = ledger.mark()
            chain = rooms_mod.make_room(
                ctx, cand.uuid, set(destinations),
                min(p.room_making_moves, budget - 1))
            if chain is None:
                continue
            union = chosen + [cand]
            verdict = _gate(
                select.Selection(hot.name, tuple(union), False), hot,
                snapshot, p, priced.costs,
                _room_prices(snapshot, profiles,
                             list(mine.values()) + [chain]))
            if not verdict.keep:
                LOG.info('no room made for %s: %s', cand.uuid, verdict.why)
                ledger.rollback(mark)
                continue
            LOG.info('room made for %s on %s by moving %s', cand.uuid,
                     chain.dest.host, ', '.join(chain.uuids))
            for d in chain.room:
                destinations[d.uuid] = d
            destinations[cand.uuid] = dataclasses.replace(
                chain.dest, why='%s; after %s leave(s) it to make room'
                % (chain.dest.why, ', '.join(chain.uuids)))
            mine[cand.uuid] = chain
            excluded.pop(cand.uuid, None)
            before = len(destinations)
            chosen = _prune(hot, union, mine, destinations, ledger)
            budget -= 1 + len(chain.room) - (before - len(destinations))
            sel = select.Selection(
                hot.name, tuple(sorted(chosen, key=lambda c: c.uuid)),
                select.covers(chosen, hot.excess))
            choices[hot.name] = _Choice(sel, _gate(
                sel, hot, snapshot, p, priced.costs,
                _room_prices(snapshot, profiles, mine.values())))
        chains.update(mine)
    return chains


# -- 5. balance (opt-in) -----------------------------------------------
def balance(snapshot, p, profiles, placed, groups_of, ledger):
    """Balance moves after relief (``balance``), in the working ledger.

    ``ledger`` holds the relief moves; instances relief moved or set
    aside do not move again, and the balance shares ``max_migrations``.
    """
    skip = dict(placed.not_moved)
    skip.update(dict.fromkeys(placed.destinations, 'relief'))
    return balance_mod.balance(
        snapshot, p, profiles, ledger, groups_of, skip,
        p.max_migrations - len(placed.destinations),
        {d.source for d in placed.destinations.values()})


def with_balance(placed, priced, balanced):
    """``placed`` and ``priced`` with the balance moves added."""
    destinations = dict(placed.destinations)
    costs = dict(priced.costs)
    for m in balanced.moves:
        destinations[m.uuid] = place.Destination(m.uuid, m.source, m.dest,
                                                 0.0, m.why_host)
        costs[m.uuid] = m.migration
    return (dataclasses.replace(placed, destinations=destinations),
            dataclasses.replace(priced, costs=costs))


class _ReliefFirst:
    """An order key ranking every relief move before the balance moves."""

    def __init__(self, key, later):
        self.key = key
        self.later = frozenset(later)

    def __call__(self, move):
        return (move.uuid in self.later,) + tuple(self.key(move))

    def why(self, move):
        why = self.key.why(move)
        if move.uuid in self.later:
            why = 'after the relief moves; ' + why
        return why


# -- 6. order -----------------------------------------------------------
def order(snapshot, profiles, priced, placed, groups_of, ledger=None,
          p=None, later=()):
    """The paper's order with its dependencies (``sequence``).

    ``ledger`` is the cluster state before any move; the moves of
    ``later`` (balance moves) rank after every other move.
    """
    insts = snapshot.instance_by_uuid
    costs = dict(priced.costs)
    for chain in placed.chains.values():
        costs.update(chain.costs)
    class_of = _class_of(profiles)
    moves = [sequence.Move(u, d.source, d.host, class_of(u),
                           costs[u].time_s, insts[u].resources)
             for u, d in sorted(placed.destinations.items())]
    # the order follows from the predicted effect of each move on the
    # others (schedule.LinkPriority: link, section 3.3 interference)
    key = schedule_mod.link_priority(snapshot, moves, profiles, p)
    if later:
        key = _ReliefFirst(key, later)
    bounds = sequence.target_bounds(snapshot, p, moves) \
        if p is not None else None
    return sequence.order_moves(snapshot, moves, groups_of,
                                safe_order=list(placed.destinations),
                                ledger=ledger, key=key,
                                after=placed.after, bounds=bounds), key


# -- 7. schedule --------------------------------------------------------
def schedule(snapshot, profiles, p, ordering):
    """Lanes and predicted timeline (``schedule``)."""
    return schedule_mod.schedule(ordering, snapshot, profiles, p)


# -- 8. assemble --------------------------------------------------------
def _position_reason(move, ordering, slot, key):
    why = key.why(move)
    waits = ordering.deps[move.uuid]
    if waits:
        why += '; waits for %s' % ', '.join(waits)
    if slot.slowed_by:
        why += '; slowed by %s' % ', '.join(slot.slowed_by)
    return why


def _selection_reasons(selections, hot_hosts, p, placed=None):
    over = {h.name: '/'.join(sorted(h.excess)) +
            (' at risk' if h.at_risk else '') for h in hot_hosts}
    reasons = {}
    for uuid, (waiting, chain) in (placed.room_moves.items()
                                   if placed is not None else ()):
        reasons[uuid] = ('makes room on %s for %s, which relieves %s'
                         % (chain.dest.host, waiting, chain.dest.source))
    for sel in selections:
        for c in sel.chosen:
            reasons[c.uuid] = (
                'relieves %s on %s at least cost (%.1f s x class weight '
                '%.1f)%s' % (over[sel.host], sel.host, c.time_s,
                             p.class_weight.get(c.cls, 1.0),
                             '' if sel.relieved else ', partial relief'))
    return reasons


def _short(reason):
    """The kind of a not-moved reason (before its details)."""
    return reason.split(':', 1)[0].split(' (', 1)[0]


def left_reasons(still, hot_hosts, priced, placed, not_moved, moves, p):
    """``({host: why}, {host: kind})`` for every host still overloaded.

    Never a silent empty plan: the cost-benefit gate, the migration cap,
    instances that may not move (a rule) or found no destination are
    named, with how many instances each reason held back.  The kind
    (``plan.LEFT_KINDS``) is the first that applies: gate, cap, no
    destination, rule, other.
    """
    hot = {h.name for h in hot_hosts}
    out, kinds = {}, {}
    for host in still:
        if host not in hot:
            out[host] = 'was not overloaded before the plan'
            kinds[host] = 'other'
            continue
        if host in placed.gated:
            out[host] = 'not worth it: ' + placed.gated[host].why
            kinds[host] = 'not_worth_it'
            continue
        held = collections.Counter(
            _short(not_moved[i.uuid]) for i in priced.on_host[host]
            if i.uuid in not_moved)
        parts = ['%d %s' % (n, why) for why, n in sorted(held.items())]
        if moves >= p.max_migrations:
            parts.insert(0, 'max_migrations (%d) reached'
                         % p.max_migrations)
            kinds[host] = 'max_migrations'
        elif any(why.startswith(('no destination', 'dropped'))
                 for why in held):
            kinds[host] = 'no_destination'
        elif held:
            kinds[host] = 'rule'
        else:
            kinds[host] = 'other'
        out[host] = 'partial relief: ' + ('; '.join(parts) or
                                          'no set of movable instances '
                                          'brings it under its target')
    return out, kinds


def assemble(snapshot, p, profiles, demand, hot_hosts, loads_before,
             placed, ordering, slots, ledger=None, priced=None, key=None,
             balanced=None):
    """The :class:`~watcher_informed.core.plan.Plan`, verified."""
    not_moved = dict(placed.not_moved)
    not_moved.update(ordering.dropped)
    why_vm = _selection_reasons(placed.selections, hot_hosts, p, placed)
    if balanced is not None:
        why_vm.update((m.uuid, m.why) for m in balanced.moves)
    insts = snapshot.instance_by_uuid
    planned = []
    for step, move in enumerate(ordering.order, 1):
        slot = slots[move.uuid]
        reason = 'why VM: %s. why host: %s. why now: %s' % (
            why_vm[move.uuid], placed.destinations[move.uuid].why,
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
    left, kinds = left_reasons(
        still, hot_hosts, priced, placed, not_moved, len(planned), p) \
        if priced is not None else ({}, {})
    # hosts only at risk (``relief_spread``) were not overloaded
    overloaded = tuple(h for h in hot_hosts if not h.at_risk)
    result = plan_mod.Plan(tuple(planned), profiles, overloaded,
                           not_moved, loads_before, loads_after, still,
                           len(snapshot.instances), left, kinds)
    if balanced is not None:
        result = dataclasses.replace(result, balance=_report(
            result, balanced, ordering, p))
    return checks.verify(snapshot, result, p, ledger)


def _report(result, balanced, ordering, p):
    """The balance part of the plan's efficacy (``plan.BalanceReport``)."""
    kept = {m.uuid for m in ordering.order}
    moves = tuple(m for m in balanced.moves if m.uuid in kept)
    return plan_mod.BalanceReport(
        spread_before=balance_mod.spread(result.loads_before, p),
        spread_after_relief=balanced.spread_start,
        spread_after=balance_mod.spread(result.loads_after, p),
        moves=tuple(m.uuid for m in moves),
        tenant_cost=sum(m.cost for m in moves),
        stopped=balanced.stopped)


def build_plan(snapshot, p):
    """Run every stage and return a verified :class:`Plan`."""
    p.validate()
    profiles = classify(snapshot, p)
    demand = overload.demands(snapshot)
    loads_before, hot_hosts = find_hot(snapshot, p, demand)
    credit = demand
    if p.relief_spread > 0:
        # relieved robustly: what stays counts at more spreads
        hot_hosts = overload.shed_targets(snapshot, p, hot_hosts, demand,
                                          p.relief_spread, loads_before)
        credit = overload.with_spreads(snapshot, demand, p.relief_spread)
    groups_of = constraints.groups_by_member(snapshot)
    priced = price(snapshot, p, hot_hosts, groups_of)
    ledger = ledger_mod.Ledger(snapshot, p, demand, profiles)
    placed = select_and_place(snapshot, p, profiles, demand, hot_hosts,
                              priced, groups_of, ledger, credit)
    balanced = None
    if p.balance:
        balanced = balance(snapshot, p, profiles, placed, groups_of, ledger)
    # back to the state before any move, exactly (the ledger's undo)
    ledger.rollback(0)
    later = ()
    if balanced is not None:
        placed, priced = with_balance(placed, priced, balanced)
        later = [m.uuid for m in balanced.moves]
    ordering, key = order(snapshot, profiles, priced, placed, groups_of,
                          ledger, p, later)
    slots = schedule(snapshot, profiles, p, ordering)
    # the predictions are kept for planning only: not for as long as the
    # snapshot (the plan's moves keep their own)
    schedule_mod.forget_costs(snapshot)
    return assemble(snapshot, p, profiles, demand, hot_hosts, loads_before,
                    placed, ordering, slots, ledger, priced, key, balanced)
