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

"""Bulk reader of Gnocchi as Ceilometer fills it.

Contract: :class:`GnocchiMetrics` answers one metric for every instance
of the audit with **one** request to Gnocchi's aggregates API
(``POST /v1/aggregates``), searching the resources of the right type for
the audit's instances (``{"in": {"id": [...]}}``, or ``instance_id`` for
disks and vNICs):

============  ==================================  ==========================
metric        Ceilometer meter (type, unit)       Gnocchi resources searched
============  ==================================  ==========================
cpu           ``cpu`` (cumulative, ns)            ``instance``, by ``id``
ram           ``memory.usage`` (gauge, MiB)       ``instance``, by ``id``
ram_resident  ``memory.resident`` (gauge, MiB)    ``instance``, by ``id``
disk_read     ``disk.device.read.bytes`` (cum.)   ``instance_disk``, by
disk_write    ``disk.device.write.bytes`` (cum.)  ``instance_id``
net_rx        ``network.incoming.bytes`` (cum.)   ``instance_network_``
net_tx        ``network.outgoing.bytes`` (cum.)   ``interface``, by
                                                  ``instance_id``
dirty_rate    ``memory.dirty.rate``               ``instance``, by ``id``
              (gauge, MiB/s)
wss           ``memory.dirty.working_set``        ``instance``, by ``id``
              (gauge, MiB)
============  ==================================  ==========================

The last two are optional (Ceilometer has no such meter; the compute-node
agent ``watcher-informed-dirtyrate`` publishes them) and read only when
the reader is given their names (``dirty_rate_meter``, ``working_set_meter``).

It asks for the ``mean`` aggregate (in every Ceilometer archive policy) of
each granularity bucket over ``[now - period - granularity, now]``.
Gnocchi aligns all the series of an answer on their common timestamps;
by default (``dropna``) it then drops every NaN, so a NaN that was pushed
would go unseen, and with ``fill=null`` it fills the gaps with NaN, which
cannot be told from a pushed one.  The reader asks for ``fill`` =
:data:`FILL`, a number no meter has, and leaves those points out: gaps
stay gaps, NaN stays NaN.  (Grouping the answer per instance with
``groupby`` would avoid the alignment too, but makes Gnocchi compute each
group on its own, about 1.5 times slower for 1,000 instances.)  Disk and
vNIC resources are mapped to their instance by the ``instance_id`` of the
answer's references (``details=true``).  Counters become rates here, with
resets handled (:mod:`.series`), rather than with Gnocchi's ``rate:mean``,
which turns a reset into a large negative rate.  Per-disk and per-NIC
rates are summed per instance.  ``cpu`` is divided by the instance's
vCPUs (Ceilometer's ``cpu`` is the time of all of them).

An instance without data is a :class:`~.base.Reading` with the reason.
When Gnocchi answers that no resource of the audit has the metric (404) or
that the resource type does not exist (400), every instance is missing
that metric, with the reason.  Anything else -- connection refused, time
out, authentication, a 5xx -- raises :class:`~.base.MetricsUnavailable`
naming Gnocchi and the cause.
"""

import dataclasses
import datetime
import logging
import time

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import series
from watcher_informed.core import snapshot as snap

LOG = logging.getLogger(__name__)

MIB = 1024.0 * 1024.0
GAUGE = 'gauge'
COUNTER = 'counter'
#: what Gnocchi puts in the gaps of the aligned series (``fill``).
FILL = -1e300
GAP_BELOW = -1e299


@dataclasses.dataclass(frozen=True)
class Meter:
    name: str
    kind: str
    resource_type: str
    #: resource attribute holding the instance UUID (searched).
    key: str
    scale: float
    per_vcpu: bool = False

    @property
    def device(self):
        """Per-disk or per-vNIC resources (mapped by ``instance_id``)."""
        return self.key != 'id'


METERS = {
    snap.CPU: Meter('cpu', COUNTER, 'instance', 'id', 1e-9, per_vcpu=True),
    snap.RAM: Meter('memory.usage', GAUGE, 'instance', 'id', 1.0),
    snap.RAM_RESIDENT: Meter('memory.resident', GAUGE, 'instance', 'id',
                             1.0),
    snap.DISK_READ: Meter('disk.device.read.bytes', COUNTER,
                          'instance_disk', 'instance_id', 1.0 / MIB),
    snap.DISK_WRITE: Meter('disk.device.write.bytes', COUNTER,
                           'instance_disk', 'instance_id', 1.0 / MIB),
    snap.NET_RX: Meter('network.incoming.bytes', COUNTER,
                       'instance_network_interface', 'instance_id',
                       1.0 / MIB),
    snap.NET_TX: Meter('network.outgoing.bytes', COUNTER,
                       'instance_network_interface', 'instance_id',
                       1.0 / MIB),
}


