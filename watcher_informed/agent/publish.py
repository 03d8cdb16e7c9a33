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


"""Where the dirty-rate agent publishes: Prometheus and Gnocchi.

Contract: a publisher has four methods, all called by the agent's single
thread: ``estimate(domain, estimate, timestamp)`` (a new
:class:`~watcher_informed.core.dirtyrate.Estimate` of a domain),
``error(domain, message)`` (a failed measurement), ``forget(uuid)`` (the
domain stopped) and ``connection(up)`` (libvirtd reachable or not).
A publisher never raises: it logs its own failures.

The meters follow Ceilometer's conventions so that the strategy's readers
find them where they find Ceilometer's (the ``dirty_rate_meter`` and
``working_set_meter`` options default to these names):

============================  ====  =======================================
meter (Gnocchi metric name)   unit  Prometheus series
============================  ====  =======================================
``memory.dirty.rate``         MiB/s ``ceilometer_memory_dirty_rate``
``memory.dirty.working_set``  MiB   ``ceilometer_memory_dirty_working_set``
============================  ====  =======================================

(MiB, the unit Ceilometer 27 gives ``memory.usage``.)  Prometheus series
carry Ceilometer's exporter labels: ``resource`` (the instance UUID),
``resource_name``, ``counter`` (the meter), ``type`` (``gauge``),
``unit``, ``publisher`` and ``vm_instance`` (the compute host).  The
agent's own health is under ``watcher_informed_dirtyrate_*``: whether an
estimate is exact or a lower bound, errors per domain, the libvirt
connection, the domains measured.  Gnocchi gets the two meters as
measures of the instance's ``instance`` resource (created by Ceilometer;
measures of an instance without one are refused and logged), with the
metrics created on first use under an archive policy of your choice.
"""

import datetime
import logging

LOG = logging.getLogger(__name__)

RATE_METER = 'memory.dirty.rate'
WSS_METER = 'memory.dirty.working_set'
UNITS = {RATE_METER: 'MiB/s', WSS_METER: 'MiB'}
PREFIX = 'watcher_informed_dirtyrate_'


def prom_name(meter):
    """Ceilometer's Prometheus name of a meter (``ceilometer_a_b_c``)."""
    return 'ceilometer_' + meter.replace('.', '_')


class PrometheusPublisher:
    """Keeps the newest estimates in an exposition :class:`Registry`."""

    def __init__(self, registry, host):
        self.registry = registry
        self.host = host
        for meter, what in ((RATE_METER, 'Memory dirty rate (MiB/s) of '
                             'the instance, page sampling over several '
                             'windows.'),
                            (WSS_METER, 'Writable working set (MiB) of the '
                             'instance, page sampling over several '
                             'windows.')):
            registry.declare(prom_name(meter), 'gauge', what)
        registry.declare(PREFIX + 'exact', 'gauge', '1 if the meter is '
                         'measured, 0 if only a lower bound (the windows '
                         'could not identify it).')
        registry.declare(PREFIX + 'errors_total', 'counter',
                         'Failed measurements per domain.')
        registry.declare(PREFIX + 'last_estimate_timestamp_seconds',
                         'gauge', 'Time of the newest estimate per '
                         'domain.')
        registry.declare(PREFIX + 'libvirt_up', 'gauge',
                         '1 if libvirtd is reachable.')
        registry.declare(PREFIX + 'domains', 'gauge',
                         'Running domains being measured.')

    def _labels(self, domain, meter):
        return {'resource': domain.uuid, 'resource_name': domain.name,
                'counter': meter, 'type': 'gauge', 'unit': UNITS[meter],
                'publisher': 'watcher-informed', 'vm_instance': self.host}

    def estimate(self, domain, estimate, timestamp):
        reg = self.registry
        for meter, value, exact in (
                (RATE_METER, estimate.dirty_mibps, estimate.rate_exact),
                (WSS_METER, estimate.wss_mib, estimate.wss_exact)):
            reg.set(prom_name(meter), value, self._labels(domain, meter))
            reg.set(PREFIX + 'exact', 1 if exact else 0,
                    {'resource': domain.uuid, 'counter': meter})
        reg.set(PREFIX + 'last_estimate_timestamp_seconds', timestamp,
                {'resource': domain.uuid})

    def error(self, domain, message):
        self.registry.inc(PREFIX + 'errors_total', {'resource': domain.uuid})

    def forget(self, uuid):
        for meter in (RATE_METER, WSS_METER):
            self.registry.remove(prom_name(meter), resource=uuid)
        for name in ('exact', 'errors_total',
                     'last_estimate_timestamp_seconds'):
            self.registry.remove(PREFIX + name, resource=uuid)

    def connection(self, up):
        self.registry.set(PREFIX + 'libvirt_up', 1 if up else 0)

    def domains(self, count):
        self.registry.set(PREFIX + 'domains', count)


def gnocchi_batch(uuid, estimate, timestamp, archive_policy):
    """Body of Gnocchi's batch-measures call for one estimate."""
    stamp = datetime.datetime.fromtimestamp(
        timestamp, datetime.timezone.utc).isoformat()
    return {uuid: {
        meter: {'archive_policy_name': archive_policy, 'unit': UNITS[meter],
                'measures': [{'timestamp': stamp, 'value': value}]}
        for meter, value in ((RATE_METER, estimate.dirty_mibps),
                             (WSS_METER, estimate.wss_mib))}}


class GnocchiPublisher:
    """Posts each estimate as measures on the instance's resource.

    ``session`` is a ``requests``-like session (a keystoneauth1 session
    or ``requests.Session`` with basic auth) and ``url`` Gnocchi's
    endpoint.  Uses ``POST /v1/batch/resources/metrics/measures
    ?create_metrics=true`` so the two metrics appear on first use.
    """

    def __init__(self, session, url, archive_policy='ceilometer-low',
                 timeout=10.0):
        self.session = session
        self.url = url.rstrip('/') + \
            '/v1/batch/resources/metrics/measures'
        self.archive_policy = archive_policy
        self.timeout = timeout
        self.failures = 0

    def estimate(self, domain, estimate, timestamp):
        body = gnocchi_batch(domain.uuid, estimate, timestamp,
                             self.archive_policy)
        kwargs = {'params': {'create_metrics': 'true'}, 'json': body,
                  'timeout': self.timeout}
        if _is_keystone(self.session):
            kwargs['raise_exc'] = False     # HTTP errors are checked below
        try:
            resp = self.session.post(self.url, **kwargs)
        except Exception as exc:  # noqa: BLE001 - never stop the agent
            self.failures += 1
            LOG.warning('gnocchi: measures of %s not sent: %s: %s',
                        domain.uuid, type(exc).__name__, exc)
            return
        if resp.status_code not in (200, 202, 204):
            self.failures += 1
            LOG.warning('gnocchi: measures of %s refused: HTTP %s %s',
                        domain.uuid, resp.status_code, resp.text[:300])

    def error(self, domain, message):
        pass

    def forget(self, uuid):
        pass

    def connection(self, up):
        pass

    def domains(self, count):
        pass


def _is_keystone(session):
    return type(session).__module__.startswith('keystoneauth1')
