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


"""watcher-informed-dirtyrate: each VM's dirty rate and working set.

Contract: the compute-node agent of the paper's dirty-logging tool
(section 3.1).  Every ``interval`` seconds it measures each running
libvirt domain with QEMU's page sampling over every window length of
``windows`` (one after the other), estimates the memory dirty rate and
the writable working set from them (:mod:`watcher_informed.core.dirtyrate`)
and hands the estimate to its publishers (:mod:`.publish`: a Prometheus
exporter, optionally Gnocchi).

The scheduling rules, all in :class:`Agent` (libvirt is behind
:class:`~.hypervisor.LibvirtHypervisor`, so they are tested without it):

* never two calculations on one domain at once (QEMU keeps one per
  domain); a domain's windows are measured one after the other, and none
  is started while the domain reports one in progress (someone else's, or
  the agent's own from before a libvirtd restart);
* at most ``max_concurrent`` calculations on the host at once: the CPU
  bound (page sampling hashes 512 pages per GiB of guest RAM at the start
  and at the end of each window, in QEMU's own thread); a domain starts a
  new cycle no earlier than ``interval`` after its previous one, and the
  agent sleeps between its checks (it never spins);
* domains that appear are measured from the next pass; domains that
  disappear are forgotten, their series removed;
* a failure about one domain (or a calculation that has not finished
  ``calc_timeout`` seconds after its window) is logged and counted for
  that domain, whose cycle restarts at its next interval; the others go
  on;
* a lost libvirtd connection (libvirtd stopped or restarted) drops every
  running calculation and is retried with a backoff of 1 s doubling to
  60 s; domains found again keep their last estimate.

Run it with ``watcher-informed-dirtyrate --help``.
"""

import argparse
import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
import time

from watcher_informed.agent import exposition
from watcher_informed.agent import hypervisor as hv
from watcher_informed.agent import publish
from watcher_informed.core import dirtyrate

LOG = logging.getLogger(__name__)

#: QEMU accepts calc-time from 1 to 60 s.
MIN_WINDOW_S, MAX_WINDOW_S = 1, 60
#: longest sleep between two passes of the scheduler.
MAX_SLEEP_S = 1.0
#: shortest: a pass never follows the previous one immediately.
MIN_SLEEP_S = 0.05


@dataclasses.dataclass
class _Domain:
    """The agent's state of one running domain."""

    uuid: str
    name: str
    handle: object
    next_due: float
    queue: list = dataclasses.field(default_factory=list)
    measured: list = dataclasses.field(default_factory=list)
    #: (window seconds, started at) of the calculation in progress.
    running: tuple = None
    estimate: dirtyrate.Estimate = None
    errors: int = 0
    last_error: str = ''


def check_windows(windows, tolerance=dirtyrate.TOLERANCE):
    """The sorted window lengths, or ValueError saying what is wrong.

    Two lengths are needed, within QEMU's 1-60 s, and the longest must be
    at least ``1 / (1 - tolerance)^2`` times the shortest, or the
    estimator cannot tell a saturated window from an unsaturated one.
    """
    windows = sorted({int(w) for w in windows})
    if len(windows) < 2:
        raise ValueError('need at least two different window lengths')
    if windows[0] < MIN_WINDOW_S or windows[-1] > MAX_WINDOW_S:
        raise ValueError('window lengths must be within %d-%d s'
                         % (MIN_WINDOW_S, MAX_WINDOW_S))
    if windows[-1] < windows[0] / (1.0 - tolerance) ** 2:
        raise ValueError('the longest window must be at least %.2f times '
                         'the shortest' % (1.0 / (1.0 - tolerance) ** 2))
    return windows


