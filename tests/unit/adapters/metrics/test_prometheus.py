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

"""PrometheusMetrics on a stand-in HTTP session (real server: integration).

Answers have the shape of Prometheus 2.42's ``/api/v1/query`` for a
subquery (``resultType: matrix``, values as strings).
"""

import types

from observabilityclient import prometheus_client as pc
import pytest
import requests

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import prometheus

NOW = 1_800_000_060.0
T = 1_800_000_000.0
W = base.Window(period_s=900, granularity_s=300, stale_after_s=900)
A = 'aaaaaaaa-0000-4000-8000-000000000001'
B = 'bbbbbbbb-0000-4000-8000-000000000002'
VMS = [types.SimpleNamespace(uuid=A, vcpus=2),
       types.SimpleNamespace(uuid=B, vcpus=1)]


def values(vals, last=T):
    n = len(vals)
    return [[last - (n - 1 - k) * 300, str(v)] for k, v in enumerate(vals)]


def item(resource, vals, last=T, **labels):
    return {'metric': dict(labels, resource=resource),
            'values': values(vals, last)}


class FakeResponse:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body
        self.text = str(body)
        self.reason = 'reason'

    def json(self):
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class FakeSession:
    def __init__(self, result=(), status=200, body=None, error=None):
        self.calls = []
        self.status = status
        self.body = body if body is not None else {
            'status': 'success',
            'data': {'resultType': 'matrix', 'result': list(result)}}
        self.error = error

    def get(self, url, params=None, headers=None, timeout=None):
        self.calls.append((url, params, timeout))
        if self.error:
            raise self.error
        return FakeResponse(self.status, self.body)

    def post(self, url, data=None, headers=None, timeout=None):
        self.calls.append(('POST', url, data, timeout))
        return FakeResponse(self.status, self.body)


def reader(session, **kwargs):
    r = prometheus.PrometheusMetrics('http://127.0.0.1:9090',
                                     clock=lambda: NOW, **kwargs)
    r._session = session
    return r


def test_one_subquery_per_metric_at_now():
    s = FakeSession([item(A, [0, 3e11, 6e11, 9e11]),
                     item('other-vm', [0, 1, 2])])
    got = reader(s).read('cpu', VMS, W)
    assert got[A].value == pytest.approx(0.5)       # 1 of 2 vCPUs
    assert got[B].reason == 'ceilometer_cpu: no samples in the last 900 s'
    assert len(s.calls) == 1
    url, params, timeout = s.calls[0]
    assert url == 'http://127.0.0.1:9090/api/v1/query'
    assert params == {'query': 'ceilometer_cpu{resource=~"%s|%s"}'
                      '[1200s:300s]' % (A, B), 'time': '%.3f' % NOW}
    assert timeout == 60.0


def test_disks_and_nics_map_back_to_their_instance():
    mib = 1024 * 1024
    s = FakeSession([
        item(A + '-vda', [0, 300 * mib, 600 * mib]),
        item(A + '-vdb', [0, 600 * mib, 1200 * mib]),
        item(B + '-vda', [0, 0, 0]),
    ])
    got = reader(s).read('disk_write', VMS, W)
    assert got[A].value == pytest.approx(3.0)
    assert got[B].value == 0.0
    nic = 'instance-0000002a-%s-tap1a2b3c4d-5e' % A
    s = FakeSession([item(nic, [0, 300 * mib, 900 * mib]),
                     item('fref-without-uuid', [0, 1, 2])])
    assert reader(s).read('net_rx', VMS, W)[A].value == pytest.approx(1.5)


def test_series_of_one_resource_are_merged():
    # the vm_instance label changed after a migration: two series
    old = item(A, [1.0, 1.0, 1.0], vm_instance='h1', last=T - 300)
    new = item(A, [5.0, 5.0], vm_instance='h2')
    got = reader(FakeSession([old, new])).read('ram', VMS[:1], W)
    # steps T-900, T-600 from the old series, T-300 and T from the new
    # (the newest series wins at T-300); the window holds T-600..T
    assert got[A].value == pytest.approx((1.0 + 5.0 + 5.0) / 3)


def test_nan_negative_and_stale():
    s = FakeSession([item(A, [1.0, 'NaN']),
                     item(B, [1.0, 2.0], last=T - 1200)])
    got = reader(s).read('ram', VMS, W)
    assert got[A].reason == 'ceilometer_memory_usage: 1 NaN sample(s) in ' \
        'window'
    assert got[B].reason == 'ceilometer_memory_usage: stale: newest ' \
        'sample 1260 s old'
    got = reader(FakeSession([item(A, [1.0, -3.0])])).read('ram', VMS, W)
    assert 'negative sample in window (-3)' in got[A].reason


