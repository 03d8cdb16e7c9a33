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

"""One checker per hard rule, run on every plan before it is emitted.

Contract: each ``check_*`` function takes ``(snapshot, plan, params,
facts)`` and returns a list of violation strings (empty when the rule
holds).  :func:`verify` runs them all and raises :class:`PlanViolation`
listing every violation: a violation is a bug in the search, never an
emitted plan.  Checkers are independent of the search (BtrPlace style)
and reason about **every state reachable by executing the DAG in any
order its edges allow**: a move may start once all its parents have
completed; an instance counts on its source until its move completes,
while the destination's resources are claimed from its start.

Reachable-state reasoning is exact, not sampled:

* capacity -- the worst state of host H in one dimension, once some move
  into H has started, is the maximum-weight *ancestor-closed* set of moves
  containing that move, weighting a move into H +size and a move out of H
  -size (it only frees room once completed, i.e. once it is an ancestor of
  something started).  That is a max-closure problem, solved by a min cut
  (a host that starts over capacity may shed load, never receive while
  still over);
* anti-affinity -- two mates can only be seen "one moved, the other not"
  unless the DAG orders them the other way, so each pair is checked in
  the four (done, not done) combinations the DAG permits;
* concurrency limits -- the largest number of moves that can run at once
  on a host is the largest antichain of its moves under the ancestor
  order (Dilworth), computed by bipartite matching.
"""

import collections

from watcher_informed.core import constraints
from watcher_informed.core import cooldown
from watcher_informed.core import snapshot as snap


class PlanViolation(Exception):
    """A plan broke a hard rule; ``violations`` lists how."""

    def __init__(self, violations):
        super().__init__('plan breaks hard rules: ' + '; '.join(violations))
        self.violations = list(violations)


class Facts:
    """Derived facts shared by the checkers (computed once)."""

    def __init__(self, snapshot, plan):
        self.insts = snapshot.instance_by_uuid
        self.hosts = snapshot.host_by_name
        self.groups_of = constraints.groups_by_member(snapshot)
        self.moves = {m.uuid: m for m in plan.moves}
        self.ancestors = _ancestors(plan.moves)
        # moves of unknown instances are check_moves_once's to report
        self.incoming = collections.defaultdict(list)
        for m in plan.moves:
            if m.uuid in self.insts:
                self.incoming[m.dest].append(m)
        self.used = {h.name: snap.Resources() for h in snapshot.hosts}
        for inst in snapshot.instances:
            if inst.host in self.used:
                self.used[inst.host] += inst.resources


def _ancestors(moves):
    by_uuid = {m.uuid: m for m in moves}
    memo = {}

    def visit(uuid, stack):
        if uuid in memo:
            return memo[uuid]
        if uuid in stack:
            return set()
        stack.add(uuid)
        result = set()
        for parent in by_uuid[uuid].parents:
            if parent in by_uuid:
                result.add(parent)
                result |= visit(parent, stack)
        stack.discard(uuid)
        memo[uuid] = result
        return result

    for m in moves:
        visit(m.uuid, set())
    return memo


def check_moves_once(snapshot, plan, p, facts):
    """Each instance moves at most once, from where it is."""
    out = []
    seen = collections.Counter(m.uuid for m in plan.moves)
    out += ['%s moves %d times' % (u, n) for u, n in seen.items() if n > 1]
    for m in plan.moves:
        inst = facts.insts.get(m.uuid)
        if inst is None:
            out.append('%s is not in the snapshot' % m.uuid)
        elif inst.host != m.source:
            out.append('%s source %s but it is on %s'
                       % (m.uuid, m.source, inst.host))
    return out


def check_movable(snapshot, plan, p, facts):
    """Only active, unlocked, non-excluded, not hard-affine instances."""
    present = set(facts.insts)
    out = []
    for m in plan.moves:
        inst = facts.insts.get(m.uuid)
        if inst is None:
            continue
        reason = constraints.immovable_reason(
            inst, facts.groups_of, present, facts.hosts.get(inst.host))
        if reason:
            out.append('%s must not move: %s' % (m.uuid, reason))
    return out