def _iso(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).isoformat()


def _epoch(stamp):
    if isinstance(stamp, datetime.datetime):
        value = stamp
    else:
        value = datetime.datetime.fromisoformat(str(stamp))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


def parse(answer, meter_name, device, aggregation='mean'):
    """``{instance uuid: {resource id: [(t, value)]}}`` of an answer.

    ``answer`` is the aggregates API answer without ``groupby``:
    ``{"measures": {resource id: {metric: {aggregation: [[timestamp,
    granularity, value], ...]}}}, "references": [resource, ...]}``; the
    references (asked for with ``details`` for disks and vNICs) give each
    device resource's ``instance_id``, an instance resource's id is the
    instance UUID.  Gaps filled with :data:`FILL` (and ``null``) are left
    out; NaN values are kept.
    """
    answer = answer or {}
    owners = {}
    if device:
        for ref in answer.get('references') or ():
            if isinstance(ref, dict) and ref.get('instance_id'):
                owners[str(ref.get('id'))] = str(ref['instance_id'])
    out = {}
    for rid, metrics in (answer.get('measures') or {}).items():
        uuid = owners.get(str(rid)) if device else str(rid)
        if not uuid:
            continue
        points = ((metrics or {}).get(meter_name) or {}).get(
            aggregation) or []
        out.setdefault(uuid, {})[str(rid)] = [
            (_epoch(p[0]), p[2]) for p in points
            if p[2] is not None and not _filled(p[2])]
    return out


def _filled(value):
    try:
        return float(value) <= GAP_BELOW
    except (TypeError, ValueError):
        return False


def readings(per_instance, meter, instances, window, now):
    """``{uuid: Reading}`` from :func:`parse` output."""
    return series.readings(per_instance.get, meter, instances, window,
                           now, 'gnocchi')


def _status(exc):
    for attr in ('code', 'http_status', 'status_code'):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, 'response', None)
    return getattr(response, 'status_code', None)


