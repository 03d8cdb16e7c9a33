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

"""The load an instance will have during the next hour (issue 18).

Contract: :func:`estimate` takes, for one metric, a matrix of samples --
one row per instance, one column per granularity step, oldest first, the
last column the step that ends at the audit's time, ``NaN`` where a step
has no sample -- and returns per instance the estimated *mean* of the
metric over the next ``horizon_s`` (an hour by default) and the *spread*
of that estimate (one standard deviation of the hour-to-hour change of
the hourly means in the history, in the metric's unit).  Pure numpy,
vectorised over instances, deterministic; rows without samples give
``NaN`` (the caller keeps the classification usage for them).

The paper plans on the load it measures (section 2); a plan is executed
during the next hour, so it is the next hour's load that must fit.
Estimators (:data:`ESTIMATORS`, chosen by the ``demand_estimator`` audit
parameter over ``demand_history`` seconds of samples):

* ``last`` -- the mean of the last hour (what the classification reads;
  the plugin's behaviour before issue 18);
* ``recent`` -- the mean of the last hour, or the last step's sample
  where that is higher: an instance that has just woken up keeps its new
  level (one that has just gone idle keeps the hour's mean);
* ``mean`` -- the mean of the whole history;
* ``quantile`` -- the :data:`QUANTILE` quantile of the hourly means of the
  history (a busy hour of the recent past);
* ``trend`` -- Holt's damped linear trend (EWMA level plus slope) on the
  samples, extrapolated over the next hour;
* ``seasonal`` -- the last hour plus the change the same hour showed a
  day earlier (needs a day and an hour of history, else ``last``).

:data:`DEFAULT` is the one that won ``python -m bench.run nexthour``
(``bench/RESULTS.md``).  :func:`forecasts` applies an estimator to every
metric and builds the :class:`Forecast` values a
:class:`~watcher_informed.core.snapshot.Snapshot` carries
(``Snapshot.forecast``); a forecast's values are the estimate plus
:data:`SPREAD_WEIGHT` spreads, so that overload, the load to shed and the
destinations' loads (the target a destination may reach) all allow for
the estimate's error.  The spreads never raise an instance's CPU above
:data:`CPU_CEILING` (its vCPUs: an instance cannot use more CPU than it
has); an estimate already above it (a measured overshoot) is kept as
measured.  The answer is a :class:`ForecastTable`: one array
per metric over the instances, read whole by the load computations, and a
``uuid -> Forecast`` mapping built on access.
"""

import collections.abc
import dataclasses
import itertools
import types
import typing

import numpy as np

from watcher_informed.core import snapshot as snap

HOUR_S = 3600.0
DAY_S = 86400.0
ESTIMATORS = ('last', 'recent', 'mean', 'quantile', 'trend', 'seasonal')
#: the winner of ``python -m bench.run nexthour`` (``bench/RESULTS.md``
#: section 8, chosen on held-out seeds 6-10 and confirmed on seeds
#: 1-5): with the spread and the ceiling below, ``recent`` relieved 0.91
#: of what perfect foresight relieves there (``last`` 0.83).
DEFAULT = 'recent'
#: seconds of history read by default (a day and an hour: ``seasonal``).
DEFAULT_HISTORY_S = 90000
#: the plan is made on the estimate plus this many spreads (chosen with
#: ``python -m bench.run nexthour`` on held-out seeds 6-10, ``recent``
#: with the ceiling below: 0.75 relieved 0.87 of what perfect foresight
#: relieves with 1.40x its migrations, 0.875 0.90 (1.51x), 1.0 0.91
#: (1.50x), 1.25 0.91 (1.65x); seeds 1-5 with 1.0: 0.93, 1.16x).
SPREAD_WEIGHT = 1.0
#: the most CPU (a fraction of the instance's vCPUs) the spreads may
#: raise an instance's planned CPU to: its vCPUs.  Without it a volatile
#: instance was planned above what it can use, fitted no destination and
#: made its host shed many others for a partial relief (held-out seeds
#: 6-10, ``last`` with a spread weight of 1: 2.10x the oracle's
#: migrations, 1.37x with the ceiling).  ``Forecast.spread`` is not
#: capped (``relief_spread`` reads it).
CPU_CEILING = 1.0
#: quantile of the hourly means used by ``quantile``.
QUANTILE = 0.9
#: Holt's smoothing of the level and the slope, and the damping of the
#: slope per step (``trend``), for 5-minute samples.
ALPHA = 0.3
BETA = 0.05
PHI = 0.9


