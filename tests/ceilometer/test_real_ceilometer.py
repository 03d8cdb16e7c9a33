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


"""Real Ceilometer on real QEMU guests feeds the strategy (issue 21).

Six TCG guests, each defined through the private libvirtd of tests/libvirt
with Nova's instance metadata (:func:`harness.domain_xml`) and running one
workload of the paper (:data:`GUESTS`): CPU-bound, memory-dirtying,
disk-writing, network-receiving (raw frames sent to it from the host side
of its tap), transmitting (raw frames out of its NIC) and idle.
Ceilometer 27's own agents run as an operator runs them --
``ceilometer-upgrade``, ``ceilometer-polling --polling-namespaces compute``
(libvirt inspector, ``libvirt_metadata`` discovery) and
``ceilometer-agent-notification`` over RabbitMQ -- with the polling.yaml and
pipeline.yaml of doc/source/metrics.rst, publishing into the Gnocchi of
tools/metrics/stack.sh, into its Prometheus through ceilometer-polling's
exporter, and to a Pushgateway through Ceilometer's prometheus://
publisher.  The dirty-rate agent measures the same guests and publishes
into the same Gnocchi and Prometheus.

After a few polling intervals the plugin's bulk readers read every metric
back and the strategy's classifier must give each guest its workload's
class, from Gnocchi and from Prometheus alike.  Needs the stores of
tools/metrics/stack.sh (``WI_GNOCCHI_URL``, ``WI_PROMETHEUS_URL``) and the
ports in ``WI_CEILOMETER_*``; run with ``bash tools/ceilometer/test.sh``.
Skips with the reason when something is missing, fails instead under
``WI_CEILOMETER_REQUIRED=1``.  Nothing here is timed.
"""

import hashlib
import os
import pathlib
import pwd
import shutil
import sys
import tempfile
import uuid as uuidlib

import pytest
import requests

from tests.ceilometer import harness
from tests.libvirt import harness as lv
from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import gnocchi
from watcher_informed.adapters.metrics import prometheus
from watcher_informed.core import classify
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap

G = harness.Guest
#: the paper's workloads: expected class, name, RAM MiB, kernel arguments
#: of the guest programs, KiB/s sent to the guest from the host side.
GUESTS = (
    G('cpu', 'wi-cpu', 96, 'wl.mode=cpu wl.duty=60', 0),
    G('memory', 'wi-memory', 160, 'wl.mode=memory dirty.fill=0 '
      'dirty.wsmax=64 dirty.ws=64 dirty.rate=10240 dirty.flusher=0', 0),
    G('disk_io', 'wi-disk', 96, 'wl.mode=disk wl.rate=4096', 0),
    G('net_rx', 'wi-rx', 96, 'wl.mode=idle', 1024),
    G('web', 'wi-web', 96, 'wl.mode=tx wl.rate=1024', 0),
    G('idle', 'wi-idle', 96, 'wl.mode=idle', 0),
)
#: Ceilometer's polling interval (s) and the archive policy its Gnocchi
#: publisher is told to use: 1 s buckets, so that a short run has many
#: points (an operator keeps ceilometer-low's 300 s).
INTERVAL = 10
ARCHIVE_POLICY = 'ceilometer-high-rate'
#: polls of every meter the readers need before reading.
POLLS = 6
WINDOW_GNOCCHI = base.Window(period_s=90, granularity_s=1,
                             stale_after_s=60)
WINDOW_PROMETHEUS = base.Window(period_s=90, granularity_s=5,
                                stale_after_s=60)
CEILOMETER_METRICS = (snap.CPU, snap.RAM, snap.RAM_RESIDENT,
                      snap.DISK_READ, snap.DISK_WRITE, snap.NET_RX,
                      snap.NET_TX)
ALL_METRICS = CEILOMETER_METRICS + (snap.DIRTY_RATE, snap.WSS)


def _env_port(name):
    value = os.environ.get(name)
    if not value:
        raise lv.Unavailable('%s unset (run: bash tools/ceilometer/test.sh)'
                             % name)
    return int(value)


