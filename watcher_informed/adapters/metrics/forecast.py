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

"""Next-hour estimates and host meters read from a metric store.

Contract: :func:`read_forecast` reads the history of every load metric
(:data:`METRICS`) with **one** :meth:`~.base.MetricsReader.read_series`
call per metric over ``demand_history`` seconds, aligns the answers on the
granularity grid and hands them to the pure estimator
(:func:`watcher_informed.core.demand.forecasts`); it returns a
:class:`~watcher_informed.core.demand.ForecastTable` (``{uuid:
Forecast}``, arrays inside) for ``Snapshot.forecast``.  A metric is
estimated only for instances whose classification window has a value
for it (stale, NaN or missing data in the last ``period`` is never
replaced by older history).
:func:`read_host_usage` reads the hosts' own CPU and RAM meters
(:meth:`~.base.MetricsReader.read_hosts`, one call per metric) into
``{host: Usage}`` for ``Snapshot.host_usage``.  Both raise
:class:`~.base.MetricsUnavailable` only when the store fails.
"""

import dataclasses

import numpy as np

from watcher_informed.adapters.metrics import base
from watcher_informed.core import demand
from watcher_informed.core import snapshot as snap

#: the metrics that make an instance's load (``overload.instance_demand``).
METRICS = (snap.CPU, snap.RAM, snap.DISK_READ, snap.DISK_WRITE, snap.NET_RX,
           snap.NET_TX)
#: the hosts' own meters.
HOST_METRICS = (snap.CPU, snap.RAM)


def history_window(window, history_s):
    """The classification ``window`` stretched to ``history_s``."""
    return dataclasses.replace(window, period_s=int(max(history_s,
                                                       window.period_s)))


def read_forecast(reader, instances, window, history_s, method,
                  usage=None):
    """``{uuid: Forecast}`` of every instance (see the module contract)."""
    instances = list(instances)
    if not instances:
        return {}
    hist = history_window(window, history_s)
    step = float(hist.granularity_s)
    steps = max(1, int(hist.period_s // hist.granularity_s))
    uuids = [i.uuid for i in instances]
    now = reader.now()
    per_metric = {}
    grid = getattr(reader, 'read_grid', None)
    for metric in METRICS:
        if not reader.supports(metric):
            continue
        # a reader holding arrays answers with the step grid itself, or
        # with its newest steps only when the older ones have no samples
        # (every estimator gives the same answer without them)
        values = grid(metric, instances, hist, step, steps) if grid \
            else None
        if values is None:
            answers = reader.read_series(metric, instances, hist)
            series = {u: (s.times, s.values) for u, s in answers.items()
                      if s.times}
            if series:
                values = demand.matrix(series, uuids, now, step, steps)
        if values is not None and not np.isnan(values).all():
            # estimated now: one metric's (instances x steps) matrix at
            # a time, never all of them
            per_metric[metric] = demand.estimate(values, step, method,
                                                 demand.HOUR_S)
        del values
    out = demand.from_estimates(per_metric, uuids, method)
    if usage is None:
        return out
    return out.without({m: ~_known(usage, m, uuids) for m in per_metric})


def _known(usage, metric, uuids):
    """Whether each instance has a classification value of ``metric``."""
    column = getattr(usage, 'column', None)
    if column is not None:
        return ~np.isnan(column(metric, uuids))
    return np.array([(usage.get(u) or snap.Usage()).get(metric) is not None
                     for u in uuids], dtype=bool)


def read_host_usage(reader, hosts, window):
    """``{host name: Usage}`` of the hosts' own meters."""
    names = [h if isinstance(h, str) else h.name for h in hosts]
    values = {n: {} for n in names}
    reasons = {n: {} for n in names}
    for metric in HOST_METRICS:
        answers = reader.read_hosts(metric, names, window)
        for name in names:
            reading = answers.get(name) or base.Reading(None, 'no samples')
            values[name][metric] = reading.value
            if reading.value is None:
                reasons[name][metric] = reading.reason or 'no samples'
    out = {}
    for name in names:
        usage = snap.make_usage(values[name], reasons[name])
        if usage.values:
            out[name] = usage
    return out
