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

"""Discrete-event simulation of a live-migration plan (paper section 3.3).

Contract: :func:`simulate` executes a plan -- moves plus the DAG of
parents -- on a cluster described by its *true* per-instance parameters
and returns, per migration, start, end, downtime and data sent, and the
CPU load of the hosts each completed move changes.  Pure function of values;
deterministic.

Execution model (what Watcher's applier and Nova do):

* an action is ready when all its parents completed; the applier runs at
  most ``workers`` actions at once (its taskflow ``max_workers``);
* Nova starts a live migration only while its source host runs fewer than
  ``max_concurrent_out`` outgoing ones (``max_concurrent_live_migrations``);
  otherwise it waits, holding its applier worker;
* the destination's resources are claimed at the start, the source's freed
  at the end; a start that overcommits the destination is counted as a
  capacity violation.

Each migration is the pre-copy process of ``cost.precopy``, but with rates
that change while it runs: every event (a round ending, a migration
starting or finishing) re-evaluates, from the *current* placement, the
link share of every migration and section 3.3's interference factors (a
memory-dirtying instance still on the source, a web server on the source,
a network-receive instance on the destination).  A host's NIC (full
duplex) is shared max-min fairly, as TCP flows share a bottleneck: on the
way out between the instances' own traffic (each sends its true rate or
its fair share, whichever is less) and the migrations leaving the host,
on the way in likewise.  Nova runs each migration as configured: the
downtime limit rises in ``live_migration_downtime_steps`` steps, and a
migration still copying at ``live_migration_completion_timeout`` is
aborted (the instance stays) or forced to complete by post-copy or by
pausing the guest; with auto-converge the guest's dirtying is throttled
as QEMU does.  Between events all rates are constant, so the simulation
is exact for the model, with no time step.

The true cluster state -- placement, allocations, loads per host -- is a
``core.ledger.Ledger`` of the true snapshot: a completed migration is one
``Ledger.move`` (O(1) for its two hosts), the destination claims of the
running ones are kept beside it, and the load timeline and the
"relieved" test read the ledger's rows of the hosts a move changed
instead of recomputing every host's load from every instance per event.

Truth, not the planner's belief: each instance's first round is its true
non-zero memory (:class:`Truth`, built by the caller -- the benchmark
derives it from the trace), never what the planner assumed from its
metrics.
"""

import collections
import dataclasses
import typing

import numpy as np

from watcher_informed.core import cost as cost_mod
from watcher_informed.core import kinds
from watcher_informed.core import ledger as ledger_mod
from watcher_informed.core import overload
from watcher_informed.core import paper
from watcher_informed.core import snapshot as snap

#: Table 1: performance lost by the migrating workload during migration
#: (the planner's own table, ``core.paper``).
TABLE1_OVERHEAD = paper.TABLE1_OVERHEAD


@dataclasses.dataclass(frozen=True)
class Truth:
    """What a VM really does (the simulator's input, not metrics)."""

    cls: str
    first_round_mib: float
    dirty_mibps: float
    wss_mib: float
    net_tx_mibps: float = 0.0
    net_rx_mibps: float = 0.0


@dataclasses.dataclass(frozen=True)
class Setup:
    """Cluster-wide execution parameters."""

    link_mibps: float = 1250.0
    workers: int = 0
    max_concurrent_out: int = 1
    #: per-host NIC capacity (MiB/s) over ``link_mibps``.
    nic_mibps: typing.Mapping[str, float] = dataclasses.field(
        default_factory=dict)


@dataclasses.dataclass(frozen=True)
class SimMove:
    uuid: str
    source: str
    dest: str
    ready_s: float
    start_s: float
    end_s: float
    downtime_s: float
    sent_mib: float
    alone_s: float
    rounds: int
    outcome: str = cost_mod.CONVERGED


@dataclasses.dataclass(frozen=True)
class SimResult:
    moves: typing.Tuple[SimMove, ...]
    makespan_s: float
    relieved_at_s: typing.Optional[float]
    capacity_violations: int
    interference_vm_s: float
    #: ``(0.0, {host: CPU load})`` of every host, then per event
    #: ``(time, {host: CPU load})`` of the hosts that event changed
    timeline: typing.Tuple[typing.Tuple[float, typing.Mapping], ...]
    final_loads: typing.Mapping[str, typing.Mapping[str, float]]

    @property
    def mean_completion_s(self):
        if not self.moves:
            return 0.0
        return sum(m.end_s for m in self.moves) / len(self.moves)

    @property
    def total_downtime_s(self):
        return sum(m.downtime_s for m in self.moves)

    @property
    def sent_mib(self):
        return sum(m.sent_mib for m in self.moves)


