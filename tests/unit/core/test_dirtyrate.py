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

"""The two-window estimator of dirty rate and working set (exact inputs)."""

import math

import pytest

from watcher_informed.core import dirtyrate


def measured(dirty, wss, seconds):
    """What page sampling reports for a window: min(W, D t) / t."""
    return dirtyrate.Measurement(seconds, min(wss, dirty * seconds) /
                                 seconds)


CASES = [
    # id, D, W, windows, (D estimate, W estimate, rate exact, wss exact)
    ('between', 64, 256, (2, 8), (64, 256, True, True)),
    ('between-3-windows', 16, 100, (1, 4, 16), (16, 100, True, True)),
    # D t_long == W: the long window just fills the set; W is right but
    # cannot be told from a larger set
    ('exactly-filled', 32, 256, (2, 8), (32, 256, True, False)),
    ('neither-saturated', 8, 1024, (2, 8), (8, 64, True, False)),
    ('both-saturated', 200, 64, (2, 8), (32, 64, False, True)),
    ('idle', 0, 512, (2, 8), (0, 0, True, True)),
    ('unordered', 64, 256, (8, 2), (64, 256, True, True)),
]


@pytest.mark.parametrize('dirty,wss,windows,want',
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_estimate_from_exact_measurements(dirty, wss, windows, want):
    got = dirtyrate.estimate([measured(dirty, wss, t) for t in windows])
    assert (got.dirty_mibps, got.wss_mib) == pytest.approx(want[:2])
    assert (got.rate_exact, got.wss_exact) == want[2:]


def test_pooled_rate_and_mean_set_over_repeated_windows():
    # two short unsaturated windows (60, 68 MiB/s) and two long
    # saturated ones (240, 224 MiB changed)
    got = dirtyrate.estimate([(2, 60), (8, 30), (2, 68), (8, 28)])
    assert got.dirty_mibps == pytest.approx((120 + 136) / 4.0)
    assert got.wss_mib == pytest.approx((240 + 224) / 2.0)
    assert got.rate_exact and got.wss_exact


@pytest.mark.parametrize('noise', [0.9, 1.0, 1.1])
def test_noise_within_tolerance_keeps_the_case(noise):
    # 10 % noise on the long window of a "neither saturated" guest must
    # not be read as saturation (tolerance 15 %)
    got = dirtyrate.estimate([(2, 10), (8, 10 * noise)])
    assert not got.wss_exact and got.rate_exact
    assert got.dirty_mibps == pytest.approx((20 + 80 * noise) / 10)


def test_rate_below_resolution_in_short_window_is_not_saturation():
    # 0 MiB/s in 1 s (resolution 1 MiB/s) but 4 MiB changed in 8 s
    got = dirtyrate.estimate([(1, 0), (8, 0.5)])
    assert got.dirty_mibps == pytest.approx(4 / 9.0)
    assert got.rate_exact and not got.wss_exact


BAD = [
    ('one-window', [(2, 10)]),
    ('same-length', [(2, 10), (2, 12)]),
    ('zero-length', [(0, 1), (2, 1)]),
    ('negative-rate', [(1, -1), (2, 1)]),
    ('nan-rate', [(1, math.nan), (2, 1)]),
]


@pytest.mark.parametrize('windows', [b[1] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_unusable_input_is_refused(windows):
    with pytest.raises(ValueError):
        dirtyrate.estimate(windows)


@pytest.mark.parametrize('tolerance', [-0.1, 1.0])
def test_tolerance_is_checked(tolerance):
    with pytest.raises(ValueError):
        dirtyrate.estimate([(1, 1), (2, 1)], tolerance=tolerance)
