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

"""Bulk reader of Prometheus (or Aetos) fed by Ceilometer's exporter.

Contract: :class:`PrometheusMetrics` answers one metric for every instance
of the audit with **one** PromQL query, a subquery that samples the
metric at every granularity step of the window::

    ceilometer_cpu{resource=~"<uuid>|<uuid>|..."}[<period + step>s:<step>s]

evaluated at ``now`` through ``/api/v1/query``.  Ceilometer's exporter
(``[polling] enable_prometheus_exporter``) publishes every meter as a
gauge named ``ceilometer_<meter with . as _>`` whose ``resource`` label is
Ceilometer's resource id:

============  ========================================  =====================
metric        series (Ceilometer type, unit)            ``resource`` label
============  ========================================  =====================
cpu           ``ceilometer_cpu`` (cumulative ns)        instance UUID
ram           ``ceilometer_memory_usage`` (MiB)         instance UUID
ram_resident  ``ceilometer_memory_resident`` (MiB)      instance UUID
disk_read     ``ceilometer_disk_device_read_bytes``     ``<uuid>-<device>``
disk_write    ``ceilometer_disk_device_write_bytes``    ``<uuid>-<device>``
net_rx        ``ceilometer_network_incoming_bytes``     ``instance-<n>-<uuid>-
net_tx        ``ceilometer_network_outgoing_bytes``     <tap>`` (vNIC)
dirty_rate    ``ceilometer_memory_dirty_rate`` (MiB/s)  instance UUID
wss           ``ceilometer_memory_dirty_working_set``   instance UUID
              (MiB)
============  ========================================  =====================

The last two are optional gauges (Ceilometer has no such meter); the
compute-node agent ``watcher-informed-dirtyrate`` publishes them.  They
are read when the reader is given their names (``dirty_rate_meter``,
``working_set_meter``; the strategy's ``dirty_rate_meter`` and
``working_set_meter`` options), either a Ceilometer meter name with dots
(``memory.dirty.rate``, turned into ``ceilometer_memory_dirty_rate`` as
Ceilometer's exporter does) or a Prometheus series name as it is.  An
instance without them has no value, with the reason, as before.

Disk and NIC series are mapped back to their instance by the UUID inside
the resource id and summed; a vNIC whose id is an ``fref`` without the
UUID cannot be mapped and is ignored.  Several series of one resource
(labels changed, e.g. ``vm_instance`` after a migration) are merged.
Counters become rates with resets handled (:mod:`.series`), so a reboot
does not give a negative or huge rate.  Instance series are selected by
the audit's UUIDs, disk series by UUID prefix (audits of up to
:data:`DISK_FILTER_MAX` instances); vNIC series are all read and the
reader keeps the audit's (see :func:`selector`).  Queries longer than
:data:`GET_MAX` characters are POSTed.

Steps take the newest sample at or before them (Prometheus' 5-minute
look-back), so a series that stopped still shows for up to 5 minutes:
staleness is measured from its last step.  An instance without data is a
:class:`~.base.Reading` with the reason.  A connection failure, a time
out, an HTTP error or an error answer raises
:class:`~.base.MetricsUnavailable` naming the store and the cause.

``client`` is the ``PrometheusAPIClient`` of python-observabilityclient
that Watcher's ``PrometheusHelper`` and ``AetosHelper`` hold
(``helper.prometheus``; its session carries TLS, basic or Keystone
authentication), or a base URL such as ``http://127.0.0.1:9090``.
"""

import dataclasses
import logging
import re
import time

import requests

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import series
from watcher_informed.core import snapshot as snap

LOG = logging.getLogger(__name__)

MIB = 1024.0 * 1024.0
GAUGE = 'gauge'
COUNTER = 'counter'
UUID_RE = re.compile(
    r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
    r'[0-9a-fA-F]{12}')


INSTANCE = 'instance'
DISK = 'disk'
NIC = 'nic'


@dataclasses.dataclass(frozen=True)
class Meter:
    name: str
    kind: str
    scale: float
    #: whose series: ``instance`` (resource = UUID), ``disk``, ``nic``.
    owner: str = INSTANCE
    per_vcpu: bool = False

    @property
    def device(self):
        """Series are per disk or vNIC rather than per instance."""
        return self.owner != INSTANCE


METERS = {
    snap.CPU: Meter('ceilometer_cpu', COUNTER, 1e-9, per_vcpu=True),
    snap.RAM: Meter('ceilometer_memory_usage', GAUGE, 1.0),
    snap.RAM_RESIDENT: Meter('ceilometer_memory_resident', GAUGE, 1.0),
    snap.DISK_READ: Meter('ceilometer_disk_device_read_bytes', COUNTER,
                          1.0 / MIB, DISK),
    snap.DISK_WRITE: Meter('ceilometer_disk_device_write_bytes', COUNTER,
                           1.0 / MIB, DISK),
    snap.NET_RX: Meter('ceilometer_network_incoming_bytes', COUNTER,
                       1.0 / MIB, NIC),
    snap.NET_TX: Meter('ceilometer_network_outgoing_bytes', COUNTER,
                       1.0 / MIB, NIC),
}