def test_uuid_label_is_configurable():
    s = FakeSession([{'metric': {'uuid': A}, 'values': values([7.0])}])
    got = reader(s, uuid_label='uuid').read('ram', VMS[:1], W)
    assert got[A].value == 7.0


@pytest.mark.parametrize('session, text', [
    (FakeSession(error=requests.ConnectionError('Connection refused')),
     'ConnectionError: Connection refused'),
    (FakeSession(error=requests.Timeout('read timed out')),
     'Timeout: read timed out'),
    (FakeSession(status=503, body=ValueError('no json')), 'HTTP 503'),
    (FakeSession(status=400, body={'status': 'error',
                                   'error': 'parse error'}),
     'HTTP 400 for \'ceilometer_cpu{resource=~"aaaaaaaa-'),
    (FakeSession(status=422, body={'status': 'error',
                                   'error': 'parse error'}),
     '[1200s:300s]\': parse error'),
])
def test_store_failure_raises_naming_the_store(session, text):
    with pytest.raises(base.MetricsUnavailable) as info:
        reader(session).read('cpu', VMS, W)
    assert info.value.store == 'prometheus (http://127.0.0.1:9090)'
    assert text in str(info.value)


def test_uses_the_observabilityclient_session_and_url():
    client = pc.PrometheusAPIClient('prom.example:9090')
    client._session.verify = False
    r = prometheus.PrometheusMetrics(client, name='aetos')
    assert r.url == 'http://prom.example:9090/api/v1/query'
    assert r._session is client._session
    assert r.name == 'aetos'


def test_owner():
    wanted = {A, B}
    assert prometheus.owner(A, wanted) == A
    assert prometheus.owner(A + '-vdb', wanted) == A
    assert prometheus.owner('instance-00000001-%s-tap0' % B.upper(),
                            wanted) == B
    assert prometheus.owner('cccccccc-0000-4000-8000-000000000003-vda',
                            wanted) is None
    assert prometheus.owner('', wanted) is None


def test_promql_selects_the_audits_series():
    w = base.Window(period_s=3600, granularity_s=60)
    cpu, disk, nic = (prometheus.METERS[m] for m in
                      ('cpu', 'disk_read', 'net_tx'))
    assert prometheus.promql(nic, w, [A]) == \
        'ceilometer_network_outgoing_bytes[3660s:60s]'
    assert prometheus.promql(cpu, w, [B, A.upper()]) == \
        'ceilometer_cpu{resource=~"%s|%s"}[3660s:60s]' % (A, B)
    assert prometheus.selector(disk, [A], 'uuid') == \
        'ceilometer_disk_device_read_bytes{uuid=~"(%s)-.+"}' % A
    many = ['%08x-0000-4000-8000-000000000000' % i for i in range(
        prometheus.DISK_FILTER_MAX + 1)]
    assert prometheus.selector(disk, many) == disk.name
    # anything that is not a UUID never reaches the query
    assert prometheus.selector(cpu, [A, 'x"} or vector(1) #']) == cpu.name


def test_long_queries_are_posted():
    many = ['%08x-0000-4000-8000-000000000000' % i for i in range(300)]
    vms = [types.SimpleNamespace(uuid=u, vcpus=1) for u in many]
    s = FakeSession([])
    reader(s).read('ram', vms, W)
    method, url, form, _ = s.calls[0]
    assert method == 'POST' and url.endswith('/api/v1/query')
    assert form['query'].startswith('ceilometer_memory_usage{resource=~"')


def test_keystone_session_errors_name_the_store():
    """Aetos' client uses a keystoneauth session, which raises its own."""
    from keystoneauth1 import exceptions as ks_exc
    for error, text in ((ks_exc.ConnectFailure('Unable to establish '
                                               'connection'),
                         'ConnectFailure: Unable to establish connection'),
                        (ks_exc.http.Forbidden(), 'HTTP 403')):
        with pytest.raises(base.MetricsUnavailable) as info:
            reader(FakeSession(error=error), name='aetos').read(
                'ram', VMS, W)
        assert info.value.store.startswith('aetos')
        assert text in str(info.value)


