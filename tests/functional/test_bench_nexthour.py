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

"""The next-hour benchmark (bench/nexthour.py) grades on the trace.

Its truth is the trace's real hours H+1 and H+2, never an estimate; what
the store shows ends at hour H; perfect foresight relieves what it can.
"""

import numpy as np
import pytest

from bench import nexthour
from bench import scenarios
from watcher_informed.adapters.metrics import memory
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap
from watcher_informed.evaluation import simulate

pytestmark = pytest.mark.skipif(
    not scenarios.TRACE_DIR.exists() and not scenarios.CACHE.exists(),
    reason='Bitbrains traces not found at %s' % scenarios.TRACE_DIR)


@pytest.fixture(scope='module')
def scenario():
    return nexthour.build(8, 1, scenarios.load_traces())


def test_the_store_ends_at_hour_h_and_seen_is_its_last_hour(scenario):
    uuid = scenario.instances[0].uuid
    samples = scenario.series[snap.CPU][uuid]
    assert len(samples) == nexthour.HISTORY_H * nexthour.HOUR
    assert max(t for t, _ in samples) < nexthour.NOW
    last = [v for _, v in samples[-nexthour.HOUR:]]
    assert scenario.seen.usage_of(uuid).get(snap.CPU) == \
        pytest.approx(float(np.mean(last)))


def test_truth_is_the_next_hours_and_differs_from_what_is_seen(scenario):
    hot = [u for u in scenario.truth1.usage
           if scenario.truth1.usage_of(u).get(snap.CPU) !=
           pytest.approx(scenario.seen.usage_of(u).get(snap.CPU))]
    assert hot, 'hour H+1 must not be hour H'
    assert scenario.truth1.usage != scenario.truth2.usage


def test_the_oracle_relieves_hours_h1_and_grading_counts_it(scenario):
    p = params.Params()
    setup = simulate.Setup(link_mibps=1250.0, workers=8)
    oracle = memory.InMemoryMetrics.from_values(
        {u: dict(v.values) for u, v in scenario.truth1.usage.items()},
        now=nexthour.NOW)
    plan = nexthour.informed(scenario, oracle, nexthour.ORACLE,
                             max_migrations=1000)
    row = nexthour.grade(scenario, plan, p, setup)
    assert row['h1_hot'] >= 1
    assert row['h1_relieved'] == row['h1_hot'] and row['h1_after'] == 0
    nothing = nexthour.grade(scenario, nexthour.peers.PeerPlan(
        'none', (), {}, 0.0, 1), p, setup)
    assert nothing['h1_relieved'] == 0
    assert nothing['h1_after'] == nothing['h1_hot'] == row['h1_hot']
