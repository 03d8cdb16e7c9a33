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

"""Every instance's usage as arrays, one per metric.

Contract: a :class:`UsageTable` holds, per metric of ``kinds.Metric``, one
float array over the audit's instances (``NaN`` where the metric is
missing) plus, for the missing ones only, the reason.  It is a read-only
mapping ``uuid -> snapshot.Usage`` whose values are built on first access,
so stages that look at a few instances (the ones on overloaded hosts) pay
for those only, while stages that look at all of them (loads,
classification) read the arrays.  :func:`table` builds one from column
arrays applying the rules of ``snapshot.make_usage``: NaN, infinite,
negative and implausibly large values become missing with their reason,
never zero.
"""

import collections.abc

import numpy as np

from watcher_informed.core import kinds
from watcher_informed.core import snapshot as snap


class ByUuid(collections.abc.Mapping):
    """A read-only ``uuid -> value`` mapping over per-instance arrays.

    Rows are in ``uuids`` order (``index`` maps a uuid to its row); the
    value of a uuid is built by :meth:`build` on first access and kept.
    """

    def __init__(self, uuids, index=None):
        self.uuids = tuple(uuids)
        #: ``{uuid: row}`` (``index``: the same mapping, if known)
        self.index = index if index is not None else \
            {u: i for i, u in enumerate(self.uuids)}
        self._built = {}

    def build(self, uuid):
        raise NotImplementedError

    def __getitem__(self, uuid):
        value = self._built.get(uuid)
        if value is None:
            value = self._built[uuid] = self.build(uuid)
        return value

    def __iter__(self):
        return iter(self.uuids)

    def __len__(self):
        return len(self.uuids)


class UsageTable(ByUuid):
    """Usage of many instances, column per metric (see module doc)."""

    def __init__(self, uuids, columns, reasons):
        super().__init__(uuids)
        #: ``{metric: float array}``, NaN where missing.
        self.columns = columns
        #: ``{metric: {uuid: reason}}`` for missing values only.
        self.reasons = reasons

    def column(self, metric, uuids=None):
        """The values of ``metric`` (NaN: missing), in ``uuids`` order."""
        col = self.columns.get(metric)
        if uuids is None:
            return col if col is not None else \
                np.full(len(self.uuids), np.nan)
        if col is None:
            return np.full(len(uuids), np.nan)
        if len(uuids) == len(self.uuids) and tuple(uuids) == self.uuids:
            return col
        idx = np.array([self.index.get(u, -1) for u in uuids], dtype=int)
        if not len(col):
            return np.full(len(uuids), np.nan)
        return np.where(idx >= 0, col[idx], np.nan)

    def build(self, uuid):
        i = self.index[uuid]
        values, missing = {}, {}
        for metric, col in self.columns.items():
            value = col[i]
            if value == value:
                values[metric] = float(value)
            else:
                missing[metric] = self.reasons.get(metric, {}).get(
                    uuid, 'no samples')
        return snap.Usage(values, missing)


def table(uuids, raw, reasons=None):
    """A :class:`UsageTable` from ``{metric: float array}`` of raw values.

    ``reasons`` (``{metric: {uuid: reason}}``) explains the values that
    are already missing (NaN); bad numbers found here are recorded too.
    """
    uuids = tuple(uuids)
    reasons = {m: dict(r) for m, r in (reasons or {}).items()}
    columns = {}
    for metric, values in raw.items():
        col = np.array(values, dtype=float)
        why = reasons.setdefault(metric, {})
        with np.errstate(invalid='ignore'):
            bad = ~np.isfinite(col) | (col < 0) | (col > snap.MAX_READING)
        # a NaN keeps its reason, or reads as 'no samples' (build)
        for i in np.flatnonzero(bad & ~np.isnan(col)):
            value = col[i]
            if np.isinf(value):
                why[uuids[i]] = 'value is %s' % float(value)
            elif value > 0:
                why[uuids[i]] = 'implausible value %g' % value
            else:
                why[uuids[i]] = 'negative value %g' % value
        col[bad] = np.nan
        columns[metric] = col
    return UsageTable(uuids, columns, reasons)


def from_usages(usages):
    """A :class:`UsageTable` equal to a ``{uuid: Usage}`` mapping."""
    if isinstance(usages, UsageTable):
        return usages
    uuids = tuple(usages)
    metrics = sorted({m for u in usages.values()
                      for m in list(u.values) + list(u.missing)})
    raw = {m: [usages[u].values.get(m, np.nan) for u in uuids]
           for m in metrics}
    reasons = {m: {u: usages[u].missing[m] for u in uuids
                   if m in usages[u].missing} for m in metrics}
    return table(uuids, raw, reasons)


def column(snapshot, metric):
    """``metric`` of every snapshot instance, in instance order (NaN)."""
    usage = snapshot.usage
    uuids = snapshot.uuids
    if isinstance(usage, UsageTable):
        if usage.uuids == uuids:
            return usage.column(metric)
        return usage.column(metric, uuids)
    out = np.full(len(uuids), np.nan)
    for k, u in enumerate(uuids):
        value = snapshot.usage_of(u).get(metric)
        if value is not None:
            out[k] = value
    return out


#: the metrics every audit reads.
ALL = tuple(kinds.Metric)