def truths_from(snapshot, profiles, p):
    """True parameters from a snapshot's (true) usage and classes.

    Round 1 is the true resident size (``ram_resident``), else the
    flavor's RAM (a guest that touched all of it); the dirty rate is 0
    and the working set round 1 when not given.
    """
    out = {}
    for inst in snapshot.instances:
        usage = snapshot.usage_of(inst.uuid)
        resident = usage.get(kinds.Metric.RAM_RESIDENT)
        first = float(inst.ram_mb) if resident is None else min(
            resident, inst.ram_mb)
        dirty = usage.get(snap.DIRTY_RATE) or 0.0
        wss = usage.get(snap.WSS)
        wss = first if wss is None else min(wss, inst.ram_mb)
        out[inst.uuid] = Truth(profiles[inst.uuid].cls, first, dirty, wss,
                               usage.get(snap.NET_TX) or 0.0,
                               usage.get(snap.NET_RX) or 0.0)
    return out


class _Run:
    """One running migration."""

    def __init__(self, key, uuid, source, dest, truth, ready, start):
        self.key = key
        self.uuid, self.source, self.dest = uuid, source, dest
        self.truth = truth
        self.ready, self.start = ready, start
        self.phase = 'live'
        self.left = self.volume = truth.first_round_mib
        self.round_start = start
        self.rounds = 1
        self.sent = 0.0
        self.stop_start = None
        self.rate = 0.0
        self.fixed = 0.0
        self.throttle = 0.0
        self.high = 0
        self.outcome = cost_mod.CONVERGED
        self.downtime = None


