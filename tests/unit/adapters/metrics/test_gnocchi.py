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

"""GnocchiMetrics on a stand-in client (the real server: tests/integration).

The canned answers have the shape Gnocchi 4.7.1 returns for ``POST
/v1/aggregates`` (checked against the real server).
"""

import datetime
import types

from gnocchiclient import exceptions as gexc
import pytest

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import gnocchi

NOW = 1_800_000_060.0
T = 1_800_000_000.0          # last bucket
W = base.Window(period_s=900, granularity_s=300, stale_after_s=900)
A = 'aaaaaaaa-0000-4000-8000-000000000001'
B = 'bbbbbbbb-0000-4000-8000-000000000002'


def stamp(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc)


def series_of(values, last=T):
    n = len(values)
    return [[stamp(last - (n - 1 - k) * 300), 300.0, v]
            for k, v in enumerate(values)]


def answer_of(per_instance, metric, device=False):
    """An aggregates answer of ``{uuid: {resource id: points}}``.

    For devices, the references (``details=true``) carry ``instance_id``.
    """
    out = {'measures': {rid: {metric: {'mean': pts}}
                        for per_res in per_instance.values()
                        for rid, pts in per_res.items()}}
    if device:
        out['references'] = [{'id': rid, 'instance_id': uuid,
                              'type': 'instance_disk'}
                             for uuid, per_res in per_instance.items()
                             for rid in per_res]
    return out


class FakeAggregates:
    def __init__(self, answer=None, error=None):
        self.answer = answer
        self.error = error
        self.calls = []

    def fetch(self, operations, **kwargs):
        self.calls.append((operations, kwargs))
        if self.error:
            raise self.error
        return self.answer


def reader(answer=None, error=None, **kwargs):
    client = types.SimpleNamespace(aggregates=FakeAggregates(answer, error))
    return gnocchi.GnocchiMetrics(client, clock=lambda: NOW, **kwargs), \
        client.aggregates


VMS = [types.SimpleNamespace(uuid=A, vcpus=2),
       types.SimpleNamespace(uuid=B, vcpus=4)]


def test_cpu_one_query_grouped_by_instance_and_per_vcpu():
    # 2 vCPUs fully busy for 300 s = 6e11 ns per step
    answer = answer_of({A: {A: series_of([0, 6e11, 1.2e12, 1.8e12])}},
                       'cpu')
    r, agg = reader(answer)
    got = r.read('cpu', VMS, W)
    assert got[A].value == pytest.approx(1.0)
    assert got[B].value is None
    assert got[B].reason == 'cpu: no samples in the last 900 s'
    assert len(agg.calls) == 1
    ops, kw = agg.calls[0]
    assert ops == '(metric cpu mean)'
    assert kw['resource_type'] == 'instance'
    assert kw['search'] == {'in': {'id': sorted([A, B])}}
    assert kw['granularity'] == 300 and kw['fill'] == gnocchi.FILL
    assert 'groupby' not in kw and kw['details'] is False
    # one extra bucket before the window, for the first rate's base
    start = datetime.datetime.fromisoformat(kw['start']).timestamp()
    assert start == NOW - 900 - 300


def test_disks_are_summed_per_instance_with_reset():
    mib = 1024 * 1024
    per_instance = {
        A: {'disk-1': series_of([0, 300 * mib, 600 * mib, 900 * mib]),
            # this disk's counter restarted (guest reboot) at the last one
            'disk-2': series_of([5 * mib * 300, 6 * mib * 300,
                                 7 * mib * 300, 1 * mib * 300])},
        B: {'disk-of-another-vm': series_of([0, 1, 2])}}
    answer = answer_of(per_instance, 'disk.device.read.bytes',
                       device=True)
    # a disk without reference cannot be mapped: ignored
    answer['measures']['unknown-disk'] = {'disk.device.read.bytes': {
        'mean': series_of([0, 1e12, 2e12])}}
    r, agg = reader(answer)
    got = r.read('disk_read', VMS[:1], W)
    assert got[A].value == pytest.approx(1.0 + 1.0)
    _, kw = agg.calls[0]
    assert kw['resource_type'] == 'instance_disk'
    assert kw['details'] is True
    assert kw['search'] == {'in': {'instance_id': [A]}}


