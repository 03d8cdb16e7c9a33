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

"""Pure window arithmetic shared by the store readers (no I/O).

Contract: a *series* is a list of ``(timestamp_s, value)`` points, one per
granularity step, as a store returns them (Gnocchi: the ``mean`` of each
bucket, keyed by the bucket start; Prometheus: a ``[range:step]``
subquery, keyed by the step).  :func:`gauge` and :func:`counter` turn one
series into a :class:`Result` with the same window semantics as
:class:`~watcher_informed.adapters.metrics.memory.InMemoryMetrics`: the
mean of the values whose timestamp is within ``[now - period_s, now]``.

* A gauge's values are used as they are.
* A counter (Ceilometer's cumulative ``cpu``, disk and network bytes) is
  turned into one rate per step: the increase since the previous point
  divided by the time between them.  A decrease is a *counter reset* (the
  guest or its QEMU process restarted, or it was migrated): the counter
  restarted from zero, so the increase is the new value itself, as
  Prometheus' ``rate()`` assumes.  The point just before the window is the
  base of the first rate, so a window of n samples gives n rates.

Missing data is never an exception: no points, a newest point older than
``stale_after_s``, too few points for a rate, NaN or negative values give
a :class:`Result` without a value and with the reason.  :func:`combine`
adds the per-device results of one instance (disks, NICs).
"""

import dataclasses
import logging
import math
import typing

LOG = logging.getLogger(__name__)

#: A :class:`Result` kind: a usable value.
OK = 'ok'
#: No usable data, but nothing wrong with what is there (no samples,
#: stale, too few samples): a device in this state is skipped by
#: :func:`combine` when other devices of the instance have data.
ABSENT = 'absent'
#: Data that is present but wrong (NaN, negative): never skipped.
BAD = 'bad'


@dataclasses.dataclass(frozen=True)
class Result:
    value: typing.Optional[float] = None
    reason: str = ''
    kind: str = OK
    #: counter resets seen in the window (informational).
    resets: int = 0


def to_float(raw):
    """A store's value (number, numeric string, ``None``) as a float.

    ``None`` (Gnocchi's ``fill=null``) and unparsable values become NaN,
    which the window functions report.
    """
    if raw is None:
        return math.nan
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def clean(points):
    """Sorted points, one per timestamp (the last given wins)."""
    by_time = {}
    for t, v in points:
        by_time[float(t)] = to_float(v)
    return sorted(by_time.items())


def _stale(age):
    return Result(None, 'stale: newest sample %.0f s old' % age, ABSENT)


def _split(points, window, now):
    """``(base point or None, points inside the window)``."""
    start = now - window.period_s
    before = [p for p in points if p[0] < start]
    inside = [p for p in points if start <= p[0] <= now]
    return (before[-1] if before else None), inside


def _window(points, window, now):
    """``(point before, points inside, None)`` or a Result why not."""
    points = clean(points)
    if not points:
        return None, [], Result(None, 'no samples', ABSENT)
    base, inside = _split(points, window, now)
    if not inside:
        past = [t for t, _ in points if t <= now]
        if not past:
            return None, [], Result(None, 'no samples in window', ABSENT)
        return None, [], _stale(now - past[-1])
    age = now - inside[-1][0]
    if age > window.stale_after_s:
        return None, [], _stale(age)
    return base, inside, None


def _nan_count(values):
    return sum(1 for v in values if math.isnan(v))


def gauge(points, window, now, scale=1.0):
    """Window mean of a gauge series, times ``scale``."""
    base, inside, missing = _window(points, window, now)
    if missing:
        return missing
    values = [v for _, v in inside]
    nans = _nan_count(values)
    if nans:
        return Result(None, '%d NaN sample(s) in window' % nans, BAD)
    if any(v < 0 for v in values):
        return Result(None, 'negative sample in window (%g)' % min(values),
                      BAD)
    return Result(sum(values) / len(values) * scale)


def rates(points):
    """``([(t, rate per second), ...], resets)`` of a counter series.

    Each rate is stamped with the later of its two points.  NaN points give
    NaN rates; callers check values first.
    """
    out = []
    resets = 0
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        dt = t1 - t0
        if dt <= 0:
            continue
        delta = v1 - v0
        if delta < 0:
            resets += 1
            delta = v1
        out.append((t1, delta / dt))
    return out, resets


def counter(points, window, now, scale=1.0):
    """Window mean of a cumulative counter's rate, times ``scale``."""
    base, inside, missing = _window(points, window, now)
    if missing:
        return missing
    used = ([base] if base else []) + inside
    values = [v for _, v in used]
    nans = _nan_count(values)
    if nans:
        return Result(None, '%d NaN sample(s) in window' % nans, BAD)
    if any(v < 0 for v in values):
        return Result(None, 'negative counter value in window (%g)'
                      % min(values), BAD)
    if len(used) < 2:
        return Result(None, 'too few samples: %d counter sample(s), a rate '
                      'needs 2' % len(used), ABSENT)
    per_step, resets = rates(used)
    if not per_step:
        return Result(None, 'too few samples: no two distinct timestamps',
                      ABSENT)
    mean = sum(r for _, r in per_step) / len(per_step)
    return Result(mean * scale, resets=resets)