def check_destinations(snapshot, plan, p, facts):
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
        reason = constraints.destination_reason(inst, m.source, host)
        if reason:
            out.append('%s -> %s: destination %s'
                       % (m.uuid, m.dest, reason))
    return out


def check_dag(snapshot, plan, p, facts):
    """Parents are earlier moves of the plan (so the DAG is acyclic)."""
    out = []
    step = {m.uuid: i for i, m in enumerate(plan.moves)}
    for i, m in enumerate(plan.moves):
        for parent in m.parents:
            if parent not in step:
                out.append('%s has unknown parent %s' % (m.uuid, parent))
            elif step[parent] >= i:
                out.append('%s has parent %s that is not earlier'
                           % (m.uuid, parent))
    return out


def _max_closure(weights, parents):
    """Max weight of an ancestor-closed subset (min-cut, Edmonds-Karp)."""
    src, sink = object(), object()
    cap = collections.defaultdict(lambda: collections.defaultdict(float))
    positive = 0.0
    inf = float('inf')
    for node, w in weights.items():
        if w > 0:
            cap[src][node] += w
            positive += w
        elif w < 0:
            cap[node][sink] += -w
        for parent in parents.get(node, ()):
            if parent in weights:
                cap[node][parent] = inf
    flow = 0.0
    while True:
        prev = {src: None}
        queue = collections.deque([src])
        while queue and sink not in prev:
            u = queue.popleft()
            for v, c in cap[u].items():
                if c > 1e-12 and v not in prev:
                    prev[v] = u
                    queue.append(v)
        if sink not in prev:
            return positive - flow
        path, v = [], sink
        while prev[v] is not None:
            path.append((prev[v], v))
            v = prev[v]
        push = min(cap[u][v] for u, v in path)
        for u, v in path:
            cap[u][v] -= push
            cap[v][u] += push
        flow += push


def worst_usage(snapshot, plan, facts, host):
    """Worst reachable allocation on ``host`` once a move into it started.

    States before any move into ``host`` starts are the initial state (or
    better), which the plan does not cause; a host that starts over
    capacity is therefore only a violation if it receives something while
    still over.  Returns ``None`` when nothing moves into ``host``.
    """
    used = facts.used[host]
    incoming = facts.incoming.get(host, [])
    if not incoming:
        return None
    everything = used
    for m in incoming:
        everything = everything + facts.insts[m.uuid].resources
    if everything.fits_in(facts.hosts[host].capacity):
        return everything   # even with every move in, it fits
    nodes = set(m.uuid for m in incoming)
    for m in incoming:
        nodes |= {u for u in facts.ancestors[m.uuid] if u in facts.insts}
    parents = {u: facts.moves[u].parents for u in nodes}
    worst = []
    for dim in range(3):
        weights = {}
        for u in nodes:
            m = facts.moves[u]
            size = facts.insts[u].resources.as_tuple()[dim]
            weights[u] = (size if m.dest == host else 0.0) - \
                (size if m.source == host else 0.0)
        big = 1.0 + sum(abs(w) for w in weights.values())
        best = None
        for m in incoming:
            forced = dict(weights)
            forced[m.uuid] += big
            value = _max_closure(forced, parents) - big
            best = value if best is None else max(best, value)
        worst.append(used.as_tuple()[dim] + best)
    return snap.Resources(*worst)


def check_capacity(snapshot, plan, p, facts):
    """No host exceeds its allocatable capacity in any reachable state."""
    out = []
    for host in sorted({m.dest for m in plan.moves}):
        if host not in facts.hosts:
            continue
        worst = worst_usage(snapshot, plan, facts, host)
        if worst is None:
            continue
        over = worst.over(facts.hosts[host].capacity)
        if over:
            out.append('%s can be overcommitted (%s): worst %s > %s'
                       % (host, ', '.join(over), worst.as_tuple(),
                          facts.hosts[host].capacity.as_tuple()))
    return out


