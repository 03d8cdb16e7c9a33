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


"""The grid's retry policy and stop-and-copy fit, without QEMU.

A run the harness lost is run again (bounded) and the lost attempts are
kept; a migration QEMU failed is a result and is never run again.
"""

import pytest

from tests.hypervisor import grid
from tests.hypervisor import harness


class _Source:
    """A source guest that answers, with the QMP calls :meth:`_recover`
    makes."""

    def __init__(self):
        self.qmp = self
        self.closed = False

    def cmd(self, *args, **kwargs):
        return {}

    def status(self):
        return 'running'

    def alive(self, tries=1):
        return [1]

    def close(self):
        self.closed = True


class _Runner(grid._Runner):
    """migrate() raises the scripted errors, then completes."""

    def __init__(self, errors):
        super().__init__(assets={}, workdir=None, log=lambda *a: None)
        self.errors = list(errors)
        self.calls = 0

    def migrate(self, src, mem, *args):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {'status': 'completed'}


LOST = harness.HarnessError('dst512-3: console closed (QEMU exited with -9)')
FAILED = harness.MigrationFailed('migration failed: connection reset')


@pytest.mark.parametrize('errors, status, calls, kept', [
    pytest.param([], 'completed', 1, 0, id='clean'),
    pytest.param([LOST], 'completed', 2, 1, id='lost-once'),
    pytest.param([LOST, OSError('pipe')], 'completed', 3, 2,
                 id='lost-twice'),
    pytest.param([LOST] * (grid.HARNESS_RETRIES + 1), 'error',
                 grid.HARNESS_RETRIES + 1, grid.HARNESS_RETRIES,
                 id='lost-every-time'),
    pytest.param([FAILED], 'error', 1, 0, id='qemu-failed-not-retried'),
    pytest.param([LOST, FAILED], 'error', 2, 1, id='lost-then-failed'),
])
def test_attempt_runs_lost_attempts_again(errors, status, calls, kept):
    runner = _Runner(errors)
    src, run = runner.attempt(_Source(), 256, 16, 0, 32, 8)
    assert run['status'] == status
    assert runner.calls == calls
    assert len(run['harness_errors']) == kept
    if status == 'error':
        assert run['error']


def test_lost_runs_names_point_and_calibration():
    results = {
        'calibration': {'runs': [{'harness_errors': ['a']}, {}]},
        'points': {'256/16/0/32': {'runs': [
            {'harness_errors': []}, {'harness_errors': ['b', 'c']}]}},
    }
    assert grid.lost_runs(results) == [
        ('calibration', 'a'), ('256/16/0/32', 'b'), ('256/16/0/32', 'c')]


@pytest.mark.parametrize('samples, rate, fixed', [
    # downtime = 10 ms + remainder / (500 MiB/s)
    pytest.param([(0, 10), (50, 110), (100, 210)], 500.0, 10.0,
                 id='exact'),
    pytest.param([(0, 10), (50, 110), (100, 210), (60, 900)], 500.0, 10.0,
                 id='one-disturbed-run'),
    pytest.param([(0, 10), (5, 20)], 0.0, 15.0, id='no-spread'),
    pytest.param([], 0.0, 0.0, id='no-samples'),
])
def test_fit_stop_copy(samples, rate, fixed):
    got = grid.fit_stop_copy([{'remainder_mib': x, 'downtime_ms': y}
                              for x, y in samples])
    assert got == pytest.approx((rate, fixed))
