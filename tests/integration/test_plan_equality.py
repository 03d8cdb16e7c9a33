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

"""Each real store gives the same readings, classes and plan as the traces.

The stack loaded 32 Bitbrains VMs (2 h of 5-minute samples, ``cmp-1``
CPU-overloaded) into Gnocchi and Prometheus as Ceilometer publishes them
(cumulative counters, per-disk and per-NIC resources); ``truth`` holds the
same traces in the core's units.  At ``t_end + 60`` the one-hour window
holds the last 12 samples of each series.
"""

import requests

from tests.integration import helpers
from watcher_informed.core import params as params_mod
from watcher_informed.core import pipeline


def _now(data):
    return data['t_end'] + 60


def test_readings_equal_the_traces(data, store):
    name, make = store
    now = _now(data)
    reader = make(lambda: now)
    truth = helpers.truth_reader(data, now)
    insts = [helpers.model_instance(i) for i in data['instances']]
    for metric in helpers.CEILOMETER_METRICS:
        got = reader.read(metric, insts, helpers.WINDOW)
        want = truth.read(metric, insts, helpers.WINDOW)
        for inst in insts:
            assert want[inst.uuid].value is not None, (metric, inst.uuid)
            assert helpers.close(got[inst.uuid].value,
                                 want[inst.uuid].value), (
                name, metric, inst.uuid, got[inst.uuid], want[inst.uuid])
    # one query per metric for all 32 instances
    assert reader.queries == len(helpers.CEILOMETER_METRICS)


def test_classification_and_plan_equal_in_memory(data, store):
    name, make = store
    now = _now(data)
    p = params_mod.Params()
    from_store = pipeline.build_plan(
        helpers.snapshot(data, helpers.usage_of(make(lambda: now), data)), p)
    in_memory = pipeline.build_plan(
        helpers.snapshot(data, helpers.usage_of(
            helpers.truth_reader(data, now), data)), p)
    classes, moves, still = helpers.plan_summary(from_store)
    assert (classes, moves, still) == helpers.plan_summary(in_memory)
    # the scenario is worth comparing: cmp-1 is overloaded and relieved,
    # and the instances are not all of one class
    assert [h.name for h in in_memory.hot_hosts] == ['cmp-1']
    assert moves and all(m[2] == 'cmp-1' for m in moves)
    assert len(set(classes.values())) >= 3, classes
    assert 'unknown' not in classes.values()


def test_one_http_request_per_metric(data, store, monkeypatch):
    name, make = store
    now = _now(data)
    reader = make(lambda: now)
    sent = []
    real_send = requests.Session.send

    def counting_send(self, request, **kwargs):
        sent.append(request.url)
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, 'send', counting_send)
    usage = helpers.usage_of(reader, data, probes=True)
    assert len(sent) == len(helpers.CEILOMETER_METRICS), sent
    assert len(usage) == len(data['instances']) + len(data['probes'])
