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

"""Pre-copy live-migration cost model, the shared link and Nova's limits.

Contract: pure functions from sizes and rates to a :class:`MigrationCost`
(total time, downtime, data sent, rounds, how the migration ends, and
notes that say which assumptions it rests on).

The model is the iterative pre-copy of Clark et al. (the paper's [3]): the
first round sends the guest's memory ``V0`` at bandwidth ``B``; while round
*i* lasts ``T_i = V_i / B`` the guest re-dirties ``V_{i+1} = min(W, D T_i)``
(dirty rate ``D``, writable working set ``W``).  Copying stops when the
remainder fits the downtime limit (``V <= B * downtime_limit``); the
remainder is then sent with the guest paused, which is the downtime.  This
reproduces the paper's Fig. 1: time grows with memory and dirty size,
downtime with dirty size but not with memory size.

Inputs (doc/source/cost-model.rst lists each with its meter):

* ``V0`` is the guest's *host-side resident* memory (metric
  ``ram_resident``, Ceilometer's ``memory.resident``): QEMU's first round
  sends every page that is not zero, which on a real guest is close to
  what the host holds for it -- page cache and freed pages included, often
  many times what the guest reports as used.  Without it ``V0`` is the
  flavor's RAM, an upper bound, and the cost's notes say so.  The guest's
  *used* memory is never the first round.
* ``B`` is the migration's share of the link (:func:`link_share`): at most
  the migration bandwidth, and no more than a max-min fair share of the
  source NIC next to what the source's instances send and the other
  migrations leaving it, and of the destination NIC next to what its
  instances receive and the other migrations entering it.
* Nova's ``[libvirt]`` settings (:class:`Nova`): the downtime limit
  starts at ``live_migration_downtime / live_migration_downtime_steps``
  and rises by one step every ``live_migration_downtime_delay`` seconds
  per GiB (at least 2 GiB); after ``live_migration_completion_timeout``
  seconds per GiB Nova aborts the migration
  (``live_migration_timeout_action = abort``, the default) or forces it
  to complete (``force_complete``): by post-copy when
  ``live_migration_permit_post_copy``, else by pausing the guest.  With
  ``live_migration_permit_auto_converge`` (and no post-copy) QEMU throttles
  the guest's vCPU -- 20 %, then 10 points more every second round whose
  dirtying exceeds half of what it sent, up to 99 % -- which slows its
  dirtying until the migration converges.

Section 3.3's interference of *other* VMs slows a migration: a
memory-dirtying VM still on the source (time), a web server on the source
(time and downtime), a network-receive VM on the destination (time and
downtime); :func:`interference_factors` turns the current placement into
those factors.  The link they share is :func:`link_share`'s.
"""

import dataclasses
import math
import typing

from watcher_informed.core import kinds
from watcher_informed.core import snapshot as snap

RAM_RESIDENT = kinds.Metric.RAM_RESIDENT

#: how a migration ends.
CONVERGED = 'converged'
THROTTLED = 'throttled'          # converged with auto-converge throttling
POST_COPY = 'post-copy'          # forced to complete by post-copy
PAUSED = 'paused'                # forced to complete by pausing the guest
ABORTED = 'aborted'              # Nova aborted it: the instance stays
CAPPED = 'capped'                # stop-and-copy forced by the round cap
#: outcomes that leave the instance on its destination.
COMPLETES = (CONVERGED, THROTTLED, POST_COPY, PAUSED, CAPPED)

#: QEMU's auto-converge: initial throttle, increment, maximum.
THROTTLE_INITIAL = 0.20
THROTTLE_STEP = 0.10
THROTTLE_MAX = 0.99
#: a round whose dirtying exceeds this share of what it sent counts
#: towards throttling (QEMU's throttle-trigger-threshold, 50 %).
THROTTLE_TRIGGER = 0.5
#: rounds simulated at most (a guard; steady rounds are skipped over).
ROUND_GUARD = 100000
#: Nova counts at least this much data when it scales its delays.
MIN_DATA_GIB = 2.0
#: share of the link a migration keeps even on a saturated NIC.
MIN_SHARE = 0.01


@dataclasses.dataclass(frozen=True)
class MigrationCost:
    """Predicted cost of one live migration."""

    time_s: float
    downtime_s: float
    sent_mib: float
    rounds: int
    converged: bool
    outcome: str = CONVERGED
    #: what the prediction assumed (round-1 source, link share, ...).
    notes: typing.Tuple[str, ...] = ()
    rate_mibps: float = 0.0

    @property
    def sent_bytes(self):
        return int(self.sent_mib * 1024 * 1024)

    @property
    def completes(self):
        """Whether the instance ends up on its destination."""
        return self.outcome in COMPLETES

    def with_notes(self, *notes):
        """This cost with ``notes`` (the ``None`` ones left out) added."""
        added = tuple(n for n in notes if n)
        if not added:
            return self
        fields = dict(vars(self))
        fields['notes'] = self.notes + added
        return _built(fields)


