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
rules first: every rule of ``rules.RULES`` is asked whether the host may
receive the instance in the working state of the ledger (usable, not the
source, pinned AZ; allocatable capacity after reserved x ratio; never
back to a host the instance left recently; anti-affinity; no destination
pushed above its target load).  Among feasible hosts the lowest score
wins (ties by host name), where the score adds:

* interference: for each resident, the class-pair penalty (Table 2 / Fig. 3
  defaults, e.g. two disk-I/O VMs 0.5, two cache-polluting CPU VMs 0.25,
  CPU + disk-I/O 0) scaled by both workloads' intensities -- read from
  the ledger's per-class intensity sums, O(classes) per host;
* minus ``communication_bonus`` per communicating partner already there
  (Fig. 2(b)-(c): VMs that talk go together);
* plus ``soft_anti_affinity_penalty`` per soft-anti-affinity group mate;
* plus ``headroom_weight`` x the highest load fraction after the move;
  with ``relief_spread`` (issue 18), each load counted at its planned
  value plus ``relief_spread`` spreads of the host's instances after the
  move (their spreads added in quadrature, :class:`_Volatility`), so that
  of two hosts equally loaded the steadier one is preferred and the
  instances leaving hot hosts do not land where idle residents may wake
  up.

Instances are placed hardest first (largest normalised demand), and every
decision moves the instance in the ledger, so later choices see earlier
ones.  Each score is logged at DEBUG with its terms, like Nova's weighers;
the explanation of the chosen host is built only for it.
"""

import bisect
import collections
import dataclasses
import logging
import math
import typing

import numpy as np

from watcher_informed.core import constraints
from watcher_informed.core import kinds
from watcher_informed.core import ledger as ledger_mod
from watcher_informed.core import overload
from watcher_informed.core import rules
from watcher_informed.core import snapshot as snap

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Destination:
    uuid: str
    source: str
    host: str
    score: float
    why: str


class _Context:
    """The fixed facts of one placement run and the working ledger."""

    def __init__(self, snapshot, profiles, p, ledger, groups_of):
        self.profiles = profiles
        self.p = p
        self.ledger = ledger
        self.groups_of = groups_of
        self.talk = constraints.talkers(snapshot, groups_of)
        self.view = rules.View(snapshot, p, ledger, groups_of)
        # class-pair penalties as a row per class, columns in
        # kinds.CLASSES order
        self.penalty = {
            c: np.array([p.pair_penalty(c, o) for o in kinds.CLASSES])
            for c in kinds.CLASSES}
        #: the same rows as lists (:func:`_explain` reads one at a time)
        self.penalty_rows = {c: row.tolist()
                             for c, row in self.penalty.items()}
        self.debug = LOG.isEnabledFor(logging.DEBUG)
        #: ``{uuid: (class, weight)}`` of the instances placed (``_me``)
        self.me = {}
        #: ``{uuid: (talkers, soft-anti-affinity mates)}`` (``_score``)
        self.near = {}
        #: the hosts' spreads, with ``relief_spread`` (``_score``)
        self.volatility = _Volatility(snapshot, ledger, p.relief_spread) \
            if p.relief_spread > 0 else None
        #: ``{host index: {class: penalty . weights}}`` of the hosts
        #: unchanged since (:meth:`changed` forgets a host that moved)
        self.dots = {}

    def changed(self, h):
        self.dots.pop(h, None)


class _Volatility:
    """Each host's load spread, kept up to date by the ledger.

    ``var`` is (hosts x ``kinds.DIMS``): the sum of the squared spreads
    (``overload.spreads``, as load fractions of the host) of the
    instances the ledger holds there; a host's row is recomputed from its
    residents when a move changes it.  :meth:`peak` is the highest load
    of a host once an instance arrives, each dimension counted at its
    planned load plus ``weight`` times the quadrature spread.
    """

    def __init__(self, snapshot, ledger, weight):
        self.ledger = ledger
        self.weight = weight
        spread = snapshot.memo.get('spreads')
        if spread is None:
            demand = overload.demands(snapshot)
            spread = snapshot.memo['spreads'] = (
                demand.index, overload.spreads(snapshot, demand))
        self.row, self.spread = spread
        self.var = np.zeros(ledger.load.shape)
        for h in range(len(ledger.names)):
            self.changed(h)
        ledger.listen(self.changed)

    def changed(self, h):
        rows = [self.row[u] for u in self.ledger.residents[h]]
        frac = self.spread[rows] / self.ledger.scale[h]
        self.var[h] = (frac * frac).sum(axis=0)

    def peak(self, uuid, host, after):
        h = self.ledger.index[host]
        mine = self.spread[self.row[uuid]] / self.ledger.scale[h]
        sd = np.sqrt(self.var[h] + mine * mine).tolist()
        return max(after[d] + self.weight * sd[k]
                   for k, d in enumerate(kinds.DIMS))

    def close(self):
        self.ledger.unlisten(self.changed)


def _me(uuid, ctx):
    """``(class, weight)`` of ``uuid``: from the ledger's arrays when it
    holds them (no per-instance profile is built)."""
    me = ctx.me.get(uuid)
    if me is None:
        c = ctx.ledger.cls.get(uuid)
        if c is None:
            prof = ctx.profiles[uuid]
            me = (prof.cls, prof.weight)
        else:
            me = (kinds.CLASSES[c], ctx.ledger.intensity[uuid])
        ctx.me[uuid] = me
    return me


def _interference(uuid, host, ctx):
    cls, weight = _me(uuid, ctx)
    h = ctx.ledger.index[host.name]
    dots = ctx.dots.get(h)
    if dots is None:
        dots = ctx.dots[h] = {}
    dot = dots.get(cls)
    if dot is None:
        # the same product, once per host and class until the host
        # changes: a host is scored for many instances in a run
        dot = dots[cls] = float(np.dot(ctx.penalty[cls],
                                       ctx.ledger.weights[h]))
    return dot * weight


def _explain(uuid, host, ctx, interference, partners, soft, headroom):
    """The terms of a host's score, naming the interfering residents."""
    me_cls, me_weight = _me(uuid, ctx)
    led = ctx.ledger
    penalty = ctx.penalty_rows[me_cls]
    notes = []
    for other in sorted(led.residents[led.index[host.name]] - {uuid}):
        # the resident's class and weight from the ledger's arrays (no
        # per-instance profile is built for the neighbours)
        c = led.cls.get(other)
        if c is None:
            prof = ctx.profiles[other]
            c = kinds.CLASSES.index(prof.cls)
            weight = prof.weight
        else:
            weight = led.intensity[other]
        if penalty[c] * me_weight * weight > 0:
            notes.append('%s+%s with %s' % (me_cls, kinds.CLASSES[c], other))
    peak = '%.2f' % headroom
    if ctx.volatility is not None:
        peak += ' at +%g spreads' % ctx.volatility.weight
    return 'interference %.2f%s; talkers %d; soft-anti %d; peak load %s' \
        % (interference, (' (%s)' % ', '.join(notes)) if notes else '',
           partners, soft, peak)


