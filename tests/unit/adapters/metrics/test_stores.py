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

import types

from observabilityclient import prometheus_client as pc
import pytest

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import gnocchi
from watcher_informed.adapters.metrics import prometheus
from watcher_informed.adapters.metrics import stores
from watcher_informed.adapters.metrics import watcher_datasource


def prom_helper(name, **extra):
    client = pc.PrometheusAPIClient('127.0.0.1:9090')
    return types.SimpleNamespace(NAME=name, prometheus=client,
                                 _get_instance_uuid_label=lambda: 'uuid',
                                 **extra)


@pytest.mark.parametrize('extra,label', [
    ({}, 'fqdn'),
    ({'prometheus_fqdn_label': None}, 'fqdn'),
    ({'prometheus_fqdn_label': 'nodename'}, 'nodename'),
])
def test_hosts_are_found_by_the_helpers_fqdn_label(extra, label):
    reader = stores.from_helper(prom_helper('prometheus', **extra))
    assert reader.fqdn_label == label


def test_auto_uses_the_bulk_reader_of_watchers_datasource():
    g = types.SimpleNamespace(NAME='gnocchi', gnocchi=object())
    reader = stores.reader_for('auto', lambda: g, 'dirty')
    assert isinstance(reader, gnocchi.GnocchiMetrics)
    assert reader.supports('dirty_rate') and not reader.supports('wss')
    reader = stores.reader_for('auto', lambda: g, None, 'memory.dirty.ws')
    assert reader.meters['wss'].name == 'memory.dirty.ws'
    assert not reader.supports('dirty_rate')
    for name in ('prometheus', 'aetos'):
        reader = stores.reader_for('auto', lambda n=name: prom_helper(n))
        assert isinstance(reader, prometheus.PrometheusMetrics)
        assert reader.name == name and reader.uuid_label == 'uuid'
        assert not reader.supports('dirty_rate')


def test_auto_falls_back_to_watchers_calls_for_other_datasources():
    grafana = types.SimpleNamespace(NAME='grafana')
    reader = stores.reader_for('auto', lambda: grafana)
    assert isinstance(reader, watcher_datasource.WatcherDatasourceMetrics)
    g = types.SimpleNamespace(NAME='gnocchi', gnocchi=object())
    reader = stores.reader_for('datasource', lambda: g)
    assert isinstance(reader, watcher_datasource.WatcherDatasourceMetrics)


def test_explicit_store_builds_watchers_helper(monkeypatch):
    monkeypatch.setattr(stores, '_helper', lambda kind: prom_helper(kind))
    reader = stores.reader_for('aetos', lambda: pytest.fail('not used'))
    assert isinstance(reader, prometheus.PrometheusMetrics)
    assert reader.name == 'aetos'


def test_failure_to_reach_the_store_names_it(monkeypatch):
    def boom(kind):
        raise ConnectionError('Connection refused')
    monkeypatch.setattr(stores, '_helper', boom)
    with pytest.raises(base.MetricsUnavailable) as info:
        stores.reader_for('prometheus', None)
    assert str(info.value) == ('metric store prometheus unavailable: cannot '
                               'connect: ConnectionError: Connection refused')

    def no_backend():
        raise RuntimeError('No datasource available')
    with pytest.raises(base.MetricsUnavailable) as info:
        stores.reader_for('auto', no_backend, datasources=lambda: '')
    assert info.value.store == 'watcher datasource'
    with pytest.raises(base.MetricsUnavailable) as info:
        stores.reader_for('auto', no_backend,
                          datasources=lambda: 'prometheus, gnocchi')
    assert info.value.store == 'watcher datasource (prometheus, gnocchi)'
    assert 'No datasource available' in str(info.value)


def test_configured_datasources_reads_watchers_option():
    from watcher import conf
    conf.CONF.set_override('datasources', ['prometheus'],
                           group='watcher_datasources')
    try:
        assert stores.configured_datasources() == 'prometheus'
    finally:
        conf.CONF.clear_override('datasources', group='watcher_datasources')


def test_unknown_choice():
    with pytest.raises(ValueError):
        stores.reader_for('influx', None)


def test_prometheus_gets_both_dirty_gauges():
    reader = stores.reader_for('auto', lambda: prom_helper('prometheus'),
                               'memory.dirty.rate', 'memory.dirty.ws')
    assert reader.meters['dirty_rate'].name == 'ceilometer_memory_dirty_rate'
    assert reader.meters['wss'].name == 'ceilometer_memory_dirty_ws'


@pytest.mark.parametrize('choice', ['auto', 'datasource'])
def test_a_helper_without_its_client_is_named(choice):
    from watcher.decision_engine.datasources import gnocchi as wg
    helper = wg.GnocchiHelper(osc=types.SimpleNamespace(gnocchi=lambda: None))
    with pytest.raises(base.MetricsUnavailable) as info:
        stores.reader_for(choice, lambda: helper)
    assert info.value.store == 'watcher datasource gnocchi'
    assert 'no client (python-gnocchiclient' in str(info.value)


@pytest.mark.parametrize('choice, library', [
    ('gnocchi', 'python-gnocchiclient'),
    ('prometheus', 'python-observabilityclient'),
])
def test_a_missing_client_library_is_named(monkeypatch, choice, library):
    """The store's client cannot be imported (not installed)."""
    import sys

    from watcher.decision_engine import datasources
    monkeypatch.delattr(datasources, choice)
    monkeypatch.setitem(sys.modules,
                        'watcher.decision_engine.datasources.' + choice,
                        None)
    with pytest.raises(base.MetricsUnavailable) as info:
        stores.reader_for(choice, None)
    assert info.value.store == choice
    assert 'client library missing' in str(info.value)
    assert '(install %s)' % library in str(info.value)