class Stack:
    """What the module fixture started, torn down in reverse order."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix='wi-ceilometer-')
        os.chmod(self.work, 0o755)  # noqa: S103 - libvirtd's user reads
        self.closers = []
        self.uuids = {}
        self.ports = {}
        self.instances = {}

    def close(self):
        while self.closers:
            fn = self.closers.pop()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - tear down the rest
                print('teardown: %r' % exc, file=sys.stderr)
        if not os.environ.get('WI_CEILOMETER_KEEP'):
            shutil.rmtree(self.work, ignore_errors=True)

    def gnocchi(self, path, **kwargs):
        resp = requests.get(self.gnocchi_url + path, auth=('admin', ''),
                            timeout=30, **kwargs)
        resp.raise_for_status()
        return resp.json()

    def search(self, rtype, uuid):
        resp = requests.post(
            self.gnocchi_url + '/v1/search/resource/' + rtype,
            json={'=': {'instance_id': uuid}}, auth=('admin', ''),
            timeout=30)
        resp.raise_for_status()
        return resp.json()

    def log_tail(self, n=3000):
        """The end of every Ceilometer agent's log."""
        text = ''
        for path in sorted((pathlib.Path(self.work) / 'ceilometer' /
                            'logs').glob('*.log')):
            text += '--- %s\n%s' % (path.name,
                                    path.read_text(errors='replace')[-n:])
        return text


def _requirements():
    assets = lv.assets()
    cache = pathlib.Path(os.environ.get('WI_QEMU_CACHE') or
                         lv.DEFAULT_CACHE)
    initrd = cache / 'initrd-ceilometer.gz'
    if not initrd.is_file():
        raise lv.Unavailable('no %s (run: bash tools/ceilometer/setup.sh)'
                             % initrd)
    assets['initrd_ceilometer'] = str(initrd)
    venv = pathlib.Path(os.environ.get('WI_CEILOMETER_VENV', ''))
    if not (venv / 'bin' / 'ceilometer-polling').exists():
        raise lv.Unavailable('no ceilometer-polling in WI_CEILOMETER_VENV=%s'
                             % venv)
    for tool in ('rabbitmq-server', 'ip'):
        if not shutil.which(tool, path='/usr/sbin:/usr/bin:/sbin:/bin'):
            raise lv.Unavailable('%s not installed' % tool)
    urls = {k: os.environ.get(k, '') for k in ('WI_GNOCCHI_URL',
                                               'WI_PROMETHEUS_URL')}
    for key, url in urls.items():
        if not url:
            raise lv.Unavailable('%s unset (run: bash tools/ceilometer/'
                                 'test.sh)' % key)
    return assets, venv, urls


def _start_guests(st, assets):
    pw = pwd.getpwnam(lv.user())
    st.netns = harness.NetNS('wi-ceilometer-%d' % os.getpid())
    st.closers.append(st.netns.close)
    st.libvirtd = lv.Libvirtd(st.work, netns=st.netns.name)
    st.libvirtd.start()
    st.closers.append(st.libvirtd.stop)
    conn = st.libvirtd.connect()
    st.closers.append(conn.close)
    st.conn = conn
    doms = []
    for index, g in enumerate(GUESTS, 1):
        port = str(uuidlib.uuid4())
        uuid = str(uuidlib.uuid4())
        st.netns.add_tap(harness.tap_name(port), lv.user())
        disk = pathlib.Path(st.work) / ('disk-%d.raw' % index)
        with open(disk, 'wb') as f:
            f.truncate(32 << 20)
        os.chown(disk, pw.pw_uid, pw.pw_gid)
        xml = harness.domain_xml(assets, g, index, uuid, port, disk,
                                 st.libvirtd.console(g.name),
                                 'wi-flavor-%d' % g.memory_mib)
        dom = conn.createXML(xml, 0)
        st.closers.append(lambda d=dom: _destroy(d))
        st.uuids[g.name] = uuid
        st.ports[g.name] = port
        st.instances[g.name] = snap.Instance(
            uuid=uuid, name=g.name, host=harness.HOST, vcpus=1,
            ram_mb=g.memory_mib, disk_gb=1)
        doms.append(g)

    def ready():
        for g in doms:
            text = st.libvirtd.console(g.name).read_text(errors='replace')
            if 'ERROR' in text:
                raise lv.HarnessError('guest %s: %s' % (g.name, text[-500:]))
            if 'READY' not in text:
                return False
        return True
    lv.wait_for('6 guests READY', 240, ready, 1.0)
    for g in GUESTS:
        if g.rx_kibps:
            port = st.ports[g.name]
            sender = harness.rx_sender(
                st.netns.name, harness.tap_name(port), harness.mac_of(port),
                g.rx_kibps, pathlib.Path(st.work) / ('rx-%s.log' % g.name))
            st.closers.append(sender.close)


def _destroy(dom):
    import libvirt
    try:
        dom.destroy()
    except libvirt.libvirtError:
        pass