def series_name(name):
    """The Prometheus series of a Ceilometer meter name, or ``name``.

    A name with a dot cannot be a Prometheus series: it is a Ceilometer
    meter, which Ceilometer's exporter publishes as ``ceilometer_<meter
    with . as _>`` (``memory.dirty.rate`` -> ``ceilometer_memory_dirty_
    rate``).
    """
    if '.' in name:
        return 'ceilometer_' + name.replace('.', '_')
    return name


#: up to this many instances, disk series are selected by instance UUID
#: prefix in PromQL; above, a regular expression that large costs
#: Prometheus more than sending every disk series.
DISK_FILTER_MAX = 500
#: longest query sent with GET; longer ones are POSTed (form encoded).
GET_MAX = 6000


def selector(meter, uuids=(), label='resource'):
    """The series selector of ``meter`` for the audit's instances.

    Instance series are selected by their UUIDs (an alternation of
    literals, which Prometheus matches as a set), disk series by UUID
    prefix for small audits; vNIC ids (``instance-<n>-<uuid>-tap...``, or
    an ``fref``) would need a leading wildcard, which Prometheus matches
    slowly, so every vNIC series is read and the reader keeps the audit's.
    Ids that are not UUIDs are never put in a query.
    """
    uuids = sorted({u.lower() for u in uuids})
    if not uuids or not all(UUID_RE.fullmatch(u) for u in uuids):
        return meter.name
    alternatives = '|'.join(uuids)
    if meter.owner == INSTANCE:
        return '%s{%s=~"%s"}' % (meter.name, label, alternatives)
    if meter.owner == DISK and len(uuids) <= DISK_FILTER_MAX:
        return '%s{%s=~"(%s)-.+"}' % (meter.name, label, alternatives)
    return meter.name


def promql(meter, window, uuids=(), label='resource'):
    """The one query of ``meter`` for a window."""
    step = max(1, int(window.granularity_s))
    span = int(window.period_s) + step
    return '%s[%ds:%ds]' % (selector(meter, uuids, label), span, step)


def owner(resource_id, wanted):
    """The instance UUID of a Ceilometer resource id, if it is wanted.

    ``<uuid>`` (instance), ``<uuid>-vda`` (disk) and
    ``instance-0000002a-<uuid>-tap1234`` (vNIC) all map to ``<uuid>``.
    """
    if not resource_id:
        return None
    if resource_id in wanted:
        return resource_id
    head = resource_id[:36].lower()
    if head in wanted:
        return head
    for found in UUID_RE.findall(resource_id):
        if found.lower() in wanted:
            return found.lower()
    return None


def group_series(result, wanted, label, device):
    """``{uuid: {resource id: [(t, value)]}}`` of a matrix answer.

    Series of the same resource id are merged, the one with the newest
    sample winning where both have a step.
    """
    per_resource = {}
    for item in result or ():
        labels = item.get('metric') or {}
        rid = labels.get(label)
        uuid = (owner(rid, wanted) if device else
                (rid.lower() if rid and rid.lower() in wanted else None))
        if uuid is None:
            continue
        points = [(float(t), series.to_float(v))
                  for t, v in item.get('values') or ()]
        if points:
            per_resource.setdefault((uuid, rid), []).append(points)
    out = {}
    for (uuid, rid), lists in per_resource.items():
        merged = {}
        for points in sorted(lists, key=lambda pts: max(t for t, _ in pts)):
            merged.update(dict(points))
        out.setdefault(uuid, {})[rid] = sorted(merged.items())
    return out


def readings(grouped, meter, instances, window, now):
    """``{uuid: Reading}`` from :func:`group_series` output."""
    return series.readings(lambda uuid: grouped.get(uuid.lower()), meter,
                           instances, window, now, 'prometheus')


def _short(text, limit=200):
    return text if len(text) <= limit else text[:limit] + '...'


