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

"""The grid of real pre-copy migrations, its calibration and the model.

Contract: :func:`run` boots one source guest per memory size, calibrates
(first-round volume and stop-and-copy rate, see :func:`calibrate`),
migrates it once per grid point (resuming the source with ``cont`` after
each migration), and returns a JSON-able dict with QEMU's measurements,
the model's predictions (:func:`predict`, the project's
:func:`watcher_informed.core.cost.precopy`) and their errors.  It waits,
bounded, for a quiet host first and records the load average.
:func:`markdown` renders the predicted-vs-measured table.

Model inputs, per point, as the planner has them: the first round is the
guest's host-side resident size (the ``Rss`` of QEMU's guest-RAM mapping,
measured just before the migration -- what Ceilometer's
``memory.resident`` reports, less QEMU's own memory); dirty rate, working
set, bandwidth and downtime limit are the nominal values the harness
sets; the round cap is ``FORCE_AFTER_SYNCS - 1``; the stop-and-copy rate
and fixed downtime are the calibrated ones.  The prediction from the
guest's *used* memory (MemTotal - MemAvailable, what the planner used to
take) is kept beside it for comparison.

Two guests: the "full" one fills its memory with non-zero data (resident
close to used), the "freed" one (:data:`FREED_POINTS`) touches all its
memory and frees it again at boot, so its resident size is about five
times its used memory, as on a real guest with freed pages and page
cache.
"""

import datetime
import itertools
import json
import os
import pathlib
import shutil
import signal
import statistics
import tempfile
import time

from tests.hypervisor import harness
from watcher_informed.core import cost

MEMORY_MIB = (256, 512)
#: the guest whose resident size is several times its used memory:
#: (memory, working set, dirty rate, bandwidth) points.
FREED_MEMORY_MIB = 512
FREED_WSMAX_MIB = 64
WSS_MIB = (16, 64)
DIRTY_MIBPS = (0, 64)
#: max-bandwidth of the grid's migrations.  The higher one must stay
#: below what QEMU's migration thread keeps up on the host: under TCG on
#: the shared 2-core test machine (load average 12-15, each session's
#: CPU share capped) idle guests migrated at only 60-68 MiB/s with
#: max-bandwidth 128, so 128 measured the CPU, not the model.
BANDWIDTH_MIBPS = (32, 48)
FREED_POINTS = tuple((FREED_MEMORY_MIB, 16, dirty, bw)
                     for dirty in (0, 64) for bw in BANDWIDTH_MIBPS)
#: QEMU downtime-limit of every grid migration.  100 ms is Nova's lowest
#: allowed ``live_migration_downtime`` and inside the range Nova's default
#: steps go through (50 ms .. 500 ms); see doc/source/cost-model.rst for
#: why a larger limit makes QEMU's early bitmap sync visible.
DOWNTIME_LIMIT_MS = 100
#: stop-and-copy is forced once QEMU has synced the dirty bitmap this
#: often: 1 setup sync + 7 completed rounds, i.e. a 7-round cap.
FORCE_AFTER_SYNCS = 8
MAX_ROUNDS = FORCE_AFTER_SYNCS - 1
#: how often a point is migrated (the runs of a point are interleaved
#: with the other points' to spread host disturbances): the Fig. 1
#: downtime findings use the median of the non-converging points' runs,
#: and the short (48 MiB/s) migrations are the ones a busy host disturbs
#: most.  A point's row (and its time and data checks) is its fastest run:
#: other work on the host can only take CPU from QEMU's migration thread
#: and so slow a migration down, never speed it up.  Every run must
#: complete with a live destination and the predicted convergence.
REPEATS_NON_CONVERGING = 5
REPEATS_SHORT = 3
#: working set allocated at boot; the stop-copy calibration dirties it all.
WSMAX_MIB = {256: 128, 512: 256}
CALIBRATION_BANDWIDTH = 128
CALIBRATION_REPEATS = 2
CALIBRATION_DIRTY_MIBPS = 128
#: forced stop-and-copy runs tried beyond CALIBRATION_REPEATS when some
#: gave no (remainder, downtime) sample.
CALIBRATION_EXTRA = 2
#: a run the harness lost (not QEMU: a guest's QEMU gone, a console or
#: QMP socket closed, a console that did not answer) is run again this
#: often; every lost attempt is kept in the run's ``harness_errors``.
HARNESS_RETRIES = 2
SETTLE_S = 1.0
POLL_S = 0.04
LOAD_THRESHOLD = 1.5
LOAD_WAIT_S = 600
OUT = pathlib.Path(__file__).resolve().parents[2] / 'bench' / 'out'
RESULTS = OUT / 'qemu_precopy.json'
MIB = harness.MIB


