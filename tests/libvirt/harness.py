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


"""A private libvirtd, dirtying guests, the agent and Prometheus.

Contract: :class:`Libvirtd` runs libvirtd in *session* mode as the
unprivileged user ``wi-libvirt`` (``WI_LIBVIRT_USER``) with every socket,
state and log file under one temporary directory, so it never meets a
system libvirtd; it can be stopped and started again (the guests keep
running, as with a real libvirtd restart).  :func:`guest_xml` is a TCG
domain that boots the dirtying guest of tools/qemu (``dirty.c``) writing
``rate`` pages/s over a ``wss`` MiB working set, passed on the kernel
command line.  :class:`Process` runs the agent or Prometheus.  Every wait
is bounded and raises :class:`HarnessError` with what was last seen;
every process started here is stopped by :meth:`close` (SIGTERM, then
SIGKILL) and dies with the test process (``PR_SET_PDEATHSIG``).
:func:`assets` raises :class:`Unavailable` with the reason when something
is missing (the tests skip, or fail under ``WI_LIBVIRT_REQUIRED=1``).
"""

import ctypes
import json
import os
import pathlib
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
import uuid as uuidlib

import requests

DEFAULT_CACHE = '/var/tmp/watcher-informed-qemu'  # noqa: S108
PAGES_PER_MIB = 256
_PR_SET_PDEATHSIG = 1


class Unavailable(Exception):
    """libvirt, QEMU, Prometheus or the guest assets are missing."""


class HarnessError(Exception):
    """A process or a wait misbehaved."""


def assets():
    """Paths of what tools/libvirt/setup.sh prepared, checked to exist."""
    cache = pathlib.Path(os.environ.get('WI_QEMU_CACHE') or DEFAULT_CACHE)
    manifest = cache / 'assets.json'
    if not manifest.is_file():
        raise Unavailable('no guest assets in %s (run: bash '
                          'tools/libvirt/setup.sh)' % cache)
    data = json.loads(manifest.read_text())
    if os.geteuid() != 0:
        raise Unavailable('needs root (to run libvirtd as %s)' % user())
    for tool in ('libvirtd', 'prometheus', 'runuser'):
        if not shutil.which(tool, path=os.environ.get('PATH', '') +
                            ':/usr/sbin:/sbin'):
            raise Unavailable('%s is not installed (run: bash '
                              'tools/libvirt/setup.sh)' % tool)
    try:
        pwd.getpwnam(user())
    except KeyError:
        raise Unavailable('user %s missing (run: bash '
                          'tools/libvirt/setup.sh)' % user()) from None
    try:
        import libvirt
    except ImportError:
        raise Unavailable('python libvirt module not importable (run '
                          'through tools/libvirt/test.sh)') from None
    # errors are raised; libvirt would also print each one on stderr
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    return data


def user():
    return os.environ.get('WI_LIBVIRT_USER', 'wi-libvirt')