@dataclasses.dataclass(frozen=True)
class Forecast:
    """One instance's next-hour usage estimate, per metric.

    ``values`` (what the plan is made on: the estimate plus
    :data:`SPREAD_WEIGHT` spreads) and ``spread`` (one standard deviation
    of the estimate's error) are in the units of ``snapshot.METRICS``.
    """

    values: typing.Mapping[str, float] = dataclasses.field(
        default_factory=dict)
    spread: typing.Mapping[str, float] = dataclasses.field(
        default_factory=dict)
    method: str = 'last'

    def get(self, metric):
        return self.values.get(metric)


def _steps(seconds, step_s):
    return max(1, int(round(seconds / float(step_s))))


def _nanmean(block):
    """Row means of a 2-D block ignoring NaN; NaN for empty rows."""
    count = np.sum(~np.isnan(block), axis=1)
    total = np.nansum(block, axis=1)
    out = np.full(block.shape[0], np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def hourly_means(values, step_s):
    """``(n, hours)`` means of whole hours, newest hour last.

    The oldest incomplete hour is dropped; an hour without a sample is
    NaN.
    """
    per = _steps(HOUR_S, step_s)
    n, t = values.shape
    hours = t // per
    if hours == 0:
        return np.full((n, 0), np.nan)
    block = values[:, t - hours * per:].reshape(n, hours, per)
    count = np.sum(~np.isnan(block), axis=2)
    total = np.nansum(block, axis=2)
    out = np.full((n, hours), np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def spread(values, step_s):
    """Per row, the RMS hour-to-hour change of the hourly means.

    This is the error the ``last`` estimator made in the history; 0 with
    fewer than two hours.
    """
    hours = hourly_means(values, step_s)
    if hours.shape[1] < 2:
        return np.zeros(values.shape[0])
    diff = np.diff(hours, axis=1)
    sq = diff * diff
    count = np.sum(~np.isnan(sq), axis=1)
    total = np.nansum(sq, axis=1)
    out = np.zeros(values.shape[0])
    np.divide(total, count, out=out, where=count > 0)
    return np.sqrt(out)


def _last(values, step_s):
    return _nanmean(values[:, -_steps(HOUR_S, step_s):])


def _recent(values, step_s):
    """The last hour's mean, or the last step's sample where higher."""
    last = _last(values, step_s)
    now = values[:, -1]
    return np.where(np.isnan(now), last, np.fmax(last, now))


def _mean(values, step_s):
    return _nanmean(values)


def _quantile(values, step_s):
    hours = hourly_means(values, step_s)
    last = _last(values, step_s)
    if hours.shape[1] == 0:
        return last
    has = np.any(~np.isnan(hours), axis=1)
    out = last.copy()
    if np.any(has):
        out[has] = np.nanquantile(hours[has], QUANTILE, axis=1)
    return out


def _trend(values, step_s, horizon_s):
    """Holt's damped trend, vectorised over rows; NaN steps are skipped."""
    n, t = values.shape
    level = np.full(n, np.nan)
    slope = np.zeros(n)
    for k in range(t):
        x = values[:, k]
        seen = ~np.isnan(x)
        first = seen & np.isnan(level)
        level[first] = x[first]
        upd = seen & ~first
        if np.any(upd):
            prev = level[upd]
            pred = prev + PHI * slope[upd]
            new = ALPHA * x[upd] + (1 - ALPHA) * pred
            slope[upd] = BETA * (new - prev) + (1 - BETA) * PHI * slope[upd]
            level[upd] = new
    h = _steps(horizon_s, step_s)
    # mean over the next h steps of the damped extrapolation
    gains = np.cumsum(PHI ** np.arange(1, h + 1))
    out = level + slope * float(np.mean(gains))
    return np.maximum(out, 0.0)


def _seasonal(values, step_s):
    per = _steps(HOUR_S, step_s)
    day = _steps(DAY_S, step_s)
    n, t = values.shape
    last = _last(values, step_s)
    if t < day + per:
        return last
    # the hour that followed "now" a day ago, and the hour before it
    then_next = _nanmean(values[:, t - day:t - day + per])
    then_last = _nanmean(values[:, t - day - per:t - day])
    change = then_next - then_last
    out = np.where(np.isnan(change), last, last + change)
    return np.maximum(out, 0.0)


def estimate(values, step_s, method=DEFAULT, horizon_s=HOUR_S):
    """``(estimate, spread)`` arrays for a ``(n, steps)`` sample matrix.

    See the module contract.  ``method`` is one of :data:`ESTIMATORS`.
    """
    if method not in ESTIMATORS:
        raise ValueError('demand_estimator must be one of %s, not %r'
                         % (', '.join(ESTIMATORS), method))
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError('samples must be a 2-D matrix')
    if step_s <= 0:
        raise ValueError('step must be positive, got %r' % (step_s,))
    if values.shape[1] == 0:
        nan = np.full(values.shape[0], np.nan)
        return nan, np.zeros(values.shape[0])
    if method == 'last':
        est = _last(values, step_s)
    elif method == 'recent':
        est = _recent(values, step_s)
    elif method == 'mean':
        est = _mean(values, step_s)
    elif method == 'quantile':
        est = _quantile(values, step_s)
    elif method == 'trend':
        est = _trend(values, step_s, horizon_s)
    else:
        est = _seasonal(values, step_s)
    return est, spread(values, step_s)


def matrix(series, uuids, now, step_s, steps):
    """Align per-instance samples on the step grid that ends at ``now``.

    ``series`` maps a uuid to ``(times, values)`` (seconds, floats).  The
    last of the ``steps`` columns holds the samples of ``(now - step_s,
    now]``, the one before ``(now - 2 step_s, now - step_s]``, and so on;
    a later sample of a step wins.  Samples outside the grid, NaN,
    infinite, negative or implausibly large (``snapshot.MAX_READING``)
    values are left out.  Returns a ``(len(uuids),
    steps)`` float matrix, NaN where a step has no sample.
    """
    out = np.full((len(uuids), steps), np.nan)
    rows, times, vals = [], [], []
    for row, uuid in enumerate(uuids):
        got = series.get(uuid)
        if not got:
            continue
        t = np.asarray(got[0], dtype=float).reshape(-1)
        v = np.asarray(got[1], dtype=float).reshape(-1)
        if t.size == 0 or t.size != v.size:
            continue
        rows.append(np.full(t.size, row))
        times.append(t)
        vals.append(v)
    if not rows:
        return out
    # every instance's samples at once
    r, t, v = (np.concatenate(x) for x in (rows, times, vals))
    age = np.floor((now - t) / float(step_s)).astype(np.int64) + 1
    col = steps - age
    ok = (t <= now) & (col >= 0) & np.isfinite(v) & (v >= 0) & \
        (v <= snap.MAX_READING)
    r, t, v, col = r[ok], t[ok], v[ok], col[ok]
    # a later sample of a step wins: sort by (row, col, time) and keep
    # the last sample of each cell
    order = np.lexsort((t, col, r))
    r, col, v = r[order], col[order], v[order]
    last = np.ones(r.size, dtype=bool)
    last[:-1] = (r[1:] != r[:-1]) | (col[1:] != col[:-1])
    out[r[last], col[last]] = v[last]
    return out


def forecasts(per_metric, uuids, step_s, method=DEFAULT,
              horizon_s=HOUR_S, spread_weight=SPREAD_WEIGHT):
    """``{uuid: Forecast}`` from ``{metric: (n, steps) matrix}``.

    Each forecast value is the estimate plus ``spread_weight`` times its
    spread (what the plan is made on), CPU no higher than
    :data:`CPU_CEILING` or the estimate (:func:`planned`);
    ``Forecast.spread`` keeps the spread itself.  Rows follow
    ``uuids``.  A metric without an estimate for an instance (no
    samples) is left out of its forecast; an instance without any is
    left out of the answer.
    """
    return from_estimates(
        {m: estimate(per_metric[m], step_s, method, horizon_s)
         for m in per_metric}, uuids, method, spread_weight)


def from_estimates(estimates, uuids, method=DEFAULT,
                   spread_weight=SPREAD_WEIGHT):
    """A :class:`ForecastTable` from ``{metric: (estimate, spread)}``.

    What :func:`forecasts` does once the estimates are made; a caller
    that builds one metric's matrix at a time estimates it and lets it
    go, so the matrices of all metrics are never held at once.
    """
    uuids = tuple(uuids)
    values, spreads = {}, {}
    for metric in sorted(estimates):
        est, spr = estimates[metric]
        # rows follow uuids (a matrix may hold more rows than asked for)
        est = np.asarray(est, dtype=float)[:len(uuids)]
        spr = np.asarray(spr, dtype=float)[:len(uuids)]
        values[metric] = planned(metric, est, spr, spread_weight)
        spreads[metric] = np.where(np.isnan(values[metric]), np.nan, spr)
    return ForecastTable(uuids, values, spreads, method)


def planned(metric, est, spr, spread_weight=SPREAD_WEIGHT):
    """What the plan is made on: ``est`` plus ``spread_weight`` spreads.

    For CPU (a fraction of the instance's vCPUs) the spreads raise it to
    :data:`CPU_CEILING` at most: an instance cannot use more CPU than it
    has.  An estimate already above the ceiling is kept (the instance
    was measured there), with no spread on top.  Arrays, NaN kept.
    """
    value = est + spread_weight * spr
    if metric != snap.CPU:
        return value
    return np.minimum(value, np.fmax(est, CPU_CEILING))


class ForecastTable(collections.abc.Mapping):
    """Next-hour forecasts of many instances, one array per metric.

    ``planned`` and ``spreads`` map a metric to a float array over
    ``uuids`` (NaN: no estimate); they are not called ``values`` so that
    the mapping's own :meth:`values` still answers the forecasts.  As a
    mapping it holds ``uuid -> Forecast`` for the instances with at least
    one estimate, built on access; :meth:`column` answers a whole metric
    at once.
    """

    def __init__(self, uuids, values, spread, method=DEFAULT, row=None):
        self.uuids = tuple(uuids)
        #: ``{uuid: k}`` (``row``: the same of another table's uuids)
        self.row = row if row is not None else \
            {u: k for k, u in enumerate(self.uuids)}
        self.planned = values
        self.spreads = spread
        self.method = method
        has = np.zeros(len(self.uuids), dtype=bool)
        for col in values.values():
            has |= ~np.isnan(col)
        self._has = has
        self._present = tuple(itertools.compress(self.uuids, has.tolist()))
        self._built = {}

    def __getitem__(self, uuid):
        fc = self._built.get(uuid)
        if fc is not None:
            return fc
        k = self.row.get(uuid)
        if k is None or not self._has[k]:
            raise KeyError(uuid)
        values = {m: float(col[k]) for m, col in self.planned.items()
                  if col[k] == col[k]}
        spread = {m: float(self.spreads[m][k]) for m in values}
        fc = self._built[uuid] = Forecast(types.MappingProxyType(values),
                                          types.MappingProxyType(spread),
                                          self.method)
        return fc

    def __iter__(self):
        return iter(self._present)

    def __len__(self):
        return len(self._present)

    def __contains__(self, uuid):
        k = self.row.get(uuid)
        return k is not None and bool(self._has[k])

    def column(self, metric, uuids=None):
        """The planned values of ``metric`` in ``uuids`` order (NaN)."""
        col = self.planned.get(metric)
        n = len(self.uuids) if uuids is None else len(uuids)
        if col is None:
            return np.full(n, np.nan)
        if uuids is None or tuple(uuids) == self.uuids:
            return col
        idx = np.array([self.row.get(u, -1) for u in uuids], dtype=int)
        return np.where(idx >= 0, col[idx] if len(col) else np.nan, np.nan)

    def without(self, unknown):
        """A copy without some estimates.

        ``unknown`` maps a metric to a bool array over :attr:`uuids`:
        where it is true, that metric's estimate is dropped.
        """
        values, spread = {}, {}
        for metric, col in self.planned.items():
            drop = unknown.get(metric)
            if drop is None:
                values[metric], spread[metric] = col, self.spreads[metric]
                continue
            values[metric] = np.where(drop, np.nan, col)
            spread[metric] = np.where(drop, np.nan, self.spreads[metric])
        return ForecastTable(self.uuids, values, spread, self.method,
                             self.row)