def _start_ceilometer(st, venv, rabbit):
    conf = harness.ceilometer_files(
        st.work, st.libvirtd.uri, rabbit.url, st.gnocchi_url,
        st.exporter_port, st.pushgateway_url, INTERVAL, ARCHIVE_POLICY)
    st.conf = conf
    env = dict(os.environ)
    logs = pathlib.Path(st.work) / 'ceilometer' / 'logs'
    # what an operator runs once: Ceilometer's archive policies and
    # resource types in Gnocchi
    out = harness.run(str(venv / 'bin' / 'ceilometer-upgrade'),
                      '--config-file', str(conf), check=False)
    if out.returncode:
        raise lv.HarnessError('ceilometer-upgrade failed: %s%s'
                              % (out.stdout[-2000:], out.stderr[-2000:]))
    for argv, name in (
            (['ceilometer-agent-notification'], 'notification'),
            (['ceilometer-polling', '--polling-namespaces', 'compute'],
             'polling')):
        proc = lv.Process([str(venv / 'bin' / argv[0]), *argv[1:],
                           '--config-file', str(conf)],
                          logs / ('%s.out' % name), env=env)
        st.closers.append(proc.close)
        setattr(st, name, proc)


def _start_agent(st):
    agent = lv.Process(
        [os.path.join(os.path.dirname(sys.executable),
                      'watcher-informed-dirtyrate'),
         '--uri', st.libvirtd.uri, '--windows', '1,4', '--interval',
         str(INTERVAL), '--max-concurrent', '2',
         '--listen', '127.0.0.1:%d' % st.agent_port,
         '--host-label', harness.HOST,
         '--gnocchi-url', st.gnocchi_url, '--gnocchi-basic-user', 'admin',
         '--gnocchi-archive-policy', 'ceilometer-high'],
        os.path.join(st.work, 'dirtyrate-agent.log'), env=dict(os.environ))
    st.closers.append(agent.close)
    st.agent = agent


def _start_pushgateway(st):
    gw = lv.Process(['prometheus-pushgateway',
                     '--web.listen-address=127.0.0.1:%d' % st.pushgateway_port,
                     '--persistence.interval=0s'],
                    os.path.join(st.work, 'pushgateway.log'))
    st.closers.append(gw.close)
    lv.wait_for('pushgateway ready', 60, lambda: requests.get(
        st.pushgateway_url + '/-/ready', timeout=2).ok)


_SETUP_FAILED = []


@pytest.fixture(scope='module')
def stack():
    if _SETUP_FAILED:
        pytest.fail('stack setup failed before: %s' % _SETUP_FAILED[0])
    try:
        assets, venv, urls = _requirements()
        ports = {k: _env_port('WI_CEILOMETER_%s_PORT' % k.upper())
                 for k in ('rabbit', 'rabbit_dist', 'epmd', 'exporter',
                           'pushgateway', 'agent')}
    except lv.Unavailable as exc:
        if os.environ.get('WI_CEILOMETER_REQUIRED'):
            pytest.fail('Ceilometer suite required but unavailable: %s'
                        % exc)
        pytest.skip(str(exc))
    busy = [p for p in ports.values() if harness.port_open(p)]
    if busy:
        pytest.fail('ports %s of this suite are in use (set '
                    'WI_CEILOMETER_*_PORT)' % busy)
    st = Stack()
    try:
        st.gnocchi_url = urls['WI_GNOCCHI_URL']
        st.prometheus_url = urls['WI_PROMETHEUS_URL']
        st.exporter_port = ports['exporter']
        st.agent_port = ports['agent']
        st.pushgateway_port = ports['pushgateway']
        st.pushgateway_url = 'http://127.0.0.1:%d' % ports['pushgateway']
        rabbit = harness.RabbitMQ(st.work, ports['rabbit'],
                                  ports['rabbit_dist'], ports['epmd'])
        st.closers.append(rabbit.close)
        _start_pushgateway(st)
        _start_guests(st, assets)
        rabbit.wait()
        _start_ceilometer(st, venv, rabbit)
        _start_agent(st)
    except Exception as exc:
        _SETUP_FAILED.append(repr(exc)[:2000])
        st.close()
        raise
    try:
        yield st
    finally:
        st.close()