def key(mem, ws, dirty, bw, guest='full'):
    return ('%d/%d/%d/%d' if guest == 'full' else 'freed%d/%d/%d/%d') % (
        mem, ws, dirty, bw)


def all_points():
    """(guest, memory, working set, dirty rate, bandwidth) of the grid."""
    return [('full',) + p for p in points()] + \
        [('freed',) + p for p in FREED_POINTS]


def points():
    """The grid: (memory MiB, working set MiB, dirty MiB/s, bandwidth)."""
    return list(itertools.product(MEMORY_MIB, WSS_MIB, DIRTY_MIBPS,
                                  BANDWIDTH_MIBPS))


def non_converging_expected(dirty, bw):
    """Points dirtying at least as fast as the link."""
    return dirty >= bw


def repeats_of(dirty, bw, cap=None):
    """How often the point (.., dirty, bw) is migrated."""
    if non_converging_expected(dirty, bw):
        n = REPEATS_NON_CONVERGING
    elif bw >= max(BANDWIDTH_MIBPS):
        n = REPEATS_SHORT
    else:
        n = 1
    return n if cap is None else max(1, min(n, cap))


def wait_for_quiet(threshold=LOAD_THRESHOLD, max_wait=LOAD_WAIT_S,
                   log=print):
    """Wait (bounded) for a 1-minute load average below ``threshold``."""
    before = os.getloadavg()[0]
    start = time.monotonic()
    load = before
    while load >= threshold and time.monotonic() - start < max_wait:
        log('load average %.2f >= %.2f, waiting (%.0f/%.0f s)'
            % (load, threshold, time.monotonic() - start, max_wait))
        left = max_wait - (time.monotonic() - start)
        time.sleep(min(15.0, max(1.0, left)))
        load = os.getloadavg()[0]
    return {'load_when_asked': round(before, 2),
            'load_at_start': round(load, 2),
            'waited_s': round(time.monotonic() - start, 1),
            'quiet': load < threshold}


def _remainder_mib(run, bw):
    """MiB sent while the guest was stopped (QEMU's numbers + the polls).

    The guest stopped at total-time - downtime.  The last poll answered
    before then gives the bytes sent so far; up to the stop QEMU went on
    sending at ``bw``.  (A poll can still say "active" after the stop, with
    all bytes sent: QEMU flips the status last.)
    """
    t_stop = (run['total_time_ms'] - run['downtime_ms']) / 1000.0
    before = [p for p in run['active_polls'] if p[0] <= t_stop]
    if not before:
        return None
    last_t, last_bytes = before[-1]
    live = bw * MIB * max(0.0, t_stop - last_t)
    return max(0.0, (run['transferred_bytes'] - last_bytes - live) / MIB)


def fit_stop_copy(samples):
    """Fit downtime = fixed + remainder / rate over calibration samples.

    Theil-Sen: the slope is the median of the pairwise slopes (pairs whose
    remainders differ by 10 MiB or more), the fixed term the median
    residual, so that one run disturbed by the host does not skew it.
    Returns (rate MiB/s, or 0 when no positive slope is found, fixed ms).
    """
    xs = [s['remainder_mib'] for s in samples]
    ys = [s['downtime_ms'] for s in samples]
    slopes = [(ys[j] - ys[i]) / (xs[j] - xs[i])
              for i in range(len(xs)) for j in range(len(xs))
              if xs[j] - xs[i] >= 10.0]
    if not slopes or statistics.median(slopes) <= 0:
        return 0.0, max(0.0, statistics.median(ys)) if ys else 0.0
    slope = statistics.median(slopes)
    fixed = statistics.median(y - slope * x for x, y in zip(xs, ys))
    return 1000.0 / slope, max(0.0, fixed)


