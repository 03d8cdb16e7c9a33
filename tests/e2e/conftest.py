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

"""Fixtures of the end-to-end tests (``bash tools/stack/stack.sh run``).

The tests need the stack that ``tools/stack/stack.sh up`` starts; without
``WI_STACK_RUN`` they fail at once rather than pass by skipping.
"""

import os
import types

import pytest

from tests.e2e import client
from watcher_informed.adapters.metrics import base as metrics_base
from watcher_informed.adapters.metrics import prometheus

#: the audit parameters of the tests: a short metric window (the
#: exporter's rates are constant) and a CPU threshold the scenario's two
#: busy hosts exceed.
PARAMETERS = {'cpu_threshold': 0.6, 'period': 60, 'granularity': 5}


@pytest.fixture(scope='session')
def stack():
    run = os.environ.get('WI_STACK_RUN')
    if not run:
        pytest.fail('WI_STACK_RUN is not set: run these tests with '
                    '"bash tools/stack/stack.sh run"')
    return client.Stack(run)


def metrics_ready(stack, live):
    """Every server has a CPU rate, memory and dirty rate in Prometheus."""
    reader = prometheus.PrometheusMetrics(
        stack.facts['prometheus_url'],
        dirty_rate_metric=stack.facts['dirty_rate_meter'])
    window = metrics_base.Window(period_s=PARAMETERS['period'],
                                 granularity_s=PARAMETERS['granularity'],
                                 stale_after_s=900)
    servers = [types.SimpleNamespace(uuid=i['uuid'], vcpus=i['vcpus'])
               for i in live['instances']]
    for metric in ('cpu', 'ram', 'dirty_rate'):
        readings = reader.read(metric, servers, window)
        if any(r.value is None for r in readings.values()):
            return False
    return True


def model_current(stack, live):
    """Watcher's compute model holds exactly the live servers, in place."""
    resp = stack.watcher.request(
        'GET', '/data_model?data_model_type=compute',
        headers={'OpenStack-API-Version': 'infra-optim 1.3'})
    if resp.status_code != 200:
        return False
    seen = {(e.get('server_uuid'), e.get('node_hostname'))
            for e in resp.json().get('context', [])
            if e.get('server_uuid')}
    want = {(i['uuid'], i['host']) for i in live['instances']}
    return seen == want


@pytest.fixture(scope='module')
def fresh(stack):
    """The scenario booted afresh, its metrics scraped, Watcher aware."""
    stack.reset()
    live = stack.live
    client.wait('metrics of every server in Prometheus', 120,
                lambda: metrics_ready(stack, live), 2.0)
    client.wait("Watcher's compute model up to date", 120,
                lambda: model_current(stack, live), 2.0)
    return live