def _polled(st):
    """Each guest's instance resource with POLLS measures of every meter."""
    def enough():
        for proc in (st.polling, st.notification, st.agent):
            if not proc.alive:
                raise lv.HarnessError('%s exited: %s' % (
                    proc.argv[0], proc.tail()))
        for name, uuid in st.uuids.items():
            try:
                res = st.gnocchi('/v1/resource/instance/%s' % uuid)
            except requests.HTTPError:
                return False
            for meter in ('cpu', 'memory.resident'):
                mid = res['metrics'].get(meter)
                if not mid:
                    return False
                got = st.gnocchi('/v1/metric/%s/measures' % mid,
                                 params={'granularity': 1})
                if len(got) < POLLS:
                    return False
        return True
    try:
        lv.wait_for('%d polls of every guest in Gnocchi' % POLLS,
                    INTERVAL * POLLS + 240, enough, 2.0)
    except lv.HarnessError as exc:
        raise lv.HarnessError('%s\n%s' % (exc, st.log_tail()))


def _gnocchi_client(url):
    from gnocchiclient import auth as gauth
    from gnocchiclient.v1 import client as gclient
    from keystoneauth1 import session as ks
    plugin = gauth.GnocchiBasicPlugin(user='admin', endpoint=url)
    return gclient.Client(session=ks.Session(auth=plugin))


#: the NIC declared for this host (``host_network_capacity``, MiB/s): the
#: guests move about 1 MiB/s, so the host is declared as a 32 Mbit/s link
#: (network-heavy from 5 %, 0.2 MiB/s), as an operator declares the NICs
#: of their computes; the defaults (10 Gbit/s) would call 1 MiB/s light.
HOST_NIC_MIBPS = 4.0


def _classes(usage, st):
    """The strategy's classification per guest (defaults but the NIC)."""
    p = params.Params(host_network_capacity=HOST_NIC_MIBPS)
    return {g.name: classify.classify_instance(
        st.instances[g.name], usage[st.uuids[g.name]], p) for g in GUESTS}


def _read(reader, st, window):
    insts = [st.instances[g.name] for g in GUESTS]
    return base.read_usage(reader, insts, window, ALL_METRICS)


def _report(store, usage, profiles, st):
    for g in GUESTS:
        u = usage[st.uuids[g.name]]
        print('%-10s %-9s -> %-8s %s' % (
            store, g.name, profiles[g.name].cls, ', '.join(
                '%s=%.3g' % (m, u.get(m)) if u.get(m) is not None else
                '%s=None (%s)' % (m, u.reason(m)) for m in ALL_METRICS)))


def test_every_guest_is_a_nova_instance_in_gnocchi(stack):
    _polled(stack)
    for g in GUESTS:
        uuid = stack.uuids[g.name]
        res = stack.gnocchi('/v1/resource/instance/%s' % uuid)
        # what libvirt_metadata discovery takes from the domain XML
        assert res['display_name'] == g.name
        assert res['flavor_id'] == 'wi-flavor-%d' % g.memory_mib
        assert res['flavor_name'] == 'wi.%d' % g.memory_mib
        assert res['project_id'] == harness.PROJECT
        assert res['user_id'] == harness.USER
        assert res['host'] == harness.HOST
        assert res['image_ref'] == harness.IMAGE
        assert {'cpu', 'memory.usage', 'memory.resident'} <= \
            set(res['metrics'])
        disks = stack.search('instance_disk', uuid)
        # Gnocchi keeps Ceilometer's id as original_resource_id (its own id
        # of a non-UUID id is a UUID5 of it)
        assert [d['original_resource_id'] for d in disks] == [
            '%s-vda' % uuid]
        assert disks[0]['name'] == 'vda'
        nics = stack.search('instance_network_interface', uuid)
        assert [n['name'] for n in nics] == [
            harness.tap_name(stack.ports[g.name])]
        index = GUESTS.index(g) + 1
        assert [n['original_resource_id'] for n in nics] == [
            'instance-%08x-%s-%s' % (
            index, uuid, harness.tap_name(stack.ports[g.name]))]


def test_gnocchi_readers_classify_every_guest_as_its_workload(stack):
    _polled(stack)
    reader = gnocchi.GnocchiMetrics(
        _gnocchi_client(stack.gnocchi_url),
        dirty_rate_meter='memory.dirty.rate',
        working_set_meter='memory.dirty.working_set')
    usage = _read(reader, stack, WINDOW_GNOCCHI)
    profiles = _classes(usage, stack)
    _report('gnocchi', usage, profiles, stack)
    _check(usage, profiles, stack)


