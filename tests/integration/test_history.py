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

"""History for the next-hour estimate from the real stores (issue 18).

``read_series`` sends the classification query stretched over the history
(one per metric); over the classification window its steps must average
to exactly what ``read`` answers, counters included (a rate per step).
"""

from tests.integration import helpers
from watcher_informed.adapters.metrics import forecast


def _now(data):
    return data['t_end'] + 60


def test_history_steps_average_to_the_window_reading(data, store):
    name, make = store
    now = _now(data)
    reader = make(lambda: now)
    insts = [helpers.model_instance(i) for i in data['instances']]
    start = now - helpers.WINDOW.period_s
    for metric in helpers.CEILOMETER_METRICS:
        before = reader.queries
        steps = reader.read_series(metric, insts, helpers.WINDOW)
        assert reader.queries == before + 1, (name, metric)
        window = reader.read(metric, insts, helpers.WINDOW)
        for inst in insts:
            got = steps[inst.uuid]
            inside = [v for t, v in zip(got.times, got.values)
                      if start <= t <= now]
            assert inside, (name, metric, inst.uuid, got.reason)
            assert helpers.close(sum(inside) / len(inside),
                                 window[inst.uuid].value, rel=1e-6), (
                name, metric, inst.uuid)


def test_forecast_over_two_hours_reads_one_query_per_metric(data, store):
    name, make = store
    now = _now(data)
    reader = make(lambda: now)
    insts = [helpers.model_instance(i) for i in data['instances']]
    got = forecast.read_forecast(reader, insts, helpers.WINDOW, 7200,
                                 'last')
    assert reader.queries == len(forecast.METRICS)
    assert len(got) == len(insts), name
    assert all(fc.get('cpu') is not None for fc in got.values())
