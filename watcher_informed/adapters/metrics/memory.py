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

"""In-memory metric store, for tests, the demo and what-if scenarios.

Contract: :class:`InMemoryMetrics` holds time series ``{metric: {uuid:
[(timestamp, value), ...]}}`` in the core's units and answers a window
like a real store: the mean of the samples within the last ``period_s``
before ``now``; no samples, a newest sample older than ``stale_after_s``,
NaN or negative values give a :class:`Reading` with the reason.  It counts
the queries it serves (``queries``), one per :meth:`read` call.
:meth:`read_series` answers the samples of the window as they are (one
query); ``hosts`` holds the hosts' own meters ``{metric: {host name:
[(timestamp, value), ...]}}`` (``cpu`` as the busy fraction of the host,
``ram`` in MiB), read by :meth:`read_hosts` like an instance's.
"""

import math
import operator

import numpy as np

from watcher_informed.adapters.metrics import base
from watcher_informed.core import snapshot as snap

_UUID = operator.attrgetter('uuid')


def _at_now(per_uuid, now):
    """``{uuid: value}`` if every series is one sample at ``now``."""
    current = {}
    for uuid, samples in per_uuid.items():
        if len(samples) != 1:
            return None
        (t, value), = samples
        if t != now:
            return None
        current[uuid] = value
    return current


def _array(current, row):
    """``current``'s values in ``row`` order, then a NaN (row -1).

    ``None`` when a value is not a number: such a metric is read
    instance by instance, as asked.
    """
    values = [None] * (len(row) + 1)
    for uuid, value in current.items():
        values[row[uuid]] = value
    try:
        return np.array(values, dtype=float)
    except (TypeError, ValueError):
        return None