class Agent:
    """Schedules page-sampling calculations and publishes estimates."""

    def __init__(self, hypervisor, publishers, windows=(2, 10), interval=60.0,
                 max_concurrent=1, tolerance=dirtyrate.TOLERANCE,
                 calc_timeout=30.0, clock=time.monotonic, wall=time.time):
        self.hypervisor = hypervisor
        self.publishers = list(publishers)
        self.windows = check_windows(windows, tolerance)
        self.interval = float(interval)
        self.max_concurrent = max(1, int(max_concurrent))
        self.tolerance = tolerance
        self.calc_timeout = float(calc_timeout)
        self._clock = clock
        self._wall = wall
        self.domains = {}
        self._retry_at = 0.0
        self._backoff = 1.0
        self.max_seen_concurrent = 0

    # -- publishers ------------------------------------------------------

    def _tell(self, method, *args):
        for pub in self.publishers:
            try:
                getattr(pub, method)(*args)
            except Exception:  # noqa: BLE001 - never stop the agent
                LOG.exception('publisher %s.%s failed',
                              type(pub).__name__, method)

    # -- connection ------------------------------------------------------

    def _ensure_connected(self, now):
        if self.hypervisor.connected:
            return True
        if now < self._retry_at:
            return False
        try:
            self.hypervisor.connect()
        except hv.HypervisorError as exc:
            LOG.warning('libvirt: %s (retrying in %.0f s)', exc,
                        self._backoff)
            self._retry_at = now + self._backoff
            self._backoff = min(60.0, self._backoff * 2)
            self._tell('connection', False)
            return False
        self._backoff = 1.0
        self._tell('connection', True)
        return True

    def _lost(self, now, exc):
        LOG.warning('libvirt connection lost: %s', exc)
        self.hypervisor.close()
        self._tell('connection', False)
        self._retry_at = now + self._backoff
        for dom in self.domains.values():
            self._restart_cycle(dom, now)

    # -- domains ---------------------------------------------------------

    def _sync(self, listed, now):
        seen = set()
        for item in listed:
            seen.add(item.uuid)
            dom = self.domains.get(item.uuid)
            if dom is None:
                LOG.info('measuring domain %s (%s)', item.uuid, item.name)
                self.domains[item.uuid] = _Domain(item.uuid, item.name,
                                                  item.handle, now)
            else:
                dom.handle, dom.name = item.handle, item.name
        for uuid in [u for u in self.domains if u not in seen]:
            LOG.info('domain %s is gone', uuid)
            del self.domains[uuid]
            self._tell('forget', uuid)
        self._tell('domains', len(self.domains))

    def _restart_cycle(self, dom, due):
        dom.queue, dom.measured, dom.running = [], [], None
        dom.next_due = due

    def _fail(self, dom, now, message):
        dom.errors += 1
        dom.last_error = message
        LOG.warning('domain %s (%s): %s', dom.uuid, dom.name, message)
        self._tell('error', dom, message)
        self._restart_cycle(dom, now + self.interval)

    def _gone(self, dom, now, exc):
        LOG.info('domain %s (%s) stopped: %s', dom.uuid, dom.name, exc)
        self._restart_cycle(dom, now + self.interval)

    # -- one pass --------------------------------------------------------

    def _collect(self, dom, now):
        seconds, started = dom.running
        if now < started + seconds:
            return
        result = self.hypervisor.result(dom.handle)
        if result.status == hv.MEASURED and result.seconds == seconds:
            dom.running = None
            dom.measured.append(dirtyrate.Measurement(seconds, result.mibps))
            if not dom.queue:
                self._finish(dom)
        elif now > started + seconds + self.calc_timeout:
            raise hv.DomainError('no result %.0f s after a %d s window '
                                 '(status %s)' % (now - started, seconds,
                                                  result.status))

    def _finish(self, dom):
        try:
            dom.estimate = dirtyrate.estimate(dom.measured, self.tolerance)
        except ValueError as exc:
            raise hv.DomainError('no estimate: %s' % exc) from exc
        LOG.debug('domain %s: %s', dom.uuid, dom.estimate)
        self._tell('estimate', dom, dom.estimate, self._wall())
        dom.measured = []

    def _startable(self, now):
        """Domains that may start a calculation, mid-cycle ones first."""
        idle = [d for d in self.domains.values() if d.running is None]
        mid = [d for d in idle if d.queue]
        due = sorted((d for d in idle if not d.queue and d.next_due <= now),
                     key=lambda d: d.next_due)
        return mid + due

    def _start(self, dom, now):
        if self.hypervisor.result(dom.handle).status == hv.MEASURING:
            # someone else's calculation (or ours from before a libvirtd
            # restart): QEMU runs one per domain; try again shortly
            dom.next_due = max(dom.next_due, now + MAX_SLEEP_S)
            return
        if not dom.queue:
            dom.queue = list(self.windows)
            dom.measured = []
            dom.next_due = now + self.interval
        seconds = dom.queue[0]
        self.hypervisor.start(dom.handle, seconds)
        dom.queue.pop(0)
        dom.running = (seconds, now)

    def _guarded(self, dom, now, step):
        """Run ``step`` for one domain; isolate its failures."""
        try:
            step(dom, now)
        except hv.ConnectionLost:
            raise
        except hv.DomainGone as exc:
            self._gone(dom, now, exc)
        except hv.HypervisorError as exc:
            self._fail(dom, now, str(exc))
        except Exception as exc:  # noqa: BLE001 - isolate any bug too
            LOG.exception('domain %s', dom.uuid)
            self._fail(dom, now, '%s: %s' % (type(exc).__name__, exc))

    def tick(self):
        """One scheduling pass; returns the seconds to sleep until the next.

        Never raises: hypervisor and domain failures are handled as the
        module docstring says, anything else is logged.
        """
        now = self._clock()
        if not self._ensure_connected(now):
            return max(MIN_SLEEP_S, min(MAX_SLEEP_S, self._retry_at - now))
        try:
            self._sync(self.hypervisor.running_domains(), now)
            for dom in [d for d in self.domains.values() if d.running]:
                self._guarded(dom, now, self._collect)
            running = sum(1 for d in self.domains.values() if d.running)
            for dom in self._startable(now):
                if running >= self.max_concurrent:
                    break
                self._guarded(dom, now, self._start)
                if dom.running:
                    running += 1
            self.max_seen_concurrent = max(self.max_seen_concurrent,
                                           running)
        except hv.ConnectionLost as exc:
            self._lost(now, exc)
        except hv.HypervisorError as exc:
            LOG.warning('libvirt: %s', exc)
        except Exception:  # noqa: BLE001 - a bug must not stop the agent
            LOG.exception('scheduling pass failed; going on')
        return self._sleep(now)

    def _sleep(self, now):
        wake = [now + MAX_SLEEP_S]
        for dom in self.domains.values():
            if dom.running:
                wake.append(dom.running[1] + dom.running[0])
            elif not dom.queue:
                wake.append(dom.next_due)
        return max(MIN_SLEEP_S, min(wake) - now)

    def run(self, stop):
        """Pass after pass until the ``stop`` event is set."""
        while not stop.is_set():
            stop.wait(self.tick())
        self.hypervisor.close()