def test_filled_gaps_are_gaps_and_nan_is_bad():
    answer = answer_of({A: {A: series_of([None, 1.0, gnocchi.FILL, 3.0])},
                        B: {B: series_of([1.0, float('nan'), 3.0])}},
                       'memory.usage')
    r, _ = reader(answer)
    got = r.read('ram', VMS, W)
    assert got[A].value == pytest.approx(2.0)   # 1.0 and 3.0
    assert got[B].value is None
    assert got[B].reason == 'memory.usage: 1 NaN sample(s) in window'


def test_network_resources_and_unsupported_metric():
    r, agg = reader({'measures': {}})
    assert not r.supports('dirty_rate') and not r.supports('wss')
    got = r.read('net_tx', VMS, W)
    assert agg.calls[0][1]['resource_type'] == 'instance_network_interface'
    assert agg.calls[0][0] == '(metric network.outgoing.bytes mean)'
    assert all(v.value is None for v in got.values())
    assert 'does not provide wss' in r.read('wss', VMS, W)[A].reason


def test_dirty_rate_metric_is_a_gauge_on_the_instance():
    answer = answer_of({A: {A: series_of([10.0, 20.0])}}, 'dirty')
    r, agg = reader(answer, dirty_rate_meter='dirty')
    assert r.supports('dirty_rate')
    assert r.read('dirty_rate', VMS[:1], W)[A].value == 15.0
    assert agg.calls[0][0] == '(metric dirty mean)'


def test_no_instances_no_query():
    r, agg = reader([])
    assert r.read('cpu', [], W) == {}
    assert agg.calls == []


def test_vcpus_unknown_is_missing():
    answer = answer_of({A: {A: series_of([0, 1, 2])}}, 'cpu')
    r, _ = reader(answer)
    got = r.read('cpu', [types.SimpleNamespace(uuid=A, vcpus=0)], W)
    assert 'no vCPU count' in got[A].reason


def test_metric_nowhere_is_missing_not_an_error():
    r, _ = reader(error=gexc.NotFound(404, 'Metrics not found: cpu'))
    got = r.read('cpu', VMS, W)
    assert all('no samples' in v.reason for v in got.values())


def test_missing_resource_type_is_missing_not_an_error():
    r, _ = reader(error=gexc.BadRequest(
        400, 'Resource type instance_disk does not exist'))
    got = r.read('disk_read', VMS, W)
    assert 'has no resource type instance_disk' in got[A].reason


@pytest.mark.parametrize('error, text', [
    (ConnectionRefusedError('[Errno 111] Connection refused'),
     'ConnectionRefusedError while fetching cpu: [Errno 111]'),
    (gexc.Unauthorized(401, 'bad token'), 'HTTP 401'),
    (gexc.ClientException(503, 'unavailable'), 'HTTP 503'),
])
def test_store_failure_raises_naming_the_store(error, text):
    r, _ = reader(error=error)
    with pytest.raises(base.MetricsUnavailable) as info:
        r.read('cpu', VMS, W)
    assert info.value.store == 'gnocchi'
    assert str(info.value).startswith('metric store gnocchi unavailable: ')
    assert text in str(info.value)


def test_parse_accepts_iso_strings():
    answer = {'measures': {A: {'cpu': {
        'mean': [['2027-01-15T08:00:00+00:00', 300.0, 1.0]]}}}}
    parsed = gnocchi.parse(answer, 'cpu', device=False)
    assert parsed[A][A][0][0] == datetime.datetime(
        2027, 1, 15, 8, tzinfo=datetime.timezone.utc).timestamp()


