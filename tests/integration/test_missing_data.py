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

"""Missing, bad and reset data, made for real in each store.

The probe instances of the data set are damaged here the way it happens
in a cloud: a metric deleted, a NaN or a negative value published, a
counter that restarts from zero, samples that stopped (stale) or only
one sample so far.  Gnocchi gets them through its REST API (as
Ceilometer's publisher pushes); Prometheus scrapes them from a live
exporter (as from ceilometer-polling's), or loses them through its admin
API.  Each gives an unknown metric with its reason, or a correct rate.
"""

import math
import re
import time

import pytest
import requests

from tests.integration import helpers
from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import gnocchi as gnocchi_reader
from watcher_informed.adapters.metrics import prometheus as prom_reader
from watcher_informed.core import params as params_mod
from watcher_informed.core import pipeline
from watcher_informed.core import snapshot as snap

LIVE_WINDOW = base.Window(period_s=30, granularity_s=5, stale_after_s=15)


def _probe(data, role):
    return helpers.model_instance(data['probes'][role])


def _read(reader, metric, inst, window=helpers.WINDOW):
    return reader.read(metric, [inst], window)[inst.uuid]


# -- in both stores, from the loaded data ---------------------------------

def test_stale_samples_are_missing_with_reason(data, store):
    """Read with instances whose samples go on: a gap is not a NaN."""
    _, make = store
    reader = make(lambda: data['t_end'] + 60)
    inst = _probe(data, 'stale')
    others = [helpers.model_instance(i) for i in data['instances']]
    for metric in (snap.CPU, snap.RAM, snap.DISK_WRITE, snap.NET_TX):
        answers = reader.read(metric, others + [inst], helpers.WINDOW)
        reading = answers[inst.uuid]
        assert reading.value is None, metric
        age = re.search(r'stale: newest sample (\d+) s old', reading.reason)
        assert age and int(age.group(1)) > helpers.WINDOW.stale_after_s, \
            reading
        assert all(answers[i.uuid].value is not None for i in others)


def test_too_few_samples_for_a_rate(data, store):
    _, make = store
    reader = make(lambda: data['t_end'] + 60)
    inst = _probe(data, 'few')
    for metric in (snap.CPU, snap.DISK_READ, snap.NET_RX):
        reading = _read(reader, metric, inst)
        assert reading.value is None
        assert 'too few samples' in reading.reason, reading
    # a gauge needs one sample only
    assert _read(reader, snap.RAM, inst).value is not None


# -- Gnocchi: pushed through the REST API -----------------------------------

@pytest.fixture
def gnocchi_admin(gnocchi_url):
    return helpers.GnocchiAdmin(gnocchi_url)


@pytest.fixture
def greader(gnocchi_url):
    from tests.integration import conftest

    def make(now):
        return gnocchi_reader.GnocchiMetrics(
            conftest.gnocchi_client(gnocchi_url), clock=lambda: now)
    return make


def test_gnocchi_deleted_metric(data, gnocchi_admin, greader):
    inst = _probe(data, 'deleted')
    reader = greader(data['t_end'] + 60)
    before = _read(reader, snap.RAM, inst)     # None on a second run
    assert before.value is not None or 'no samples' in before.reason
    gnocchi_admin.delete_metric('instance', inst.uuid, 'memory.usage')
    reading = _read(reader, snap.RAM, inst)
    assert reading.value is None
    assert reading.reason.startswith('memory.usage: no samples'), reading
    # the other instances still read, in the same single query
    others = [helpers.model_instance(i) for i in data['instances'][:5]]
    answers = reader.read(snap.RAM, others + [inst], helpers.WINDOW)
    assert all(answers[i.uuid].value is not None for i in others)


def test_gnocchi_pushed_nan(data, gnocchi_admin, greader):
    inst = _probe(data, 'nan')
    t = data['t_end'] + 300
    gnocchi_admin.push('instance', inst.uuid, 'memory.usage',
                       [(t, float('nan'))])
    gnocchi_admin.wait_processed()
    reading = _read(greader(t + 60), snap.RAM, inst)
    assert reading.value is None
    assert 'NaN' in reading.reason, reading


