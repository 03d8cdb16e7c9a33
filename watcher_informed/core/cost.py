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

"""Pre-copy live-migration cost model and section 3.3 interference.

Contract: pure functions from sizes and rates to a :class:`MigrationCost`
(total time, downtime, data sent, rounds, converged).

The model is the iterative pre-copy of Clark et al. (the paper's [3]): the
first round sends the guest's memory ``V0`` at bandwidth ``B``; while round
*i* lasts ``T_i = V_i / B`` the guest re-dirties ``V_{i+1} = min(W, D T_i)``
(dirty rate ``D``, writable working set ``W``).  Copying stops when the
remainder fits the downtime limit (``V <= B * downtime_limit``) or after
``max_precopy_rounds``; the remainder is then sent with the guest paused,
which is the downtime.  This reproduces the paper's Fig. 1: time grows
with memory and dirty size, downtime with dirty size but not with memory
size.

``V0`` is the guest's used memory when that metric exists (QEMU sends
never-touched zero pages as ~9-byte markers), else its flavor size.

The hypervisor's knobs, with Nova's libvirt defaults:

* ``live_migration_downtime`` is QEMU's ``downtime-limit``, which libvirt
  sets from Nova's ``[libvirt] live_migration_downtime`` (500 ms, at least
  100).  Nova does not set it at once: it starts at 500 / 10 = 50 ms and
  raises it linearly to 500 ms in ``live_migration_downtime_steps`` (10)
  steps, one every ``live_migration_downtime_delay`` (75 s) per GiB of RAM
  + disk, counting at least 2 GiB, i.e. every 150 s or more.
* ``max_precopy_rounds``: QEMU itself never gives up on a pre-copy that
  does not converge.  Nova aborts it after
  ``live_migration_completion_timeout`` (800 s per GiB, at least 2 GiB;
  ``live_migration_timeout_action`` = abort) unless auto-converge or
  post-copy are permitted (both off by default); an operator can force
  completion.  The cap stands for that end of the copy rounds.
* ``stop_copy_bandwidth``: QEMU 7.2 sends the final remainder unthrottled,
  ignoring ``max-bandwidth`` (850-2400 MiB/s measured on a 2-core test
  host), so the downtime is ``fixed_downtime_ms + V_last / stop_copy``;
  0 keeps the textbook ``V_last / B``.

Real migrations (tests/hypervisor, bench/QEMU-RESULTS.md) confirm time and
data sent within a few percent when ``B * downtime_limit`` is small next
to the working set; when it is not, QEMU already re-syncs the dirty bitmap
once a round's remainder fits the limit, so the model over-predicts a
little (documented in doc/source/cost-model.rst).

Section 3.3's interference of *other* VMs slows a migration: a
memory-dirtying VM still on the source (time), a web server on the source
(time and downtime), a network-receive VM on the destination (time and
downtime); :func:`interference_factors` turns the current placement into
those factors.
"""

import dataclasses

from watcher_informed.core import kinds
from watcher_informed.core import snapshot as snap


@dataclasses.dataclass(frozen=True)
class MigrationCost:
    """Predicted cost of one live migration."""

    time_s: float
    downtime_s: float
    sent_mib: float
    rounds: int
    converged: bool

    @property
    def sent_bytes(self):
        return int(self.sent_mib * 1024 * 1024)


def precopy(memory_mib, dirty_mibps, wss_mib, migration_bandwidth,
            live_migration_downtime, max_precopy_rounds,
            stop_copy_bandwidth=0.0,
            fixed_downtime_ms=0.0, time_factor=1.0, downtime_factor=1.0):
    """Simulate pre-copy rounds and return a :class:`MigrationCost`.

    Sizes in MiB, rates in MiB/s.  ``stop_copy_bandwidth`` is the rate of the
    final copy with the guest paused (0: ``migration_bandwidth``) and
    ``fixed_downtime_ms`` the pause on top of it.  ``time_factor``
    divides the live-phase bandwidth and ``downtime_factor`` the
    stop-and-copy rate (section 3.3 interference).
    """
    if migration_bandwidth <= 0:
        raise ValueError('migration_bandwidth must be > 0')
    live_bw = migration_bandwidth / max(time_factor, 1e-9)
    stop_rate = stop_copy_bandwidth or migration_bandwidth
    stop_bw = stop_rate / max(downtime_factor, 1e-9)
    limit_mib = live_bw * live_migration_downtime / 1000.0
    dirty = max(0.0, dirty_mibps)
    wss = max(0.0, wss_mib)
    volume = max(0.0, memory_mib)
    total = sent = 0.0
    rounds = 0
    while True:
        duration = volume / live_bw
        total += duration
        sent += volume
        rounds += 1
        remainder = min(wss, dirty * duration)
        if remainder <= limit_mib:
            converged = True
            break
        if rounds >= max_precopy_rounds:
            converged = False
            break
        volume = remainder
    downtime = fixed_downtime_ms / 1000.0 + remainder / stop_bw
    return MigrationCost(total + downtime, downtime, sent + remainder,
                         rounds, converged)


def model_inputs(instance, usage, p):
    """(first-round MiB, dirty MiB/s, working set MiB) for an instance."""
    used = usage.get(snap.RAM)
    first = min(used, instance.ram_mb) if used is not None else \
        instance.ram_mb
    dirty = usage.get(snap.DIRTY_RATE)
    if dirty is None:
        dirty = p.dirty_rate_when_unknown
    wss = usage.get(snap.WSS)
    if wss is None:
        wss = first
    return first, dirty, min(wss, instance.ram_mb)


def instance_cost(instance, usage, p, time_factor=1.0, downtime_factor=1.0):
    """Predicted :class:`MigrationCost` of migrating ``instance``."""
    first, dirty, wss = model_inputs(instance, usage, p)
    return precopy(first, dirty, wss, p.migration_bandwidth,
                   p.live_migration_downtime, p.max_precopy_rounds,
                   p.stop_copy_bandwidth,
                   p.fixed_downtime_ms, time_factor, downtime_factor)


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