def predict(v0_mib, dirty, ws, bw, stop_copy_mibps, fixed_downtime_ms):
    c = cost.precopy(v0_mib, dirty, ws, bw, DOWNTIME_LIMIT_MS, MAX_ROUNDS,
                     stop_copy_bandwidth=stop_copy_mibps,
                     fixed_downtime_ms=fixed_downtime_ms)
    return {'time_s': c.time_s, 'downtime_ms': c.downtime_s * 1000.0,
            'sent_mib': c.sent_mib, 'rounds': c.rounds,
            'converged': c.converged}


class _Runner:
    def __init__(self, assets, workdir, log):
        self.assets = assets
        self.workdir = workdir
        self.log = log
        self.used_ports = set()
        self.count = 0
        self.freed = 0

    def boot(self, mem, freed=0):
        self.count += 1
        src = harness.Guest(self.assets, self.workdir,
                            'src%d-%d' % (mem, self.count), mem,
                            FREED_WSMAX_MIB if freed else WSMAX_MIB[mem],
                            boot_timeout=180.0, freed=freed)
        self.freed = freed
        self.log('booted %d MiB source in %.1f s (%s)'
                 % (mem, src.boot_s, ' '.join(src.ready)))
        return src

    def migrate(self, src, mem, ws, dirty, bw, force_after):
        """One migration of ``src``; the source runs again afterwards."""
        src.set_load(ws, dirty * harness.PAGES_PER_MIB)
        settle_until = time.monotonic() + SETTLE_S
        port, dst = self.destination(mem)
        wall = time.monotonic()
        try:
            time.sleep(max(0.0, settle_until - time.monotonic()))
            guest_rate = src.stat()
            used = src.used_mib()
            resident = src.ram_resident_mib()
            timeout = 30.0 + 3.0 * (mem + (MAX_ROUNDS + 1) * max(ws, 1)) / bw
            run = harness.migrate(src, port, bw, DOWNTIME_LIMIT_MS,
                                  force_after, timeout, POLL_S)
            run['used_mib'] = used
            run['ram_resident_mib'] = resident
            try:
                run['dest_status'] = dst.wait_status({'running'}, 20.0)
            except (harness.HarnessError, OSError) as exc:
                run['dest_status'] = 'not running: %s' % exc
            run['dest_pongs'] = dst.alive(tries=2)
            try:
                run['dest_oops'] = dst.console.oops()
            except (harness.HarnessError, OSError) as exc:
                run['dest_oops'] = 'console: %s' % exc
            if dst.proc.poll() is not None:
                # QEMU itself went away after a completed migration: not
                # something the guest or the migration did to itself.
                raise harness.HarnessError(
                    '%s: QEMU exited with %s after the migration (%s)'
                    % (dst.name, dst.proc.returncode, run['dest_status']))
        finally:
            dst.close()
        src.qmp.cmd('cont')
        src.wait_status({'running'}, 15.0)
        run['source_pongs'] = src.alive(tries=1)
        run['dest_alive'] = (run['dest_status'] == 'running'
                             and len(run['dest_pongs']) == 2
                             and not run['dest_oops'])
        run['guest_rate_pps'] = guest_rate['achieved']
        run['guest_rate_target_pps'] = guest_rate['rate']
        run['wall_s'] = round(time.monotonic() - wall, 2)
        run['port'] = port
        return run

    def destination(self, mem, tries=3):
        """(port, destination guest listening there).

        Tries another port if the one found free was taken before QEMU
        could listen on it.
        """
        for attempt in range(tries):
            port = harness.free_port(skip=self.used_ports)
            self.used_ports.add(port)
            if len(self.used_ports) > 500:
                self.used_ports.clear()
            self.count += 1
            try:
                return port, harness.Guest(
                    self.assets, self.workdir, 'dst%d-%d' % (mem, self.count),
                    mem, FREED_WSMAX_MIB if self.freed else WSMAX_MIB[mem],
                    incoming_port=port, freed=self.freed)
            except harness.HarnessError:
                if attempt == tries - 1:
                    raise

    def attempt(self, src, mem, *args):
        """(source, run or error): reboots a source that stopped answering.

        A migration QEMU failed, cancelled or did not finish in time is
        recorded, never retried: its error is the result the tests
        report.  A run the harness lost (:data:`HARNESS_RETRIES`) is run
        again on a source that answers; the run keeps the lost attempts'
        errors in ``harness_errors``.
        """
        lost = []
        while True:
            try:
                run = self.migrate(src, mem, *args)
                run['harness_errors'] = lost
                return src, run
            except harness.MigrationFailed as exc:
                error, retry = exc, False
            except (harness.HarnessError, OSError) as exc:
                error, retry = exc, len(lost) < HARNESS_RETRIES
            self.log('migration %s failed%s: %s' % (
                args, ', running it again' if retry else '', error))
            src = self._recover(src, mem)
            if not retry:
                return src, {'status': 'error', 'error': str(error),
                             'harness_errors': lost}
            lost.append(str(error))

    def _recover(self, src, mem):
        """``src`` running again, or a freshly booted source."""
        try:
            src.qmp.cmd('migrate_cancel')
            if src.status() != 'running':
                src.qmp.cmd('cont')
            if not src.alive(tries=1):
                raise harness.HarnessError('source does not answer')
            return src
        except (harness.HarnessError, OSError, AttributeError):
            src.close()
            return self.boot(mem, self.freed)