def test_working_set_metric_is_a_gauge_on_the_instance():
    answer = answer_of({A: {A: series_of([200.0, 300.0])}},
                       'memory.dirty.working_set')
    r, agg = reader(answer, working_set_meter='memory.dirty.working_set')
    assert r.supports('wss') and not r.supports('dirty_rate')
    assert r.read('wss', VMS[:1], W)[A].value == 250.0
    assert agg.calls[0][0] == '(metric memory.dirty.working_set mean)'
    assert agg.calls[0][1]['resource_type'] == 'instance'


@pytest.mark.parametrize('metric,meter', [
    ('ram', 'memory.usage'),
    ('ram_resident', 'memory.resident'),
])
def test_memory_gauges_on_the_instance_resource(metric, meter):
    """``memory.usage`` and ``memory.resident`` (MiB), by instance id."""
    answer = answer_of({A: {A: series_of([180.0, 190.0, 200.0])}}, meter)
    r, agg = reader(answer)
    got = r.read(metric, VMS[:1], W)
    assert got[A].value == pytest.approx(190.0)
    ops, kw = agg.calls[0]
    assert ops == '(metric %s mean)' % meter
    assert kw['resource_type'] == 'instance'
    assert kw['search'] == {'in': {'id': [A]}}


# -- issue 18: history and hosts' own meters ---------------------------------

def test_read_series_is_one_query_with_rates_per_step():
    answer = answer_of({A: {A: series_of([0, 6e11, 1.2e12, 6e11])}}, 'cpu')
    r, agg = reader(answer)
    got = r.read_series('cpu', VMS, W)
    # a rate per step, per vCPU; the drop is a reset (the new value)
    assert got[A].values == pytest.approx((1.0, 1.0, 1.0))
    assert got[A].times == tuple(T - k * 300 for k in (2, 1, 0))
    assert got[B].times == () and got[B].reason
    assert len(agg.calls) == 1


def test_read_series_sums_devices_step_by_step():
    mib = 1024.0 * 1024.0
    answer = answer_of({A: {A + '-vda': series_of([0, 300 * mib]),
                            A + '-vdb': series_of([0, 600 * mib])}},
                       'disk.device.read.bytes', device=True)
    r, _ = reader(answer)
    got = r.read_series('disk_read', VMS, W)
    assert got[A].values == pytest.approx((3.0,))


@pytest.mark.parametrize('error, missing', [
    (gexc.NotFound(404, 'no metric'), True),
    (gexc.ClientException(500, 'boom'), False),
])
def test_read_series_missing_vs_store_down(error, missing):
    r, _ = reader(error=error)
    if missing:
        got = r.read_series('cpu', VMS, W)
        assert got[A].times == () and 'no history' in got[A].reason
    else:
        with pytest.raises(base.MetricsUnavailable, match='gnocchi'):
            r.read_series('cpu', VMS, W)


def test_read_hosts_reads_watchers_host_meters_in_one_query():
    rid = 'cccccccc-0000-4000-8000-000000000003'
    answer = {'measures': {rid: {'compute.node.cpu.percent': {
        'mean': series_of([40.0, 60.0])}}},
        'references': [{'id': rid, 'original_resource_id': 'h1_h1'}]}
    r, agg = reader(answer)
    got = r.read_hosts('cpu', ['h1', 'h2'], W)
    assert got['h1'].value == pytest.approx(0.5)
    assert got['h2'].value is None and got['h2'].reason
    ops, kw = agg.calls[0]
    assert ops == '(metric compute.node.cpu.percent mean)'
    assert kw['search'] == {'in': {'original_resource_id': ['h1_h1',
                                                            'h2_h2']}}


def test_read_hosts_ram_is_kib_to_mib_and_unknown_metric_is_missing():
    rid = 'cccccccc-0000-4000-8000-000000000003'
    answer = {'measures': {rid: {'hardware.memory.used': {
        'mean': series_of([2048.0])}}},
        'references': [{'id': rid, 'original_resource_id': 'h1_h1'}]}
    r, _ = reader(answer)
    assert r.read_hosts('ram', ['h1'], W)['h1'].value == pytest.approx(2.0)
    assert r.read_hosts('disk_read', ['h1'], W)['h1'].value is None
