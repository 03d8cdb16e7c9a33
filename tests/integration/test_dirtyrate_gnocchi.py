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


"""The dirty-rate agent's Gnocchi publisher against the real Gnocchi.

Estimates posted by :class:`~watcher_informed.agent.publish.
GnocchiPublisher` (``memory.dirty.rate``, ``memory.dirty.working_set``
on the instance's ``instance`` resource, metrics created on first use)
must come back through the strategy's Gnocchi reader, configured with
the options' default meter names; an instance without them reads as
missing, as before the agent existed, and measures for an instance
without a Gnocchi resource are refused without raising.
"""

import uuid as uuidlib

import pytest
import requests

from tests.integration import conftest
from tests.integration import helpers
from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import gnocchi as gnocchi_reader
from watcher_informed.agent import hypervisor as hv
from watcher_informed.agent import publish
from watcher_informed.conf import strategy as strategy_conf
from watcher_informed.core import dirtyrate
from watcher_informed.core import snapshot as snap

ESTIMATES = [(60.0, 250.0), (68.0, 262.0), (64.0, 256.0)]
WINDOW = base.Window(period_s=900, granularity_s=300, stale_after_s=900)


def _default(name):
    return next(o.default for o in strategy_conf.OPTS if o.name == name)


def test_published_estimates_reach_the_gnocchi_reader(data, gnocchi_url):
    measured = helpers.model_instance(data['instances'][-1])
    other = helpers.model_instance(data['instances'][-2])
    session = requests.Session()
    session.auth = ('admin', '')
    pub = publish.GnocchiPublisher(session, gnocchi_url, 'ceilometer-low')
    t0 = (int(data['t_end']) // 300 + 2) * 300
    dom = hv.Domain(measured.uuid, 'instance-x', None)
    for k, (rate, wss) in enumerate(ESTIMATES):
        pub.estimate(dom, dirtyrate.Estimate(rate, wss, True, True),
                     t0 + 300 * k)
    assert pub.failures == 0
    ghost = hv.Domain(str(uuidlib.uuid4()), 'instance-ghost', None)
    pub.estimate(ghost, dirtyrate.Estimate(1.0, 1.0, True, True), t0)
    assert pub.failures == 1
    helpers.GnocchiAdmin(gnocchi_url).wait_processed()

    reader = gnocchi_reader.GnocchiMetrics(
        conftest.gnocchi_client(gnocchi_url),
        dirty_rate_meter=_default('dirty_rate_meter'),
        working_set_meter=_default('working_set_meter'),
        clock=lambda: t0 + 600 + 60)
    for metric, index in ((snap.DIRTY_RATE, 0), (snap.WSS, 1)):
        got = reader.read(metric, [measured, other], WINDOW)
        assert got[measured.uuid].value == pytest.approx(
            sum(e[index] for e in ESTIMATES) / len(ESTIMATES))
        assert got[other.uuid].value is None
        assert got[other.uuid].reason