def calibrate(runner, src, mem, calibration):
    """Idle runs (first-round volume) and forced full-working-set runs.

    * idle: no dirtying, B = CALIBRATION_BANDWIDTH; QEMU's ``normal-bytes``
      is the guest's non-zero memory, the model's first round (median of
      the runs).
    * stop-copy: the whole allocated working set (WSMAX_MIB) dirtied at
      CALIBRATION_DIRTY_MIBPS, stop-and-copy forced right after round 1,
      so that a large, known remainder is sent with the guest stopped.
    Each is done CALIBRATION_REPEATS times; all give (remainder sent while
    stopped, downtime) samples for :func:`fit_stop_copy`.  Forced runs
    that gave no sample (an error, or no poll before the stop) are made
    up for by up to CALIBRATION_EXTRA more; all runs are kept.
    """
    bw = CALIBRATION_BANDWIDTH
    ws = WSMAX_MIB[mem]
    normal = []
    forced_ok = 0

    def keep(name, run):
        run.update({'memory_mib': mem, 'kind': name})
        if run.get('status') == 'completed':
            run['remainder_mib'] = _remainder_mib(run, bw)
            if name == 'idle':
                normal.append(run['normal_bytes'] / MIB)
        calibration['runs'].append(run)
        runner.log('calibration %d MiB %s: %s' % (mem, name, _brief(run)))
        return run.get('remainder_mib') is not None

    for _ in range(CALIBRATION_REPEATS):
        src, idle = runner.attempt(src, mem, 0, 0, bw, 0)
        keep('idle', idle)
        src, forced = runner.attempt(src, mem, ws, CALIBRATION_DIRTY_MIBPS,
                                     bw, 2)
        forced_ok += keep('stop_copy', forced)
    for _ in range(CALIBRATION_EXTRA):
        if forced_ok >= CALIBRATION_REPEATS:
            break
        src, forced = runner.attempt(src, mem, ws, CALIBRATION_DIRTY_MIBPS,
                                     bw, 2)
        forced_ok += keep('stop_copy', forced)
    if normal:
        calibration['v0_mib'][str(mem)] = statistics.median(normal)
    return src


def _migrate_points(runner, src, guest, mine, results, repeats, log):
    """Migrate ``src`` at each point of ``mine``, runs interleaved."""
    for mem, ws, dirty, bw in mine:
        results['points'][key(mem, ws, dirty, bw, guest)] = {
            'guest': guest, 'memory_mib': mem, 'ws_mib': ws,
            'dirty_mibps': dirty, 'bandwidth_mibps': bw, 'runs': []}
    most = max(repeats_of(d, b, repeats) for _, _, d, b in mine)
    for rep in range(most):
        for mem, ws, dirty, bw in mine:
            if rep >= repeats_of(dirty, bw, repeats):
                continue
            src, one = runner.attempt(src, mem, ws, dirty, bw,
                                      FORCE_AFTER_SYNCS)
            k = key(mem, ws, dirty, bw, guest)
            results['points'][k]['runs'].append(one)
            log('%s #%d: %s' % (k, rep + 1, _brief(one)))
    return src


