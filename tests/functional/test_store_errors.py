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

"""An audit on Watcher's datasource path with its store down.

``metrics_store = datasource``: the strategy reads through Watcher's own
``GnocchiHelper``, whose retry helper would swallow the failure (and sleep
per VM per metric) and let the audit succeed with an empty plan.  Here the
store is a real closed loopback port: the audit fails within one retry
cycle, the ERROR line names the store and its URL, nothing is emitted.
"""

import logging
import time

import pytest

from tests.functional import cluster
from tests.unit.adapters.metrics import loopback
from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import stores


@pytest.fixture
def short_retries():
    from watcher import conf
    group = 'watcher_datasources'
    conf.CONF.set_override('query_max_retries', 2, group=group)
    conf.CONF.set_override('query_interval', 0.3, group=group)
    yield
    conf.CONF.clear_override('query_max_retries', group=group)
    conf.CONF.clear_override('query_interval', group=group)


def overloaded():
    c = cluster.Cluster()
    c.host('h1', vcpus=4)
    c.host('h2', vcpus=4)
    for n in range(20):
        c.vm('vm%d' % n, 'h1', vcpus=1, cpu=0.9)
    return c


def test_audit_fails_loudly_and_fast_when_the_store_is_down(
        short_retries, caplog):
    with loopback.closed_port() as port:
        helper = loopback.watcher_gnocchi_helper(port)
        reader = stores.reader_for('datasource', lambda: helper)
        strategy = cluster.prepare(overloaded(), reader)
        start = time.monotonic()
        with caplog.at_level(logging.ERROR):
            with pytest.raises(base.MetricsUnavailable):
                strategy.execute()
        elapsed = time.monotonic() - start
    # Watcher's helper alone: 2 tries 0.3 s apart for each of 20 VMs x 2
    # metrics (12 s), then an empty plan
    assert elapsed < 3.0, elapsed
    errors = [r.getMessage() for r in caplog.records
              if r.levelno >= logging.ERROR]
    assert any('cannot read metrics' in m and
               'gnocchi (http://127.0.0.1:%d)' % port in m
               for m in errors), errors
    assert strategy.solution.actions == []
