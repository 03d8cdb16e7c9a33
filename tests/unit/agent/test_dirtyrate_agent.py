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

"""The agent's scheduling rules, against an in-test fake hypervisor.

The fake stands in for :class:`~watcher_informed.agent.hypervisor.
LibvirtHypervisor` only (same five calls, same exceptions); it answers
each window with exactly ``min(W, D t) / t`` floored to whole MiB/s as
libvirt does, and fails the test if a second calculation is started on a
domain that has one in progress.  The real libvirt is in tests/libvirt.
"""

import configparser
import json
import math
import pathlib
import shlex
import subprocess
import sys

import pytest

from watcher_informed.agent import dirtyrate as agent_mod
from watcher_informed.agent import hypervisor as hv


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeDomain:
    def __init__(self, uuid, dirty, wss):
        self.uuid, self.name = uuid, 'instance-' + uuid[:4]
        self.dirty, self.wss = dirty, wss
        self.calc = None            # (seconds, started)
        self.last = hv.Result(hv.UNSTARTED)
        self.starts = []
        self.fail_start = None      # exception class raised by start()
        self.never_finishes = False


class FakeHypervisor:
    def __init__(self, clock, domains=()):
        self.clock = clock
        self.doms = {d.uuid: d for d in domains}
        self.connected = False
        self.refuse_connect = 0     # number of connect() calls to refuse
        self.connects = []
        self.drop_on_list = False
        self.max_concurrent = 0

    def connect(self):
        self.connects.append(self.clock.now)
        if self.refuse_connect:
            self.refuse_connect -= 1
            raise hv.ConnectionLost('connection refused')
        self.connected = True

    def close(self):
        self.connected = False

    def _need(self):
        if not self.connected:
            raise hv.ConnectionLost('not connected')

    def running_domains(self):
        self._need()
        if self.drop_on_list:
            self.drop_on_list = False
            self.connected = False
            raise hv.ConnectionLost('End of file while reading data')
        return [hv.Domain(d.uuid, d.name, d) for d in self.doms.values()]

    def _check_alive(self, dom):
        if dom.uuid not in self.doms:
            raise hv.DomainGone('domain not running')

    def _refresh(self, dom):
        if dom.calc is None or dom.never_finishes:
            return
        seconds, started = dom.calc
        if self.clock.now >= started + seconds:
            rate = min(dom.wss, dom.dirty * seconds) / seconds
            dom.last = hv.Result(hv.MEASURED, seconds, math.floor(rate))
            dom.calc = None

    def start(self, dom, seconds):
        self._need()
        self._check_alive(dom)
        self._refresh(dom)
        assert dom.calc is None, 'two calculations on %s' % dom.uuid
        if dom.fail_start:
            raise dom.fail_start('startDirtyRateCalc: internal error')
        dom.calc = (seconds, self.clock.now)
        dom.last = hv.Result(hv.MEASURING, seconds)
        dom.starts.append((self.clock.now, seconds))
        busy = sum(1 for d in self.doms.values() if d.calc)
        self.max_concurrent = max(self.max_concurrent, busy)

    def result(self, dom):
        self._need()
        self._check_alive(dom)
        self._refresh(dom)
        return dom.last


class Recorder:
    """A publisher that keeps what it was told."""

    def __init__(self):
        self.estimates, self.errors, self.forgotten = [], [], []
        self.links = []

    def estimate(self, domain, estimate, timestamp):
        self.estimates.append((domain.uuid, estimate))

    def error(self, domain, message):
        self.errors.append((domain.uuid, message))

    def forget(self, uuid):
        self.forgotten.append(uuid)

    def connection(self, up):
        self.links.append(up)

    def domains(self, count):
        pass

    def of(self, uuid):
        return [e for u, e in self.estimates if u == uuid]


def uuid(n):
    return '%08d-0000-4000-8000-000000000000' % n


def make(doms, **kw):
    clock = Clock()
    hyp = FakeHypervisor(clock, doms)
    rec = Recorder()
    kw.setdefault('windows', (2, 8))
    kw.setdefault('interval', 30)
    agent = agent_mod.Agent(hyp, [rec], clock=clock, wall=clock, **kw)
    return agent, hyp, rec, clock