def run(assets, out=RESULTS, log=print, load_wait_s=LOAD_WAIT_S,
        repeats=None, memories=MEMORY_MIB, freed=True):
    """Run the grid; returns (and writes to ``out``) the results.

    ``repeats`` caps :func:`repeats_of`, ``memories`` restricts the
    memory sizes of the full guest and ``freed=False`` skips the freed
    guest (all for a quick look).
    """
    results = {'meta': {}, 'calibration': {'v0_mib': {}, 'runs': []},
               'points': {}}
    meta = results['meta']
    meta.update({
        'qemu_version': assets.get('qemu_version'),
        'kernel_package': assets.get('kernel_package'),
        'host': '%s, %d CPUs' % (os.uname().release, os.cpu_count()),
        'downtime_limit_ms': DOWNTIME_LIMIT_MS,
        'force_after_syncs': FORCE_AFTER_SYNCS,
        'model_max_rounds': MAX_ROUNDS,
        'repeats': {'non_converging': repeats_of(1, 1, repeats),
                    'short': repeats_of(0, max(BANDWIDTH_MIBPS), repeats),
                    'other': 1},
        'poll_s': POLL_S,
        'settle_s': SETTLE_S,
        'qemu_nice': harness.qemu_nice() if os.geteuid() == 0 else 0,
    })
    meta.update(wait_for_quiet(max_wait=load_wait_s, log=log))
    meta['started'] = datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec='seconds')
    log('grid starts, load average %.2f' % meta['load_at_start'])
    start = time.monotonic()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='wiq-'))
    runner = _Runner(assets, workdir, log)
    previous = signal.getsignal(signal.SIGTERM)

    def _terminate(signum, frame):
        raise SystemExit('terminated (signal %d)' % signum)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        for mem in memories:
            src = runner.boot(mem)
            try:
                src = calibrate(runner, src, mem, results['calibration'])
                src = _migrate_points(runner, src, 'full', [
                    p for p in points() if p[0] == mem], results, repeats,
                    log)
            finally:
                src.close()
        if freed:
            src = runner.boot(FREED_MEMORY_MIB, freed='auto')
            try:
                src = _migrate_points(runner, src, 'freed', FREED_POINTS,
                                      results, repeats, log)
            finally:
                src.close()
    finally:
        harness.close_all()
        signal.signal(signal.SIGTERM, previous)
        _keep_logs(workdir, (pathlib.Path(out).parent if out else OUT)
                   / 'qemu_precopy_logs')
    meta['wall_s'] = round(time.monotonic() - start, 1)
    meta['load_at_end'] = round(os.getloadavg()[0], 2)
    meta['ended'] = datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec='seconds')
    evaluate(results)
    if out:
        out = pathlib.Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, sort_keys=True))
    log('grid done in %.0f s, load average %.2f'
        % (meta['wall_s'], meta['load_at_end']))
    return results


def _brief(r):
    if r.get('status') != 'completed':
        return 'ERROR %s' % r.get('error')
    return ('%.2f s, downtime %d ms, %.0f MiB, %d syncs%s, dest %s'
            % (r['total_time_ms'] / 1000.0, r['downtime_ms'],
               r['transferred_bytes'] / MIB, r['dirty_sync_count'],
               ', forced' if not r['converged'] else '',
               'alive' if r['dest_alive'] else 'DEAD'))


def _keep_logs(workdir, logdir):
    """Console and QEMU logs go to bench/out; the sockets dir is removed."""
    try:
        if logdir.exists():
            shutil.rmtree(logdir)
        logdir.mkdir(parents=True)
        for path in workdir.iterdir():
            if path.suffix in ('.console', '.log'):
                shutil.copy(path, logdir / path.name)
    except OSError:
        pass
    shutil.rmtree(workdir, ignore_errors=True)


def _fastest_run(runs):
    done = [r for r in runs if r.get('status') == 'completed'
            and r.get('total_time_ms') and r.get('transferred_bytes')]
    if not done:
        return runs[0]
    return min(done, key=lambda r: r['total_time_ms'])


