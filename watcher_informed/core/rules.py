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

"""Each hard rule, one object: what the search asks, what the checker proves.

Contract: a :class:`Rule` states one hard rule of the plan (BtrPlace style:
one object per constraint, its checker beside the search).  The search
asks it :meth:`Rule.movable` (may this instance move at all?) and
:meth:`Rule.admits` (may it go to this host now, in the working state of
the ledger?), each returning ``None`` or the reason for a refusal; the plan
checker (``checks.verify``) calls :meth:`Rule.check` on every emitted plan,
which returns the list of violations (empty when the rule holds).
:data:`RULES` registers every rule once; the search asks them in that
order, so the first refusal is the one reported.

A checker never trusts the search: it reasons from the snapshot and the
plan's DAG about every state reachable by executing the DAG in any order
its edges allow (``proofs``).  Rules:

* :class:`MovesOnce`, :class:`Dag` -- the plan is well-formed;
* :class:`Movable` -- only active, unlocked, non-excluded instances on an
  up compute service move; no member of a multi-member hard affinity
  group moves (moving one alone breaks it);
* :class:`Destination` -- up, enabled, not the source, inside the pinned
  availability zone;
* :class:`NoPingPong` -- resting instances do not move; no move undoes a
  recent one (``cooldown``);
* :class:`Capacity` -- no host exceeds its allocatable capacity in any
  reachable state;
* :class:`AntiAffinity` -- hard anti-affinity mates never newly share a
  host in any reachable state;
* :class:`TargetLoad` -- no destination is pushed above its target load
  (threshold - margin) in any dimension;
* :class:`RoomFirst` -- a host that was not overloaded stays at or below
  its target in every reachable state: a move into it waits for the
  moves that make its room (``rooms``);
* :class:`Limits` -- migration count and per-host / global concurrency;
* :class:`Devices`, :class:`Traits`, :class:`Aggregates`,
  :class:`DedicatedCpus` -- what Nova's scheduler would refuse
  (``scheduling``): instances with PCI, SR-IOV or NUMA layouts the API
  cannot verify stay; a destination has the flavor's required traits and
  none of its forbidden ones, is not in an aggregate isolated to traits
  or tenants the instance lacks, matches its aggregate extra specs and
  has free PCPUs for its dedicated vCPUs in every reachable state.
"""

import collections

from watcher_informed.core import constraints
from watcher_informed.core import cooldown
from watcher_informed.core import kinds
from watcher_informed.core import overload
from watcher_informed.core import proofs
from watcher_informed.core import scheduling


class View:
    """What a search-side question may look at: the working state.

    ``ledger`` is the working :class:`~watcher_informed.core.ledger.
    Ledger`; the rest are the audit's fixed facts.
    """

    def __init__(self, snapshot, p, ledger=None, groups_of=None):
        self.snapshot = snapshot
        self.p = p
        self.ledger = ledger
        self.groups_of = groups_of if groups_of is not None else \
            constraints.groups_by_member(snapshot)
        self.present = snapshot.memo.get('present')
        if self.present is None:
            self.present = snapshot.memo['present'] = frozenset(
                snapshot.uuids)
        self.targets = p.targets()
        self.scheduling = snapshot.scheduling
        #: the rules that may refuse a destination in this audit
        #: (``Rule.applies``), all and those no host screen asked
        self.admitting = tuple(r for r in _ADMITTING if r.applies(self))
        self.unscreened = tuple(r for r in self.admitting
                                if not r.screened)


def _must_not_move(moves, reason_of):
    """``'<uuid> must not move: <reason>'`` for each move of ``moves``
    that ``reason_of(move)`` gives a reason (a checker's answer)."""
    out = []
    for m in moves:
        reason = reason_of(m)
        if reason:
            out.append('%s must not move: %s' % (m.uuid, reason))
    return out


def _refused(m, what, reason):
    """``['<uuid> -> <dest>: <what> <reason>']``, or ``[]`` without a
    reason."""
    return ['%s -> %s: %s %s' % (m.uuid, m.dest, what, reason)] \
        if reason else []


class Rule:
    """A hard rule; subclasses override what applies to them."""

    #: short name used in violations and docs.
    name = ''
    #: whether :meth:`admits` is a numeric test that placement's host
    #: screen (``place._Coolest.take``) makes for many hosts at once
    #: with the same arithmetic: hosts it let through are not asked again.
    screened = False

    def movable(self, view, inst):
        """Why ``inst`` may not move at all, or ``None``."""
        return None

    def admits(self, view, inst, source, host):
        """Why ``host`` may not receive ``inst`` now, or ``None``."""
        return None

    def applies(self, view):
        """Whether :meth:`admits` can refuse anything in this audit.

        ``False`` only when it answers ``None`` to every question of
        ``view`` (e.g. no anti-affinity group): it is then not asked.
        """
        return True

    def check(self, snapshot, plan, p, facts):
        """Violations of this rule by ``plan`` (empty: it holds)."""
        return []


