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

"""The metric interface of the plugin: one call per metric for all VMs.

Contract: a :class:`MetricsReader` answers :meth:`MetricsReader.read` --
one metric (a name from ``core.snapshot.METRICS``, in that module's units)
for *every* instance of the audit at once, so an implementation can make
one query per metric instead of Watcher's one query per VM per metric.
Each answer is a :class:`Reading`: a value, or ``None`` with the reason.
A reader raises :class:`MetricsUnavailable` only when the store itself
cannot be used (down, refusing); missing, NaN, negative or stale data for
an instance is a ``Reading`` with a reason, never an exception.  Its
message names the store and, where known, its URL, with credentials
redacted (:func:`redact`).
"""

import abc
import dataclasses
import re
import time
import typing

import numpy as np

from watcher_informed.core import paramtable
from watcher_informed.core import snapshot as snap
from watcher_informed.core import usage as usage_mod

#: ``scheme://user:password@`` in a URL.
_USERINFO = re.compile(r'(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\'"]*@')
#: ``password=...`` and the like in a query string or a message.
_SECRET_PARAM = re.compile(
    r'(?i)\b(password|passwd|pwd|token|secret|api_?key|auth|'
    r'access_?key|credentials?)=[^&\s\'",;)]*')
#: ``Authorization: Basic ...`` (or Bearer) echoed by a library.
_AUTH_HEADER = re.compile(
    r'(?i)\b(authorization[\'"]?\s*[:=]\s*[\'"]?)(basic|bearer|'
    r'negotiate|digest)\s+[A-Za-z0-9+/=._~-]+')


def redact(text):
    """``text`` with credentials in URLs, query strings and headers
    replaced by ``***`` (``http://admin:pw@prom:9090`` ->
    ``http://***@prom:9090``)."""
    text = _USERINFO.sub(r'\1***@', str(text))
    text = _SECRET_PARAM.sub(r'\1=***', text)
    return _AUTH_HEADER.sub(r'\1\2 ***', text)


class MetricsUnavailable(Exception):
    """The metric store cannot be queried; names the store and why.

    Both are redacted (:func:`redact`): no credential reaches a message
    or a log line through this exception.
    """

    def __init__(self, store, why):
        store, why = redact(store), redact(why)
        super().__init__('metric store %s unavailable: %s' % (store, why))
        self.store = store
        self.why = why


@dataclasses.dataclass(frozen=True)
class Window:
    """Aggregation window: the last ``period_s`` at ``granularity_s``."""

    period_s: int = paramtable.BY_NAME['period'].default
    granularity_s: int = paramtable.BY_NAME['granularity'].default
    #: a series whose newest sample is older than this is stale.
    stale_after_s: int = paramtable.BY_NAME['metric_stale_after'].default


@dataclasses.dataclass(frozen=True)
class Reading:
    value: typing.Optional[float] = None
    reason: str = ''


def with_agent_meters(meters, make, dirty_rate_meter, working_set_meter):
    """``meters`` plus the dirty-rate agent's gauges a deployment names.

    ``make(name)`` builds the reader's meter of a gauge series; an empty
    or ``None`` name leaves the metric unread (the agent is optional).
    """
    out = dict(meters)
    for metric, name in ((snap.DIRTY_RATE, dirty_rate_meter),
                         (snap.WSS, working_set_meter)):
        if name:
            out[metric] = make(name)
    return out


class MetricsReader(metaclass=abc.ABCMeta):
    """Reads instance metrics in bulk."""

    #: name used in error messages and logs.
    name = 'metrics'

    @abc.abstractmethod
    def read(self, metric, instances, window):
        """``{uuid: Reading}`` of ``metric`` for every instance.

        ``instances`` are objects with a ``uuid`` attribute (core
        instances or Watcher model elements).
        """

    def supports(self, metric):
        """Whether this reader can ever serve ``metric``."""
        return True

    # -- issue 18: history for the next-hour estimate, hosts' own meters --
    def read_series(self, metric, instances, window):
        """``{uuid: Series}``: every step of ``metric`` in the window.

        One query for all ``instances``, like :meth:`read`; a counter
        comes as one rate per step.  A reader without history answers
        every instance with an empty :class:`Series` and the reason (the
        audit then plans on :meth:`read`'s window mean).
        """
        why = '%s does not provide the history of %s' % (self.name, metric)
        return {i.uuid: Series((), (), why) for i in instances}

    def now(self):
        """The time (s since the epoch) a window read now ends at."""
        fixed = getattr(self, '_now', None)
        if fixed is not None:
            return float(fixed)
        return float(getattr(self, '_clock', time.time)())

    def read_hosts(self, metric, hosts, window):
        """``{host name: Reading}`` of a host's own meter.

        ``metric`` is ``cpu`` (busy fraction of the host's cores) or
        ``ram`` (MiB in use); ``hosts`` are names.  A reader without host
        meters answers every host with the reason.
        """
        why = '%s does not provide host %s' % (self.name, metric)
        return {h: Reading(None, why) for h in hosts}

    def read_values(self, metric, instances, window):
        """``(values, {uuid: reason})`` of ``metric``, in instance order.

        ``values`` is a float array with NaN where the metric is missing,
        and the reasons explain those.  The default asks :meth:`read`;
        readers that hold arrays answer without per-instance objects.
        """
        answers = self.read(metric, instances, window)
        values = np.full(len(instances), np.nan)
        reasons = {}
        for k, inst in enumerate(instances):
            reading = answers.get(inst.uuid) or Reading(None, 'no samples')
            if reading.value is None:
                reasons[inst.uuid] = reading.reason or 'no samples'
            else:
                values[k] = _number(reading.value, inst.uuid, reasons)
        return values, reasons


def _number(value, uuid, reasons):
    """``value`` as a float, or NaN with the reason recorded."""
    try:
        return float(value)
    except (TypeError, ValueError):
        reasons[uuid] = 'not a number: %r' % (value,)
        return np.nan


@dataclasses.dataclass(frozen=True)
class Series:
    """The samples of one metric of one instance: times (s) and values."""

    times: tuple = ()
    values: tuple = ()
    reason: str = ''


def read_usage(reader, instances, window, metrics=None):
    """Read every metric: a ``core.usage.UsageTable`` (uuid -> Usage).

    One :meth:`MetricsReader.read_values` call per metric; values are
    checked as ``snapshot.make_usage`` does (NaN, infinite and negative
    values are missing with their reason).
    """
    metrics = metrics or tuple(snap.METRICS)
    instances = list(instances)
    uuids = [i.uuid for i in instances]
    raw, reasons = {}, {}
    for metric in metrics:
        if not reader.supports(metric):
            raw[metric] = np.full(len(uuids), np.nan)
            why = '%s does not provide %s' % (reader.name, metric)
            reasons[metric] = dict.fromkeys(uuids, why)
            continue
        raw[metric], reasons[metric] = reader.read_values(
            metric, instances, window)
    return usage_mod.table(uuids, raw, reasons)
