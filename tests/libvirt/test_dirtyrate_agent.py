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


"""The dirty-rate agent against a real libvirtd, QEMU and Prometheus.

Three TCG guests are defined through libvirt (tests/libvirt/harness.py),
each running the dirtying guest of tools/qemu with its working set ``W``
and write rate ``D`` on the kernel command line (:data:`GUESTS`).  The
agent (the ``watcher-informed-dirtyrate`` console script, windows of 2 and
8 s) measures them; a real Prometheus scrapes it every second; the
strategy's Prometheus reader reads the meters back.  Then one guest is
destroyed mid-run and libvirtd is restarted, and the agent must go on.

Tolerance: the mean of at least :data:`ESTIMATES` successive estimates of
``D`` and of ``W`` must be within :data:`TOLERANCE` (25 %) of the known
value.  QEMU's page sampling looks at 512 random pages per GiB of guest
RAM, so one window of a 1 GiB guest sees 128 (W = 256 MiB) to 256 (W =
512 MiB) pages of the working set: about 5-9 % relative standard
deviation per estimate, plus libvirt's whole-MiB/s resolution (up to 1/32
of W here).  Both guests are chosen so that the short window does not
fill the working set (``D * 2 s < W``) and the long one does (``D * 8 s
> W``): both values are identifiable, and the agent must say so.

Runs with ``bash tools/libvirt/test.sh`` (about 3 minutes); skips with
the reason when libvirt, QEMU, Prometheus or the guest are missing, fails
instead under ``WI_LIBVIRT_REQUIRED=1``.  Nothing here is timed.
"""

import collections
import os
import pathlib
import shutil
import sys
import tempfile
import time

import pytest
import requests

from tests.libvirt import harness
from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import prometheus
from watcher_informed.core import cost
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap

Guest = collections.namedtuple('Guest', 'name memory_mib wss_mib dirty_mibps')

#: name, guest RAM (MiB), working set W (MiB), dirty rate D (MiB/s)
GUESTS = (
    Guest('dirty-64-256', 1024, 256, 64),
    Guest('dirty-128-512', 1024, 512, 128),
)
#: idle guest, destroyed mid-run
VICTIM = Guest('victim-idle', 256, 16, 0)
WINDOWS = '2,8'
TOLERANCE = 0.25
ESTIMATES = 4
RATE = 'ceilometer_memory_dirty_rate'
WSS = 'ceilometer_memory_dirty_working_set'
PREFIX = 'watcher_informed_dirtyrate_'


