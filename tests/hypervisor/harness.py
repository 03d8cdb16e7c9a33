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

"""Real QEMU guests on this host: boot, QMP, serial console, migration.

Contract: :func:`assets` finds what ``tools/qemu/setup.sh`` installed
(or raises :class:`Unavailable` with the reason); :class:`Guest` is one
QEMU process (TCG, one vCPU, the test initramfs) with a QMP client and a
serial console; :func:`migrate` drives one pre-copy migration over QMP
and returns QEMU's own numbers.  Every wait is bounded.  Every QEMU
process dies with the Python process that started it (``PR_SET_PDEATHSIG``)
and :func:`close_all` tears down all of them; :class:`Guest` is also a
context manager.  QEMU runs at a raised priority (:func:`qemu_nice`) where
that is allowed.  Migration ports are below 32768 (other services on the
machine use the ephemeral range) and are checked to be free first.
"""

import ctypes
import json
import os
import pathlib
import re
import select
import shutil
import signal
import socket
import subprocess
import time

#: where tools/qemu/setup.sh puts QEMU's guest kernel and initramfs; a
#: persistent cache, not a temporary file.
DEFAULT_CACHE = '/var/tmp/watcher-informed-qemu'  # noqa: S108
MIB = 1024 * 1024
PAGES_PER_MIB = 256
PORT_RANGE = (21000, 21999)
#: downtime-limit that makes QEMU stop-and-copy at its next check.
FORCE_DOWNTIME_MS = 1000000
#: active polls kept per migration (for the remainder estimate).
POLLS_KEPT = 25

_PR_SET_PDEATHSIG = 1
_LIVE = set()
_OOPS = re.compile(r'BUG:|Oops|Kernel panic|general protection fault|'
                   r'unable to handle')


class Unavailable(Exception):
    """QEMU or the guest assets are missing (tests skip with this)."""


class HarnessError(Exception):
    """A QEMU guest, its QMP or its console misbehaved."""


class MigrationFailed(HarnessError):
    """QEMU failed or cancelled the migration, or it did not finish in time.

    Unlike other harness errors (a guest's QEMU gone, a socket closed, a
    console that did not answer) this is a result of the migration itself.
    """


def assets(cache=None):
    """Paths and versions from the setup manifest, checked to exist."""
    cache = pathlib.Path(cache or os.environ.get('WI_QEMU_CACHE')
                         or DEFAULT_CACHE)
    qemu = shutil.which('qemu-system-x86_64')
    if qemu is None:
        raise Unavailable('qemu-system-x86_64 is not installed '
                          '(run: bash tools/qemu/setup.sh)')
    manifest = cache / 'assets.json'
    if not manifest.is_file():
        raise Unavailable('no guest kernel/initramfs in %s '
                          '(run: bash tools/qemu/setup.sh)' % cache)
    data = json.loads(manifest.read_text())
    for key in ('kernel', 'initrd'):
        if not pathlib.Path(data[key]).is_file():
            raise Unavailable('%s missing: %s (run: bash '
                              'tools/qemu/setup.sh)' % (key, data[key]))
    data['qemu'] = qemu
    return data


def qemu_nice():
    """Nice value of the QEMU processes (``WI_QEMU_NICE``, default -10).

    On a small shared host other work would otherwise take the CPU that
    QEMU's migration thread needs to keep up ``max-bandwidth``.  Only root
    may raise the priority; anyone else runs QEMU at their own.
    """
    return int(os.environ.get('WI_QEMU_NICE', '-10'))


def _preexec(nice):
    """preexec_fn: the priority, and SIGKILL when the harness dies."""
    def setup():
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if nice:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, nice)
            except OSError:
                pass
    return setup


def free_port(low=PORT_RANGE[0], high=PORT_RANGE[1], skip=()):
    """A TCP port on 127.0.0.1 below 32768 that nothing listens on."""
    assert high < 32768
    for port in range(low, high + 1):
        if port in skip:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        return port
    raise HarnessError('no free port in %d-%d' % (low, high))


def _gone(name, proc, what):
    """HarnessError for a closed socket, naming the guest and QEMU's end.

    Waits briefly for QEMU to exit so that its exit status (a signal
    shows as a negative number) is in the message.
    """
    status = 'still running'
    if proc is not None:
        try:
            proc.wait(1.0)
        except subprocess.TimeoutExpired:
            pass
        if proc.returncode is not None:
            status = 'QEMU exited with %s' % proc.returncode
    return HarnessError('%s: %s closed (%s)' % (name, what, status))


