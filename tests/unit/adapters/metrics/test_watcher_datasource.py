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

import types

import pytest
from watcher.decision_engine.datasources import base as ds_base

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