def free_port(low=29300, high=29999):
    """A TCP port on 127.0.0.1 below 32768 that nothing listens on."""
    for port in range(low, high + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        return port
    raise HarnessError('no free port in %d-%d' % (low, high))


def _preexec():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def wait_for(what, timeout, probe, interval=0.2):
    """``probe()``'s first truthy answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            got = probe()
        except Exception as exc:  # noqa: BLE001 - reported on time out
            got, last = None, exc
        if got:
            return got
        if time.monotonic() > deadline:
            raise HarnessError('%s: not within %.0f s (last error: %r)'
                               % (what, timeout, last))
        time.sleep(interval)


class Process:
    """A child process in its own session, logged to ``log``."""

    def __init__(self, argv, log, env=None, cwd=None):
        self.argv = argv
        self.log = pathlib.Path(log)
        with open(self.log, 'ab') as out:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                env=env, cwd=cwd, start_new_session=True,
                preexec_fn=_preexec)

    @property
    def alive(self):
        return self.proc.poll() is None

    def tail(self, n=2000):
        try:
            return self.log.read_text(errors='replace')[-n:]
        except OSError:
            return ''

    def close(self, timeout=10.0):
        if self.proc.poll() is not None:
            return self.proc.returncode
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                return self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return self.proc.poll()


class Libvirtd:
    """libvirtd (session mode) as an unprivileged user, in ``workdir``.

    With ``netns``, libvirtd (and so its guests) runs in that network
    namespace, where it finds the guests' pre-created tap devices; it gets
    its own ``/dev/net/tun`` node, readable by its user, bind-mounted in
    its mount namespace (the host's may be root-only).
    """

    def __init__(self, workdir, netns=None):
        self.dir = pathlib.Path(workdir) / 'libvirt'
        self.run_dir = self.dir / 'run'
        pw = pwd.getpwnam(user())
        for sub in ('run', 'config/libvirt', 'cache', 'data', 'home',
                    'consoles'):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / 'config/libvirt/qemu.conf').write_text(
            '# serial consoles and QEMU logs to files: no virtlogd\n'
            'stdio_handler = "file"\n')
        (self.dir / 'config/libvirt/libvirtd.conf').write_text(
            'log_outputs = "3:file:%s/libvirtd.log"\n' % self.dir)
        for path in [self.dir, *self.dir.rglob('*')]:
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(self.run_dir, 0o700)
        self.socket = self.run_dir / 'libvirt' / 'libvirt-sock'
        self.uri = 'qemu+unix:///session?socket=%s' % self.socket
        self.env = {
            'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
            'HOME': str(self.dir / 'home'),
            'XDG_RUNTIME_DIR': str(self.run_dir),
            'XDG_CONFIG_HOME': str(self.dir / 'config'),
            'XDG_CACHE_HOME': str(self.dir / 'cache'),
            'XDG_DATA_HOME': str(self.dir / 'data'),
        }
        self.process = None
        self.starts = 0
        self.netns = netns

    def start(self, timeout=60.0):
        import libvirt
        if self.socket.exists():
            self.socket.unlink()
        self.starts += 1
        prefix = []
        if self.netns:
            tun = self.dir / 'tun'
            if not tun.exists():
                os.mknod(tun, 0o600 | stat.S_IFCHR, os.makedev(10, 200))
                pw = pwd.getpwnam(user())
                os.chown(tun, pw.pw_uid, pw.pw_gid)
            prefix = ['ip', 'netns', 'exec', self.netns, 'sh', '-c',
                      'mount --bind "$0" /dev/net/tun && exec "$@"',
                      str(tun)]
        self.process = Process(
            prefix + ['runuser', '-u', user(), '--', 'libvirtd'],
            self.dir / ('libvirtd-%d.out' % self.starts), env=self.env,
            cwd=str(self.dir))

        def ready():
            if not self.process.alive:
                raise HarnessError('libvirtd exited: %s'
                                   % self.process.tail())
            conn = libvirt.open(self.uri)
            conn.close()
            return True
        wait_for('libvirtd on %s' % self.socket, timeout, ready)

    def stop(self, timeout=30.0):
        if self.process is not None:
            self.process.close(timeout)
            self.process = None

    def connect(self):
        import libvirt
        return libvirt.open(self.uri)

    def console(self, name):
        return self.dir / 'consoles' / ('%s.log' % name)


def guest_xml(assets_, name, memory_mib, wss_mib, pages_per_s, console):
    """A transient TCG domain running the dirtying guest."""
    cmdline = ('console=ttyS0 quiet panic=-1 dirty.fill=0 dirty.wsmax=%d '
               'dirty.ws=%d dirty.rate=%d dirty.flusher=0'
               % (wss_mib, wss_mib, pages_per_s))
    return """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>{memory}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <cpu mode='custom'><model>qemu64</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='{console}'/></serial>
    <memballoon model='none'/>
    <video><model type='none'/></video>
  </devices>
</domain>""".format(name=name, uuid=uuidlib.uuid4(), memory=memory_mib,
                    kernel=assets_['kernel'], initrd=assets_['initrd'],
                    cmdline=cmdline, console=console)


def boot(libvirtd, conn, assets_, name, memory_mib, wss_mib, pages_per_s,
         timeout=120.0):
    """Start a guest and wait for its READY line; its libvirt domain."""
    console = libvirtd.console(name)
    dom = conn.createXML(guest_xml(assets_, name, memory_mib, wss_mib,
                                   pages_per_s, console), 0)

    def ready():
        return 'READY' in console.read_text(errors='replace')
    wait_for('guest %s READY' % name, timeout, ready, 0.5)
    return dom


def scrape(url):
    """``{(name, frozenset(labels)): value}`` of an exposition page."""
    out = {}
    text = requests.get(url, timeout=5).text
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        head, value = line.rsplit(' ', 1)
        name, _, labels = head.partition('{')
        pairs = [p.split('=', 1) for p in labels.rstrip('}').split('",')
                 if p]
        out[(name, frozenset((k, v.strip('"')) for k, v in pairs))] = \
            float(value)
    return out


def pick(samples, name, **labels):
    want = set(labels.items())
    return [v for (n, ls), v in samples.items() if n == name and want <= ls]


def prometheus_conf(path, target, interval_s=1):
    path.write_text(
        'global:\n'
        '  scrape_interval: %ds\n'
        '  evaluation_interval: 1m\n'
        'scrape_configs:\n'
        '  - job_name: dirtyrate\n'
        '    honor_labels: true\n'
        '    static_configs:\n'
        "      - targets: ['%s']\n" % (interval_s, target))
