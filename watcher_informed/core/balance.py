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

"""Balance after relief: flatten the load only where the gain is worth it.

Contract: :func:`balance` takes the working
:class:`~watcher_informed.core.ledger.Ledger` *after* the relief moves
(``pipeline.select_and_place``) and moves further instances in it, one at
a time, from the most to the least loaded hosts; it returns the moves, in
decision order, with their reasons and prices.  It decides on values only
(the caller rolls the ledger back).  The paper's balancing process
(section 2: which VM, where, in what order) applied to a cluster with no
host left overloaded:

* **spread** -- ``S = sum_m w_m x SD_m``: the population standard
  deviation across hosts of each load of the audit's ``metrics`` (CPU,
  RAM, disk I/O, network, as fractions of the host), weighted by its
  ``weights`` -- Watcher's ``workload_stabilization`` weighted deviation,
  with the same parameter names;
* **which VM** (sections 3.1, 3.4) -- instances on the hosts above the
  mean load (``sum_m w_m x load_m``), the most loaded first,
  :data:`SOURCES` hosts at a time, that every hard rule
  lets move (``rules.movable_reason``: active, unlocked, not excluded or
  hard-affine, not resting after a recent migration), that relief did not
  move or set aside, and whose live migration Nova would complete; each
  priced as the gate prices a relief move (``gate.move_cost``: the
  pre-copy model's time x the Table 1 overhead of its class, plus the
  downtime, in the tenant's busy core-seconds), so cheap CPU and disk-I/O
  workloads with small memory are preferred as in the paper;
* **where** (section 3.2) -- any less loaded host every hard rule admits
  in the working state (``rules.admit_reason``: capacity, target load,
  anti-affinity, availability zone, never back to a host it left
  recently); a balance move is optional, so it never makes its instance's
  co-location worse: the destination's interference (the placement's
  class-pair penalty) is at most the source's, the instance has at least
  as many talkers there and no more soft-anti-affinity mates;
* **worth it** -- the move's benefit is the spread it removes, as a share
  of the cloud's cores, held for the audit's ``horizon``
  (``delta_S x cores x horizon``, core-seconds like the gate's); it is
  kept only when ``benefit >= margin x cost`` with the gate's margin of
  ``aggressiveness`` (``gate.MARGINS``: 8, 4, 2, 1, 0.5).  Tenant
  overheads are small (Table 1: 3-33 % for seconds), so on their own they
  would let the balance chase ever smaller gains, one migration each,
  down to a perfectly flat cloud -- gains far below what the next hour's
  change of load undoes.  The same margin therefore also sets the least
  gain a migration must bring, in the spirit of VMware DRS's minimum
  goodness per recommendation: a move must remove at least
  ``margin x`` :data:`MIN_GAIN` of one host's share of the current spread
  (``S / hosts``; a single move's effect on the spread shrinks as one
  over the number of hosts): 80 % of it at the default aggressiveness 3,
  3.2 times it at 1, 20 % at 5.  Among the moves worth it the largest net
  gain ``benefit - margin x cost`` is taken (ties by uuid, then host
  name);
* **in what order** -- the moves join the relief moves' DAG; the pipeline
  orders every relief move before them (``pipeline.order``).

Stops when no move is worth it, after ``budget`` moves, or when the
spread is zero.  A step is O(hosts) numpy work per candidate (every
destination at once) for the candidates of :data:`SOURCES` hosts -- more
only when none of them has an admitted move -- so a plan grows linearly
with hosts + instances times the number of balance moves.
"""

import dataclasses
import logging
import typing

import numpy as np

from watcher_informed.core import constraints
from watcher_informed.core import gate
from watcher_informed.core import kinds
from watcher_informed.core import paramtable
from watcher_informed.core import rules
from watcher_informed.core import schedule as schedule_mod
from watcher_informed.core import snapshot as snap

LOG = logging.getLogger(__name__)

#: most loaded hosts whose instances are weighed together; the next ones
#: are only looked at when none of these has an admitted move.
SOURCES = 8
#: best destinations per candidate checked against the rules per step.
TRIES = 16
#: least share of one host's part of the spread (spread / hosts) that a
#: move must remove, per unit of the gate's margin.
MIN_GAIN = 0.4
_DIM_INDEX = {d.value: k for k, d in enumerate(kinds.DIMS)}


@dataclasses.dataclass(frozen=True)
class Move:
    """One balance move and why it is worth it."""

    uuid: str
    source: str
    dest: str
    #: weighted spread before and after this move.
    spread_before: float
    spread_after: float
    #: core-seconds: spread removed x cores x horizon; tenant's loss.
    benefit: float
    cost: float
    margin: float
    #: the pre-copy model's standalone prediction (``cost.MigrationCost``).
    migration: typing.Any
    why_host: str

    @property
    def time_s(self):
        return self.migration.time_s

    @property
    def why(self):
        return ('balances load: spread %.4f -> %.4f, benefit %.0f core-s '
                '>= %.1f x cost %.2f core-s'
                % (self.spread_before, self.spread_after, self.benefit,
                   self.margin, self.cost))


