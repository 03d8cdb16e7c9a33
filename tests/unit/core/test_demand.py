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

import numpy as np
import pytest

from watcher_informed.core import demand

STEP = 300.0
HOUR = 12


def hours(*means):
    """One row: whole hours of constant 5-minute samples."""
    return np.repeat(np.array(means, dtype=float), HOUR)[None, :]


def ramp(start, per_step, steps):
    return (start + per_step * np.arange(steps, dtype=float))[None, :]


def day_then_hour(day_ago_last, day_ago_next, now_last):
    """25 hours: hour -25 .. -1; the seasonal pair sits a day back."""
    means = [1.0] * 25
    means[0] = day_ago_last      # a day before the last hour
    means[1] = day_ago_next      # a day before the next hour
    means[-1] = now_last
    return hours(*means)


def woke(hour_mean, now, before=0.1):
    """Two hours; the last hour's samples end with ``now``."""
    row = hours(before, hour_mean)
    # keep the last hour's mean at ``hour_mean``
    row[0, -HOUR:-1] = (hour_mean * HOUR - now) / (HOUR - 1)
    row[0, -1] = now
    return row


@pytest.mark.parametrize('method, row, expected', [
    # last: the mean of the last hour only
    ('last', hours(5.0, 1.0, 3.0), 3.0),
    ('last', woke(0.2, 0.9), 0.2),
    # recent: the last sample where it is above the last hour's mean
    # (an instance that has just woken up) ...
    ('recent', woke(0.2, 0.9), 0.9),
    # ... else the last hour's mean (one that has just gone idle)
    ('recent', woke(0.5, 0.05), 0.5),
    ('recent', hours(5.0, 1.0, 3.0), 3.0),
    # mean: the whole history
    ('mean', hours(5.0, 1.0, 3.0), 3.0),
    ('mean', hours(6.0, 0.0, 0.0), 2.0),
    # quantile: 90th percentile of the hourly means (linear)
    ('quantile', hours(*range(11)), 9.0),
    # trend: a flat series stays flat
    ('trend', hours(2.0, 2.0, 2.0), 2.0),
    # seasonal: last hour + (day-ago next hour - day-ago last hour)
    ('seasonal', day_then_hour(1.0, 3.0, 2.0), 4.0),
    ('seasonal', day_then_hour(3.0, 1.0, 2.5), 0.5),
    # seasonal never goes negative
    ('seasonal', day_then_hour(5.0, 0.0, 1.0), 0.0),
    # seasonal with less than a day and an hour falls back to last
    ('seasonal', hours(9.0, 2.0), 2.0),
])
def test_estimators(method, row, expected):
    est, _ = demand.estimate(row, STEP, method)
    assert est[0] == pytest.approx(expected)


@pytest.mark.parametrize('per_step', [0.01, -0.01])
def test_trend_follows_a_ramp_beyond_the_last_hour_mean(per_step):
    row = ramp(5.0, per_step, 6 * HOUR)
    last, _ = demand.estimate(row, STEP, 'last')
    trend, _ = demand.estimate(row, STEP, 'trend')
    # the next hour continues the ramp: trend is past the last hour's mean
    # in the direction of the ramp, last is not
    assert (trend[0] - last[0]) * per_step > 0
    assert abs(trend[0] - (row[0, -1] + per_step * 6)) < \
        abs(last[0] - (row[0, -1] + per_step * 6))


@pytest.mark.parametrize('row, expected', [
    (hours(1.0), 0.0),                      # one hour: no change seen
    (hours(1.0, 1.0, 1.0), 0.0),            # steady
    (hours(1.0, 3.0, 1.0), 2.0),            # +2, -2: RMS 2
    (hours(0.0, 3.0, 3.0, 7.0), math.sqrt((9 + 0 + 16) / 3.0)),
])
def test_spread_is_the_rms_hour_to_hour_change(row, expected):
    _, spread = demand.estimate(row, STEP, 'last')
    assert spread[0] == pytest.approx(expected)


@pytest.mark.parametrize('method', demand.ESTIMATORS)
def test_rows_are_independent_and_missing_rows_give_nan(method):
    rows = np.vstack([hours(1.0, 2.0), np.full((1, 2 * HOUR), np.nan),
                      hours(4.0, 4.0)])
    est, spread = demand.estimate(rows, STEP, method)
    alone, _ = demand.estimate(rows[:1], STEP, method)
    assert est[0] == pytest.approx(alone[0])
    assert math.isnan(est[1]) and spread[1] == 0.0
    assert est[2] == pytest.approx(4.0)