def run_for(agent, clock, seconds, hook=None):
    end = clock.now + seconds
    while clock.now < end:
        clock.now += agent.tick()
        if hook:
            hook(clock.now)


GUESTS = [
    # (D MiB/s, W MiB): between, neither saturated, both saturated
    (64, 256), (8, 1024), (200, 64),
]


@pytest.mark.parametrize('cap', [1, 2, 3])
def test_estimates_and_concurrency_cap(cap):
    doms = [FakeDomain(uuid(i), d, w) for i, (d, w) in enumerate(GUESTS)]
    agent, hyp, rec, clock = make(doms, max_concurrent=cap)
    run_for(agent, clock, 200)
    assert hyp.max_concurrent == cap
    want = {uuid(0): (64, 256, True, True),
            uuid(1): (8, 64, True, False),
            uuid(2): (32, 64, False, True)}
    for u, (d, w, rate_exact, wss_exact) in want.items():
        ests = rec.of(u)
        assert len(ests) >= 3
        assert (ests[-1].dirty_mibps, ests[-1].wss_mib) == \
            pytest.approx((d, w))
        assert (ests[-1].rate_exact, ests[-1].wss_exact) == \
            (rate_exact, wss_exact)
    assert rec.errors == []


def test_windows_run_one_after_the_other_and_cycles_respect_interval():
    dom = FakeDomain(uuid(1), 64, 256)
    agent, hyp, rec, clock = make([dom], interval=30, max_concurrent=4)
    run_for(agent, clock, 125)
    starts = dom.starts
    assert [s for _, s in starts[:4]] == [2, 8, 2, 8]
    # second window starts after the first ended
    for (t1, s1), (t2, _) in zip(starts, starts[1:]):
        assert t2 >= t1 + s1
    cycle_starts = [t for t, s in starts if s == 2]
    gaps = [b - a for a, b in zip(cycle_starts, cycle_starts[1:])]
    assert gaps and all(30 <= g < 32 for g in gaps)


def test_domain_gone_mid_calculation_is_forgotten_others_go_on():
    a, b = FakeDomain(uuid(1), 64, 256), FakeDomain(uuid(2), 8, 1024)
    agent, hyp, rec, clock = make([a, b], max_concurrent=2)

    def destroy(now):
        if now > 5 and a.uuid in hyp.doms:
            del hyp.doms[a.uuid]
    run_for(agent, clock, 100, destroy)
    assert rec.forgotten == [a.uuid]
    assert rec.of(a.uuid) == [] and len(rec.of(b.uuid)) >= 3
    assert rec.errors == [] and a.uuid not in agent.domains


def test_new_domain_is_measured():
    a = FakeDomain(uuid(1), 64, 256)
    agent, hyp, rec, clock = make([a])
    run_for(agent, clock, 20)
    b = FakeDomain(uuid(2), 64, 128)
    hyp.doms[b.uuid] = b
    run_for(agent, clock, 40)
    assert rec.of(b.uuid)[-1].wss_mib == pytest.approx(128)


@pytest.mark.parametrize('failure', [hv.DomainError, RuntimeError])
def test_one_failing_domain_does_not_stop_the_others(failure):
    bad, good = FakeDomain(uuid(1), 64, 256), FakeDomain(uuid(2), 64, 256)
    bad.fail_start = failure
    agent, hyp, rec, clock = make([bad, good], interval=30)
    run_for(agent, clock, 95)
    assert len(rec.of(good.uuid)) >= 3 and rec.of(bad.uuid) == []
    # one failure per interval, not one per pass
    assert [u for u, _ in rec.errors] == [bad.uuid] * 4
    assert agent.domains[bad.uuid].errors == 4


def test_calculation_that_never_finishes_times_out():
    dom = FakeDomain(uuid(1), 64, 256)
    dom.never_finishes = True
    agent, hyp, rec, clock = make([dom], calc_timeout=10, interval=60)
    run_for(agent, clock, 11.5)      # 2 s window + 10 s: not yet late
    assert rec.errors == []
    run_for(agent, clock, 1.5)
    assert len(rec.errors) == 1 and 'no result' in rec.errors[0][1]


