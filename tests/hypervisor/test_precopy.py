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

"""The cost model against real QEMU pre-copy live migrations (issue 7).

The module fixture runs the whole grid once (tests/hypervisor/grid.py:
memory 256/512 MiB x working set 16/64 MiB x dirty rate 0/64 MiB/s x
bandwidth 32/48 MiB/s, plus a 512 MiB guest whose resident size is
about five times its used memory at dirty rate 0/64 MiB/s x bandwidth
32/48 MiB/s; about 25 minutes on 2 cores) and writes
bench/out/qemu_precopy.json, which ``python -m bench.qemu_precopy``
renders.  Prepare the host first with ``bash tools/qemu/setup.sh``;
without QEMU and the guest assets every test skips with the reason
(``WI_QEMU_REQUIRED=1`` turns that into a failure, as tools/qemu/test.sh
does).  ``WI_QEMU_RESULTS=<json>`` re-checks a saved run instead of
migrating.
"""

import math
import os
import statistics

import pytest

from tests.hypervisor import grid
from tests.hypervisor import harness

#: issue 17: predicted vs measured total time over the whole grid.
TIME_MEDIAN = 0.10
TIME_MAX = 0.25
SENT_MEDIAN = 0.10
SENT_MAX = 0.25
#: Fig. 1, "downtime does not grow with memory": what a doubled memory
#: may add to the median downtime of a non-converging point.  Identical
#: idle migrations here paused the guest for 1 to 70 ms, so single
#: downtimes carry tens of ms of noise; a downtime proportional to memory
#: would add more than this allowance at the 64 MiB working set.
DOWNTIME_NOISE_MS = 25.0
#: attempts the harness may lose (and run again) over the whole grid of
#: about 70 migrations; more means the host or the harness is broken.
LOST_MAX = 3

POINTS = grid.points()
ALL = grid.all_points()


def _id(point):
    return 'M%d-W%d-D%d-B%d' % point


def _all_id(point):
    return '%s-M%d-W%d-D%d-B%d' % point


@pytest.fixture(scope='module')
def results():
    saved = os.environ.get('WI_QEMU_RESULTS')
    if saved:
        return grid.load(saved)
    try:
        assets = harness.assets()
    except harness.Unavailable as exc:
        if os.environ.get('WI_QEMU_REQUIRED'):
            pytest.fail('QEMU tests required but unavailable: %s' % exc)
        pytest.skip(str(exc))
    try:
        return grid.run(assets)
    finally:
        harness.close_all()


def _point(results, point):
    if isinstance(point[0], str):
        k = grid.key(*point[1:], guest=point[0])
    else:
        k = grid.key(*point)
    p = results['points'].get(k)
    assert p is not None, 'grid point %s was not run' % (point,)
    return p


def _completed(p):
    m = p['measured']
    assert m.get('status') == 'completed', m.get('error', m.get('status'))
    assert p.get('predicted'), 'no model prediction (calibration failed?)'
    return m, p['predicted']


@pytest.mark.parametrize('point', ALL, ids=_all_id)
def test_migration_completed_and_destination_alive(results, point):
    p = _point(results, point)
    for run in p['runs']:
        assert run.get('status') == 'completed', (
            run.get('error'), run.get('harness_errors'))
        assert run['dest_status'] == 'running'
        assert len(run['dest_pongs']) == 2, (
            'destination did not answer on its serial console')
        assert not run['dest_oops'], 'destination kernel oops'
        if point[3] > 0:
            # Still dirtying after the migration: its counter moves.
            assert run['dest_pongs'][1] > run['dest_pongs'][0]


@pytest.mark.parametrize('point', ALL, ids=_all_id)
def test_model_total_time_within_25_percent(results, point):
    m, pred = _completed(_point(results, point))
    measured = m['total_time_ms'] / 1000.0
    assert pred['time_s'] == pytest.approx(measured, rel=TIME_MAX), (
        'predicted %.2f s, measured %.2f s' % (pred['time_s'], measured))


def test_model_total_time_median_error_within_10_percent(results):
    errors = grid.time_errors(results)
    assert len(errors) == len(ALL)
    assert statistics.median(errors) <= TIME_MEDIAN, errors


@pytest.mark.parametrize('point', ALL, ids=_all_id)
def test_model_data_sent_within_25_percent(results, point):
    m, pred = _completed(_point(results, point))
    measured = m['transferred_bytes'] / harness.MIB
    assert pred['sent_mib'] == pytest.approx(measured, rel=SENT_MAX), (
        'predicted %.0f MiB, measured %.0f MiB'
        % (pred['sent_mib'], measured))


def test_model_data_sent_median_error_within_10_percent(results):
    errors = [abs(p['errors']['sent'])
              for p in results['points'].values() if p.get('errors')]
    assert statistics.median(errors) <= SENT_MEDIAN, errors