def _score(uuid, host, ctx, after):
    """``(score, terms)``; terms feed :func:`_explain` for the winner."""
    residents = ctx.ledger.residents[ctx.ledger.index[host.name]]
    interference = _interference(uuid, host, ctx)
    near = ctx.near.get(uuid)
    if near is None:
        near = ctx.near[uuid] = (
            ctx.talk.get(uuid, set()),
            constraints.soft_mates(uuid, ctx.groups_of,
                                   snap.SOFT_ANTI_AFFINITY))
    talk, soft_mates = near
    partners = len(talk.intersection(residents)) if talk else 0
    soft = len(soft_mates.intersection(residents)) if soft_mates else 0
    headroom = max(after.values()) if ctx.volatility is None else \
        ctx.volatility.peak(uuid, host.name, after)
    p = ctx.p
    score = (interference - p.communication_bonus * partners +
             p.soft_anti_affinity_penalty * soft +
             p.headroom_weight * headroom)
    terms = (interference, partners, soft, headroom)
    if ctx.debug:
        LOG.debug('place %s on %s: score %.3f = %s', uuid, host.name, score,
                  _explain(uuid, host, ctx, *terms))
    return score, terms


def _feasible(inst, host, ctx, screened=False):
    """Return (after-load, None) or (None, reason).

    ``screened``: ``host`` passed :meth:`_Coolest.take`'s screen.
    """
    source = ctx.ledger.where[inst.uuid]
    reason = rules.admit_reason(ctx.view, inst, source, host, screened)
    if reason:
        return None, reason
    return ctx.ledger.load_after(inst.uuid, host.name), None