def _positions(uuid, facts):
    move = facts.moves.get(uuid)
    if move is None:
        return facts.insts[uuid].host, facts.insts[uuid].host
    return move.source, move.dest


def check_anti_affinity(snapshot, plan, p, facts):
    """Hard anti-affinity mates never newly share a host."""
    out = []
    for group in snapshot.server_groups:
        if group.policy != snap.ANTI_AFFINITY:
            continue
        members = sorted(m for m in group.members if m in facts.insts)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if a not in facts.moves and b not in facts.moves:
                    continue
                if facts.insts[a].host == facts.insts[b].host:
                    continue
                a0, a1 = _positions(a, facts)
                b0, b1 = _positions(b, facts)
                states = [(a0, b0), (a1, b1)]
                if a not in facts.ancestors.get(b, ()):
                    states.append((a0, b1))
                if b not in facts.ancestors.get(a, ()):
                    states.append((a1, b0))
                if any(x == y for x, y in states):
                    out.append('anti-affinity group %s: %s and %s can '
                               'share a host' % (group.name or group.uuid,
                                                 a, b))
    return out


def check_affinity(snapshot, plan, p, facts):
    """No member of a multi-member hard affinity group moves."""
    out = []
    for group in snapshot.server_groups:
        if group.policy != snap.AFFINITY:
            continue
        present = [m for m in group.members if m in facts.insts]
        if len(present) < 2:
            continue
        out += ['%s moves away from affinity group %s'
                % (m, group.name or group.uuid)
                for m in present if m in facts.moves]
    return out


def _max_antichain(uuids, ancestors):
    """Largest set of mutually unordered moves (Dilworth via matching)."""
    uuids = sorted(uuids)
    match = {}

    def augment(u, seen):
        for v in uuids:
            if u in ancestors.get(v, ()) and v not in seen:
                seen.add(v)
                if v not in match or augment(match[v], seen):
                    match[v] = u
                    return True
        return False

    matched = sum(1 for u in uuids if augment(u, set()))
    return len(uuids) - matched


def check_limits(snapshot, plan, p, facts):
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
    for label, groups, limit in (('outgoing', by_src, p.max_concurrent_out),
                                 ('incoming', by_dst, p.max_concurrent_in)):
        for host, uuids in sorted(groups.items()):
            if len(uuids) > limit:
                width = _max_antichain(uuids, facts.ancestors)
                if width > limit:
                    out.append('%s: %d %s migrations can run at once '
                               '(limit %d)' % (host, width, label, limit))
    if p.max_parallel and len(plan.moves) > p.max_parallel:
        width = _max_antichain([m.uuid for m in plan.moves],
                               facts.ancestors)
        if width > p.max_parallel:
            out.append('%d migrations can run at once (max_parallel %d)'
                       % (width, p.max_parallel))
    return out


def check_no_ping_pong(snapshot, plan, p, facts):
    """No resting instance moves; no move undoes a recent one."""
    out = []
    for m in plan.moves:
        reason = cooldown.resting_reason(m.uuid, snapshot.recent_moves,
                                         snapshot.now, p) or \
            cooldown.undo_reason(m.uuid, m.dest, snapshot.recent_moves,
                                 snapshot.now, p)
        if reason:
            out.append('%s must not move: %s' % (m.uuid, reason))
    return out


CHECKERS = (check_moves_once, check_movable, check_destinations, check_dag,
            check_capacity, check_anti_affinity, check_affinity,
            check_limits, check_no_ping_pong)


def violations(snapshot, plan, p):
    """Every violation of every hard rule (empty list: the plan is safe)."""
    facts = Facts(snapshot, plan)
    found = []
    for checker in CHECKERS:
        found += checker(snapshot, plan, p, facts)
    return found


def verify(snapshot, plan, p):
    """Raise :class:`PlanViolation` unless ``plan`` keeps every rule."""
    found = violations(snapshot, plan, p)
    if found:
        raise PlanViolation(found)
    return plan