def test_busy_domain_is_not_started_and_not_an_error():
    dom = FakeDomain(uuid(1), 64, 256)
    dom.calc = (20, 1000.0)          # someone else's 20 s calculation
    dom.last = hv.Result(hv.MEASURING, 20)
    agent, hyp, rec, clock = make([dom])
    run_for(agent, clock, 19)
    assert dom.starts == [] and rec.errors == []
    run_for(agent, clock, 12)
    assert dom.starts and dom.starts[0][0] >= 1020
    assert rec.of(dom.uuid)


def test_connection_lost_reconnects_and_measuring_resumes():
    dom = FakeDomain(uuid(1), 64, 256)
    agent, hyp, rec, clock = make([dom], interval=15)
    run_for(agent, clock, 20)
    before = len(rec.of(dom.uuid))
    hyp.drop_on_list = True
    hyp.refuse_connect = 2
    run_for(agent, clock, 60)
    assert before >= 1 and len(rec.of(dom.uuid)) >= before + 2
    assert rec.links[0] is True and False in rec.links
    assert rec.links[-1] is True and rec.errors == []
    assert dom.uuid in agent.domains


@pytest.mark.parametrize('failure', [hv.HypervisorError('listing'),
                                     RuntimeError('bug')])
def test_failed_listing_is_logged_and_the_next_pass_goes_on(failure):
    dom = FakeDomain(uuid(1), 64, 256)
    agent, hyp, rec, clock = make([dom])
    real = hyp.running_domains
    calls = []

    def flaky():
        calls.append(clock.now)
        if len(calls) == 3:
            raise failure
        return real()
    hyp.running_domains = flaky
    run_for(agent, clock, 75)
    # cycles start at 1000, 1030 and 1060 as without the failure
    assert len(calls) > 3 and len(rec.of(dom.uuid)) == 3


def test_connect_backoff_doubles_up_to_the_cap():
    agent, hyp, rec, clock = make([])
    hyp.refuse_connect = 8
    run_for(agent, clock, 300)
    gaps = [round(b - a) for a, b in zip(hyp.connects, hyp.connects[1:])]
    assert gaps[:7] == [1, 2, 4, 8, 16, 32, 60]
    assert hyp.connected


CHECKS = [
    ((2, 10), [2, 10]),
    ((10, 2, 2), [2, 10]),
    ((5,), ValueError),
    ((0, 5), ValueError),
    ((2, 61), ValueError),
    ((4, 5), ValueError),     # too close to tell saturation (ratio < 1.38)
]


@pytest.mark.parametrize('windows,want', CHECKS)
def test_check_windows(windows, want):
    if want is ValueError:
        with pytest.raises(ValueError):
            agent_mod.check_windows(windows)
    else:
        assert agent_mod.check_windows(windows) == want


def test_shipped_systemd_unit_runs_a_valid_command_line():
    unit = pathlib.Path(__file__).resolve().parents[3] / 'etc' / \
        'watcher-informed' / 'watcher-informed-dirtyrate.service'
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(unit.read_text().replace('\\\n', ' '))
    argv = shlex.split(parser['Service']['ExecStart'])
    assert argv[0].endswith('/watcher-informed-dirtyrate')
    args = agent_mod._parse_args(argv[1:])
    assert args.uri == 'qemu:///system'
    assert agent_mod.check_windows(
        [int(w) for w in args.windows.split(',')]) == [2, 10]
    assert args.max_concurrent == 1 and args.interval == 60


def test_agent_needs_only_the_standard_library():
    # on a compute node neither Watcher nor oslo is installed; requests
    # and keystoneauth1 are imported only for --gnocchi-url
    code = ('import sys, watcher_informed.agent.dirtyrate as a; '
            'a._parse_args([]); '
            'import json; '
            'print(json.dumps(sorted({m.split(".")[0] '
            'for m in sys.modules})))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    loaded = set(json.loads(out))
    assert not loaded & {'watcher', 'oslo_config', 'oslo_log', 'eventlet',
                         'numpy', 'requests', 'keystoneauth1', 'libvirt'}