#: clusters up to this size are searched exhaustively for each instance.
EXHAUSTIVE_HOSTS = 200
#: on larger clusters, how many of the least-loaded feasible hosts are
#: scored (plus the hosts of the instance's talkers and soft mates).
SHORTLIST = 16
#: hosts of the sorted index screened at once (numpy) per step.
WALK = 128
#: up to this many hosts, all are screened at once (no chunk to gather).
WHOLE = 1024


class _Coolest:
    """Hosts by fullness, kept up to date by the ledger (large clusters).

    Fullness is the higher of a host's peak load and its peak allocation
    ratio.  The ledger reports the two hosts each move changes, so the
    sorted index costs O(log hosts) per move.  :meth:`take` walks it,
    least full first (ties by name), screening :data:`WALK` hosts at a
    time with numpy on the numeric hard rules (usable, not the source,
    capacity, target load) before the exact check of each survivor.
    """

    def __init__(self, ledger, p):
        self.ledger = ledger
        self.targets = np.array([p.targets()[d] for d in kinds.DIMS])
        # the screen's right-hand sides, the same sums each time
        self._room = ledger.cap + 1e-9
        self._ceiling = self.targets + 1e-12
        self.rank = ledger.name_rank
        self._rank = self.rank.tolist()
        nh = len(ledger.names)
        # _key of every host at once: the same divisions and maxima
        cap, alloc = ledger.cap, ledger.alloc
        with np.errstate(divide='ignore', invalid='ignore'):
            allocated = np.where(cap > 0, alloc / cap, 1.0).max(
                axis=1, initial=-np.inf)
        full = np.maximum(ledger.load.max(axis=1, initial=-np.inf),
                          allocated) if nh else np.zeros(0)
        self.key = list(zip(full.tolist(), self.rank.tolist(), range(nh)))
        self.order = sorted(self.key)
        #: host indices in ``order``'s order, by chunks of :data:`WALK`
        #: (rebuilt by :meth:`take` once a move changed ``order``)
        self._chunks = {}
        ledger.listen(self.changed)

    def _key(self, h):
        led = self.ledger
        # the rows as Python floats: the same divisions and maxima as
        # on numpy scalars, without one numpy scalar per number
        cap, alloc = led._cap[h], led.alloc[h].tolist()
        allocated = max(alloc[k] / cap[k] if cap[k] > 0 else 1.0
                        for k in range(3))
        load = led.load[h].tolist()
        top = max(load)
        if top != top or any(v != v for v in load):
            top = math.nan    # numpy's max: NaN if any is
        return (max(top, allocated), self._rank[h], h)

    def changed(self, h):
        old = self.key[h]
        at = bisect.bisect_left(self.order, old)
        del self.order[at]
        self.key[h] = new = self._key(h)
        self.order.insert(bisect.bisect_left(self.order, new), new)
        self._chunks.clear()

    def _chunk(self, start):
        chunk = self._chunks.get(start)
        if chunk is None:
            chunk = self._chunks[start] = np.array(
                [k[2] for k in self.order[start:start + WALK]], dtype=int)
        return chunk

    def take(self, accept, count, uuid):
        """Up to ``count`` hosts passing ``accept``, least full first.

        The sorted index is screened in chunks of :data:`WALK` hosts at a
        time with numpy (usable, not the source, capacity, target load),
        and the survivors of a chunk are offered to ``accept`` in order
        (which need not ask the ``rules.Rule.screened`` rules again: the
        screen computes exactly what they do).
        """
        led = self.ledger
        need = np.array([led.demand[uuid][d] for d in kinds.DIMS])
        res = np.array(led.res[uuid])
        source = led.index[led.where[uuid]]
        taken = []
        if len(self.order) <= WHOLE:
            # every host screened at once (the same numbers, element by
            # element, as a chunk's), then walked least full first
            ok = led.usable & np.all(led.load + need / led.scale <=
                                     self._ceiling, axis=1)
            ok &= np.all(led.alloc + res <= self._room, axis=1)
            ok = ok.tolist()
            for _, _, h in self.order:
                if ok[h] and h != source and accept(led.hosts[h]):
                    taken.append(led.hosts[h])
                    if len(taken) >= count:
                        return taken
            return taken
        for start in range(0, len(self.order), WALK):
            chunk = self._chunk(start)
            ok = led.usable[chunk] & (chunk != source)
            ok &= np.all(led.load[chunk] + need / led.scale[chunk] <=
                         self._ceiling, axis=1)
            ok &= np.all(led.alloc[chunk] + res <= self._room[chunk],
                         axis=1)
            for h in chunk[ok].tolist():
                if accept(led.hosts[h]):
                    taken.append(led.hosts[h])
                    if len(taken) >= count:
                        return taken
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
                        groups_of=None, ledger=None, avoid=()):
    """Place ``selected`` uuids: ``({uuid: Destination}, {uuid: reason})``.

    ``demand`` is ``{uuid: absolute demand}`` (see ``overload``).
    ``ledger`` is the working state to place into (moved as instances are
    placed; default: a new one of the snapshot).  Up to
    :data:`EXHAUSTIVE_HOSTS` hosts every host is scored; beyond, the
    :data:`SHORTLIST` (16) least-full feasible hosts (by load and by
    allocation) plus the hosts of the instance's talkers and soft-policy
    mates are (Nova's scheduler narrows its choice the same way at scale).
    ``avoid`` names hosts that may not receive (room-making keeps its
    moves off overloaded hosts, ``rooms``).
    """
    groups_of = groups_of if groups_of is not None else \
        constraints.groups_by_member(snapshot)
    if ledger is None:
        ledger = ledger_mod.Ledger(snapshot, p, demand, profiles)
    ctx = _Context(snapshot, profiles, p, ledger, groups_of)
    ledger.listen(ctx.changed)
    hosts = sorted(snapshot.hosts, key=lambda h: h.name)
    by_name = snapshot.host_by_name
    insts = snapshot.instance_by_uuid
    coolest = _Coolest(ledger, p) \
        if len(hosts) > EXHAUSTIVE_HOSTS else None

    def hardness(uuid):
        frac = ledger.frac(uuid, insts[uuid].host)
        return (-sum(frac), uuid)

    def candidates(uuid):
        if coolest is None:
            return hosts
        near = set(ctx.talk.get(uuid, ()))
        for policy in (snap.SOFT_AFFINITY, snap.SOFT_ANTI_AFFINITY):
            near |= constraints.soft_mates(uuid, groups_of, policy)
        names = {ledger.where[u] for u in near if u in ledger.where}
        inst = insts[uuid]

        def accept(host):
            if host.name in avoid:
                return False
            # the verdict is kept: the search asks again for each candidate
            verdict = checked[host.name] = _feasible(inst, host, ctx,
                                                     screened=True)
            return verdict[1] is None
        names.update(h.name for h in coolest.take(accept, SHORTLIST, uuid))
        return [by_name[n] for n in sorted(names)]

    placed, unplaced = {}, {}
    for uuid in sorted(selected, key=hardness):
        inst = insts[uuid]
        src = ledger.where[uuid]
        best = None
        reasons = {}
        checked = {}
        for host in candidates(uuid):
            if host.name in avoid:
                reasons[host.name] = 'is avoided'
                continue
            after, reason = checked.get(host.name) or \
                _feasible(inst, host, ctx)
            if reason:
                reasons[host.name] = reason
                continue
            score, terms = _score(uuid, host, ctx, after)
            if best is None or (score, host.name) < (best[0], best[1].name):
                best = (score, host, terms)
        if best is None:
            unplaced[uuid] = _summary(reasons) if reasons else \
                'no destination: no feasible host'
            continue
        score, host, terms = best
        why = _explain(uuid, host, ctx, *terms)
        ledger.move(uuid, host.name)
        placed[uuid] = Destination(uuid, src, host.name, score, why)
    if coolest is not None:
        ledger.unlisten(coolest.changed)
    if ctx.volatility is not None:
        ctx.volatility.close()
    ledger.unlisten(ctx.changed)
    return placed, unplaced


def placement_after(snapshot, destinations: typing.Mapping):
    """Placement once every destination in ``destinations`` is reached."""
    placement = snapshot.placement()
    for uuid, dest in destinations.items():
        placement[uuid] = dest.host
    return placement