@pytest.mark.parametrize('method', demand.ESTIMATORS)
def test_gaps_are_skipped_not_zero(method):
    row = hours(3.0, 3.0)
    row[0, ::2] = np.nan
    est, _ = demand.estimate(row, STEP, method)
    assert est[0] == pytest.approx(3.0)


@pytest.mark.parametrize('method, step, shape, error', [
    ('median', STEP, (1, 12), 'demand_estimator'),
    ('last', 0.0, (1, 12), 'step'),
    ('last', STEP, (12,), '2-D'),
])
def test_bad_input_is_refused_with_its_name(method, step, shape, error):
    with pytest.raises(ValueError, match=error):
        demand.estimate(np.ones(shape), step, method)


@pytest.mark.parametrize('times, values, expected', [
    # the last column holds (now - step, now]
    ([1000.0], [1.0], [np.nan, np.nan, np.nan, 1.0]),
    ([700.0], [1.0], [np.nan, np.nan, 1.0, np.nan]),
    ([701.0], [1.0], [np.nan, np.nan, np.nan, 1.0]),
    # a later sample of the same step wins
    ([850.0, 990.0], [1.0, 2.0], [np.nan, np.nan, np.nan, 2.0]),
    ([990.0, 850.0], [2.0, 1.0], [np.nan, np.nan, np.nan, 2.0]),
    # outside the grid, in the future, NaN, negative, inf: left out
    ([-300.0, 1001.0, 400.0, 500.0, 900.0],
     [1.0, 1.0, float('nan'), -1.0, float('inf')],
     [np.nan, np.nan, np.nan, np.nan]),
])
def test_matrix_aligns_on_the_grid_that_ends_now(times, values, expected):
    got = demand.matrix({'a': (times, values)}, ['a', 'b'], 1000.0, 300.0,
                        4)
    np.testing.assert_array_equal(got[0], np.array(expected))
    assert np.all(np.isnan(got[1]))


def test_forecasts_keep_what_has_samples_with_spread_and_method():
    per = {'cpu': np.vstack([hours(0.2, 0.4), np.full((1, 24), np.nan)]),
           'ram': np.vstack([hours(100.0, 100.0), hours(50.0, 70.0)])}
    got = demand.forecasts(per, ['a', 'b'], STEP, 'mean', spread_weight=0)
    assert got['a'].get('cpu') == pytest.approx(0.3)
    assert got['a'].spread['cpu'] == pytest.approx(0.2)
    assert got['a'].method == 'mean'
    assert got['b'].get('cpu') is None
    assert got['b'].get('ram') == pytest.approx(60.0)
    # what the plan is made on: the estimate plus a share of its spread
    weighted = demand.forecasts(per, ['a', 'b'], STEP, 'mean',
                                spread_weight=0.5)
    assert weighted['a'].get('cpu') == pytest.approx(0.3 + 0.5 * 0.2)
    assert weighted['b'].get('ram') == pytest.approx(60.0 + 0.5 * 20.0)
    assert demand.forecasts(per, ['a'], STEP, 'mean')['a'].get('cpu') == \
        pytest.approx(0.3 + demand.SPREAD_WEIGHT * 0.2)
    assert demand.forecasts({'cpu': np.full((1, 24), np.nan)}, ['c'],
                            STEP) == {}


def test_recent_without_a_last_sample_is_the_hour_mean():
    row = woke(0.2, 0.9)
    row[0, -1] = np.nan
    est, _ = demand.estimate(row, STEP, 'recent')
    assert est[0] == pytest.approx(np.nanmean(row[0, -HOUR:]))


@pytest.mark.parametrize('metric, est, spread, weight, expected', [
    # the spreads raise the CPU (a fraction of the vCPUs) ...
    ('cpu', 0.5, 0.4, 1.0, 0.9),
    ('cpu', 0.5, 0.4, 0.5, 0.7),
    # ... to the instance's vCPUs at most
    ('cpu', 0.8, 0.4, 1.0, 1.0),
    ('cpu', 1.0, 0.4, 1.0, 1.0),
    # an estimate above them (measured there) is kept, no spread on top
    ('cpu', 1.3, 0.2, 1.0, 1.3),
    # other metrics have no ceiling
    ('ram', 900.0, 400.0, 1.0, 1300.0),
    ('disk_read', 0.8, 0.4, 1.0, 1.2),
    # no estimate stays no estimate
    ('cpu', np.nan, 0.1, 1.0, np.nan),
])
def test_planned_cpu_never_rises_above_the_vcpus(metric, est, spread,
                                                 weight, expected):
    got = demand.planned(metric, np.array([est]), np.array([spread]),
                         weight)
    np.testing.assert_allclose(got, [expected])


