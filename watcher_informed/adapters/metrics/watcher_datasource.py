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
a store-specific reader (Gnocchi, Prometheus) is configured.  A backend
exception is the store failing: it becomes :class:`MetricsUnavailable`.
"""

from watcher_informed.adapters.metrics import base
from watcher_informed.core import snapshot as snap


class WatcherDatasourceMetrics(base.MetricsReader):

    def __init__(self, backend):
        self._backend = backend
        self.name = 'watcher datasource %s' % getattr(backend, 'NAME', '?')

    def supports(self, metric):
        return metric in (snap.CPU, snap.RAM)

    def _call(self, metric, instance, window):
        getter = (self._backend.get_instance_cpu_usage if metric == snap.CPU
                  else self._backend.get_instance_ram_usage)
        try:
            return getter(instance, window.period_s, 'mean',
                          window.granularity_s)
        except Exception as exc:
            raise base.MetricsUnavailable(self.name, '%s: %s' % (
                type(exc).__name__, exc)) from exc

    def read(self, metric, instances, window):
        answers = {}
        for inst in instances:
            value = self._call(metric, inst, window)
            if value is None:
                answers[inst.uuid] = base.Reading(None, 'no samples')
                continue
            if metric == snap.CPU:
                value = float(value) / 100.0
            answers[inst.uuid] = base.Reading(float(value))
        return answers