def _parse_args(argv):
    p = argparse.ArgumentParser(
        prog='watcher-informed-dirtyrate',
        description='Measure the memory dirty rate and writable working '
        'set of every running libvirt domain of this host (QEMU page '
        'sampling over several windows) and export them as Ceilometer-'
        'style meters (memory.dirty.rate in MiB/s, '
        'memory.dirty.working_set in MiB) to Prometheus and, optionally, '
        'Gnocchi.')
    # flag, type, default, help
    options = (
        ('--uri', str, 'qemu:///system',
         'libvirt URI (default: %(default)s)'),
        ('--windows', str, '2,10',
         'comma-separated window lengths in seconds, at least two, '
         'within 1-60; the shortest should be shorter than W/D and the '
         'longest longer (default: %(default)s)'),
        ('--interval', float, 60.0,
         'seconds between the starts of two measurement cycles of a '
         'domain (default: %(default)s)'),
        ('--max-concurrent', int, 1,
         'most calculations running on the host at once (CPU bound; '
         'default: %(default)s)'),
        ('--tolerance', float, dirtyrate.TOLERANCE,
         'relative noise tolerated between windows (default: '
         '%(default)s)'),
        ('--calc-timeout', float, 30.0,
         'seconds after a window a result may be late (default: '
         '%(default)s)'),
        ('--listen', str, '127.0.0.1:9187',
         'HOST:PORT of the Prometheus exporter, empty to disable '
         '(default: %(default)s)'),
        ('--host-label', str, socket.gethostname(),
         'vm_instance label of the series (default: the host name)'),
        ('--gnocchi-url', str, '',
         'also post measures to this Gnocchi endpoint; credentials from '
         'the OS_* environment variables (Keystone), or '
         '--gnocchi-basic-user'),
        ('--gnocchi-basic-user', str, '',
         'Gnocchi basic-auth user instead of Keystone'),
        ('--gnocchi-archive-policy', str, 'ceilometer-low',
         'archive policy of the metrics the agent creates (default: '
         '%(default)s)'),
        ('--log-level', str, 'INFO',
         'DEBUG, INFO, WARNING... (default: %(default)s)'),
    )
    for flag, kind, default, text in options:
        p.add_argument(flag, type=kind, default=default, help=text)
    return p.parse_args(argv)


def _gnocchi_session(args):
    if args.gnocchi_basic_user:
        import requests
        session = requests.Session()
        session.auth = (args.gnocchi_basic_user, '')
        return session
    from keystoneauth1 import loading
    from keystoneauth1 import session as ks
    auth = loading.get_plugin_loader('password').load_from_options(
        auth_url=os.environ['OS_AUTH_URL'],
        username=os.environ['OS_USERNAME'],
        password=os.environ['OS_PASSWORD'],
        project_name=os.environ.get('OS_PROJECT_NAME'),
        user_domain_name=os.environ.get('OS_USER_DOMAIN_NAME', 'Default'),
        project_domain_name=os.environ.get('OS_PROJECT_DOMAIN_NAME',
                                           'Default'))
    return ks.Session(auth=auth)


def build(args):
    """(agent, exporter server or None) from parsed arguments."""
    publishers, server = [], None
    if args.listen:
        host, _, port = args.listen.rpartition(':')
        registry = exposition.Registry()
        publishers.append(publish.PrometheusPublisher(registry,
                                                      args.host_label))
        server = exposition.serve(registry, host or '127.0.0.1', int(port))
        LOG.info('exporting on http://%s:%d/metrics',
                 *server.server_address[:2])
    if args.gnocchi_url:
        publishers.append(publish.GnocchiPublisher(
            _gnocchi_session(args), args.gnocchi_url,
            args.gnocchi_archive_policy))
    windows = [int(w) for w in args.windows.split(',') if w.strip()]
    agent = Agent(hv.LibvirtHypervisor(args.uri), publishers, windows,
                  args.interval, args.max_concurrent, args.tolerance,
                  args.calc_timeout)
    return agent, server


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format='%(asctime)s %(levelname)s %(name)s: '
                        '%(message)s')
    try:
        agent, server = build(args)
    except (ValueError, OSError, KeyError) as exc:
        LOG.error('cannot start: %s: %s', type(exc).__name__, exc)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    LOG.info('windows %s s, every %.0f s, at most %d at once, libvirt %s',
             agent.windows, agent.interval, agent.max_concurrent, args.uri)
    agent.run(stop)
    if server is not None:
        server.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
