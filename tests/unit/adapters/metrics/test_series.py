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

from hypothesis import given
from hypothesis import strategies as st
import pytest

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import memory
from watcher_informed.adapters.metrics import series

W = base.Window(period_s=900, granularity_s=300, stale_after_s=600)
NOW = 10_000.0


def grid(values, last=9900.0, step=300.0):
    """Points ending at ``last``, ``step`` apart."""
    n = len(values)
    return [(last - (n - 1 - k) * step, v) for k, v in enumerate(values)]


def test_counter_rate_is_mean_of_step_rates():
    # window [9100, 10000]: points 9300, 9600, 9900; base 9000
    pts = grid([0, 300, 900, 1500, 3000])
    res = series.counter(pts, W, NOW)
    assert res.value == pytest.approx((2 + 2 + 5) / 3)
    assert res.kind == series.OK and res.resets == 0


def test_counter_reset_counts_from_zero():
    # restarted between 9300 and 9600: the new value is the increase
    pts = grid([0, 300, 600, 150, 450])
    res = series.counter(pts, W, NOW)
    assert res.resets == 1
    assert res.value == pytest.approx((1 + 0.5 + 1) / 3)


def test_counter_reset_never_gives_negative_rates():
    pts = grid([10 ** 12, 10 ** 12 + 300, 5, 305])
    res = series.counter(pts, W, NOW)
    assert res.value == pytest.approx((1 + 5 / 300 + 1) / 3)


def test_counter_scale():
    res = series.counter(grid([0, 3e11, 6e11]), W, NOW, scale=1e-9 / 2)
    assert res.value == pytest.approx(0.5)


@pytest.mark.parametrize('pts, kind, text', [
    ([], series.ABSENT, 'no samples'),
    (grid([5.0]), series.ABSENT, 'too few samples: 1 counter sample'),
    (grid([0, 1, 2], last=9000.0), series.ABSENT, 'stale: newest sample'
     ' 1000 s old'),
    (grid([0, 1, 2], last=9300.0), series.ABSENT, 'stale: newest sample'
     ' 700 s old'),
    (grid([0, float('nan'), 2]), series.BAD, '1 NaN sample(s)'),
    (grid([0, -1, 2]), series.BAD, 'negative counter value'),
    (grid([1, 2], last=20000.0), series.ABSENT, 'no samples in window'),
])
def test_counter_missing(pts, kind, text):
    res = series.counter(pts, W, NOW)
    assert res.value is None
    assert res.kind == kind
    assert text in res.reason


def test_base_point_outside_the_window_is_used_once():
    # 9000 is before the window start (9100): base of the 9300 rate only
    pts = [(9000.0, 0.0), (9900.0, 1800.0)]
    assert series.counter(pts, W, NOW).value == pytest.approx(2.0)


@pytest.mark.parametrize('pts, value, text', [
    (grid([1.0, 2.0, 3.0, 6.0]), 11 / 3, ''),
    ([], None, 'no samples'),
    (grid([1.0], last=9000.0), None, 'stale'),
    (grid([1.0, float('nan')]), None, 'NaN'),
    (grid([1.0, -2.0]), None, 'negative sample in window (-2)'),
])
def test_gauge(pts, value, text):
    res = series.gauge(pts, W, NOW)
    assert res.value == (pytest.approx(value) if value else None)
    assert text in res.reason


def test_clean_sorts_and_dedupes_and_parses():
    pts = series.clean([(3, '2'), (1, 1), (3, '4'), (2, None), (4, 'x')])
    assert [t for t, _ in pts] == [1.0, 2.0, 3.0, 4.0]
    assert pts[2][1] == 4.0
    assert math.isnan(pts[1][1]) and math.isnan(pts[3][1])


def test_combine_sums_devices_and_skips_those_without_data():
    ok = series.Result(1.5)
    stale = series.Result(None, 'stale: newest sample 999 s old',
                          series.ABSENT)
    assert series.combine([('vda', ok), ('vdb', series.Result(0.5)),
                           ('vdc', stale)]).value == 2.0


def test_combine_bad_device_spoils_the_instance():
    bad = series.Result(None, '1 NaN sample(s) in window', series.BAD)
    res = series.combine([('vda', series.Result(1.0)), ('vdb', bad)])
    assert res.value is None and res.kind == series.BAD
    assert res.reason == 'vdb: 1 NaN sample(s) in window'


def test_combine_all_absent_keeps_a_reason():
    absent = series.Result(None, 'no samples', series.ABSENT)
    assert series.combine([('vda', absent)]).reason == 'no samples'
    res = series.combine([('vda', absent), ('vdb', absent)])
    assert res.reason == 'vda: no samples (and 1 other device(s) without ' \
        'data)'
    assert series.combine([]).reason == 'no samples'


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1,
                max_size=30),
       st.floats(min_value=1e9, max_value=1e12),
       st.integers(min_value=1, max_value=29))
def test_counter_equals_in_memory_rates(rates, offset, reset_at):
    """A counter built from rates reads as InMemoryMetrics reads the rates.

    Even when the guest restarts right after a sample (reset_at): the
    counter then restarts from zero and only that interval is counted.
    (A reset is only visible when the counter drops, hence offset >= 1e9,
    more than any 300 s increase here.)
    """
    step = 300.0
    n = len(rates)
    last = 9900.0
    times = [last - (n - k) * step for k in range(n + 1)]
    value = offset
    counter = [(times[0], value)]
    for k, rate in enumerate(rates, start=1):
        value = (value if k != reset_at else 0.0) + rate * step
        counter.append((times[k], value))
    window = base.Window(period_s=3600, granularity_s=300,
                         stale_after_s=900)
    res = series.counter(counter, window, NOW)
    truth = memory.InMemoryMetrics(
        {'x': {'u': list(zip(times[1:], rates))}}, NOW).read(
        'x', [types.SimpleNamespace(uuid='u')], window)['u']
    if truth.value is None:
        assert res.value is None
    else:
        assert res.value == pytest.approx(truth.value, rel=1e-6, abs=1e-6)