def _connect_unix(path, deadline, proc):
    """Connect to a QEMU server socket, waiting until it exists."""
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise HarnessError('QEMU exited (%s) before %s was ready'
                               % (proc.returncode, path))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(path))
            return s
        except OSError as exc:
            last = exc
            s.close()
            time.sleep(0.05)
    raise HarnessError('timed out connecting to %s: %s' % (path, last))


class QMP:
    """Minimal QMP client: one command at a time, events are kept aside."""

    def __init__(self, path, proc=None, timeout=15.0, name='guest'):
        self.sock = _connect_unix(path, time.monotonic() + timeout, proc)
        self.proc = proc
        self.name = name
        self.buf = b''
        self.events = []
        self._read(time.monotonic() + timeout)          # greeting
        self.cmd('qmp_capabilities')

    def _read(self, deadline):
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError('QMP: no answer in time')
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise _gone(self.name, self.proc, 'QMP connection')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def cmd(self, name, arguments=None, timeout=15.0):
        """Run one command; its ``return`` value, or HarnessError."""
        msg = {'execute': name}
        if arguments:
            msg['arguments'] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if 'event' in reply:
                self.events.append(reply)
            elif 'error' in reply:
                raise HarnessError('QMP %s: %s' % (
                    name, reply['error'].get('desc', reply['error'])))
            elif 'return' in reply:
                return reply['return']

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Console:
    """The guest's serial console (a QEMU chardev socket), logged to disk."""

    def __init__(self, path, log_path, proc=None, timeout=15.0,
                 name='guest'):
        self.sock = _connect_unix(path, time.monotonic() + timeout, proc)
        self.proc = proc
        self.name = name
        self.sock.setblocking(False)
        self.log = open(log_path, 'ab')
        self.text = ''          # what arrived since the last mark()
        self.all = ''

    def _pump(self, wait):
        ready, _, _ = select.select([self.sock], [], [], max(0.0, wait))
        if not ready:
            return
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return
        if not chunk:
            raise _gone(self.name, self.proc, 'console')
        self.log.write(chunk)
        self.log.flush()
        text = chunk.decode('utf-8', 'replace')
        self.text += text
        self.all += text

    def mark(self):
        """Forget what arrived so far (for the next expect())."""
        self.drain()
        self.text = ''

    def drain(self):
        for _ in range(100):
            before = len(self.all)
            self._pump(0.0)
            if len(self.all) == before:
                return

    def send(self, line):
        self.sock.setblocking(True)
        self.sock.settimeout(5.0)
        try:
            self.sock.sendall(line.encode() + b'\n')
        finally:
            self.sock.setblocking(False)

    def expect(self, pattern, timeout):
        """The first match of ``pattern`` since mark(), or HarnessError."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.text)
            if match:
                self.text = self.text[match.end():]
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError('console: no %r within %.0f s; last '
                                   'output: %r' % (pattern, timeout,
                                                   self.all[-300:]))
            self._pump(min(left, 0.2))

    def command(self, line, pattern, timeout=10.0):
        self.mark()
        self.send(line)
        return self.expect(pattern, timeout)

    def oops(self):
        """Whether the guest kernel printed an oops or a panic."""
        self.drain()
        return bool(_OOPS.search(self.all))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.log.close()


class Guest:
    """One QEMU process running the dirtying guest (source or destination).

    ``incoming_port`` makes it a migration destination that waits on
    ``tcp:127.0.0.1:<port>``; it must have the same memory and command
    line as the source.
    """

    def __init__(self, assets_, workdir, name, memory_mib, wsmax_mib,
                 incoming_port=None, boot_timeout=60.0, freed=0):
        self.name = name
        self.memory_mib = memory_mib
        workdir = pathlib.Path(workdir)
        qmp_path = workdir / ('%s.qmp' % name)
        ser_path = workdir / ('%s.ser' % name)
        for path in (qmp_path, ser_path):
            if path.exists():
                path.unlink()
        # freed: MiB touched then freed at boot ('auto': all it can), with
        # no fill after it -- resident many times the used memory
        append = ('console=ttyS0 quiet panic=-1 dirty.fill=%s '
                  'dirty.freed=%s dirty.wsmax=%d dirty.ws=0 dirty.rate=0 '
                  'dirty.flusher=1' % ('0' if freed else 'auto', freed,
                                       wsmax_mib))
        argv = [assets_['qemu'], '-name', name,
                '-machine', 'pc', '-accel', 'tcg', '-cpu', 'qemu64',
                '-m', str(memory_mib), '-smp', '1',
                '-nodefaults', '-no-reboot', '-display', 'none',
                '-monitor', 'none',
                '-chardev', 'socket,id=ser0,path=%s,server=on,wait=off'
                % ser_path,
                '-serial', 'chardev:ser0',
                '-qmp', 'unix:%s,server=on,wait=off' % qmp_path,
                '-kernel', assets_['kernel'], '-initrd', assets_['initrd'],
                '-append', append]
        if incoming_port is not None:
            argv += ['-incoming', 'tcp:127.0.0.1:%d' % incoming_port]
        self.stderr_path = workdir / ('%s.qemu.log' % name)
        with open(self.stderr_path, 'ab') as err:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                start_new_session=True, preexec_fn=_preexec(qemu_nice()))
        _LIVE.add(self)
        self.qmp = self.console = None
        try:
            self.qmp = QMP(qmp_path, self.proc, name=name)
            self.console = Console(ser_path, workdir / ('%s.console' % name),
                                   self.proc, name=name)
            if incoming_port is None:
                started = time.monotonic()
                self.ready = self.console.expect(
                    r'READY wsmax=(\d+) fill=(-?\d+) avail=(-?\d+)'
                    r' flusher=(\d)\r?\n',
                    boot_timeout).groups()
                self.boot_s = time.monotonic() - started
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def status(self):
        return self.qmp.cmd('query-status')['status']

    def ram_resident_mib(self):
        """Resident size of the guest's RAM block in QEMU, MiB.

        The host-side resident size of the guest (Ceilometer's
        ``memory.resident`` is the whole process's, QEMU's own memory
        included): the ``Rss`` of QEMU's anonymous mapping of exactly the
        guest's memory size, from ``/proc/<pid>/smaps``.
        """
        want = self.memory_mib * 1024
        size = None
        with open('/proc/%d/smaps' % self.proc.pid) as f:
            for line in f:
                if line.startswith('Size:'):
                    size = int(line.split()[1])
                elif line.startswith('Rss:') and size == want:
                    return int(line.split()[1]) / 1024.0
        raise HarnessError('%s: no %d MiB mapping in smaps'
                           % (self.name, self.memory_mib))

    def rss_mib(self):
        """Resident size of the QEMU process (libvirt's ``rss``), MiB."""
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
        raise HarnessError('%s: no VmRSS' % self.name)

    def wait_status(self, wanted, timeout):
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status in wanted:
                return status
            if time.monotonic() > deadline:
                raise HarnessError('%s: status %s, wanted %s'
                                   % (self.name, status, wanted))
            time.sleep(0.05)

    def alive(self, tries=2, timeout=10.0):
        """Pings answered on the serial console (0..tries), and counters."""
        answers = []
        for _ in range(tries):
            try:
                m = self.console.command('ping', r'PONG (\d+)\r?\n',
                                         timeout)
                answers.append(int(m.group(1)))
            except HarnessError:
                break
        return answers

    def set_load(self, ws_mib, pages_per_s, timeout=10.0):
        self.console.command('set %d %d' % (ws_mib, pages_per_s),
                             r'OK ws=\d+ rate=\d+\r?\n', timeout)

    def used_mib(self, timeout=10.0):
        """What the guest counts as used: MemTotal - MemAvailable, MiB."""
        m = self.console.command('mem', r'MEM total=(\d+) avail=(\d+)\r?\n',
                                 timeout)
        return float(int(m.group(1)) - int(m.group(2)))

    def stat(self, timeout=10.0):
        m = self.console.command(
            'stat', r'STAT ws=(\d+) rate=(\d+) elapsed_ms=(\d+) done=(\d+) '
            r'dropped=(\d+) achieved=(\d+)\r?\n', timeout)
        keys = ('ws', 'rate', 'elapsed_ms', 'done', 'dropped', 'achieved')
        return dict(zip(keys, (int(g) for g in m.groups())))

    def close(self):
        """Quit QEMU (QMP, then SIGTERM, then SIGKILL); always reaps it."""
        proc = self.proc
        if proc.poll() is None and self.qmp is not None:
            try:
                self.qmp.cmd('quit', timeout=3.0)
            except (HarnessError, OSError):
                pass
        for sig, wait in ((None, 3.0), (signal.SIGTERM, 3.0),
                          (signal.SIGKILL, 10.0)):
            if sig is not None and proc.poll() is None:
                proc.send_signal(sig)
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        for part in (self.qmp, self.console):
            if part is not None:
                part.close()
        self.qmp = self.console = None
        _LIVE.discard(self)


def close_all():
    """Tear down every QEMU process this harness started."""
    for guest in list(_LIVE):
        guest.close()



def _settled(src, info, tries=20, pause_s=0.05):
    """``info`` of a completed migration once QEMU has filled in its times.

    QEMU 7.2 can answer ``query-migrate`` with ``completed`` a moment
    before it sets ``total-time`` and ``downtime`` (seen: 0 ms for a
    1.5 s migration); ask again, a bounded number of times.
    """
    for _ in range(tries):
        if info.get('total-time') and info.get('downtime') is not None:
            return info
        time.sleep(pause_s)
        info = src.qmp.cmd('query-migrate')
    if not info.get('total-time'):
        raise HarnessError('migration completed but QEMU reports no '
                           'total-time: %r' % info)
    return info


def migrate(src, port, bandwidth_mibps, downtime_limit_ms, force_after_syncs,
            timeout_s, poll_s=0.04):
    """One pre-copy migration of ``src`` to ``tcp:127.0.0.1:<port>``.

    QEMU never gives up on a non-converging pre-copy; to emulate a round
    cap, ``downtime-limit`` is raised to :data:`FORCE_DOWNTIME_MS` as soon
    as ``dirty-sync-count`` reaches ``force_after_syncs`` (1 setup sync +
    one per completed round), which makes QEMU stop and copy.  Returns
    QEMU's final numbers, the sync trace ([s, sync count, remaining bytes,
    transferred bytes] at each new sync) and the [s, transferred bytes] of
    the last :data:`POLLS_KEPT` polls that saw the migration active (s is
    taken when the answer arrived); cancels the migration and raises
    HarnessError after ``timeout_s``.
    """
    src.qmp.cmd('migrate-set-parameters', {
        'max-bandwidth': int(bandwidth_mibps * MIB),
        'downtime-limit': int(downtime_limit_ms)})
    src.qmp.cmd('migrate', {'uri': 'tcp:127.0.0.1:%d' % port})
    start = time.monotonic()
    trace, forced_at, last_sync, active = [], None, None, []
    while True:
        info = src.qmp.cmd('query-migrate')
        elapsed = time.monotonic() - start
        status = info.get('status')
        ram = info.get('ram', {})
        sync = ram.get('dirty-sync-count')
        if sync is not None and sync != last_sync:
            trace.append([round(elapsed, 3), sync, ram.get('remaining'),
                          ram.get('transferred')])
            last_sync = sync
        if status == 'completed':
            break
        if status == 'active':
            active.append([round(elapsed, 3), ram.get('transferred', 0)])
            del active[:-POLLS_KEPT]
        if status in ('failed', 'cancelled'):
            raise MigrationFailed('migration %s: %s'
                                  % (status, info.get('error-desc')))
        if (forced_at is None and force_after_syncs and sync
                and sync >= force_after_syncs and status == 'active'):
            src.qmp.cmd('migrate-set-parameters',
                        {'downtime-limit': FORCE_DOWNTIME_MS})
            forced_at = elapsed
        if elapsed > timeout_s:
            try:
                src.qmp.cmd('migrate_cancel')
            except HarnessError:
                pass
            raise MigrationFailed('migration still %s after %.0f s'
                                  % (status, timeout_s))
        time.sleep(poll_s)
    info = _settled(src, info)
    ram = info['ram']
    return {
        'status': status,
        'total_time_ms': info.get('total-time'),
        'downtime_ms': info.get('downtime'),
        'setup_time_ms': info.get('setup-time'),
        'transferred_bytes': ram.get('transferred'),
        'normal_bytes': ram.get('normal-bytes'),
        'normal_pages': ram.get('normal'),
        'duplicate_pages': ram.get('duplicate'),
        'dirty_sync_count': ram.get('dirty-sync-count'),
        'mbps': ram.get('mbps'),
        'forced_at_s': forced_at,
        'converged': forced_at is None,
        'trace': trace,
        'active_polls': active,
    }
