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

import pytest

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import forecast
from watcher_informed.adapters.metrics import memory
from watcher_informed.core import demand
from watcher_informed.core import snapshot as snap

NOW = 100000.0
W = base.Window(period_s=3600, granularity_s=300, stale_after_s=900)
VMS = [types.SimpleNamespace(uuid=u, vcpus=2) for u in ('a', 'b')]


def hourly(*means):
    """5-minute samples, whole hours, the last ending at NOW."""
    out = []
    n = len(means) * 12
    for k in range(n):
        out.append((NOW - 150 - 300 * (n - 1 - k), means[k // 12]))
    return out


@pytest.mark.parametrize('method, expected', [
    ('last', 0.6), ('mean', 0.4), ('quantile', 0.56)])
def test_one_history_query_per_metric_and_the_estimate(method, expected):
    store = memory.InMemoryMetrics({'cpu': {'a': hourly(0.2, 0.6)},
                                    'ram': {'a': hourly(100, 100)}}, NOW)
    got = forecast.read_forecast(store, VMS, W, 7200, method)
    # planned on the estimate plus SPREAD_WEIGHT spreads (0.4)
    assert got['a'].get('cpu') == pytest.approx(
        expected + demand.SPREAD_WEIGHT * 0.4)
    assert got['a'].spread['cpu'] == pytest.approx(0.4)
    assert got['a'].get('ram') == pytest.approx(100.0)
    assert 'b' not in got
    # one query per metric the store has (cpu, ram)
    assert store.queries == 2


def test_history_window_is_never_shorter_than_the_period():
    assert forecast.history_window(W, 60).period_s == 3600
    assert forecast.history_window(W, 86400).period_s == 86400


def test_stale_or_missing_classification_is_not_replaced_by_history():
    store = memory.InMemoryMetrics({'cpu': {'a': hourly(0.2, 0.6),
                                            'b': hourly(0.3, 0.3)}}, NOW)
    usage = {'a': snap.make_usage({'cpu': 0.5}),
             'b': snap.make_usage({'cpu': None}, {'cpu': 'stale'})}
    got = forecast.read_forecast(store, VMS, W, 7200, 'mean', usage)
    assert set(got) == {'a'}


def test_a_reader_without_history_gives_no_forecast():
    class Plain(base.MetricsReader):
        def read(self, metric, instances, window):
            return {}
    assert forecast.read_forecast(Plain(), VMS, W, 7200, 'last') == {}
    assert forecast.read_host_usage(Plain(), ['h1'], W) == {}


def test_host_usage_keeps_hosts_with_a_meter():
    store = memory.InMemoryMetrics({}, NOW, hosts={
        'cpu': {'h1': [(NOW - 100, 0.5)]},
        'ram': {'h1': [(NOW - 100, 4096.0)], 'h2': [(NOW - 100, -1.0)]}})
    got = forecast.read_host_usage(store, ['h1', 'h2', 'h3'], W)
    assert set(got) == {'h1'}
    assert got['h1'].get('cpu') == 0.5 and got['h1'].get('ram') == 4096.0


@pytest.mark.parametrize('now', [0.0, 5000.0])
def test_the_grid_ends_at_the_readers_own_now(now):
    # a store whose clock is 0 (the demo, the benchmark) is not "now"
    store = memory.InMemoryMetrics.from_values({'a': {'cpu': 0.5}}, now=now)
    assert store.now() == now
    got = forecast.read_forecast(store, VMS, W, 7200, 'last')
    assert got['a'].get('cpu') == pytest.approx(0.5)