def test_prometheus_readers_classify_every_guest_as_its_workload(stack):
    _polled(stack)
    reader = prometheus.PrometheusMetrics(
        stack.prometheus_url, dirty_rate_meter='memory.dirty.rate',
        working_set_meter='memory.dirty.working_set')
    usage = _read(reader, stack, WINDOW_PROMETHEUS)
    profiles = _classes(usage, stack)
    _report('prometheus', usage, profiles, stack)
    _check(usage, profiles, stack)


def _check(usage, profiles, st):
    for g in GUESTS:
        u = usage[st.uuids[g.name]]
        for metric in CEILOMETER_METRICS:
            assert u.get(metric) is not None, (g.name, metric,
                                               u.reason(metric))
        # QEMU's resident set holds the guest's touched RAM and QEMU itself
        assert u.get(snap.RAM_RESIDENT) > u.get(snap.RAM) > 0, g.name
    got = {g.name: profiles[g.name].cls for g in GUESTS}
    want = {g.name: g.cls for g in GUESTS}
    assert got == want, {n: profiles[n].evidence for n in got
                         if got[n] != want[n]}


def test_dirty_rate_meters_sit_beside_ceilometers(stack):
    """The agent's meters are on the instance resource Ceilometer made."""
    _polled(stack)

    def both():
        for g in GUESTS:
            res = stack.gnocchi('/v1/resource/instance/%s'
                                % stack.uuids[g.name])
            if not {'cpu', 'memory.dirty.rate',
                    'memory.dirty.working_set'} <= set(res['metrics']):
                return False
        return True
    lv.wait_for('dirty-rate meters on every instance resource', 120, both,
                2.0)
    series = requests.get(stack.prometheus_url + '/api/v1/series', params={
        'match[]': ['ceilometer_cpu', 'ceilometer_memory_dirty_rate']},
        timeout=30).json()['data']
    for g in GUESTS:
        names = {s['__name__'] for s in series
                 if s.get('resource') == stack.uuids[g.name]}
        assert names == {'ceilometer_cpu', 'ceilometer_memory_dirty_rate'}, \
            (g.name, names)


def test_pushgateway_route_is_not_what_watcher_reads(stack):
    """Ceilometer's prometheus:// publisher: other names, other labels.

    Watcher's Prometheus datasource (and this plugin's reader) look for
    ``ceilometer_<meter>{resource=<id>}``, which ceilometer-polling's
    exporter gives; the Pushgateway publisher pushes ``<meter>`` (``.`` as
    ``_``) with ``resource_id``, ``user_id`` and ``project_id`` labels.
    """
    _polled(stack)
    uuid = stack.uuids['wi-cpu']

    def pushed():
        got = requests.get(stack.prometheus_url + '/api/v1/series', params={
            'match[]': '{resource_id="%s"}' % uuid},
            timeout=30).json()['data']
        return got
    series = lv.wait_for('pushed series of wi-cpu', 120, pushed, 2.0)
    names = {s['__name__'] for s in series}
    assert {'cpu', 'memory_usage', 'memory_resident'} <= names, names
    assert not any(n.startswith('ceilometer_') for n in names), names
    assert all('resource' not in s for s in series), series
    # the push URL's job, kept by honor_labels
    assert {s['job'] for s in series} == {'ceilometer'}
    reader = prometheus.PrometheusMetrics(stack.prometheus_url)
    # the reader finds wi-cpu only through the exporter's series
    exporter = requests.get(stack.prometheus_url + '/api/v1/series', params={
        'match[]': 'ceilometer_cpu{resource="%s"}' % uuid},
        timeout=30).json()['data']
    assert {s['job'] for s in exporter} == {'ceilometer-polling'}
    assert reader.supports(snap.CPU)


def _load_module():
    """tools/metrics/load.py: what the imitation stores write."""
    import importlib.util
    path = pathlib.Path(__file__).resolve().parents[2] / 'tools' / \
        'metrics' / 'load.py'
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location('wi_metrics_load', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seconds(text):
    """Gnocchi's timedelta text (``'1 day, 0:05:00'``) in seconds."""
    days = 0
    if 'day' in text:
        head, text = text.split(',', 1)
        days = int(head.split()[0])
    h, m, s = (float(x) for x in text.strip().split(':'))
    return days * 86400 + h * 3600 + m * 60 + s


def _policy_shape(definition):
    return sorted((_seconds(d['granularity']) if ':' in str(
        d['granularity']) else _words(d['granularity']),
        d.get('points') or (_words(d['timespan']) // _words(
            d['granularity']))) for d in definition)


