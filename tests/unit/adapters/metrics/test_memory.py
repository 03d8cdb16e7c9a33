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

import math
import types

import pytest

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import memory

W = base.Window(period_s=450, granularity_s=300, stale_after_s=400)
VMS = [types.SimpleNamespace(uuid=u) for u in ('a', 'b')]


@pytest.mark.parametrize('samples, value, reason', [
    ([(500, 1.0), (800, 3.0), (1000, 5.0)], 4.0, ''),   # 500 is outside
    ([(100, 1.0)], None, 'stale'),
    ([(550, 1.0)], None, 'stale'),                       # 450 s old
    ([(900, float('nan'))], None, 'NaN'),
    ([(900, -2.0)], None, 'negative'),
    ([], None, 'no samples'),
])
def test_window_semantics(samples, value, reason):
    store = memory.InMemoryMetrics({'cpu': {'a': samples}}, now=1000)
    reading = store.read('cpu', VMS, W)['a']
    assert reading.value == value
    assert reason in reading.reason


def test_one_query_per_metric_for_all_instances():
    store = memory.InMemoryMetrics.from_values(
        {'a': {'cpu': 0.5, 'ram': 10}, 'b': {'cpu': 0.1, 'ram': 20}})
    usage = base.read_usage(store, VMS, W, metrics=('cpu', 'ram'))
    assert store.queries == 2
    assert usage['a'].get('cpu') == 0.5 and usage['b'].get('ram') == 20


def test_unsupported_metric_is_missing_with_reason():
    store = memory.InMemoryMetrics.from_values({'a': {'cpu': 0.5}})
    usage = base.read_usage(store, VMS, W)
    assert usage['a'].get('net_rx') is None
    assert 'does not provide net_rx' in usage['a'].reason('net_rx')
    assert usage['b'].get('cpu') is None
    assert usage['b'].reason('cpu') == 'no samples'


# -- issue 18: history and hosts' own meters ---------------------------------

@pytest.mark.parametrize('samples, times', [
    # (now - period, now] = (550, 1000]
    ([(100, 9.0), (550, 8.0), (551, 1.0), (1000, 2.0)], (551, 1000)),
    ([(1000, 2.0), (600, 1.0)], (600, 1000)),        # sorted by time
    ([], ()),
])
def test_read_series_answers_the_window_in_one_query(samples, times):
    store = memory.InMemoryMetrics({'cpu': {'a': samples}}, now=1000)
    got = store.read_series('cpu', VMS, W)
    assert got['a'].times == times
    assert bool(got['a'].reason) == (not times)
    assert got['b'].times == () and 'no samples' in got['b'].reason
    assert store.queries == 1


def test_read_hosts_has_the_window_semantics():
    store = memory.InMemoryMetrics({}, now=1000, hosts={
        'cpu': {'h1': [(900, 0.5), (1000, 0.7)], 'h2': [(100, 0.9)]}})
    got = store.read_hosts('cpu', ['h1', 'h2', 'h3'], W)
    assert got['h1'].value == pytest.approx(0.6)
    assert 'stale' in got['h2'].reason
    assert got['h3'].value is None
    assert store.read_hosts('ram', ['h1'], W)['h1'].value is None


@pytest.mark.parametrize('values', [
    {'a': 0.5, 'b': 1.5, 'c': 0.0},
    {'a': None, 'b': float('nan'), 'c': -1.0},
    {'a': 1e300, 'b': float('inf'), 'c': 2.0},
    {'a': 3.0},
])
def test_grid_equals_the_matrix_of_the_series(values):
    """The array answer of constant values is what matrix() makes.

    Only its newest steps: every older step of the matrix is empty.
    """
    import numpy as np

    from watcher_informed.core import demand
    store = memory.InMemoryMetrics.from_values(
        {u: {'cpu': v} for u, v in values.items()}, now=7200.0)
    insts = [types.SimpleNamespace(uuid=u) for u in ('a', 'b', 'c')]
    window = base.Window(period_s=3600, granularity_s=300)
    grid = store.read_grid('cpu', insts, window, 300.0, 12)
    answers = store.read_series('cpu', insts, window)
    series = {u: (s.times, s.values) for u, s in answers.items() if s.times}
    full = demand.matrix(series, ['a', 'b', 'c'], 7200.0, 300.0, 12)
    cols = grid.shape[1]
    assert grid.shape[0] == 3 and 1 <= cols <= 12
    np.testing.assert_array_equal(grid, full[:, 12 - cols:])
    assert np.isnan(full[:, :12 - cols]).all()


@pytest.mark.parametrize('now', [0.0, 7200.0])
def test_one_sample_at_now_is_read_as_arrays_like_any_series(now):
    """Series of one sample at ``now`` (a scenario file's constant
    values) take the array path and answer what the general path does."""
    import numpy as np
    series = {'cpu': {'a': [(now, 0.5)], 'b': [(now, float('nan'))],
                      'c': [(now, -1.0)], 'd': [(now, None)]},
              'ram': {'a': [(now - 60, 10.0)], 'b': [(now, 5.0)]}}
    store = memory.InMemoryMetrics(series, now)
    insts = [types.SimpleNamespace(uuid=u) for u in 'abcde']
    window = base.Window(period_s=3600, granularity_s=300)
    assert set(store._current) == {'cpu'}     # ram has an older sample
    for metric in ('cpu', 'ram'):
        got = store.read_values(metric, insts, window)
        want = base.MetricsReader.read_values(store, metric, insts, window)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]


def test_constant_values_answer_each_instance_list_as_asked():
    store = memory.InMemoryMetrics.from_values(
        {'a': {'cpu': 0.5}, 'b': {'cpu': 0.25}})
    asked = [VMS[1], VMS[0]]
    values, _ = store.read_values('cpu', asked, W)
    assert values.tolist() == [0.25, 0.5]
    # the same list, grown: read again, not from the rows kept for it
    asked.append(types.SimpleNamespace(uuid='c'))
    values, reasons = store.read_values('cpu', asked, W)
    assert values.tolist()[:2] == [0.25, 0.5]
    assert math.isnan(values[2]) and reasons == {'c': 'no samples'}
    # another list of the same instances in another order
    values, _ = store.read_values('cpu', list(VMS), W)
    assert values.tolist() == [0.5, 0.25]


def test_a_value_that_is_not_a_number_is_read_instance_by_instance():
    store = memory.InMemoryMetrics.from_values(
        {'a': {'cpu': 0.5}, 'b': {'cpu': 'x'}})
    values, _ = store.read_values('cpu', VMS[:1], W)
    assert values.tolist() == [0.5]