@pytest.mark.parametrize('point', grid.FREED_POINTS, ids=_id)
def test_freed_guest_round_1_is_resident_not_used(results, point):
    # resident several times used; the used memory would predict a
    # fraction of the real time, the resident size predicts it
    p = _point(results, ('freed',) + point)
    m, pred = _completed(p)
    assert m['ram_resident_mib'] >= 3 * m['used_mib'], (
        m['ram_resident_mib'], m['used_mib'])
    assert m['transferred_bytes'] / harness.MIB >= 3 * m['used_mib']
    assert p['errors']['time_from_used'] < -0.5
    assert abs(p['errors']['time']) <= TIME_MAX


@pytest.mark.parametrize('point', ALL, ids=_all_id)
def test_model_predicts_convergence(results, point):
    p = _point(results, point)
    _, pred = _completed(p)
    for run in p['runs']:
        assert run['converged'] == pred['converged'], (
            'QEMU %s (%d syncs), model %s after %d rounds' % (
                'converged' if run['converged'] else 'needed the forced stop',
                run['dirty_sync_count'],
                'converges' if pred['converged'] else 'does not converge',
                pred['rounds']))


def _time(results, *point):
    m, _ = _completed(_point(results, point))
    return m['total_time_ms'] / 1000.0


def _downtime(results, *point):
    p = _point(results, point)
    _completed(p)
    return p['downtime_ms_median']


@pytest.mark.parametrize('ws, dirty, bw', [
    pytest.param(ws, dirty, bw, id='W%d-D%d-B%d' % (ws, dirty, bw))
    for ws in grid.WSS_MIB for dirty in grid.DIRTY_MIBPS
    for bw in grid.BANDWIDTH_MIBPS])
def test_fig1_time_grows_with_memory(results, ws, dirty, bw):
    times = [_time(results, mem, ws, dirty, bw) for mem in grid.MEMORY_MIB]
    assert times == sorted(times) and len(set(times)) == len(times), times


@pytest.mark.parametrize('mem, bw', [
    pytest.param(mem, bw, id='M%d-B%d' % (mem, bw))
    for mem in grid.MEMORY_MIB for bw in grid.BANDWIDTH_MIBPS])
def test_fig1_time_grows_with_dirty_working_set(results, mem, bw):
    dirty = max(grid.DIRTY_MIBPS)
    times = [_time(results, mem, ws, dirty, bw) for ws in grid.WSS_MIB]
    assert times == sorted(times) and len(set(times)) == len(times), times


NON_CONVERGING = [pytest.param(dirty, bw, id='D%d-B%d' % (dirty, bw))
                  for dirty in grid.DIRTY_MIBPS
                  for bw in grid.BANDWIDTH_MIBPS
                  if grid.non_converging_expected(dirty, bw)]


@pytest.mark.parametrize('mem', grid.MEMORY_MIB, ids='M{}'.format)
@pytest.mark.parametrize('dirty, bw', NON_CONVERGING)
def test_fig1_downtime_grows_with_dirty_working_set(results, mem, dirty, bw):
    downtimes = [_downtime(results, mem, ws, dirty, bw)
                 for ws in grid.WSS_MIB]
    assert downtimes == sorted(downtimes), downtimes
    assert downtimes[-1] > downtimes[0], downtimes


@pytest.mark.parametrize('ws', grid.WSS_MIB, ids='W{}'.format)
@pytest.mark.parametrize('dirty, bw', NON_CONVERGING)
def test_fig1_downtime_does_not_grow_with_memory(results, ws, dirty, bw):
    small, big = (_downtime(results, mem, ws, dirty, bw)
                  for mem in (min(grid.MEMORY_MIB), max(grid.MEMORY_MIB)))
    allowed = max(DOWNTIME_NOISE_MS, 0.5 * small)
    assert big <= small + allowed, (
        'downtime %.0f ms at %d MiB vs %.0f ms at %d MiB' % (
            big, max(grid.MEMORY_MIB), small, min(grid.MEMORY_MIB)))
    # The model agrees: its downtime does not depend on memory size.
    p_small, p_big = (_point(results, (mem, ws, dirty, bw))['predicted']
                      for mem in (min(grid.MEMORY_MIB),
                                  max(grid.MEMORY_MIB)))
    assert math.isclose(p_small['downtime_ms'], p_big['downtime_ms'])


def test_harness_lost_few_attempts(results):
    lost = grid.lost_runs(results)
    assert len(lost) <= LOST_MAX, lost


def test_calibration_is_sane(results):
    cal = results['calibration']
    for mem in grid.MEMORY_MIB:
        v0 = cal['v0_mib'].get(str(mem))
        assert v0 is not None, 'no idle calibration run for %d MiB' % mem
        # Almost all guest memory is non-zero by construction (the guest
        # fills it), but never more than the guest has.
        assert 0.6 * mem < v0 <= mem
    # Stop-and-copy ignores max-bandwidth in QEMU 7.2: far above it.
    assert cal['stop_copy_mibps'] > 4 * max(grid.BANDWIDTH_MIBPS)