def _words(text):
    n, unit = str(text).split()
    return int(n) * {'second': 1, 'minute': 60, 'hour': 3600,
                     'day': 86400}[unit.rstrip('s')]


def test_imitation_stores_match_real_ceilometer(stack):
    """What tools/metrics/load.py writes is what Ceilometer writes."""
    _polled(stack)
    load = _load_module()
    diffs = []
    # archive policies and resource types made by ceilometer-upgrade
    for policy in load.ARCHIVE_POLICIES:
        real = stack.gnocchi('/v1/archive_policy/%s' % policy['name'])
        if set(real['aggregation_methods']) != \
                set(policy['aggregation_methods']):
            diffs.append('archive policy %s: methods %s, imitation %s' % (
                policy['name'], real['aggregation_methods'],
                policy['aggregation_methods']))
        if _policy_shape(real['definition']) != \
                _policy_shape(policy['definition']):
            diffs.append('archive policy %s: %s, imitation %s' % (
                policy['name'], real['definition'], policy['definition']))
    for rtype, attributes in load.RESOURCE_TYPES.items():
        real = stack.gnocchi('/v1/resource_type/%s' % rtype)['attributes']
        for name in sorted(set(real) | set(attributes)):
            got, ours = real.get(name), attributes.get(name)
            if got is None or ours is None or \
                    (got['type'], got['required']) != \
                    (ours['type'], ours['required']):
                diffs.append('resource type %s attribute %s: real %s, '
                             'imitation %s' % (rtype, name, got, ours))
    # the policy of each meter, as Ceilometer's publisher would pick it
    # (this suite overrides it with ARCHIVE_POLICY, so read the defaults
    # from Ceilometer's own gnocchi_resources.yaml)
    import yaml
    venv = pathlib.Path(os.environ['WI_CEILOMETER_VENV'])
    found = list(venv.glob('lib/python3*/site-packages/ceilometer/'
                           'publisher/data/gnocchi_resources.yaml'))
    definitions = yaml.safe_load(found[0].read_text())
    default = definitions.get('archive_policy_default', 'ceilometer-low')
    for rdef in definitions['resources']:
        metrics = rdef.get('metrics')
        if not isinstance(metrics, dict):
            continue        # a list of names: the default policy
        for meter, mdef in metrics.items():
            if meter in load.POLICY:
                want = (mdef or {}).get('archive_policy_name', default)
                if load.POLICY[meter] != want:
                    diffs.append('meter %s: archive policy %s, imitation '
                                 '%s' % (meter, want, load.POLICY[meter]))
    # units and labels of the exporter's series
    uuid = stack.uuids['wi-disk']
    series = requests.get(stack.prometheus_url + '/api/v1/series', params={
        'match[]': '{job="ceilometer-polling",resource=~"%s.*|.*-%s-.*"}'
        % (uuid, uuid)}, timeout=30).json()['data']
    disk_guest = [g for g in GUESTS if g.name == 'wi-disk'][0]
    inst = {'name': 'wi-disk', 'instance_name': 'instance-%08x' % (
        GUESTS.index(disk_guest) + 1), 'host': harness.HOST,
        'flavor_id': 'wi-flavor-%d' % disk_guest.memory_mib,
        'flavor_name': 'wi.%d' % disk_guest.memory_mib}
    # vm_instance: Nova's hostId of the host for the project
    host_id = hashlib.sha224((harness.PROJECT + harness.HOST).encode()
                             ).hexdigest()
    for s in series:
        meter = s.get('counter')
        if meter not in load.UNITS:
            continue
        device = None if s['resource'] == uuid else (
            'vda' if meter.startswith('disk') else
            harness.tap_name(stack.ports['wi-disk']))
        ours = dict(load.prom_labels(meter, s['resource'], inst,
                                     harness.PROJECT, harness.USER,
                                     load.UNITS[meter], device))
        real = {k: v for k, v in s.items()
                if k not in ('__name__', 'job', 'instance')}
        for key in sorted(set(real) | set(ours)):
            if key == 'vm_instance':
                ours[key] = host_id     # the imitation's project differs
            if real.get(key) != ours.get(key):
                diffs.append('%s label %s: real %r, imitation %r' % (
                    meter, key, real.get(key), ours.get(key)))
    counters = {s.get('counter') for s in series}
    assert set(load.UNITS) - {'cpu', 'memory.usage', 'memory.resident'} \
        <= counters, counters
    print('\n'.join(diffs) or 'no difference')
    assert not diffs