def combine(results):
    """Sum per-device results of one instance: ``[(device, Result)]``.

    A device with bad data makes the instance's metric missing (its value
    cannot be trusted); devices without data (detached, stale, new) are
    left out when others have data.
    """
    results = sorted(results, key=lambda dr: str(dr[0]))
    if not results:
        return Result(None, 'no samples', ABSENT)
    for device, res in results:
        if res.kind == BAD:
            return Result(None, '%s: %s' % (device, res.reason), BAD)
    good = [(d, r) for d, r in results if r.kind == OK]
    if good:
        return Result(sum(r.value for _, r in good),
                      resets=sum(r.resets for _, r in good))
    device, res = results[0]
    if len(results) == 1:
        return res
    return Result(None, '%s: %s (and %d other device(s) without data)'
                  % (device, res.reason, len(results) - 1), ABSENT)


def readings(devices_of, meter, instances, window, now, store=''):
    """``{uuid: Reading}`` of one meter for every instance.

    Shared by the store readers: ``devices_of(uuid)`` gives the instance's
    ``{device id: points}`` (one entry for instance-level meters);
    ``meter`` has ``name``, ``kind`` ('counter' or 'gauge'), ``scale``,
    ``per_vcpu`` and ``device``.  Counters become rates, per-device
    values are summed, per-vCPU meters are divided by the vCPU count.
    """
    from watcher_informed.adapters.metrics import base
    fold = counter if meter.kind == 'counter' else gauge
    answers = {}
    for inst in instances:
        devices = devices_of(inst.uuid)
        if not devices:
            answers[inst.uuid] = base.Reading(
                None, '%s: no samples in the last %d s' % (
                    meter.name, window.period_s))
            continue
        scale = meter.scale
        if meter.per_vcpu:
            vcpus = float(getattr(inst, 'vcpus', 0) or 0)
            if vcpus <= 0:
                answers[inst.uuid] = base.Reading(
                    None, '%s: instance has no vCPU count' % meter.name)
                continue
            scale = scale / vcpus
        results = [(rid, fold(points, window, now, scale))
                   for rid, points in devices.items()]
        res = combine(results) if meter.device else results[0][1]
        if res.value is None:
            answers[inst.uuid] = base.Reading(
                None, '%s: %s' % (meter.name, res.reason))
            continue
        if res.resets:
            LOG.debug('%s: %d counter reset(s) of %s for %s', store,
                      res.resets, meter.name, inst.uuid)
        answers[inst.uuid] = base.Reading(res.value)
    return answers


def steps(devices, meter, inst, store=''):
    """One instance's per-step values of ``meter`` (issue 18 history).

    ``devices`` is the instance's ``{device id: points}`` (one entry for
    instance-level meters), ``meter`` as in :func:`readings`.  Counters
    become one rate per step (resets handled, :func:`rates`); gauges stay
    as they are; values are scaled (and divided by the vCPUs of a per-vCPU
    meter), and the devices of one instance are added step by step.  NaN
    and negative values are left out (the estimator sees a gap).  Returns
    a :class:`~.base.Series`.
    """
    from watcher_informed.adapters.metrics import base
    if not devices:
        return base.Series((), (), '%s: no samples' % meter.name)
    scale = meter.scale
    if meter.per_vcpu:
        vcpus = float(getattr(inst, 'vcpus', 0) or 0)
        if vcpus <= 0:
            return base.Series((), (), '%s: instance has no vCPU count'
                               % meter.name)
        scale = scale / vcpus
    total = {}
    for rid in sorted(devices, key=str):
        points = clean(devices[rid])
        if meter.kind == 'counter':
            points, resets = rates(points)
            if resets:
                LOG.debug('%s: %d counter reset(s) of %s for %s', store,
                          resets, meter.name, getattr(inst, 'uuid', inst))
        for t, v in points:
            if math.isnan(v) or v < 0:
                continue
            total[t] = total.get(t, 0.0) + v * scale
    if not total:
        return base.Series((), (), '%s: no usable samples' % meter.name)
    times = tuple(sorted(total))
    return base.Series(times, tuple(total[t] for t in times))


class BulkHistory:
    """``read_series`` of a reader that fetches a window in one request.

    A mixin before :class:`~.base.MetricsReader`: a reader with a
    ``meters`` map defines ``_history(meter, instances, window, now)``
    returning ``({lower-case uuid: devices}, why)``, ``why`` naming the
    problem when the store answered nothing usable.  Metrics the reader
    has no meter for fall back to the base class (no history).
    """

    def read_series(self, metric, instances, window):
        """Every step of the window, one request (as ``read``)."""
        from watcher_informed.adapters.metrics import base
        meter = self.meters.get(metric)
        instances = list(instances)
        if meter is None or not instances:
            return super().read_series(metric, instances, window)
        grouped, why = self._history(meter, instances, window,
                                     float(self._clock()))
        if why:
            return {i.uuid: base.Series((), (), why) for i in instances}
        return {i.uuid: steps(grouped.get(i.uuid.lower()), meter, i,
                              self.name) for i in instances}
