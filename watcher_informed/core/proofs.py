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

"""Exact reasoning over every state a plan's DAG can reach.

Contract: pure algorithms the plan checker (``rules``' ``check`` methods)
uses; none of them looks at how the search decided.  An execution of a
plan runs a move once all its parents completed; an instance counts on its
source until its move completes, while the destination's resources are
claimed from its start.  Reasoning is exact, not sampled:

* capacity (:func:`worst_usage`) -- the worst state of host H in one
  dimension, once some move into H has started, is the maximum-weight
  *ancestor-closed* set of moves containing that move, weighting a move
  into H +size and a move out of H -size (it only frees room once
  completed, i.e. once it is an ancestor of something started).  That is
  a max-closure problem, solved by a min cut (a host that starts over
  capacity may shed load, never receive while still over);
* anti-affinity (:func:`can_share`) -- two mates can only be seen "one
  moved, the other not" unless the DAG orders them the other way, so each
  pair is checked in the four (done, not done) combinations the DAG
  permits;
* concurrency (:func:`max_antichain`) -- the largest number of moves that
  can run at once is the largest antichain of moves under the ancestor
  order (Dilworth), computed by bipartite matching.
"""

import collections

from watcher_informed.core import constraints
from watcher_informed.core import snapshot as snap


class Facts:
    """Derived facts shared by the checkers (computed once)."""

    def __init__(self, snapshot, plan, ledger=None):
        """``ledger``: the cluster state before the plan, read for the
        allocation of each host (default: summed from the snapshot)."""
        self.insts = snapshot.instance_by_uuid
        self.hosts = snapshot.host_by_name
        self.groups_of = constraints.groups_by_member(snapshot)
        self.moves = {m.uuid: m for m in plan.moves}
        self.ancestors = ancestors(plan.moves)
        # moves of unknown instances are check_moves_once's to report
        self.incoming = collections.defaultdict(list)
        for m in plan.moves:
            if m.uuid in self.insts:
                self.incoming[m.dest].append(m)
        if ledger is not None:
            # Ledger.allocated of every host, read at once
            used = ledger.alloc.tolist()
            self.used = {n: snap.Resources(*used[k])
                         for k, n in enumerate(ledger.names)}
            return
        self.used = {h.name: snap.Resources() for h in snapshot.hosts}
        for inst in snapshot.instances:
            if inst.host in self.used:
                self.used[inst.host] += inst.resources


def ancestors(moves):
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


def max_closure(weights, parents):
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


def worst_usage(facts, host):
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
    worst = worst_state(facts, host, used.as_tuple(),
                        lambda u: facts.insts[u].resources.as_tuple())
    return snap.Resources(*worst)


def worst_state(facts, host, before, size):
    """Worst reachable value of ``host``, per dimension, once a move into
    it has started (``None`` when nothing moves into it).

    ``before`` is the host's value before the plan (a tuple), ``size(uuid)``
    what an instance adds where it is (a tuple of the same length): a
    move into ``host`` counts from its start, a move out of it only once
    it has completed (an ancestor of something started).  Exact: the
    maximum-weight ancestor-closed set containing a move into ``host``.
    """
    incoming = facts.incoming.get(host, [])
    if not incoming:
        return None
    nodes = set(m.uuid for m in incoming)
    for m in incoming:
        nodes |= {u for u in facts.ancestors[m.uuid] if u in facts.insts}
    parents = {u: facts.moves[u].parents for u in nodes}
    sizes = {u: size(u) for u in nodes}
    worst = []
    for dim in range(len(before)):
        weights = {}
        for u in nodes:
            m = facts.moves[u]
            weights[u] = (sizes[u][dim] if m.dest == host else 0.0) - \
                (sizes[u][dim] if m.source == host else 0.0)
        big = 1.0 + sum(abs(w) for w in weights.values())
        best = None
        for m in incoming:
            forced = dict(weights)
            forced[m.uuid] += big
            value = max_closure(forced, parents) - big
            best = value if best is None else max(best, value)
        worst.append(before[dim] + best)
    return tuple(worst)


def _positions(uuid, facts):
    move = facts.moves.get(uuid)
    if move is None:
        return facts.insts[uuid].host, facts.insts[uuid].host
    return move.source, move.dest


def can_share(facts, a, b):
    """Whether anti-affinity mates ``a`` and ``b`` can newly share a host.

    ``False`` when neither moves or they already share one.
    """
    if a not in facts.moves and b not in facts.moves:
        return False
    if facts.insts[a].host == facts.insts[b].host:
        return False
    a0, a1 = _positions(a, facts)
    b0, b1 = _positions(b, facts)
    states = [(a0, b0), (a1, b1)]
    if a not in facts.ancestors.get(b, ()):
        states.append((a0, b1))
    if b not in facts.ancestors.get(a, ()):
        states.append((a1, b0))
    return any(x == y for x, y in states)


def max_antichain(uuids, ancestors):
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
