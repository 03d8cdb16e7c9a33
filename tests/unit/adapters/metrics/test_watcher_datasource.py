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

"""The Watcher-backed reader against a real DataSourceBase subclass."""

import time
import types

import pytest
from watcher.decision_engine.datasources import base as ds_base

from tests.unit.adapters.metrics import loopback
from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import watcher_datasource


class ScenarioDatasource(ds_base.DataSourceBase):
    """Serves fixed values through Watcher's real getter signatures."""

    NAME = 'scenario'
    METRIC_MAP = dict(instance_cpu_usage='cpu', instance_ram_usage='ram')

    def __init__(self, values, fail=False):
        super().__init__()
        self.values = values
        self.fail = fail
        self.calls = 0

    def _statistic_aggregation(self, resource=None, resource_type=None,
                               meter_name=None, period=300, aggregate='mean',
                               granularity=300):
        self.calls += 1
        if self.fail:
            raise ConnectionError('connection refused')
        return self.values.get(resource.uuid, {}).get(meter_name)

    def list_metrics(self):
        return set(self.METRIC_MAP.values())

    def check_availability(self):
        return 'available'

    def statistic_series(self, *args, **kwargs):
        raise NotImplementedError()

    def _getter(meter):
        def get(self, resource, period, aggregate, granularity=None):
            return self.statistic_aggregation(
                resource, 'instance', meter, period, aggregate,
                granularity)
        return get

    get_instance_cpu_usage = _getter('instance_cpu_usage')
    get_instance_ram_usage = _getter('instance_ram_usage')
    get_host_cpu_usage = get_host_ram_usage = None
    get_host_outlet_temp = get_host_inlet_temp = None
    get_host_airflow = get_host_power = None
    get_instance_ram_allocated = get_instance_l3_cache_usage = None
    get_instance_root_disk_size = None


VMS = [types.SimpleNamespace(uuid=u) for u in ('a', 'b')]


def test_cpu_percent_becomes_fraction_and_ram_passes_through():
    backend = ScenarioDatasource({'a': {'instance_cpu_usage': 50.0,
                                        'instance_ram_usage': 512.0}})
    reader = watcher_datasource.WatcherDatasourceMetrics(backend)
    usage = base.read_usage(reader, VMS, base.Window())
    assert usage['a'].get('cpu') == pytest.approx(0.5)
    assert usage['a'].get('ram') == 512.0
    assert usage['b'].get('cpu') is None
    assert 'does not provide disk_read' in usage['a'].reason('disk_read')
    # Watcher's helpers: one call per instance per metric
    assert backend.calls == 4


def test_store_failure_is_an_error_naming_the_store():
    reader = watcher_datasource.WatcherDatasourceMetrics(
        ScenarioDatasource({}, fail=True))
    with pytest.raises(base.MetricsUnavailable) as err:
        base.read_usage(reader, VMS, base.Window())
    assert 'scenario' in str(err.value)
    assert 'connection refused' in str(err.value)


# -- Watcher's real helpers against real failing loopback endpoints --------

@pytest.fixture
def watcher_retries():
    """Watcher's retry options, small (defaults: 10 tries, 1 s apart)."""
    from watcher import conf
    group = 'watcher_datasources'
    conf.CONF.set_override('query_max_retries', 3, group=group)
    conf.CONF.set_override('query_interval', 0.2, group=group)
    yield 3, 0.2
    conf.CONF.clear_override('query_max_retries', group=group)
    conf.CONF.clear_override('query_interval', group=group)


def watcher_instances(n):
    from watcher.decision_engine.model import element
    return [element.Instance(
        uuid='00000000-0000-4000-8000-%012d' % i, name='vm%d' % i, vcpus=2,
        memory=2048, disk=10, state='active', metadata={},
        project_id='00000000-0000-4000-8000-000000000000', locked=False,
        watcher_exclude=False, pinned_az='')
        for i in range(n)]


@pytest.fixture
def prometheus_conf():
    from watcher import conf
    group = 'prometheus_client'

    def setup(port):
        conf.CONF.set_override('host', '127.0.0.1', group=group)
        conf.CONF.set_override('port', port, group=group)
        conf.CONF.set_override('username', 'admin', group=group)
        conf.CONF.set_override('password', 's3cret', group=group)
    yield setup
    for name in ('host', 'port', 'username', 'password'):
        conf.CONF.clear_override(name, group=group)


def test_refusing_prometheus_fails_the_read_not_one_vm_at_a_time(
        watcher_retries, prometheus_conf, caplog):
    """Watcher's helper reads an HTTP 503 as 'no data' for every VM."""
    from watcher.decision_engine.datasources import prometheus as wp
    with loopback.refusing_server(503) as (port, requests):
        prometheus_conf(port)
        helper = wp.PrometheusHelper()
        # unguarded, Watcher's own call gives no error: just no value
        vm = watcher_instances(1)[0]
        assert helper.get_instance_cpu_usage(vm, 300, 'mean', 300) is None
        before = len(requests.paths)
        reader = watcher_datasource.WatcherDatasourceMetrics(helper)
        with pytest.raises(base.MetricsUnavailable) as info:
            base.read_usage(reader, watcher_instances(30), base.Window())
        queries = requests.paths[before:]
    text = str(info.value)
    assert len(queries) == watcher_retries[0], queries
    assert 'prometheus' in text and '127.0.0.1:%d' % port in text
    assert 'HTTP 503' in text and 'refused by the test server' in text
    logged = ' '.join(r.getMessage() for r in caplog.records)
    assert 's3cret' not in text + logged
    assert 'query_retry' not in vars(helper), 'helper left as it was'


def test_down_gnocchi_fails_within_one_retry_cycle(watcher_retries):
    tries, interval = watcher_retries
    with loopback.closed_port() as port:
        helper = loopback.watcher_gnocchi_helper(port)
        reader = watcher_datasource.WatcherDatasourceMetrics(helper)
        start = time.monotonic()
        with pytest.raises(base.MetricsUnavailable) as info:
            base.read_usage(reader, watcher_instances(30), base.Window())
        elapsed = time.monotonic() - start
    # Watcher alone: 3 tries x 0.2 s per VM per metric, 36 s, no error
    assert elapsed < (tries - 1) * interval + 2.0, elapsed
    text = str(info.value)
    assert info.value.store == ('watcher datasource gnocchi '
                                '(http://127.0.0.1:%d)' % port)
    assert 'ConnectFailure' in text or 'refused' in text.lower(), text


def test_hung_store_is_bounded_by_the_call_timeout(watcher_retries):
    with loopback.silent_port() as port:
        reader = watcher_datasource.WatcherDatasourceMetrics(
            loopback.watcher_gnocchi_helper(port), call_timeout=0.5,
            budget=0.8)
        start = time.monotonic()
        with pytest.raises(base.MetricsUnavailable) as info:
            reader.read('cpu', watcher_instances(5), base.Window())
        elapsed = time.monotonic() - start
    assert elapsed < 2.0, elapsed
    assert 'no answer within' in str(info.value)


def test_not_found_is_missing_data_not_a_failure(watcher_retries):
    """Gnocchi's 404 (no such metric) stays a missing value."""
    with loopback.refusing_server(404) as (port, requests):
        reader = watcher_datasource.WatcherDatasourceMetrics(
            loopback.watcher_gnocchi_helper(port))
        usage = base.read_usage(reader, watcher_instances(2), base.Window())
    vm = '00000000-0000-4000-8000-%012d' % 0
    assert usage[vm].get('cpu') is None
    assert usage[vm].reason('cpu') == 'no samples'
    assert len(requests.paths) == 4     # one query per VM per metric
