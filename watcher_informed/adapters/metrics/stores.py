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

"""Which metric reader an audit uses (the ``metrics_store`` option).

Contract: :func:`reader_for` returns a
:class:`~watcher_informed.adapters.metrics.base.MetricsReader`:

* ``auto`` -- the bulk reader of the store behind Watcher's configured
  datasource (``[watcher_datasources] datasources``): Gnocchi ->
  :class:`~.gnocchi.GnocchiMetrics` on the helper's gnocchiclient;
  Prometheus or Aetos -> :class:`~.prometheus.PrometheusMetrics` on the
  helper's Prometheus client (and its ``instance_uuid_label``); any other
  datasource -> Watcher's own per-instance helper calls (CPU and RAM only);
* ``datasource`` -- always Watcher's per-instance helper calls;
* ``gnocchi``, ``prometheus``, ``aetos`` -- that store, with Watcher's
  client configuration (``[watcher_clients_auth]`` / ``[gnocchi_client]``,
  ``[prometheus_client]``, ``[aetos_client]``), whatever the datasource.

Building the reader may contact the store (Watcher's Prometheus helpers
list the scrape targets); any failure there is raised as
:class:`~.base.MetricsUnavailable` naming the store, its URL when known
(credentials redacted) and, when the store's client library is not
installed or Watcher's helper has no client, which one is missing.
"""

from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import gnocchi
from watcher_informed.adapters.metrics import prometheus
from watcher_informed.adapters.metrics import watcher_datasource

CHOICES = ('auto', 'datasource', 'gnocchi', 'prometheus', 'aetos')


#: store -> the client library its Watcher helper needs.
CLIENTS = {'gnocchi': 'python-gnocchiclient',
           'prometheus': 'python-observabilityclient',
           'aetos': 'python-observabilityclient'}
#: store -> the attribute of Watcher's helper holding that client.
CLIENT_ATTRS = {'gnocchi': 'gnocchi', 'prometheus': 'prometheus',
                'aetos': 'prometheus'}


def _helper(kind):
    if kind == 'gnocchi':
        from watcher.decision_engine.datasources import gnocchi as wg
        return wg.GnocchiHelper()
    if kind == 'prometheus':
        from watcher.decision_engine.datasources import prometheus as wp
        return wp.PrometheusHelper()
    from watcher.decision_engine.datasources import aetos as wa
    return wa.AetosHelper()


def from_helper(helper, dirty_rate_meter=None, working_set_meter=None):
    """The bulk reader over a Watcher datasource helper, if there is one.

    ``dirty_rate_meter`` and ``working_set_meter`` name the optional dirty-rate
    (MiB/s) and working-set (MiB) gauges (see the readers).
    """
    kind = getattr(helper, 'NAME', '')
    if kind == 'gnocchi' and getattr(helper, 'gnocchi', None) is not None:
        return gnocchi.GnocchiMetrics(helper.gnocchi, name='gnocchi',
                                      dirty_rate_meter=dirty_rate_meter,
                                      working_set_meter=working_set_meter)
    if kind in ('prometheus', 'aetos') and \
            getattr(helper, 'prometheus', None) is not None:
        label = 'resource'
        get_label = getattr(helper, '_get_instance_uuid_label', None)
        if get_label is not None:
            label = get_label() or label
        return prometheus.PrometheusMetrics(
            helper.prometheus, name=kind, uuid_label=label,
            dirty_rate_meter=dirty_rate_meter,
            working_set_meter=working_set_meter,
            # the label Watcher's helper finds hosts by (its config)
            fqdn_label=getattr(helper, 'prometheus_fqdn_label', None))
    return None


def configured_datasources():
    """Watcher's ``[watcher_datasources] datasources``, '' if unknown."""
    try:
        from watcher import conf
        return ', '.join(conf.CONF.watcher_datasources.datasources or ())
    except Exception:  # noqa: BLE001 - not in a Watcher service
        return ''


def reader_for(choice, datasource_backend, dirty_rate_meter=None,
               working_set_meter=None, datasources=configured_datasources):
    """The reader for option value ``choice``.

    ``datasource_backend`` is a callable returning Watcher's datasource
    backend (the strategy's ``datasource_backend`` property), only called
    when needed.  When it fails, the error names the datasources Watcher
    is configured with (``datasources``, a callable), so that the log
    says which store is down.
    """
    choice = (choice or 'auto').lower()
    if choice not in CHOICES:
        raise ValueError('metrics_store must be one of %s, not %r'
                         % (', '.join(CHOICES), choice))
    try:
        if choice in ('gnocchi', 'prometheus', 'aetos'):
            helper = _helper(choice)
            reader = from_helper(helper, dirty_rate_meter,
                                 working_set_meter)
            if reader is None:
                raise base.MetricsUnavailable(choice, (
                    "Watcher's %s helper has no client (%s not installed, "
                    "or its [%s_client] options not set?)" % (
                        choice, CLIENTS[choice], choice)))
            return reader
        backend = datasource_backend()
    except base.MetricsUnavailable:
        raise
    except ImportError as exc:
        store = choice if choice in CLIENTS else 'watcher datasource'
        raise base.MetricsUnavailable(store, 'client library missing: %s%s'
                                      % (exc, ' (install %s)' % CLIENTS[
                                          choice] if choice in CLIENTS
                                          else '')) from exc
    except Exception as exc:  # noqa: BLE001 - any failure names the store
        store = choice
        if choice in ('auto', 'datasource'):
            names = datasources()
            store = 'watcher datasource' + (' (%s)' % names if names
                                            else '')
        raise base.MetricsUnavailable(
            store, 'cannot connect: %s: %s' % (type(exc).__name__,
                                               exc)) from exc
    kind = getattr(backend, 'NAME', '')
    if kind in CLIENTS and getattr(backend, CLIENT_ATTRS[kind], None) is None:
        raise base.MetricsUnavailable(
            'watcher datasource %s' % kind,
            "Watcher's %s helper has no client (%s not installed?)"
            % (kind, CLIENTS[kind]))
    if choice == 'auto':
        reader = from_helper(backend, dirty_rate_meter, working_set_meter)
        if reader is not None:
            return reader
    return watcher_datasource.WatcherDatasourceMetrics(backend)