class MovesOnce(Rule):
    name = 'moves-once'

    def check(self, snapshot, plan, p, facts):
        """Each instance moves at most once, from where it is."""
        out = []
        seen = collections.Counter(m.uuid for m in plan.moves)
        out += ['%s moves %d times' % (u, n) for u, n in seen.items()
                if n > 1]
        for m in plan.moves:
            inst = facts.insts.get(m.uuid)
            if inst is None:
                out.append('%s is not in the snapshot' % m.uuid)
            elif inst.host != m.source:
                out.append('%s source %s but it is on %s'
                           % (m.uuid, m.source, inst.host))
        return out


class Dag(Rule):
    name = 'dag'

    def check(self, snapshot, plan, p, facts):
        """Parents are earlier moves of the plan (so the DAG is acyclic)."""
        out = []
        step = {m.uuid: i for i, m in enumerate(plan.moves)}
        for i, m in enumerate(plan.moves):
            for parent in m.parents:
                if parent not in step:
                    out.append('%s has unknown parent %s'
                               % (m.uuid, parent))
                elif step[parent] >= i:
                    out.append('%s has parent %s that is not earlier'
                               % (m.uuid, parent))
        return out


class Movable(Rule):
    name = 'movable'

    def movable(self, view, inst):
        return constraints.immovable_reason(
            inst, view.groups_of, view.present,
            view.snapshot.host_by_name.get(inst.host))

    def check(self, snapshot, plan, p, facts):
        """Only active, unlocked, non-excluded, not hard-affine instances."""
        present = set(facts.insts)

        def reason(m):
            inst = facts.insts.get(m.uuid)
            return inst is not None and constraints.immovable_reason(
                inst, facts.groups_of, present, facts.hosts.get(inst.host))
        return _must_not_move(plan.moves, reason)


class NoPingPong(Rule):
    name = 'no-ping-pong'

    def movable(self, view, inst):
        return cooldown.resting_reason(inst.uuid, view.snapshot.recent_moves,
                                       view.snapshot.now, view.p)

    def admits(self, view, inst, source, host):
        return cooldown.undo_reason(inst.uuid, host.name,
                                    view.snapshot.recent_moves,
                                    view.snapshot.now, view.p)

    def applies(self, view):
        return bool(view.snapshot.recent_moves)

    def check(self, snapshot, plan, p, facts):
        """No resting instance moves; no move undoes a recent one."""
        return _must_not_move(plan.moves, lambda m: (
            cooldown.resting_reason(m.uuid, snapshot.recent_moves,
                                    snapshot.now, p) or
            cooldown.undo_reason(m.uuid, m.dest, snapshot.recent_moves,
                                 snapshot.now, p)))


class Destination(Rule):
    name = 'destination'

    def admits(self, view, inst, source, host):
        return constraints.destination_reason(inst, source, host)

    def check(self, snapshot, plan, p, facts):
        """Destinations exist, are up, enabled, not the source, in the AZ."""
        out = []
        for m in plan.moves:
            host = facts.hosts.get(m.dest)
            inst = facts.insts.get(m.uuid)
            if host is None:
                out.append('%s goes to unknown host %s' % (m.uuid, m.dest))
                continue
            if inst is None:
                continue
            out += _refused(m, 'destination',
                            constraints.destination_reason(
                                inst, m.source, host))
        return out


class Capacity(Rule):
    name = 'capacity'
    screened = True

    def admits(self, view, inst, source, host):
        if not view.ledger.fits(inst.uuid, host.name):
            return 'not enough allocatable vCPU/RAM/disk'
        return None

    def check(self, snapshot, plan, p, facts):
        """No host exceeds its allocatable capacity in any reachable state."""
        out = []
        for host in sorted({m.dest for m in plan.moves}):
            if host not in facts.hosts:
                continue
            worst = proofs.worst_usage(facts, host)
            if worst is None:
                continue
            over = worst.over(facts.hosts[host].capacity)
            if over:
                out.append('%s can be overcommitted (%s): worst %s > %s'
                           % (host, ', '.join(over), worst.as_tuple(),
                              facts.hosts[host].capacity.as_tuple()))
        return out


