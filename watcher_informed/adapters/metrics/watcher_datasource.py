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

"""Metrics from Watcher's own configured datasource (what it covers).

Contract: :class:`WatcherDatasourceMetrics` adapts a Watcher
``DataSourceBase`` backend (Gnocchi, Prometheus, Aetos, Grafana, as chosen
by ``[watcher_datasources]``) to our bulk interface.  Watcher's metric map
only has instance CPU and RAM, and its helpers make one query per instance
per metric, so this reader serves ``cpu`` (Watcher's percent / 100) and
``ram`` (MiB) with one helper call per instance; every other metric is
reported as unsupported, so those workload classes stay ``unknown`` until
a store-specific reader (Gnocchi, Prometheus) is configured.

A store that is down or refuses fails the read, within a bounded time.
Watcher's ``query_retry`` would log each failure with its traceback,
sleep ``query_interval`` and try again ``query_max_retries`` times, then
return ``None`` -- for every instance and metric, so a down store costs
about 10 s per VM per metric and ends in an audit that "succeeds" with
every instance unknown; its Prometheus helper even treats an HTTP error
as "no data".  For the duration of a read, the backend's ``query_retry``
is replaced by :meth:`WatcherDatasourceMetrics._query`: the same retries
(Watcher's options), each call bounded by ``call_timeout`` s and all of
them by ``budget`` s, and when they are spent
:class:`~.base.MetricsUnavailable` names the store, its URL (credentials
redacted) and the cause.  Only "not found" (HTTP 404 from Gnocchi) stays
a missing value.
"""

import contextlib
import logging
import threading
import time

from watcher_informed.adapters.metrics import base
from watcher_informed.core import snapshot as snap

LOG = logging.getLogger(__name__)

#: Stores where an HTTP error is never "no data".
_QUERY_STORES = ('prometheus', 'aetos')


def _status(exc):
    """The HTTP status of a client exception, if it carries one."""
    for owner in (exc, getattr(exc, 'response', None),
                  getattr(exc, 'resp', None)):
        for attr in ('status_code', 'http_status', 'code'):
            value = getattr(owner, attr, None)
            if isinstance(value, int):
                return value
    return None


def store_url(backend):
    """The URL of a Watcher helper's store, credentials redacted; ''."""
    try:
        client = getattr(backend, 'prometheus', None)
        if client is not None:
            return base.redact(client._get_url('').rsplit('/api/', 1)[0])
        # gnocchiclient: an endpoint override, or the one of a basic /
        # noauth plugin; never a catalog look-up (that would be a call)
        api = getattr(getattr(backend, 'gnocchi', None), 'api', None)
        plugin = getattr(getattr(api, 'session', None), 'auth', None)
        for value in (getattr(api, 'endpoint_override', None),
                      getattr(plugin, '_endpoint', None)):
            if isinstance(value, str) and value:
                return base.redact(value)
    except Exception:  # noqa: BLE001 - best effort, for messages only
        LOG.debug('no URL for %r', backend, exc_info=True)
    return ''


def _call_within(f, args, kwargs, timeout):
    """``f(*args, **kwargs)``, or ``TimeoutError`` after ``timeout`` s.

    The call runs in a daemon thread: a store that accepts connections and
    never answers cannot hold the audit longer than ``timeout``.
    """
    box = {}

    def target():
        try:
            box['value'] = f(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box['error'] = exc
    worker = threading.Thread(target=target, daemon=True,
                              name='watcher-informed-metric-query')
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError('no answer within %g s' % timeout)
    if 'error' in box:
        raise box['error']
    return box.get('value')


def _watcher_retry_options():
    """Watcher's ``(query_max_retries, query_interval)``; (1, 0) unknown."""
    try:
        from oslo_config import cfg
        group = cfg.CONF.watcher_datasources
        return max(1, int(group.query_max_retries)), \
            max(0.0, float(group.query_interval))
    except Exception:  # noqa: BLE001 - not in a Watcher service
        return 1, 0.0


class WatcherDatasourceMetrics(base.MetricsReader):
    """Watcher's per-instance helper calls, failing fast and loudly.

    ``call_timeout`` bounds one query to the store, ``budget`` the retries
    of one failing query (default: Watcher's ``query_max_retries`` and
    ``query_interval``); a read stops at the first query that fails for
    good.
    """

    #: the backend's getters take Watcher's instance elements.
    needs_elements = True

    def __init__(self, backend, call_timeout=60.0, budget=120.0,
                 retries=None, interval=None):
        self._backend = backend
        kind = getattr(backend, 'NAME', '?')
        self.kind = kind
        url = store_url(backend)
        self.name = 'watcher datasource %s' % kind + (
            ' (%s)' % url if url else '')
        self.call_timeout = call_timeout
        self.budget = budget
        self._retries = retries
        self._interval = interval

    def supports(self, metric):
        return metric in (snap.CPU, snap.RAM)

    def _query(self, f, *args, ignored_exc=None, **kwargs):
        """Stands in for the backend's ``query_retry`` during a read."""
        retries, interval = _watcher_retry_options()
        retries = self._retries or retries
        interval = self._interval if self._interval is not None \
            else interval
        deadline = time.monotonic() + self.budget
        error = None
        for attempt in range(retries):
            left = deadline - time.monotonic()
            try:
                return _call_within(f, args, kwargs,
                                    max(0.001, min(self.call_timeout, left)))
            except Exception as exc:  # noqa: BLE001 - classified here
                if ignored_exc and isinstance(exc, ignored_exc) and \
                        self.kind not in _QUERY_STORES and \
                        _status(exc) in (404, None):
                    return None
                error = exc
                LOG.warning('%s: query failed (attempt %d of %d): %s: %s',
                            self.name, attempt + 1, retries,
                            type(exc).__name__, base.redact(exc))
            if time.monotonic() + interval >= deadline or \
                    attempt + 1 == retries:
                break
            time.sleep(interval)
        status = _status(error)
        raise base.MetricsUnavailable(self.name, '%s%s: %s' % (
            'HTTP %s ' % status if status else '', type(error).__name__,
            error)) from error

    @contextlib.contextmanager
    def _guarded(self):
        """The backend's ``query_retry`` is :meth:`_query` meanwhile."""
        had = 'query_retry' in vars(self._backend)
        old = vars(self._backend).get('query_retry')
        self._backend.query_retry = self._query
        try:
            yield
        finally:
            if had:
                self._backend.query_retry = old
            else:
                del self._backend.query_retry

    def _call(self, metric, instance, window):
        getter = (self._backend.get_instance_cpu_usage if metric == snap.CPU
                  else self._backend.get_instance_ram_usage)
        try:
            return getter(instance, window.period_s, 'mean',
                          window.granularity_s)
        except base.MetricsUnavailable:
            raise
        except Exception as exc:
            raise base.MetricsUnavailable(self.name, '%s: %s' % (
                type(exc).__name__, exc)) from exc

    def read(self, metric, instances, window):
        answers = {}
        with self._guarded():
            for inst in instances:
                value = self._call(metric, inst, window)
                if value is None:
                    answers[inst.uuid] = base.Reading(None, 'no samples')
                    continue
                if metric == snap.CPU:
                    value = float(value) / 100.0
                answers[inst.uuid] = base.Reading(float(value))
        return answers