def evaluate(results):
    """Fit the calibration, predict every point, compute the errors."""
    cal = results['calibration']
    samples = [r for r in cal['runs'] if r.get('status') == 'completed'
               and r.get('remainder_mib') is not None]
    rate, fixed = fit_stop_copy(samples)
    cal['stop_copy_mibps'] = rate
    cal['fixed_downtime_ms'] = fixed
    for point in results['points'].values():
        mem = point['memory_mib']
        point['measured'] = run = _fastest_run(point['runs'])
        done = [r for r in point['runs'] if r.get('status') == 'completed']
        point['downtime_ms_median'] = (
            statistics.median(r['downtime_ms'] for r in done)
            if done else None)
        # the planner's first round: the resident size (results of runs
        # before it was recorded fall back to the idle run's non-zero
        # memory)
        v0 = run.get('ram_resident_mib') or cal['v0_mib'].get(str(mem))
        if v0 is None:
            point['predicted'] = None
            continue
        args = (point['dirty_mibps'], point['ws_mib'],
                point['bandwidth_mibps'], rate, fixed)
        pred = predict(min(v0, mem), *args)
        pred['first_round_mib'] = min(v0, mem)
        point['predicted'] = pred
        used = run.get('used_mib')
        point['predicted_from_used'] = predict(used, *args) \
            if used else None
        if run.get('status') == 'completed' and run.get('total_time_ms') \
                and run.get('transferred_bytes'):
            measured_s = run['total_time_ms'] / 1000.0
            point['errors'] = {
                'time': pred['time_s'] / measured_s - 1.0,
                'sent': pred['sent_mib'] / (run['transferred_bytes'] / MIB)
                - 1.0,
                'downtime_ms': pred['downtime_ms'] - run['downtime_ms'],
            }
            if used:
                point['errors']['time_from_used'] = (
                    point['predicted_from_used']['time_s'] / measured_s
                    - 1.0)
    return results


def time_errors(results):
    """|predicted / measured - 1| of the total time, every grid point."""
    return [abs(p['errors']['time']) for p in results['points'].values()
            if p.get('errors')]


def lost_runs(results):
    """[(point key or 'calibration', error)] of every attempt the harness
    lost and ran again (:data:`HARNESS_RETRIES`)."""
    named = [('calibration', r) for r in results['calibration']['runs']]
    named += [(k, r) for k, p in sorted(results['points'].items())
              for r in p['runs']]
    return [(k, e) for k, r in named for e in r.get('harness_errors', ())]


def load(path=RESULTS):
    """Saved results, re-evaluated with the current model."""
    return evaluate(json.loads(pathlib.Path(path).read_text()))


def _pct(x):
    return '%+.1f%%' % (100.0 * x)