class AntiAffinity(Rule):
    name = 'anti-affinity'

    def admits(self, view, inst, source, host):
        mates = constraints.anti_affinity_mates(inst.uuid, view.groups_of)
        for mate in sorted(mates):
            if view.ledger.where.get(mate) == host.name:
                return 'anti-affinity with %s' % mate
        return None

    def applies(self, view):
        return any(g.policy == 'anti-affinity'
                   for groups in view.groups_of.values() for g in groups)

    def check(self, snapshot, plan, p, facts):
        """Hard anti-affinity mates never newly share a host."""
        out = []
        for group in snapshot.server_groups:
            if group.policy != 'anti-affinity':
                continue
            members = sorted(m for m in group.members if m in facts.insts)
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    if proofs.can_share(facts, a, b):
                        out.append('anti-affinity group %s: %s and %s can '
                                   'share a host' % (group.name or
                                                     group.uuid, a, b))
        return out


class Affinity(Rule):
    name = 'affinity'

    def check(self, snapshot, plan, p, facts):
        """No member of a multi-member hard affinity group moves."""
        out = []
        for group in snapshot.server_groups:
            if group.policy != 'affinity':
                continue
            present = [m for m in group.members if m in facts.insts]
            if len(present) < 2:
                continue
            out += ['%s moves away from affinity group %s'
                    % (m, group.name or group.uuid)
                    for m in present if m in facts.moves]
        return out


class TargetLoad(Rule):
    name = 'target-load'
    screened = True

    def admits(self, view, inst, source, host):
        after = view.ledger.load_after(inst.uuid, host.name)
        over = [d for d in kinds.DIMS
                if after[d] > view.targets[d] + 1e-12]
        if over:
            return 'would exceed target load (%s)' % ', '.join(over)
        return None

    def check(self, snapshot, plan, p, facts):
        """Every destination ends at or below its target in every dim."""
        if not plan.moves:
            return []
        placement = snapshot.placement()
        for m in plan.moves:
            # unknown instances and hosts are other rules' to report
            if m.uuid in placement and m.dest in facts.hosts:
                placement[m.uuid] = m.dest
        loads = overload.host_loads(snapshot, p, placement)
        targets = p.targets()
        out = []
        for host in sorted({m.dest for m in plan.moves}):
            if host not in loads:
                continue
            over = [d for d in kinds.DIMS
                    if loads[host][d] > targets[d] + 1e-9]
            if over:
                out.append('%s ends above its target load (%s)'
                           % (host, ', '.join(
                               '%s %.3f > %.3f' % (d, loads[host][d],
                                                   targets[d])
                               for d in over)))
        return out


class RoomFirst(Rule):
    name = 'room-first'

    def check(self, snapshot, plan, p, facts):
        """A host that was not overloaded stays at or below its target in
        every reachable state (a move into it waits for the moves that
        make its room, ``rooms``); in a dimension it starts above its
        target (yet under its threshold), at or below where it starts."""
        both = sorted({m.dest for m in plan.moves if m.dest in facts.hosts}
                      & {m.source for m in plan.moves})
        if not both:
            return []   # only receiving: the final state is the worst
        demand = overload.demands(snapshot)
        loads = overload.host_loads(snapshot, p, None, demand)
        targets = p.targets()
        out = []
        for host in both:
            if overload.over_dims(loads[host], p):
                continue
            scale = overload.host_scale(facts.hosts[host], p)
            worst = proofs.worst_state(
                facts, host, tuple(loads[host][d] for d in kinds.DIMS),
                lambda u: tuple(demand[u][d] / scale[d]
                                for d in kinds.DIMS))
            bound = {d: max(targets[d], loads[host][d])
                     for d in kinds.DIMS}
            over = ['%s %.3f > %.3f' % (d, w, bound[d])
                    for d, w in zip(kinds.DIMS, worst)
                    if w > bound[d] + 1e-9]
            if over:
                out.append('%s can exceed its target load before the moves '
                           'making its room complete (%s)'
                           % (host, ', '.join(over)))
        return out


class Limits(Rule):
    name = 'limits'

    def check(self, snapshot, plan, p, facts):
        """Migration count and concurrency limits hold in every execution."""
        out = []
        if len(plan.moves) > p.max_migrations:
            out.append('%d migrations > max_migrations %d'
                       % (len(plan.moves), p.max_migrations))
        by_src = collections.defaultdict(list)
        by_dst = collections.defaultdict(list)
        for m in plan.moves:
            by_src[m.source].append(m.uuid)
            by_dst[m.dest].append(m.uuid)
        for label, groups, limit in (
                ('outgoing', by_src, p.max_concurrent_out),
                ('incoming', by_dst, p.max_concurrent_in)):
            for host, uuids in sorted(groups.items()):
                if len(uuids) > limit:
                    width = proofs.max_antichain(uuids, facts.ancestors)
                    if width > limit:
                        out.append('%s: %d %s migrations can run at once '
                                   '(limit %d)' % (host, width, label,
                                                   limit))
        if p.max_parallel and len(plan.moves) > p.max_parallel:
            width = proofs.max_antichain([m.uuid for m in plan.moves],
                                         facts.ancestors)
            if width > p.max_parallel:
                out.append('%d migrations can run at once (max_parallel %d)'
                           % (width, p.max_parallel))
        return out