DIRTY_NAMES = [
    # option value -> series queried
    ('memory.dirty.rate', 'memory.dirty.working_set',
     'ceilometer_memory_dirty_rate', 'ceilometer_memory_dirty_working_set'),
    ('my_dirty_rate', 'my_wss', 'my_dirty_rate', 'my_wss'),
]


@pytest.mark.parametrize('rate_opt,wss_opt,rate_series,wss_series',
                         DIRTY_NAMES)
def test_dirty_rate_and_working_set_gauges(rate_opt, wss_opt, rate_series,
                                           wss_series):
    s = FakeSession([item(A, [60.0, 68.0]), item(B, [40.0])])
    r = reader(s, dirty_rate_meter=rate_opt, working_set_meter=wss_opt)
    assert r.supports('dirty_rate') and r.supports('wss')
    got = r.read('dirty_rate', VMS, W)
    assert got[A].value == pytest.approx(64.0)
    assert got[B].value == pytest.approx(40.0)
    r.read('wss', VMS, W)
    queried = [params['query'].split('{')[0] for _, params, _ in s.calls]
    assert queried == [rate_series, wss_series]


def test_absent_dirty_gauges_leave_instances_without_a_value():
    r = reader(FakeSession([]), dirty_rate_meter='memory.dirty.rate',
               working_set_meter='memory.dirty.working_set')
    for metric in ('dirty_rate', 'wss'):
        got = r.read(metric, VMS, W)
        assert got[A].value is None and 'no samples' in got[A].reason


def test_series_name():
    assert prometheus.series_name('memory.dirty.rate') == \
        'ceilometer_memory_dirty_rate'
    assert prometheus.series_name('libvirt_dirty') == 'libvirt_dirty'


@pytest.mark.parametrize('metric,series', [
    ('ram', 'ceilometer_memory_usage'),
    ('ram_resident', 'ceilometer_memory_resident'),
])
def test_memory_gauges_of_the_instance(metric, series):
    """``memory.usage`` and ``memory.resident`` (MiB) as gauges."""
    s = FakeSession([item(A, [180.0, 190.0, 200.0])])
    got = reader(s).read(metric, VMS[:1], W)
    assert got[A].value == pytest.approx(190.0)
    assert s.calls[0][1]['query'] == '%s{resource=~"%s"}[1200s:300s]' % (
        series, A)


# -- issue 18: history and hosts' own meters ---------------------------------

def test_read_series_is_the_same_subquery_with_rates_per_step():
    s = FakeSession([item(A, [0, 3e11, 6e11, 9e11])])
    got = reader(s).read_series('cpu', VMS, W)
    assert got[A].values == pytest.approx((0.5, 0.5, 0.5))
    assert got[B].times == () and got[B].reason
    assert len(s.calls) == 1
    assert s.calls[0][1]['query'].endswith('[1200s:300s]')


@pytest.mark.parametrize('metric, answer, expected, fragment', [
    ('cpu', 0.25, 0.25, 'node_cpu_seconds_total{mode="idle",fqdn=~'),
    ('ram', 2048.0, 2048.0, 'node_memory_MemAvailable_bytes'),
])
def test_read_hosts_one_query_by_fqdn(metric, answer, expected, fragment):
    body = {'status': 'success', 'data': {'resultType': 'vector', 'result': [
        {'metric': {'fqdn': 'h1.example.com'}, 'value': [NOW, str(answer)]},
        {'metric': {'fqdn': 'h2'}, 'value': [NOW, 'NaN']}]}}
    s = FakeSession(body=body)
    got = reader(s).read_hosts(metric, ['h1', 'h2', 'h3'], W)
    assert got['h1'].value == pytest.approx(expected)
    assert got['h2'].value is None and 'nan' in got['h2'].reason.lower()
    assert got['h3'].value is None and 'h3' in got['h3'].reason
    assert len(s.calls) == 1 and fragment in s.calls[0][1]['query']


def test_read_hosts_escapes_the_regex_for_a_promql_string():
    """``cmp-1`` is the regex ``cmp\\-1``, written ``"cmp\\\\-1"`` in PromQL.

    Prometheus refuses ``"cmp\\-1"`` (an unknown string escape), HTTP 400.
    """
    body = {'status': 'success', 'data': {'resultType': 'vector',
                                          'result': []}}
    s = FakeSession(body=body)
    reader(s).read_hosts('cpu', ['cmp-1', 'h.2'], W)
    query = s.calls[0][1]['query']
    assert 'fqdn=~"(cmp\\\\-1|h\\\\.2)([.].*)?"' in query, query