class _Sim:
    def __init__(self, snapshot, truths, p, setup, moves, parents, ledger):
        self.p, self.setup, self.truths = p, setup, truths
        self.insts = snapshot.instance_by_uuid
        self.hosts = snapshot.host_by_name
        #: the true cluster state: placement, allocations and loads of
        #: the instances where they are (a completed move is a
        #: ``Ledger.move``, O(1) for its two hosts)
        self.ledger = ledger
        self.where = ledger.where
        #: what running migrations claim on their destinations
        self.claims = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
        # a move is (uuid, source, dest) or (key, uuid, source, dest): a
        # key lets one instance move more than once (looped audits)
        rows = [m if len(m) == 4 else (m[0],) + tuple(m) for m in moves]
        self.moves = {k: (u, s, d) for k, u, s, d in rows}
        self.order = [k for k, _, _, _ in rows]
        self.parents = {k: set(parents.get(k, ())) & set(self.moves)
                        for k in self.order}
        self.done, self.submitted = {}, set()
        self.waiting = {}
        self.running = {}
        self.violations = 0
        self.now = 0.0
        self._aggregate(snapshot)

    # -- per-host aggregates, updated when an instance lands ------------
    def _aggregate(self, snapshot):
        self.classes = {h.name: collections.Counter()
                        for h in snapshot.hosts}
        self.tx = {h: {} for h in self.classes}
        self.rx = {h: {} for h in self.classes}
        for uuid, host in sorted(self.where.items()):
            self._place(uuid, host, +1)

    def _place(self, uuid, host, sign):
        truth = self.truths[uuid]
        self.classes[host][truth.cls] += sign
        for table, rate in ((self.tx, truth.net_tx_mibps),
                            (self.rx, truth.net_rx_mibps)):
            if sign > 0:
                table[host][uuid] = rate
            else:
                table[host].pop(uuid, None)

    def _classes(self, host, exclude):
        counts = self.classes[host]
        own = self.truths[exclude].cls if self.where[exclude] == host \
            else None
        return {c for c, n in counts.items()
                if n - (1 if c == own else 0) > 0}

    # -- rates -----------------------------------------------------------

    def _rates(self):
        outs, ins = {}, {}
        for run in self.running.values():
            outs[run.source] = outs.get(run.source, 0) + 1
            ins[run.dest] = ins.get(run.dest, 0) + 1
        for run in self.running.values():
            link = min(
                cost_mod.fair_share(self._nic(run.source),
                                    self.tx[run.source].values(),
                                    float('inf'), outs[run.source]),
                cost_mod.fair_share(self._nic(run.dest),
                                    self.rx[run.dest].values(),
                                    float('inf'), ins[run.dest]))
            share = min(self.p.migration_bandwidth, link)
            t_f, d_f = cost_mod.interference_factors(
                self._classes(run.source, run.uuid),
                self._classes(run.dest, run.uuid), self.p)
            run.share = share / t_f
            if run.phase == 'live' or run.outcome == cost_mod.POST_COPY:
                run.rate = run.share
            else:
                stop = min(self.p.stop_copy_bandwidth, link) \
                    if self.p.stop_copy_bandwidth else share
                run.rate = stop / d_f

    def _nic(self, host):
        return self.setup.nic_mibps.get(host, self.setup.link_mibps)

    # -- scheduling ------------------------------------------------------
    def _ready(self):
        busy = len(self.submitted) - len(self.done)
        for uuid in self.order:
            if uuid in self.submitted or not self.parents[uuid] <= \
                    set(self.done):
                continue
            if self.setup.workers and busy >= self.setup.workers:
                break
            self.submitted.add(uuid)
            busy += 1
            self.waiting[uuid] = self.now
        self._start_waiting()

    def _start_waiting(self):
        for key in list(self.waiting):
            uuid, source, dest = self.moves[key]
            if self.where[uuid] != source or any(
                    r.uuid == uuid for r in self.running.values()):
                continue
            active = sum(1 for r in self.running.values()
                         if r.source == source)
            if active >= self.setup.max_concurrent_out:
                continue
            ready = self.waiting.pop(key)
            self.running[key] = _Run(key, uuid, source, dest,
                                     self.truths[uuid], ready, self.now)
            self._claim(uuid, dest, +1)
            if not self._fits(dest):
                self.violations += 1

    def _claim(self, uuid, host, sign):
        claim = self.claims[host]
        for k, amount in enumerate(self.ledger.res[uuid]):
            claim[k] += sign * amount

    def _fits(self, host):
        """Whether ``host`` holds its instances and incoming claims."""
        h = self.ledger.index[host]
        alloc, cap = self.ledger.alloc[h], self.ledger.cap[h]
        claim = self.claims[host]
        return all(alloc[k] + claim[k] <= cap[k] + 1e-9 for k in range(3))

    # -- events ----------------------------------------------------------
    def _advance(self, dt):
        for run in self.running.values():
            run.left = max(0.0, run.left - run.rate * dt)
            run.sent += run.rate * dt
        self.now += dt

    def _nova(self, run):
        return cost_mod.Nova.from_params(self.p,
                                         self.insts[run.uuid].ram_mb)

    def _deadline(self, run):
        return run.start + self._nova(run).timeout_s

    def _timeout(self, run):
        """Nova's completion timeout strikes a migration still copying."""
        nova = self._nova(run)
        truth = self.truths[run.uuid]
        if nova.timeout_action != 'force_complete':
            run.outcome = cost_mod.ABORTED
            return True
        run.outcome = cost_mod.POST_COPY if nova.post_copy else \
            cost_mod.PAUSED
        dirtied = min(truth.wss_mib, truth.dirty_mibps *
                      (1 - run.throttle) * (self.now - run.round_start))
        run.phase = 'stop'
        run.stop_start = self.now
        # the fixed pause as extra volume at the rate the rest goes at
        rate = run.share if nova.post_copy else (
            self.p.stop_copy_bandwidth or run.share)
        run.fixed = self.p.fixed_downtime_ms / 1000.0 * rate
        run.left = run.left + dirtied + run.fixed
        if nova.post_copy:
            run.downtime = self.p.fixed_downtime_ms / 1000.0
        return False

    def _round_end(self, run):
        truth = self.truths[run.uuid]
        if run.phase == 'stop':
            return True
        nova = self._nova(run)
        duration = self.now - run.round_start
        volume = run.volume
        remainder = min(truth.wss_mib, truth.dirty_mibps *
                        (1 - run.throttle) * duration)
        limit = run.share * nova.limit_ms(self.now - run.start) / 1000.0
        capped = nova.timeout_s == float('inf') and \
            run.rounds >= self.p.max_precopy_rounds
        if remainder > limit and not capped and nova.throttles and \
                remainder > cost_mod.THROTTLE_TRIGGER * volume:
            run.high += 1
            if run.high >= 2:
                run.high = 0
                run.throttle = cost_mod.THROTTLE_INITIAL \
                    if run.throttle == 0 else min(
                        cost_mod.THROTTLE_MAX,
                        run.throttle + cost_mod.THROTTLE_STEP)
        if remainder <= limit or capped:
            if capped:
                run.outcome = cost_mod.CAPPED
            elif run.throttle > 0:
                run.outcome = cost_mod.THROTTLED
            run.phase = 'stop'
            run.stop_start = self.now
            # the fixed part of the downtime is modelled as extra volume
            # at the stop-and-copy rate; it is not data sent
            run.fixed = self.p.fixed_downtime_ms / 1000.0 * (
                self.p.stop_copy_bandwidth or run.share)
            run.left = remainder + run.fixed
        else:
            run.left = run.volume = remainder
            run.rounds += 1
            run.round_start = self.now
        return False

    def _finish(self, run, result):
        del self.running[run.key]
        truth = self.truths[run.uuid]
        # the destination's claim ends: released (aborted) or become the
        # instance's allocation there (the source's is freed)
        self._claim(run.uuid, run.dest, -1)
        if run.outcome == cost_mod.ABORTED:
            # Nova aborted it: the instance stays
            downtime = 0.0
        else:
            self._place(run.uuid, run.source, -1)
            self.ledger.move(run.uuid, run.dest)
            self._place(run.uuid, run.dest, +1)
            downtime = run.downtime if run.downtime is not None else \
                self.now - run.stop_start
        link = min(self._nic(run.source), self._nic(run.dest))
        alone = cost_mod.precopy(
            truth.first_round_mib, truth.dirty_mibps, truth.wss_mib,
            min(self.p.migration_bandwidth, link),
            self.p.live_migration_downtime, self.p.max_precopy_rounds,
            min(self.p.stop_copy_bandwidth, link), self.p.fixed_downtime_ms,
            nova=self._nova(run)).time_s
        result.append(SimMove(run.uuid, run.source, run.dest, run.ready,
                              run.start, self.now, downtime,
                              run.sent - run.fixed, alone, run.rounds,
                              run.outcome))
        self.done[run.key] = self.now

    def run(self):
        result = []
        self._ready()
        guard = 0
        while self.running:
            guard += 1
            if guard > 10_000_000:
                raise RuntimeError('simulation does not terminate')
            self._rates()
            nxt = min(self.running.values(),
                      key=lambda r: (r.left / max(r.rate, 1e-12), r.uuid))
            step = nxt.left / max(nxt.rate, 1e-12)
            live = [r for r in self.running.values() if r.phase == 'live']
            first_deadline = min((self._deadline(r) for r in live),
                                 default=float('inf'))
            step = max(0.0, min(step, first_deadline - self.now))
            self._advance(step)
            for run in sorted(self.running.values(), key=lambda r: r.uuid):
                if run.phase == 'live' and \
                        self._deadline(run) <= self.now + 1e-9:
                    if self._timeout(run):
                        self._finish(run, result)
                        yield self.now
                elif run.left <= 1e-9 and self._round_end(run):
                    self._finish(run, result)
                    yield self.now
            self._ready()
        self.result = result