def _built(fields):
    """The :class:`MigrationCost` of these field values, built faster.

    Equal to the constructor's object; only the frozen dataclass's
    field-by-field ``object.__setattr__`` is skipped (a third of a cost
    prediction: about 2,000 are made in a 500-host audit).
    """
    c = object.__new__(MigrationCost)
    object.__setattr__(c, '__dict__', fields)
    return c


def _cost(time_s, downtime_s, sent_mib, rounds, converged,
          outcome=CONVERGED, rate_mibps=0.0):
    """``MigrationCost(...)`` without notes, by :func:`_built`."""
    return _built({'time_s': time_s, 'downtime_s': downtime_s,
                   'sent_mib': sent_mib, 'rounds': rounds,
                   'converged': converged, 'outcome': outcome,
                   'notes': (), 'rate_mibps': rate_mibps})


@dataclasses.dataclass(frozen=True)
class Nova:
    """Nova's ``[libvirt]`` live-migration settings for one migration."""

    downtime_ms: float = 500.0
    steps: int = 10
    delay_s: float = 75.0
    completion_timeout_s: float = 800.0
    timeout_action: str = 'abort'
    auto_converge: bool = False
    post_copy: bool = False
    #: GiB Nova scales its delays with (flavor RAM, at least 2).
    data_gib: float = MIN_DATA_GIB

    @classmethod
    def from_params(cls, p, ram_mb):
        # the object the constructor makes, without the frozen
        # dataclass's field-by-field __setattr__ (one per cost predicted)
        nova = object.__new__(cls)
        object.__setattr__(nova, '__dict__', {
            'downtime_ms': p.live_migration_downtime,
            'steps': p.live_migration_downtime_steps,
            'delay_s': p.live_migration_downtime_delay,
            'completion_timeout_s': p.live_migration_completion_timeout,
            'timeout_action': p.live_migration_timeout_action,
            'auto_converge': p.live_migration_permit_auto_converge,
            'post_copy': p.live_migration_permit_post_copy,
            'data_gib': max(MIN_DATA_GIB, ram_mb / 1024.0)})
        return nova

    def limit_ms(self, elapsed_s):
        """Downtime limit in force ``elapsed_s`` after the start.

        Nova's ``downtime_steps``: ``steps + 1`` values from
        ``downtime / steps`` to ``downtime``, one every ``delay x GiB``.
        """
        if self.steps <= 0:
            return self.downtime_ms
        base = self.downtime_ms / self.steps
        offset = (self.downtime_ms - base) / self.steps
        delay = int(self.delay_s * self.data_gib)
        step = self.steps if delay <= 0 else min(
            self.steps, int(elapsed_s // delay))
        return int(base + offset * step)

    def next_step_s(self, elapsed_s):
        """When the limit rises next (``inf`` after the last step)."""
        delay = int(self.delay_s * self.data_gib)
        if delay <= 0 or self.steps <= 0:
            return math.inf
        step = int(elapsed_s // delay) + 1
        return step * delay if step <= self.steps else math.inf

    @property
    def timeout_s(self):
        """Completion timeout of this migration (``inf``: none)."""
        if self.completion_timeout_s <= 0:
            return math.inf
        return int(self.completion_timeout_s * self.data_gib)

    @property
    def throttles(self):
        """Auto-converge applies (Nova prefers post-copy when allowed)."""
        return self.auto_converge and not self.post_copy


def precopy(memory_mib, dirty_mibps, wss_mib, migration_bandwidth,
            live_migration_downtime, max_precopy_rounds,
            stop_copy_bandwidth=0.0, fixed_downtime_ms=0.0, time_factor=1.0,
            downtime_factor=1.0, nova=None):
    """Simulate pre-copy rounds and return a :class:`MigrationCost`.

    Sizes in MiB, rates in MiB/s.  ``stop_copy_bandwidth`` is the rate of the
    final copy with the guest paused (0: ``migration_bandwidth``) and
    ``fixed_downtime_ms`` the pause on top of it.  ``time_factor``
    divides the live-phase bandwidth and ``downtime_factor`` the
    stop-and-copy rate (section 3.3 interference).

    Without ``nova`` the downtime limit is ``live_migration_downtime``
    throughout and stop-and-copy is forced after ``max_precopy_rounds``
    (QEMU driven directly, as the hypervisor tests do).  With a
    :class:`Nova`, the limit follows Nova's steps and the completion
    timeout ends the migration as Nova would; ``max_precopy_rounds`` then
    only applies when the timeout is disabled.
    """
    if migration_bandwidth <= 0:
        raise ValueError('migration_bandwidth must be > 0')
    live_bw = migration_bandwidth / max(time_factor, 1e-9)
    stop_rate = stop_copy_bandwidth or migration_bandwidth
    stop_bw = stop_rate / max(downtime_factor, 1e-9)
    fixed_s = fixed_downtime_ms / 1000.0
    dirty = max(0.0, dirty_mibps)
    wss = max(0.0, wss_mib)
    volume = max(0.0, memory_mib)
    timeout = nova.timeout_s if nova is not None else math.inf
    cap = max_precopy_rounds if (nova is None or timeout == math.inf) else \
        ROUND_GUARD
    throttle, high = 0.0, 0
    t = sent = 0.0
    rounds = 0
    while True:
        duration = volume / live_bw
        if t + duration > timeout:
            return _timed_out(nova, t, volume, duration, timeout, live_bw,
                              stop_bw, fixed_s, dirty * (1 - throttle),
                              wss, sent, rounds)
        t += duration
        sent += volume
        rounds += 1
        rate = dirty * (1.0 - throttle)
        remainder = min(wss, rate * duration)
        limit_ms = nova.limit_ms(t) if nova is not None else \
            live_migration_downtime
        if remainder <= live_bw * limit_ms / 1000.0:
            outcome = THROTTLED if throttle > 0 else CONVERGED
            break
        if rounds >= cap:
            outcome = CAPPED
            break
        if nova is not None and nova.throttles and \
                remainder > THROTTLE_TRIGGER * volume:
            high += 1
            if high >= 2:
                high = 0
                throttle = THROTTLE_INITIAL if throttle == 0 else min(
                    THROTTLE_MAX, throttle + THROTTLE_STEP)
                volume = remainder
                continue
        if nova is not None and remainder >= volume - 1e-9 and \
                remainder > 0 and not nova.throttles:
            # steady rounds: nothing changes until the limit rises or the
            # timeout strikes; skip to just before the first of them
            until = min(nova.next_step_s(t), timeout)
            if until < math.inf:
                skip = int((until - t) / duration)
                skip = min(skip, cap - rounds - 1)
                if skip > 0:
                    t += skip * duration
                    sent += skip * remainder
                    rounds += skip
        volume = remainder
    downtime = fixed_s + remainder / stop_bw
    return _cost(t + downtime, downtime, sent + remainder, rounds,
                 outcome != CAPPED, outcome, rate_mibps=live_bw)


def _timed_out(nova, t, volume, duration, timeout, live_bw, stop_bw,
               fixed_s, rate, wss, sent, rounds):
    """The migration still copying when Nova's completion timeout ends."""
    done = (timeout - t) * live_bw
    elapsed = timeout - t
    # left: the rest of this round plus what the guest dirtied meanwhile
    left = (volume - done) + min(wss, rate * elapsed)
    sent += done
    if nova.timeout_action != 'force_complete':
        return _cost(float(timeout), 0.0, sent, rounds + 1, False,
                     ABORTED, rate_mibps=live_bw)
    if nova.post_copy:
        # the guest runs on the destination and pulls the rest
        return _cost(timeout + fixed_s + left / live_bw, fixed_s,
                     sent + left, rounds + 1, False, POST_COPY,
                     rate_mibps=live_bw)
    downtime = fixed_s + left / stop_bw
    return _cost(timeout + downtime, downtime, sent + left,
                 rounds + 1, False, PAUSED, rate_mibps=live_bw)


def fair_share(capacity, flows, wanted, count=1):
    """Max-min fair rate of ``count`` flows wanting ``wanted`` each.

    ``flows`` are the rates other senders on the link ask for (MiB/s).
    Water-filling: flows asking less than an equal share get what they
    ask; the rest split what is left equally.  Never below
    :data:`MIN_SHARE` of the capacity.
    """
    demands = sorted(f for f in flows if f > 0)
    left = capacity
    n = len(demands) + count
    for d in demands:
        if d * n > left:
            break
        left -= d
        n -= 1
    share = left / n if n else left
    return max(MIN_SHARE * capacity, min(wanted, share))


def link_share(bandwidth, source_nic, source_tx, dest_nic, dest_rx,
               out_count=1, in_count=1):
    """Rate of one migration: bandwidth, source and destination NICs.

    ``source_tx`` are the send rates of the instances on the source
    (the migrating one included: it runs there until the switch-over),
    ``dest_rx`` the receive rates of those on the destination;
    ``out_count`` / ``in_count`` the migrations sharing each NIC.
    """
    return min(bandwidth,
               fair_share(source_nic, source_tx, bandwidth, out_count),
               fair_share(dest_nic, dest_rx, bandwidth, in_count))


def first_round(instance, usage):
    """(MiB of round 1, note or ``None``) for an instance.

    The host-side resident size when known (at most the flavor's RAM: the
    rest is QEMU's own memory), else the flavor's RAM -- an upper bound,
    said in the note.  Never the guest's used memory.
    """
    resident = usage.get(RAM_RESIDENT)
    if resident is not None:
        return min(resident, instance.ram_mb), None
    return float(instance.ram_mb), (
        'round 1 = flavor RAM %d MiB, an upper bound (no ram_resident: %s)'
        % (instance.ram_mb, usage.reason(RAM_RESIDENT)))


def model_inputs(instance, usage, p):
    """(first-round MiB, dirty MiB/s, working set MiB) for an instance."""
    return _inputs(instance, usage, p)[:3]


def _inputs(instance, usage, p):
    """:func:`model_inputs` and the note of :func:`first_round`."""
    first, note = first_round(instance, usage)
    dirty = usage.get(snap.DIRTY_RATE)
    if dirty is None:
        dirty = p.dirty_rate_when_unknown
    wss = usage.get(snap.WSS)
    if wss is None:
        wss = first
    return first, dirty, min(wss, instance.ram_mb), note


def instance_cost(instance, usage, p, time_factor=1.0, downtime_factor=1.0,
                  rate_mibps=None, link_mibps=None):
    """Predicted :class:`MigrationCost` of migrating ``instance``.

    ``rate_mibps`` is the migration's share of the link
    (:func:`link_share`; default: the migration bandwidth) and
    ``link_mibps`` what the NICs would give it without the bandwidth cap,
    which bounds the unthrottled stop-and-copy.  Nova's settings come
    from ``p``.
    """
    first, dirty, wss, note = _inputs(instance, usage, p)
    rate = p.migration_bandwidth if rate_mibps is None else rate_mibps
    stop = p.stop_copy_bandwidth
    if stop and link_mibps is not None:
        stop = min(stop, link_mibps)
    nova = Nova.from_params(p, instance.ram_mb)
    c = precopy(first, dirty, wss, rate, p.live_migration_downtime,
                p.max_precopy_rounds, stop, p.fixed_downtime_ms, time_factor,
                downtime_factor, nova=nova)
    notes = [note]
    if rate < p.migration_bandwidth - 1e-9:
        notes.append('link share %.0f of %.0f MiB/s'
                     % (rate, p.migration_bandwidth))
    notes.append(outcome_note(c, nova))
    return c.with_notes(*notes)


def outcome_note(c, nova):
    """What Nova will do with a migration that does not simply converge."""
    if c.outcome == THROTTLED:
        return ('converges only with auto-converge throttling the guest '
                '(live_migration_permit_auto_converge)')
    if c.outcome == ABORTED:
        return ('does not converge before the %.0f s completion timeout: '
                'Nova aborts it (live_migration_timeout_action=abort)'
                % nova.timeout_s)
    if c.outcome == POST_COPY:
        return ('does not converge before the %.0f s completion timeout: '
                'Nova completes it by post-copy' % nova.timeout_s)
    if c.outcome == PAUSED:
        return ('does not converge before the %.0f s completion timeout: '
                'Nova pauses the guest to complete it (%.1f s downtime)'
                % (nova.timeout_s, c.downtime_s))
    if c.outcome == CAPPED:
        return 'stop-and-copy forced after %d rounds' % c.rounds
    return None


def interference_factors(source_classes, dest_classes, p):
    """Section 3.3: (time, downtime) factors from co-located classes.

    ``source_classes`` are the classes of the *other* instances on the
    source host at the start of the migration, ``dest_classes`` those on
    the destination.  Each effect counts once per migration.
    """
    time_f = downtime_f = 1.0
    if kinds.MEMORY in source_classes:
        time_f *= p.dirty_on_source_time
    if kinds.WEB in source_classes:
        time_f *= p.web_on_source_time
        downtime_f *= p.web_on_source_downtime
    if kinds.NET_RX in dest_classes:
        time_f *= p.netrx_on_dest_time
        downtime_f *= p.netrx_on_dest_downtime
    return time_f, downtime_f