class InMemoryMetrics(base.MetricsReader):
    name = 'in-memory'

    def __init__(self, series, now, hosts=None):
        self._series = series
        self._now = float(now)
        self._hosts = hosts or {}
        self.queries = 0
        #: metric -> {uuid: value} when every series of the metric is one
        #: sample taken at ``now`` (constant values, as a scenario file or
        #: :meth:`from_values` gives them): answered with arrays, without
        #: per-instance work.
        self._current = {}
        for metric, per_uuid in series.items():
            current = _at_now(per_uuid, self._now)
            if current is not None:
                self._current[metric] = current
        #: the constant values as arrays, a row per uuid of the store
        #: (indexed once, like a real store's), and the rows of the
        #: last instances asked about (every metric asks the same ones)
        self._row = {}
        for current in self._current.values():
            for uuid in current:
                self._row.setdefault(uuid, len(self._row))
        self._arrays = {m: _array(current, self._row)
                        for m, current in self._current.items()}
        self._asked = ((), np.zeros(0, dtype=int))
        self._asked_for = None

    @classmethod
    def from_values(cls, values, now=0.0):
        """Constant values: ``{uuid: {metric: value}}``, one sample each."""
        series = {}
        for uuid, metrics in values.items():
            for metric, value in metrics.items():
                series.setdefault(metric, {})[uuid] = [(now, value)]
        return cls(series, now)

    def supports(self, metric):
        return metric in self._series

    def read(self, metric, instances, window):
        self.queries += 1
        per_uuid = self._series.get(metric, {})
        return {inst.uuid: self._one(per_uuid.get(inst.uuid), window)
                for inst in instances}

    def _rows(self, instances):
        """Rows of ``instances`` in the arrays (-1: not in the store).

        The sequence the metrics of one read are asked about (the same
        object, kept here so its identity stays its own) is looked up
        once; any other is compared by its uuids.
        """
        if instances is self._asked_for and \
                len(instances) == len(self._asked[0]):
            return self._asked[1]
        uuids = tuple(map(_UUID, instances))
        if uuids != self._asked[0]:
            get = self._row.get
            self._asked = (uuids, np.array([get(u, -1) for u in uuids],
                                           dtype=int))
        self._asked_for = instances
        return self._asked[1]

    def _values(self, metric, instances):
        """``metric``'s constant values of ``instances`` (NaN: none)."""
        array = self._arrays[metric]
        if array is None:
            current = self._current[metric]
            return np.array([current.get(i.uuid) for i in instances],
                            dtype=float)
        # row -1 (not in the store) reads the trailing NaN
        return array[self._rows(instances)]

    def read_values(self, metric, instances, window):
        current = self._current.get(metric)
        if current is None:
            return super().read_values(metric, instances, window)
        self.queries += 1
        values = self._values(metric, instances)
        reasons = {}
        with np.errstate(invalid='ignore'):
            bad = np.isnan(values) | (values < 0)
        for k in np.flatnonzero(bad):
            uuid = instances[k].uuid
            if uuid not in self._series.get(metric, {}):
                reasons[uuid] = 'no samples'
            elif values[k] != values[k]:
                reasons[uuid] = '1 NaN sample(s) in window'
            else:
                reasons[uuid] = 'negative sample in window'
        values[bad] = np.nan
        return values, reasons

    def _one(self, samples, window):
        if not samples:
            return base.Reading(None, 'no samples')
        start = self._now - window.period_s
        inside = [(t, v) for t, v in samples if start <= t <= self._now]
        if not inside:
            newest = max(t for t, _ in samples)
            return base.Reading(None, 'stale: newest sample %.0f s old'
                                % (self._now - newest))
        newest = max(t for t, _ in inside)
        if self._now - newest > window.stale_after_s:
            return base.Reading(None, 'stale: newest sample %.0f s old'
                                % (self._now - newest))
        values = [v for _, v in inside]
        bad = [v for v in values if v is None or (isinstance(v, float) and
                                                  math.isnan(v))]
        if bad:
            return base.Reading(None, '%d NaN sample(s) in window'
                                % len(bad))
        if any(v < 0 for v in values):
            return base.Reading(None, 'negative sample in window')
        return base.Reading(sum(values) / len(values))

    def read_grid(self, metric, instances, window, step_s, steps):
        """The step grid of ``demand.matrix`` for constant values, at once.

        ``None`` when the metric holds real series (then
        :meth:`read_series` answers).  One sample at ``now`` lands in the
        last step; missing and bad values are NaN, as ``matrix`` leaves
        them out.  Only that newest step is returned (an ``(n, 1)``
        matrix): every older step would be empty, and the estimators
        give the same answer without them (``read_forecast``).
        """
        current = self._current.get(metric)
        if current is None:
            return None
        self.queries += 1
        last = self._values(metric, instances)
        with np.errstate(invalid='ignore'):
            bad = ~np.isfinite(last) | (last < 0) | \
                (last > snap.MAX_READING)
        last[bad] = np.nan
        return last.reshape(len(instances), 1)

    def read_series(self, metric, instances, window):
        self.queries += 1
        current = self._current.get(metric)
        if current is not None:
            # constant values: one sample each, at now
            now, none = (self._now,), base.Series(
                (), (), 'no samples in the last %d s' % window.period_s)
            return {i.uuid: none if current.get(i.uuid) is None else
                    base.Series(now, (current[i.uuid],), '')
                    for i in instances}
        per_uuid = self._series.get(metric, {})
        start = self._now - window.period_s
        out = {}
        for inst in instances:
            inside = sorted((t, v) for t, v in per_uuid.get(inst.uuid) or ()
                            if start < t <= self._now)
            out[inst.uuid] = base.Series(
                tuple(t for t, _ in inside), tuple(v for _, v in inside),
                '' if inside else 'no samples in the last %d s'
                % window.period_s)
        return out

    def read_hosts(self, metric, hosts, window):
        self.queries += 1
        per_host = self._hosts.get(metric, {})
        return {h: self._one(per_host.get(h), window) for h in hosts}