def markdown(results):
    """The predicted-vs-measured table and the Fig. 1 summaries."""
    cal = results['calibration']
    lines = [
        '| guest | M MiB | W MiB | D MiB/s | B MiB/s | used MiB '
        '| resident MiB | time s meas | time s pred | time err '
        '| time err, round 1 = used | MiB sent meas | MiB sent pred '
        '| sent err | downtime ms meas (median) | downtime ms pred | syncs '
        '| converged meas/pred | dest alive |',
        '|' + '---|' * 19,
    ]
    time_errs, sent_errs, conv_ok, alive, total = [], [], 0, 0, 0
    for guest, mem, ws, dirty, bw in all_points():
        p = results['points'].get(key(mem, ws, dirty, bw, guest))
        if p is None:
            continue
        total += 1
        m, pred, err = p['measured'], p.get('predicted'), p.get('errors')
        runs = p['runs']
        n_alive = sum(1 for r in runs if r.get('dest_alive'))
        alive += n_alive == len(runs)
        if m.get('status') != 'completed' or not pred:
            lines.append('| %s | %d | %d | %d | %d | %s |' % (
                guest, mem, ws, dirty, bw, m.get('error', 'no prediction')))
            continue
        ok = all(r.get('converged') == pred['converged'] for r in runs
                 if r.get('status') == 'completed')
        conv_ok += ok
        time_errs.append(abs(err['time']))
        sent_errs.append(abs(err['sent']))
        used_err = err.get('time_from_used')
        lines.append(
            '| %s | %d | %d | %d | %d | %s | %.0f | %.2f | %.2f | %s | %s '
            '| %.0f | %.0f | %s | %d (%d) | %.0f | %d | %s/%s%s | %d/%d |'
            % (guest, mem, ws, dirty, bw,
               '%.0f' % m['used_mib'] if m.get('used_mib') else '-',
               pred['first_round_mib'], m['total_time_ms'] / 1000.0,
               pred['time_s'], _pct(err['time']),
               _pct(used_err) if used_err is not None else '-',
               m['transferred_bytes'] / MIB, pred['sent_mib'],
               _pct(err['sent']), m['downtime_ms'],
               p['downtime_ms_median'], pred['downtime_ms'],
               m['dirty_sync_count'], 'y' if m['converged'] else 'n',
               'y' if pred['converged'] else 'n', '' if ok else ' **X**',
               n_alive, len(runs)))
    meta = results['meta']
    summary = [
        '',
        'Points: %d; convergence predicted correctly: %d/%d; destination '
        'alive after every run: %d/%d.'
        % (total, conv_ok, total, alive, total),
    ]
    if time_errs:
        summary.append(
            'Total time |error|: median %.1f %%, max %.1f %%, mean %.1f %%; '
            'data sent |error|: median %.1f %%, max %.1f %%.' % (
                100 * statistics.median(time_errs), 100 * max(time_errs),
                100 * statistics.fmean(time_errs),
                100 * statistics.median(sent_errs), 100 * max(sent_errs)))
    lost = lost_runs(results)
    summary.append('Attempts the harness lost and ran again: %d%s.' % (
        len(lost), ''.join('; %s: %s' % kv for kv in lost)))
    summary.append(
        'First round: the guest-RAM resident size measured before each '
        'migration. Calibration: non-zero memory of an idle run %s; '
        'stop-and-copy %.0f MiB/s, fixed downtime %.1f ms. Downtime limit '
        '%d ms, stop-and-copy forced after %d syncs (model: %d rounds).' % (
            ', '.join('%s MiB: %.1f MiB' % (k, v)
                      for k, v in sorted(cal['v0_mib'].items(),
                                         key=lambda kv: int(kv[0]))),
            cal['stop_copy_mibps'], cal['fixed_downtime_ms'],
            meta['downtime_limit_ms'], meta['force_after_syncs'],
            meta['model_max_rounds']))
    summary.append(
        'Host: %s; %s (nice %d); load average %.2f at start (waited %.0f '
        's), %.2f at end; grid wall time %.0f s.' % (
            meta['host'], meta['qemu_version'], meta.get('qemu_nice', 0),
            meta['load_at_start'], meta['waited_s'], meta['load_at_end'],
            meta['wall_s']))
    return '\n'.join(lines + summary + [''] + fig1(results))


def fig1(results):
    """Fig. 1 on the measured data (medians of repeated runs)."""
    pts = results['points']

    def t(mem, ws, dirty, bw):
        p = pts.get(key(mem, ws, dirty, bw))
        if p is None or p['measured'].get('status') != 'completed':
            return float('nan')
        return p['measured']['total_time_ms'] / 1000.0

    def dt(mem, ws, dirty, bw):
        p = pts.get(key(mem, ws, dirty, bw))
        if p is None or p.get('downtime_ms_median') is None:
            return float('nan')
        return p['downtime_ms_median']

    lines = ['| W MiB | D MiB/s | B MiB/s | time s, M=%s | downtime ms '
             '(median), M=%s |' % ('/'.join(map(str, MEMORY_MIB)),
                                   '/'.join(map(str, MEMORY_MIB))),
             '|---|---|---|---|---|']
    for ws, dirty, bw in itertools.product(WSS_MIB, DIRTY_MIBPS,
                                           BANDWIDTH_MIBPS):
        lines.append('| %d | %d | %d | %s | %s |' % (
            ws, dirty, bw,
            ' / '.join('%.2f' % t(m, ws, dirty, bw) for m in MEMORY_MIB),
            ' / '.join('%.0f' % dt(m, ws, dirty, bw) for m in MEMORY_MIB)))
    return lines