def test_gnocchi_pushed_negative(data, gnocchi_admin, greader):
    inst = _probe(data, 'negative')
    t = data['t_end'] + 300
    gnocchi_admin.push('instance', inst.uuid, 'memory.usage', [(t, -5.0)])
    gnocchi_admin.wait_processed()
    reading = _read(greader(t + 60), snap.RAM, inst)
    assert reading.value is None
    assert 'negative' in reading.reason, reading


def test_gnocchi_counter_reset(data, gnocchi_admin, greader):
    """The guest restarted: its cpu counter starts again from zero."""
    probe = data['probes']['reset']
    inst = helpers.model_instance(probe)
    t = data['t_end'] + 300
    fraction = 0.5
    gnocchi_admin.push('instance', inst.uuid, 'cpu',
                       [(t, fraction * inst.vcpus * 1e9 * 300)])
    gnocchi_admin.wait_processed()
    # Gnocchi's own rate:mean sees the reset as a huge negative rate ...
    rates = gnocchi_admin.measures('instance', inst.uuid, 'cpu',
                                   'rate:mean')
    assert rates[-1][2] < 0
    # ... our reader gives the true mean of the window, reset included.
    now = t + 60
    start = now - helpers.WINDOW.period_s
    truth = [v for ts, v in data['truth'][inst.uuid]['cpu'] if ts >= start]
    expected = (sum(truth) + fraction) / (len(truth) + 1)
    reading = _read(greader(now), snap.CPU, inst)
    assert helpers.close(reading.value, expected), (reading, expected)


def test_gnocchi_plan_forms_from_what_is_known(data, gnocchi_admin, greader):
    """Damaged probes are unknown; the plan still relieves cmp-1."""
    gnocchi_admin.delete_metric('instance', data['probes']['deleted']['uuid'],
                                'memory.usage')
    now = data['t_end'] + 60
    usage = helpers.usage_of(greader(now), data, probes=True)
    plan = pipeline.build_plan(helpers.snapshot(data, usage, probes=True),
                               params_mod.Params())
    _assert_plan_despite_probes(data, plan, usage)


def _assert_plan_despite_probes(data, plan, usage):
    probes = data['probes']
    assert plan.profiles[probes['stale']['uuid']].cls == 'unknown'
    assert plan.profiles[probes['few']['uuid']].cls == 'unknown'
    assert 'stale' in ' '.join(plan.profiles[probes['stale']['uuid']]
                               .evidence)
    assert plan.moves and [h.name for h in plan.hot_hosts] == ['cmp-1']
    assert not plan.still_overloaded
    assert usage[probes['deleted']['uuid']].get(snap.RAM) is None


# -- Prometheus: scraped from a live exporter, or deleted -------------------

@pytest.fixture
def preader(prometheus_url):
    from tests.integration import conftest

    def make(now):
        return prom_reader.PrometheusMetrics(
            conftest.prometheus_client(prometheus_url), clock=lambda: now)
    return make


def _wait_live(exporter, prometheus_url, uuid, metric, until=None):
    """Wait until ``until`` (epoch s) and Prometheus has the samples.

    Default ``until``: now, once the exporter has run for a whole window.
    Returns ``until``, the time to read at.
    """
    if exporter is None:
        pytest.skip('live exporter not running (Prometheus down?)')
    if exporter.error:
        pytest.fail(exporter.error)
    if until is None:
        until = int(max(time.time() - 2,
                        exporter.started + LIVE_WINDOW.period_s + 5))
    if time.time() > until + 120:
        pytest.fail('probe timing lost')
    while time.time() < until + 2:
        time.sleep(min(1.0, max(0.05, until + 2 - time.time())))

    def ingested():
        resp = requests.get(prometheus_url + '/api/v1/query', params={
            'query': 'count_over_time(%s{resource="%s",job="ceilometer"}'
                     '[%ds])' % (metric, uuid, LIVE_WINDOW.period_s),
            'time': until}, timeout=10).json()
        result = resp['data']['result']
        return result and float(result[0]['value'][1]) >= \
            LIVE_WINDOW.period_s - 3
    helpers.wait_until(ingested, 30, 'Prometheus scraped the live probe')
    return until