class _Scheduler(Rule):
    """A rule of Nova's scheduler: asks one predicate per move."""

    def refusal(self, index, inst, host_name, present):
        """Why ``host_name`` refuses ``inst``, or ``None``.

        ``present``: the uuids on the host in the state asked about
        (besides ``inst``).
        """
        raise NotImplementedError

    def applies(self, view):
        return view.scheduling.active

    def admits(self, view, inst, source, host):
        index = view.scheduling
        if not index.active:
            return None
        led = view.ledger
        return self.refusal(index, inst, host.name,
                            led.residents[led.index[host.name]])

    def check(self, snapshot, plan, p, facts):
        index = snapshot.scheduling
        if not index.active:
            return []
        out = []
        for m in plan.moves:
            inst = facts.insts.get(m.uuid)
            if inst is None or m.dest not in index.offers:
                continue    # unknown instances/hosts: other rules'
            # every other move into the host, whatever the order
            present = [o.uuid for o in facts.incoming.get(m.dest, ())
                       if o.uuid != m.uuid]
            out += _refused(m, 'Nova would refuse:',
                            self.refusal(index, inst, m.dest, present))
        return out


class Devices(Rule):
    name = 'devices'

    def movable(self, view, inst):
        index = view.scheduling
        if not index.active:
            return None
        return index.needs(inst).pinned_reason

    def check(self, snapshot, plan, p, facts):
        """No instance with devices or NUMA layouts Nova's API cannot
        verify on a destination (PCI, SR-IOV, huge pages...) moves."""
        index = snapshot.scheduling
        if not index.active:
            return []
        def reason(m):
            inst = facts.insts.get(m.uuid)
            return inst is not None and index.needs(inst).pinned_reason
        return _must_not_move(plan.moves, reason)


class Traits(_Scheduler):
    name = 'traits'

    def refusal(self, index, inst, host_name, present):
        return scheduling.trait_reason(index.needs(inst),
                                       index.offers[host_name])

    def check(self, snapshot, plan, p, facts):
        """Destinations have the required traits, none forbidden, and no
        aggregate isolated to traits the instance does not require."""
        return super().check(snapshot, plan, p, facts)


class Aggregates(_Scheduler):
    name = 'aggregates'

    def refusal(self, index, inst, host_name, present):
        return scheduling.aggregate_reason(
            index.needs(inst), index.offers[host_name], index.tenant_homes)

    def check(self, snapshot, plan, p, facts):
        """Destinations match the aggregate extra specs and the tenant
        isolation of their aggregates."""
        return super().check(snapshot, plan, p, facts)


class DedicatedCpus(_Scheduler):
    name = 'dedicated-cpus'

    def refusal(self, index, inst, host_name, present):
        needs = index.needs(inst)
        if not needs.pcpus:
            return None
        used = index.claimed_with(
            host_name, (u for u in present if u != inst.uuid))
        return scheduling.pcpu_reason(needs, index.offers[host_name], used)

    def check(self, snapshot, plan, p, facts):
        """Destinations have free PCPUs for every dedicated vCPU moved in,
        counting all the plan's moves into them (whatever their order)."""
        return super().check(snapshot, plan, p, facts)


#: every hard rule, once; the search asks them in this order.
RULES = (MovesOnce(), Dag(), Movable(), Devices(), Destination(),
         Traits(), Aggregates(), Capacity(), DedicatedCpus(),
         NoPingPong(), AntiAffinity(), Affinity(), TargetLoad(), RoomFirst(),
         Limits())


#: the rules that can hold an instance where it is, in :data:`RULES` order.
_HOLDING = tuple(r for r in RULES if type(r).movable is not Rule.movable)


def movable_reason(view, inst):
    """The first rule's reason why ``inst`` may not move, or ``None``."""
    for rule in _HOLDING:
        reason = rule.movable(view, inst)
        if reason:
            return reason
    return None


#: the rules that can refuse a destination, in :data:`RULES` order.
_ADMITTING = tuple(r for r in RULES if type(r).admits is not Rule.admits)


def admit_reason(view, inst, source, host, screened=False):
    """The first rule's reason why ``host`` may not receive ``inst``.

    ``screened``: ``host`` passed the numeric screen of the
    :attr:`Rule.screened` rules, which are not asked again.
    """
    for rule in view.unscreened if screened else view.admitting:
        reason = rule.admits(view, inst, source, host)
        if reason:
            return reason
    return None