class Stack:
    """What the module fixture started, torn down in reverse order."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix='wi-libvirt-')
        # the unprivileged libvirtd must reach its directory inside
        os.chmod(self.work, 0o755)  # noqa: S103
        self.closers = []
        self.uuids = {}
        self.seen = collections.defaultdict(list)   # uuid -> [(t, D, W)]

    def close(self):
        while self.closers:
            fn = self.closers.pop()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - tear down the rest
                print('teardown: %r' % exc, file=sys.stderr)
        if not os.environ.get('WI_LIBVIRT_KEEP'):
            shutil.rmtree(self.work, ignore_errors=True)

    @property
    def metrics_url(self):
        return 'http://127.0.0.1:%d/metrics' % self.agent_port

    def scrape(self):
        return harness.scrape(self.metrics_url)

    def poll_estimates(self):
        """Record every new estimate of every domain (by its timestamp)."""
        samples = self.scrape()
        for uuid in self.uuids.values():
            stamp = harness.pick(samples, PREFIX +
                                 'last_estimate_timestamp_seconds',
                                 resource=uuid)
            if not stamp:
                continue
            if self.seen[uuid] and self.seen[uuid][-1][0] == stamp[0]:
                continue
            rate = harness.pick(samples, RATE, resource=uuid)
            wss = harness.pick(samples, WSS, resource=uuid)
            exact = tuple(harness.pick(samples, PREFIX + 'exact',
                                       resource=uuid, counter=c)[0]
                          for c in ('memory.dirty.rate',
                                    'memory.dirty.working_set'))
            self.seen[uuid].append((stamp[0], rate[0], wss[0], exact))
        return samples

    def wait_estimates(self, guests, count, timeout, after=0.0):
        """Until each guest has ``count`` estimates newer than ``after``."""
        def enough():
            if not self.agent.alive:
                raise harness.HarnessError('agent exited: %s'
                                           % self.agent.tail())
            self.poll_estimates()
            return all(len(self.newer(g, after)) >= count for g in guests)
        harness.wait_for('%d estimates of %s' % (count, guests), timeout,
                         enough, 0.5)

    def newer(self, guest, after):
        return [e for e in self.seen[self.uuids[guest.name]] if e[0] > after]


def _teardown_domains(stack, libvirtd):
    import libvirt
    try:
        conn = libvirtd.connect()
        for dom in conn.listAllDomains():
            try:
                dom.destroy()
            except libvirt.libvirtError:
                pass
        conn.close()
    except libvirt.libvirtError:
        pass
    # a guest libvirt could not stop (libvirtd down): its own pid file
    for pidfile in (libvirtd.run_dir / 'libvirt' / 'qemu' / 'run').glob(
            '*.pid'):
        try:
            os.kill(int(pidfile.read_text().strip()), 9)
        except (OSError, ValueError):
            pass


@pytest.fixture(scope='module')
def stack():
    try:
        assets = harness.assets()
    except harness.Unavailable as exc:
        if os.environ.get('WI_LIBVIRT_REQUIRED'):
            pytest.fail('libvirt tests required but unavailable: %s' % exc)
        pytest.skip(str(exc))
    st = Stack()
    try:
        libvirtd = harness.Libvirtd(st.work)
        st.libvirtd = libvirtd
        libvirtd.start()
        st.closers.append(libvirtd.stop)
        st.closers.append(lambda: _teardown_domains(st, libvirtd))
        conn = libvirtd.connect()
        st.closers.append(conn.close)
        for g in GUESTS + (VICTIM,):
            rate = int(g.dirty_mibps * harness.PAGES_PER_MIB)
            dom = harness.boot(libvirtd, conn, assets, g.name,
                               g.memory_mib, g.wss_mib, rate)
            st.uuids[g.name] = dom.UUIDString()
        st.conn = conn
        st.agent_port = harness.free_port()
        st.agent = harness.Process(
            [os.path.join(os.path.dirname(sys.executable),
                          'watcher-informed-dirtyrate'),
             '--uri', libvirtd.uri, '--windows', WINDOWS,
             '--interval', '10', '--max-concurrent', '3',
             '--listen', '127.0.0.1:%d' % st.agent_port,
             '--host-label', 'compute-test'],
            os.path.join(st.work, 'agent.log'), env=dict(os.environ))
        st.closers.append(st.agent.close)
        harness.wait_for('agent exporter', 30, st.scrape)
        prom_port = harness.free_port(st.agent_port + 1)
        conf = pathlib.Path(st.work) / 'prometheus.yml'
        harness.prometheus_conf(conf, '127.0.0.1:%d' % st.agent_port)
        st.prometheus_url = 'http://127.0.0.1:%d' % prom_port
        st.prometheus = harness.Process(
            ['prometheus', '--config.file=%s' % conf,
             '--storage.tsdb.path=%s/prom-data' % st.work,
             '--web.listen-address=127.0.0.1:%d' % prom_port],
            os.path.join(st.work, 'prometheus.log'))
        st.closers.append(st.prometheus.close)
        harness.wait_for('prometheus ready', 60, lambda: requests.get(
            st.prometheus_url + '/-/ready', timeout=2).ok)
        yield st
    finally:
        st.close()


def _mean(values):
    return sum(values) / len(values)


def test_estimates_match_the_known_rates_and_working_sets(stack):
    stack.wait_estimates(GUESTS, ESTIMATES, timeout=180)
    for g in GUESTS:
        got = stack.newer(g, 0.0)[-ESTIMATES:]
        rate = _mean([e[1] for e in got])
        wss = _mean([e[2] for e in got])
        print('%s: D %.1f MiB/s (known %d, error %+.1f %%), W %.1f MiB '
              '(known %d, error %+.1f %%), estimates %s'
              % (g.name, rate, g.dirty_mibps,
                 100 * (rate / g.dirty_mibps - 1), wss, g.wss_mib,
                 100 * (wss / g.wss_mib - 1),
                 [(round(e[1], 1), round(e[2], 1)) for e in got]))
        assert rate == pytest.approx(g.dirty_mibps, rel=TOLERANCE)
        assert wss == pytest.approx(g.wss_mib, rel=TOLERANCE)
        # both windows identified the values: no lower bound
        assert all(e[3] == (1.0, 1.0) for e in got), got
    victim = stack.newer(VICTIM, 0.0)
    assert victim and all(e[1] <= 2.0 for e in victim), victim


def test_prometheus_reader_feeds_the_cost_model(stack):
    reader = prometheus.PrometheusMetrics(
        stack.prometheus_url, dirty_rate_meter='memory.dirty.rate',
        working_set_meter='memory.dirty.working_set')
    window = base.Window(period_s=30, granularity_s=2, stale_after_s=30)
    instances = {g.name: snap.Instance(
        uuid=stack.uuids[g.name], name=g.name, host='compute-test',
        vcpus=1, ram_mb=g.memory_mib, disk_gb=1) for g in GUESTS}

    def read():
        usage = base.read_usage(reader, list(instances.values()), window,
                                (snap.DIRTY_RATE, snap.WSS))
        if all(usage[i.uuid].get(snap.WSS) for i in instances.values()):
            return usage
    usage = harness.wait_for('both meters in Prometheus', 60, read, 1.0)
    p = params.Params()
    for g in GUESTS:
        inst = instances[g.name]
        _, dirty, wss = cost.model_inputs(inst, usage[inst.uuid], p)
        print('%s via Prometheus: D %.1f MiB/s, W %.1f MiB'
              % (g.name, dirty, wss))
        assert dirty == pytest.approx(g.dirty_mibps, rel=TOLERANCE)
        assert wss == pytest.approx(g.wss_mib, rel=TOLERANCE)
    # an instance the agent does not know has no value, as before
    ghost = snap.Instance(uuid='00000000-0000-4000-8000-000000000000',
                          name='ghost', host='compute-test', vcpus=1,
                          ram_mb=1024, disk_gb=1)
    usage = base.read_usage(reader, [ghost], window, (snap.DIRTY_RATE,))
    assert usage[ghost.uuid].get(snap.DIRTY_RATE) is None
    _, dirty, _ = cost.model_inputs(ghost, usage[ghost.uuid], p)
    assert dirty == p.dirty_rate_when_unknown


def test_domain_destroyed_mid_run_is_dropped_others_go_on(stack):
    victim = stack.uuids[VICTIM.name]
    assert harness.pick(stack.scrape(), RATE, resource=victim)
    dom = stack.conn.lookupByUUIDString(victim)
    # destroy while the agent has a calculation running on it (it measures
    # every domain continuously: 2 + 8 s windows every 10 s)
    harness.wait_for('a calculation in progress on the victim', 30,
                     lambda: _measuring(stack, dom), 0.2)
    dom.destroy()
    destroyed = time.time()
    harness.wait_for('victim series removed', 30, lambda: not harness.pick(
        stack.scrape(), RATE, resource=victim))
    stack.wait_estimates(GUESTS, 1, timeout=60, after=destroyed)
    assert stack.agent.alive
    samples = stack.scrape()
    assert harness.pick(samples, PREFIX + 'domains') == [2.0]
    for g in GUESTS:
        assert harness.pick(samples, PREFIX + 'errors_total',
                            resource=stack.uuids[g.name]) in ([], [0.0])


def _measuring(stack, dom):
    import libvirt
    stats = stack.conn.domainListGetStats([dom],
                                          libvirt.VIR_DOMAIN_STATS_DIRTYRATE)
    return stats and stats[0][1].get('dirtyrate.calc_status') == 1


def test_libvirtd_restart_does_not_stop_the_agent(stack):
    up = PREFIX + 'libvirt_up'
    stack.conn.close()
    stack.closers.remove(stack.conn.close)
    stack.libvirtd.stop()
    harness.wait_for('agent sees libvirtd down', 30, lambda: harness.pick(
        stack.scrape(), up) == [0.0])
    stack.libvirtd.start()
    restarted = time.time()
    harness.wait_for('agent reconnected', 90, lambda: harness.pick(
        stack.scrape(), up) == [1.0])
    stack.wait_estimates(GUESTS, 2, timeout=120, after=restarted)
    assert stack.agent.alive
    for g in GUESTS:
        got = stack.newer(g, restarted)
        assert _mean([e[1] for e in got]) == pytest.approx(
            g.dirty_mibps, rel=TOLERANCE)