def _delete_series(prometheus_url, uuid):
    resp = requests.post(
        prometheus_url + '/api/v1/admin/tsdb/delete_series',
        params={'match[]': 'ceilometer_memory_usage{resource="%s"}' % uuid},
        timeout=30)
    assert resp.status_code == 204, resp.text


def test_prometheus_deleted_series(data, prometheus_url, preader):
    inst = _probe(data, 'deleted')
    reader = preader(data['t_end'] + 60)
    before = _read(reader, snap.RAM, inst)     # None on a second run
    assert before.value is not None or 'no samples' in before.reason
    _delete_series(prometheus_url, inst.uuid)
    reading = _read(reader, snap.RAM, inst)
    assert reading.value is None
    assert reading.reason.startswith('ceilometer_memory_usage: no samples')


def test_prometheus_scraped_nan(data, live_exporter, prometheus_url,
                                preader):
    inst = _probe(data, 'nan')
    now = _wait_live(live_exporter, prometheus_url, inst.uuid,
                     'ceilometer_memory_usage')
    reading = _read(preader(now), snap.RAM, inst, LIVE_WINDOW)
    assert reading.value is None
    assert 'NaN' in reading.reason, reading


def test_prometheus_scraped_negative(data, live_exporter, prometheus_url,
                                     preader):
    inst = _probe(data, 'negative')
    now = _wait_live(live_exporter, prometheus_url, inst.uuid,
                     'ceilometer_memory_usage')
    reading = _read(preader(now), snap.RAM, inst, LIVE_WINDOW)
    assert reading.value is None
    assert 'negative' in reading.reason, reading


def test_prometheus_counter_reset(data, live_exporter, prometheus_url,
                                  preader):
    """ceilometer_cpu restarts from 0 mid-window; the rate stays right."""
    inst = _probe(data, 'reset')
    if live_exporter is None or live_exporter.error:
        _wait_live(live_exporter, prometheus_url, inst.uuid, 'x')
    now = live_exporter.reset_at + 15
    _wait_live(live_exporter, prometheus_url, inst.uuid, 'ceilometer_cpu',
               now)
    # the reset is in the store: Prometheus counts it
    resp = requests.get(prometheus_url + '/api/v1/query', params={
        'query': 'resets(ceilometer_cpu{resource="%s",job="ceilometer"}'
                 '[30s])' % inst.uuid, 'time': now}, timeout=10).json()
    assert float(resp['data']['result'][0]['value'][1]) >= 1
    reader = preader(now)
    reading = _read(reader, snap.CPU, inst, LIVE_WINDOW)
    expected = live_exporter.expected_cpu
    # one 5 s step loses the increase before the restart (as rate() does)
    assert reading.value == pytest.approx(expected, rel=0.1), reading
    # without reset handling the same points give a negative rate
    data_ = reader.query(prom_reader.promql(
        reader.meters[snap.CPU], LIVE_WINDOW), now)
    points = [(float(t), float(v)) for item in data_['result']
              if item['metric'].get('resource') == inst.uuid
              and item['metric'].get('job') == 'ceilometer'
              for t, v in item['values']]
    points = [p for p in sorted(points) if p[0] >= now - 35]
    naive = (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])
    assert naive < 0 and not math.isnan(naive)


def test_prometheus_plan_forms_from_what_is_known(
        data, prometheus_url, preader):
    _delete_series(prometheus_url, data['probes']['deleted']['uuid'])
    now = data['t_end'] + 60
    usage = helpers.usage_of(preader(now), data, probes=True)
    plan = pipeline.build_plan(helpers.snapshot(data, usage, probes=True),
                               params_mod.Params())
    _assert_plan_despite_probes(data, plan, usage)