def test_forecasts_apply_the_cpu_ceiling():
    # a volatile instance idle now: +-0.9 an hour, last hour at 0.6
    per = {'cpu': hours(1.5, 0.6, 1.5, 0.6),
           'disk_read': hours(1.5, 0.6, 1.5, 0.6)}
    got = demand.forecasts(per, ['a'], STEP, 'last', spread_weight=1.0)
    assert got['a'].spread['cpu'] == pytest.approx(0.9)
    assert got['a'].get('cpu') == pytest.approx(demand.CPU_CEILING)
    assert got['a'].get('disk_read') == pytest.approx(1.5)


def test_the_truth_is_not_capped():
    # the ceiling is what the planner believes of a forecast; an
    # instance measured (or simulated) above its vCPUs counts as it is
    from tests.unit import builders as b
    from watcher_informed.core import overload
    vm = b.vm('a0', 'A')
    snapshot = b.cluster([b.host('A')], [vm],
                         {'a0': b.usage('idle', cpu=1.3)})
    assert overload.demands(snapshot)['a0']['cpu'] == \
        pytest.approx(1.3 * vm.vcpus)


def test_default_is_an_estimator():
    assert demand.DEFAULT in demand.ESTIMATORS


def test_the_parameter_table_declares_the_estimators_and_the_default():
    from watcher_informed.core import paramtable
    rows = {r.name: r for r in paramtable.TABLE}
    estimator = rows['demand_estimator']
    assert tuple(c[0] for c in estimator.choices) == demand.ESTIMATORS
    assert tuple(estimator.schema['enum']) == demand.ESTIMATORS
    assert estimator.default == demand.DEFAULT
    assert rows['demand_history'].default == demand.DEFAULT_HISTORY_S


@pytest.mark.parametrize('method', demand.ESTIMATORS)
def test_the_newest_steps_alone_give_the_same_estimate(method):
    """Empty older steps change no estimate.

    A reader may answer only its newest step when the older ones have no
    samples (``InMemoryMetrics.read_grid``): the same estimate and spread
    as the full grid, exactly, for every estimator; whole newest hours
    give them up to rounding (a partial older hour would not: it counts
    as an hour in the full grid and is dropped when alone).
    """
    rng = np.random.default_rng(7)
    newest = rng.uniform(0.0, 2.0, (40, 24))
    newest[3] = np.nan
    newest[5, :6] = np.nan
    newest[6, -12:] = np.nan
    for cols in (1, 12, 24):
        got = demand.estimate(newest[:, -cols:], STEP, method)
        grid = np.full((40, 300), np.nan)
        grid[:, -cols:] = newest[:, -cols:]
        want = demand.estimate(grid, STEP, method)
        if cols == 1:
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
        else:
            np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
            np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


def test_forecast_table_is_the_mapping_of_its_arrays():
    per = {'cpu': np.array([0.5, np.nan, 0.2]),
           'ram': np.array([np.nan, np.nan, 64.0])}
    spread = {'cpu': np.array([0.1, 0.0, 0.0]), 'ram': np.zeros(3)}
    table = demand.from_estimates(
        {m: (per[m], spread[m]) for m in per}, ['a', 'b', 'c'], 'last',
        spread_weight=0.5)
    assert list(table) == ['a', 'c'] and len(table) == 2
    assert 'b' not in table and 'zz' not in table
    assert table['a'].get('cpu') == pytest.approx(0.55)
    assert table['a'].get('ram') is None
    assert dict(table['c'].values) == {'cpu': 0.2, 'ram': 64.0}
    assert table['a'].spread == {'cpu': 0.1}
    with pytest.raises(KeyError):
        table['b']
    np.testing.assert_array_equal(table.column('cpu', ['c', 'zz', 'a']),
                                  [0.2, np.nan, 0.55])
    dropped = table.without({'cpu': np.array([True, False, False])})
    assert list(dropped) == ['c']
    assert table == {'a': table['a'], 'c': table['c']}
    # the Mapping views answer the forecasts (an attribute must not
    # shadow them)
    assert list(table.values()) == [table['a'], table['c']]
    assert dict(table.items()) == {'a': table['a'], 'c': table['c']}