@dataclasses.dataclass(frozen=True)
class Balanced:
    """What the balance stage decided."""

    moves: typing.Tuple[Move, ...]
    #: weighted spread of the working state before and after the moves.
    spread_start: float
    spread_end: float
    #: why the stage stopped (budget, nothing worth it, flat).
    stopped: str


def metric_weights(p):
    """``(dimension indices, weights)`` of the audit's spread metrics."""
    dims, weights = [], []
    for metric in p.metrics:
        dims.append(_DIM_INDEX[paramtable.SPREAD_DIMS[metric]])
        weights.append(float(p.weights.get(metric + '_weight', 1.0)))
    return np.array(dims, dtype=int), np.array(weights, dtype=float)


def spread(loads, p):
    """Weighted spread of ``{host: {dim: load}}`` (0 with no host)."""
    if not loads:
        return 0.0
    dims, weights = metric_weights(p)
    rows = np.array([[load[d.value] for d in kinds.DIMS]
                     for _, load in sorted(loads.items())], dtype=float)
    return float(np.dot(weights, rows[:, dims].std(axis=0)))


class _State:
    """Running sums of the spread metrics over every host."""

    def __init__(self, ledger, p):
        self.ledger = ledger
        self.dims, self.w = metric_weights(p)
        self.n = len(ledger.names)

    def sums(self):
        loads = self.ledger.load[:, self.dims]
        return loads.sum(axis=0), (loads * loads).sum(axis=0)

    def spread_of(self, total, square):
        var = np.maximum(square / self.n - (total / self.n) ** 2, 0.0)
        return np.sqrt(var) @ self.w

    def spread(self):
        return float(self.spread_of(*self.sums()))

    def host_load(self):
        """Weighted load of every host (a vector)."""
        return self.ledger.load[:, self.dims] @ self.w


class _Judge:
    """The fixed facts of one balance run: rules, prices, co-location."""

    def __init__(self, snapshot, p, profiles, ledger, groups_of, skip):
        self.snapshot = snapshot
        self.p = p
        self.profiles = profiles
        self.ledger = ledger
        self.groups_of = groups_of
        self.view = rules.View(snapshot, p, ledger, groups_of)
        self.talk = constraints.talkers(snapshot, groups_of)
        self.penalty = {c: np.array([p.pair_penalty(c, o)
                                     for o in kinds.CLASSES])
                        for c in kinds.CLASSES}
        self.margin = gate.MARGINS[p.aggressiveness]
        self.alone = schedule_mod.standalone(snapshot, p)
        self.insts = snapshot.instance_by_uuid
        self.skip = dict(skip)
        self.prices = {}
        #: hosts some move of the plan leaves (no balance move goes there)
        self.leaving = set()

    def price(self, uuid):
        """``(cost core-s, MigrationCost)`` or ``None`` if it may not move.
        """
        if uuid in self.prices:
            return self.prices[uuid]
        inst = self.insts[uuid]
        result = None
        if uuid not in self.skip and \
                not rules.movable_reason(self.view, inst):
            migration = self.alone(inst)
            if migration.completes:
                cls = self.profiles[uuid].cls
                result = (gate.move_cost(inst, self.snapshot.usage_of(uuid),
                                         cls, migration), migration)
        self.prices[uuid] = result
        return result

    def _interference(self, uuid, h, here):
        me = self.profiles[uuid]
        row = self.ledger.weights[h]
        if here:
            row = row.copy()
            row[kinds.CLASSES.index(me.cls)] -= me.weight
        return float(np.dot(self.penalty[me.cls], row)) * me.weight

    def _count(self, mates, h):
        name = self.ledger.names[h]
        return sum(1 for u in mates if self.ledger.where.get(u) == name)

    def colocation_reason(self, uuid, s, d):
        """Why going from host index ``s`` to ``d`` is worse, or ``None``."""
        worse = self._interference(uuid, d, False) - \
            self._interference(uuid, s, True)
        if worse > 1e-12:
            return 'more interference (+%.2f)' % worse
        talk = self.talk.get(uuid, ())
        if talk and self._count(talk, d) < self._count(talk, s):
            return 'fewer talkers'
        soft = constraints.soft_mates(uuid, self.groups_of,
                                      snap.SOFT_ANTI_AFFINITY)
        if soft and self._count(soft, d) > self._count(soft, s):
            return 'more soft-anti-affinity mates'
        return None

    def admits(self, uuid, s, d):
        inst = self.insts[uuid]
        host = self.ledger.hosts[d]
        source = self.ledger.names[s]
        reason = None
        if host.name in self.leaving:
            # its target load would hold only once they have left: a move
            # in must not count on room no dependency guarantees
            # (rules.RoomFirst)
            reason = 'instances leave it in this plan'
        reason = reason or \
            rules.admit_reason(self.view, inst, source, host) or \
            self.colocation_reason(uuid, s, d)
        if reason and LOG.isEnabledFor(logging.DEBUG):
            LOG.debug('balance %s to %s refused: %s', uuid, host.name,
                      reason)
        return reason is None