class PrometheusMetrics(series.BulkHistory, base.MetricsReader):
    """Reads Ceilometer's exported meters, one PromQL query per metric."""

    def __init__(self, client, name='prometheus', uuid_label='resource',
                 dirty_rate_meter=None, clock=time.time, timeout=60.0,
                 working_set_meter=None, fqdn_label='fqdn'):
        if isinstance(client, str):
            self._url = client.rstrip('/') + '/api/v1/query'
            self._session = requests.Session()
        else:
            self._url = client._get_url('query')
            self._session = client._session
        self.name = name
        self.uuid_label = uuid_label
        #: the target label naming a host (Watcher's ``fqdn_label``).
        self.fqdn_label = fqdn_label or 'fqdn'
        self.timeout = timeout
        self._clock = clock
        self.meters = base.with_agent_meters(
            METERS, lambda name: Meter(series_name(name), GAUGE, 1.0),
            dirty_rate_meter, working_set_meter)
        self.queries = 0

    @property
    def url(self):
        return self._url

    def supports(self, metric):
        return metric in self.meters

    def query(self, text, now):
        """Run one instant query at ``now``; the ``data`` of the answer."""
        self.queries += 1
        where = '%s (%s)' % (self.name, self._url.rsplit('/api/', 1)[0])
        form = {'query': text, 'time': '%.3f' % now}
        headers = {'Accept': 'application/json'}
        try:
            if len(text) <= GET_MAX:
                resp = self._session.get(self._url, params=form,
                                         headers=headers,
                                         timeout=self.timeout)
            else:
                resp = self._session.post(self._url, data=form,
                                          headers=headers,
                                          timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - requests, keystoneauth
            # (Aetos' Keystone session raises its own errors, HTTP too)
            status = getattr(exc, 'http_status', None)
            raise base.MetricsUnavailable(where, '%s: %s%s' % (
                type(exc).__name__, 'HTTP %s ' % status if status else '',
                exc)) from exc
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code != 200 or not isinstance(body, dict) or \
                body.get('status') != 'success':
            detail = (body or {}).get('error') if isinstance(body, dict) \
                else None
            raise base.MetricsUnavailable(where, 'HTTP %s for %r: %s' % (
                resp.status_code, _short(text),
                detail or resp.text[:300] or resp.reason))
        return body.get('data') or {}

    def read(self, metric, instances, window):
        meter = self.meters.get(metric)
        instances = list(instances)
        if meter is None:
            return {i.uuid: base.Reading(None, '%s does not provide %s'
                                         % (self.name, metric))
                    for i in instances}
        if not instances:
            return {}
        now = float(self._clock())
        grouped = self._matrix(meter, instances, window, now)
        return readings(grouped, meter, instances, window, now)

    def _matrix(self, meter, instances, window, now):
        """One range query of ``meter``: the series of each instance."""
        data = self.query(promql(meter, window, [i.uuid for i in instances],
                                 self.uuid_label), now)
        if data.get('resultType') != 'matrix':
            raise base.MetricsUnavailable(self.name, 'expected a matrix '
                                          'answer, got %r'
                                          % data.get('resultType'))
        wanted = {i.uuid.lower() for i in instances}
        return group_series(data.get('result'), wanted, self.uuid_label,
                            meter.device)

    # -- issue 18: history and the hosts' own meters ---------------------
    def _history(self, meter, instances, window, now):
        """Every step of the window, one subquery (as :meth:`read`)."""
        return self._matrix(meter, instances, window, now), ''

    def read_hosts(self, metric, hosts, window):
        """A host meter as Watcher's Prometheus datasource reads it.

        node_exporter's series, selected by the ``fqdn_label`` (Watcher's
        ``[prometheus_client] fqdn_label``, default ``fqdn``) whose value
        is the host name or starts with it and a dot: ``cpu`` is one minus
        the mean idle rate of ``node_cpu_seconds_total`` over the window,
        ``ram`` is ``node_memory_MemTotal_bytes`` minus the window mean of
        ``node_memory_MemAvailable_bytes``, in MiB.  One query each.
        """
        hosts = list(hosts)
        if metric not in (snap.CPU, snap.RAM) or not hosts:
            return super().read_hosts(metric, hosts, window)
        label = self.fqdn_label
        # a regular expression inside a PromQL string literal, where a
        # backslash must itself be escaped ("cmp\\-1" is the regex cmp\-1)
        names = '|'.join(sorted(re.escape(h) for h in hosts)).replace(
            '\\', '\\\\')
        match = '%s=~"(%s)([.].*)?"' % (label, names)
        period = int(window.period_s)
        if metric == snap.CPU:
            text = ('1 - avg by (%s) (rate(node_cpu_seconds_total{mode="idle"'
                    ',%s}[%ds]))' % (label, match, period))
        else:
            text = ('(max by (%s) (node_memory_MemTotal_bytes{%s}) - max by '
                    '(%s) (avg_over_time(node_memory_MemAvailable_bytes{%s}'
                    '[%ds]))) / 1048576' % (label, match, label, match,
                                           period))
        data = self.query(text, float(self._clock()))
        found = {}
        for item in data.get('result') or ():
            value = (item.get('value') or (None, None))[1]
            fqdn = (item.get('metric') or {}).get(label) or ''
            host = fqdn if fqdn in hosts else fqdn.split('.', 1)[0]
            found[host] = series.to_float(value)
        out = {}
        for host in hosts:
            value = found.get(host)
            if value is None:
                out[host] = base.Reading(None, 'no node_exporter series with '
                                         '%s %s' % (label, host))
            elif value != value or value < 0:
                out[host] = base.Reading(None, 'host %s is %r' % (metric,
                                                                  value))
            else:
                out[host] = base.Reading(value)
        return out