def simulate(snapshot, moves, parents, p, setup=None, truths=None,
             profiles=None):
    """Run ``moves`` ((uuid, source, dest), ...) honouring ``parents``.

    ``truths`` default to those derived from the snapshot's usage (which
    the caller should make the *true* usage, not the metrics a strategy
    saw); ``profiles`` are the true classes.
    """
    from watcher_informed.core import classify
    setup = setup or Setup()
    profiles = profiles or classify.classify(snapshot, p)
    truths = truths or truths_from(snapshot, profiles, p)
    ledger = ledger_mod.Ledger(snapshot, p, overload.demands(snapshot))
    sim = _Sim(snapshot, truths, p, setup, moves, parents, ledger)
    thresholds = np.array([p.thresholds()[d] for d in kinds.DIMS]) + 1e-12
    cpu = kinds.DIMS.index(kinds.Dim.CPU)
    # which hosts are overloaded, kept up to date from the ledger's rows
    # of the two hosts each completed move changes (no recomputation of
    # every host per event)
    over = np.any(ledger.load > thresholds, axis=1)
    changed = []

    def on_change(h):
        over[h] = bool(np.any(ledger.load[h] > thresholds))
        changed.append(h)
    ledger.listen(on_change)
    relieved = None if over.any() else 0.0
    timeline = [(0.0, dict(zip(ledger.names,
                               ledger.load[:, cpu].tolist())))]
    for t in sim.run():
        timeline.append((t, {ledger.names[h]: float(ledger.load[h, cpu])
                             for h in changed}))
        changed.clear()
        if relieved is None and not over.any():
            relieved = t
    ledger.unlisten(on_change)
    loads = ledger.loads()
    if len(sim.done) != len(sim.order):
        raise RuntimeError('plan has unreachable moves (cycle or missing '
                           'parent): %s' % sorted(set(sim.order) -
                                                  set(sim.done)))
    moves_out = tuple(sorted(sim.result, key=lambda m: (m.end_s, m.uuid)))
    interference = sum(
        (m.end_s - m.start_s - m.alone_s) +
        TABLE1_OVERHEAD.get(truths[m.uuid].cls, 0.0) * (m.end_s - m.start_s)
        for m in moves_out)
    return SimResult(moves_out, max((m.end_s for m in moves_out),
                                    default=0.0), relieved, sim.violations,
                     interference, tuple(timeline), loads)