def _gains(state, total, square, uuid, s, current):
    """Spread reduction of moving ``uuid`` from host ``s`` to every host."""
    led = state.ledger
    demand = led.demand[uuid]
    need = np.array([demand[kinds.DIMS[k].value] for k in state.dims])
    scale = led.scale[:, state.dims]
    frac_src = need / scale[s]
    frac_dst = need / scale
    loads = led.load[:, state.dims]
    src = loads[s]
    t = total - frac_src + frac_dst
    q = (square - src * src + (src - frac_src) ** 2 -
         loads * loads + (loads + frac_dst) ** 2)
    after = np.sqrt(np.maximum(q / state.n - (t / state.n) ** 2, 0.0)) @ \
        state.w
    gain = current - after
    gain[s] = -np.inf
    return gain, after


def _offers(state, judge, s, sums, least, value):
    """``(-net, uuid, dest name, s, d, benefit, cost, migration, after)``.

    The :data:`TRIES` best destinations of each candidate on host ``s``
    that are worth it on numbers alone (the rules are asked later, best
    first).  ``value`` is ``(cores, horizon)``.
    """
    led = state.ledger
    total, square, current = sums
    out = []
    for uuid in sorted(led.residents[s]):
        price = judge.price(uuid)
        if price is None:
            continue
        cost, migration = price
        gain, after = _gains(state, total, square, uuid, s, current)
        benefit = gain * value[0] * value[1]
        net = benefit - judge.margin * cost
        ok = led.usable & (gain > 1e-12) & (gain >= least) & \
            (benefit >= judge.margin * cost)
        cand = np.flatnonzero(ok)
        # best TRIES destinations, highest net gain first, ties by index
        # (the snapshot's host order)
        for d in cand[np.lexsort((cand, -net[cand]))][:TRIES]:
            out.append((-float(net[d]), uuid, led.names[d], int(s), int(d),
                        float(benefit[d]), cost, migration, float(after[d])))
    return out


def _step(state, judge, cores, horizon):
    """``(the best move worth it now or None, the current spread)``.

    Sources are the hosts above the mean weighted load, most loaded
    first, :data:`SOURCES` at a time: the best admitted offer of the
    first batch that has one wins.
    """
    led = state.ledger
    total, square = state.sums()
    current = float(state.spread_of(total, square))
    if current <= 1e-12:
        return None, current
    weighted = state.host_load()
    order = np.lexsort((np.arange(len(weighted)), -weighted))
    sources = [int(s) for s in order if weighted[s] > weighted.mean()]
    least = current * judge.margin * MIN_GAIN / state.n
    for start in range(0, len(sources), SOURCES):
        offers = []
        for s in sources[start:start + SOURCES]:
            offers += _offers(state, judge, s, (total, square, current),
                              least, (cores, horizon))
        offers.sort(key=lambda o: o[:3])
        for _, uuid, _, s, d, benefit, cost, migration, after in offers:
            if judge.admits(uuid, s, d):
                why = ('from %s (weighted load %.2f) to %s (%.2f): the '
                       'largest net gain every hard rule admits, with no '
                       'more interference, no fewer talkers'
                       % (led.names[s], weighted[s], led.names[d],
                          weighted[d]))
                return Move(uuid, led.names[s], led.names[d], current,
                            after, benefit, cost, judge.margin, migration,
                            why), current
    return None, current


def balance(snapshot, p, profiles, ledger, groups_of, skip, budget,
            leaving=()):
    """Balance moves in the working ``ledger`` (moved as decided).

    ``skip`` is ``{uuid: why}`` of the instances relief moved or set
    aside (an instance moves at most once per plan); ``budget`` is what
    is left of ``max_migrations``; ``leaving`` names the hosts relief
    moves leave: no balance move goes to a host any move of the plan
    leaves, so a host's target load holds in every order the applier may
    run the moves in.  Returns :class:`Balanced`.
    """
    state = _State(ledger, p)
    judge = _Judge(snapshot, p, profiles, ledger, groups_of, skip)
    judge.leaving.update(leaving)
    cores = float(sum(h.vcpus for h in ledger.hosts))
    start = state.spread()
    moves = []
    stopped = 'no move is worth its cost'
    while True:
        if len(moves) >= budget:
            stopped = 'max_migrations reached'
            break
        move, current = _step(state, judge, cores, p.horizon)
        if move is None:
            if current <= 1e-12:
                stopped = 'the load is flat'
            break
        LOG.info('balance: %s %s -> %s, %s', move.uuid, move.source,
                 move.dest, move.why)
        ledger.move(move.uuid, move.dest)
        judge.skip[move.uuid] = 'moved'
        judge.leaving.add(move.source)
        judge.prices[move.uuid] = None
        moves.append(move)
    return Balanced(tuple(moves), start, state.spread(), stopped)