class GnocchiMetrics(series.BulkHistory, base.MetricsReader):
    """Reads Ceilometer's meters from Gnocchi, one request per metric.

    ``client`` is a gnocchiclient v1 client (Watcher's
    ``GnocchiHelper().gnocchi`` or ``OpenStackClients().gnocchi()``).
    ``dirty_rate_meter`` (MiB/s) and ``working_set_meter`` (MiB) name gauges
    on the ``instance`` resource, if a collector publishes them.
    ``clock`` returns the current time in seconds (tests fix it).
    """

    def __init__(self, client, name='gnocchi', dirty_rate_meter=None,
                 clock=time.time, working_set_meter=None):
        self._client = client
        self.name = name
        self._clock = clock
        self.meters = base.with_agent_meters(
            METERS, lambda name: Meter(name, GAUGE, 'instance', 'id', 1.0),
            dirty_rate_meter, working_set_meter)
        self.queries = 0

    def supports(self, metric):
        return metric in self.meters

    def _fetch(self, meter, uuids, window, now):
        start = now - window.period_s - window.granularity_s
        self.queries += 1
        return self._client.aggregates.fetch(
            '(metric %s mean)' % meter.name,
            search={'in': {meter.key: list(uuids)}},
            resource_type=meter.resource_type,
            start=_iso(start), stop=_iso(now + 1),
            granularity=window.granularity_s, fill=FILL,
            details=meter.device)

    def _no_data(self, instances, reason):
        return {i.uuid: base.Reading(None, reason) for i in instances}

    def _answer(self, meter, instances, window, now, what):
        """``(answer, None)``, or ``(None, why)`` when the store has no
        such metric or resource type -- no data, not a store that is
        down, which raises :class:`MetricsUnavailable` (redacted)."""
        uuids = sorted({i.uuid for i in instances})
        try:
            return self._fetch(meter, uuids, window, now), None
        except Exception as exc:  # noqa: BLE001 - classified below
            status = _status(exc)
            text = base.redact(str(exc))
            if status == 404:
                LOG.info('%s: no %s resource of the audit has %s: %s',
                         self.name, meter.resource_type, meter.name, text)
                return None, '%s: no samples (no %s metric in %s)' % (
                    meter.name, meter.name, self.name)
            if status == 400 and 'resource type' in text.lower():
                LOG.warning('%s: %s (was ceilometer-upgrade run?)',
                            self.name, text)
                return None, '%s: %s has no resource type %s' % (
                    meter.name, self.name, meter.resource_type)
            raise base.MetricsUnavailable(
                self.name, '%s while fetching %s%s: %s%s' % (
                    type(exc).__name__, what, meter.name,
                    'HTTP %s ' % status if status else '', text)) from exc

    def read(self, metric, instances, window):
        meter = self.meters.get(metric)
        if meter is None:
            return self._no_data(instances, '%s does not provide %s'
                                 % (self.name, metric))
        instances = list(instances)
        if not instances:
            return {}
        now = float(self._clock())
        answer, why = self._answer(meter, instances, window, now, '')
        if why:
            return self._no_data(instances, why)
        per_instance = parse(answer, meter.name, meter.device)
        return readings(per_instance, meter, instances, window, now)

    # -- issue 18: history and the hosts' own meters ---------------------
    def _history(self, meter, instances, window, now):
        """Every step of the window, one aggregates request (as read)."""
        answer, why = self._answer(meter, instances, window, now,
                                   'the history of ')
        if why:
            return {}, '%s: no history in %s' % (meter.name, self.name)
        per_instance = parse(answer, meter.name, meter.device)
        return {i.uuid.lower(): per_instance.get(i.uuid)
                for i in instances}, ''

    def read_hosts(self, metric, hosts, window):
        """A host meter of Watcher's Gnocchi datasource, one request.

        ``cpu``: ``compute.node.cpu.percent`` (Nova's compute monitors,
        percent), ``ram``: ``hardware.memory.used`` (KiB), both on the
        resource whose ``original_resource_id`` is ``<host>_<host>`` as
        Watcher's ``GnocchiHelper`` finds them.
        """
        meter = HOST_METERS.get(metric)
        hosts = list(hosts)
        if meter is None or not hosts:
            return super().read_hosts(metric, hosts, window)
        now = float(self._clock())
        ids = {'%s_%s' % (h, h): h for h in hosts}
        start = now - window.period_s - window.granularity_s
        self.queries += 1
        try:
            answer = self._client.aggregates.fetch(
                '(metric %s mean)' % meter.name,
                search={'in': {'original_resource_id': sorted(ids)}},
                resource_type='generic', start=_iso(start),
                stop=_iso(now + 1), granularity=window.granularity_s,
                fill=FILL, details=True)
        except Exception as exc:  # noqa: BLE001 - classified below
            status = _status(exc)
            if status in (400, 404):
                return {h: base.Reading(None, '%s: no %s in %s' % (
                    h, meter.name, self.name)) for h in hosts}
            raise base.MetricsUnavailable(
                self.name, '%s while fetching %s: %s' % (
                    type(exc).__name__, meter.name, exc)) from exc
        owner = {}
        for ref in (answer or {}).get('references') or ():
            if isinstance(ref, dict) and ref.get('original_resource_id') \
                    in ids:
                owner[str(ref.get('id'))] = ids[ref['original_resource_id']]
        points = {}
        for rid, metrics in ((answer or {}).get('measures') or {}).items():
            host = owner.get(str(rid))
            if host is None:
                continue
            got = ((metrics or {}).get(meter.name) or {}).get('mean') or []
            points[host] = [(_epoch(p[0]), p[2]) for p in got
                            if p[2] is not None and not _filled(p[2])]
        out = {}
        for host in hosts:
            res = series.gauge(points.get(host) or [], window, now,
                               meter.scale)
            out[host] = base.Reading(res.value, '' if res.value is not None
                                     else '%s: %s' % (meter.name,
                                                      res.reason))
        return out


#: the hosts' own meters Watcher's Gnocchi datasource reads.
HOST_METERS = {
    snap.CPU: Meter('compute.node.cpu.percent', GAUGE, 'generic',
                    'original_resource_id', 0.01),
    snap.RAM: Meter('hardware.memory.used', GAUGE, 'generic',
                    'original_resource_id', 1.0 / 1024.0),
}
