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

"""Audits through Watcher's strategy loader, with each store up and down.

With the store up, the audit's actions are the in-memory plan's.  With
its server process stopped for real, the reader raises
``MetricsUnavailable`` naming the store, the audit fails, the reason is
logged at ERROR level (all Watcher shows is a FAILED audit) and no action
is emitted.  The server is started again afterwards.
"""

import logging
import types

import pytest
from watcher.decision_engine.model import element
from watcher.decision_engine.model import model_root

from tests.functional import cluster
from tests.integration import helpers
from watcher_informed import harness
from watcher_informed.adapters.metrics import base

SERVICE = {'gnocchi': 'gnocchi-api', 'prometheus': 'prometheus'}
PARAMS = {'period': 3600, 'granularity': 300}


def watcher_cluster(data):
    """The loaded cluster as Watcher's compute model."""
    model = model_root.ModelRoot()
    for h in data['hosts']:
        model.add_node(element.ComputeNode(
            uuid=cluster.uid('node-' + h['name']), hostname=h['name'],
            vcpus=h['vcpus'], memory=h['ram_mb'], disk=h['disk_gb'],
            vcpu_reserved=0, memory_mb_reserved=0, disk_gb_reserved=0,
            vcpu_ratio=h['vcpu_ratio'], memory_ratio=h['ram_ratio'],
            disk_ratio=1.0, state='up', status='enabled'))
    for i in data['instances']:
        inst = element.Instance(
            uuid=i['uuid'], name=i['name'], vcpus=i['vcpus'],
            memory=i['ram_mb'], disk=i['disk_gb'], state='active',
            metadata={}, project_id=cluster.PROJECT, locked=False,
            watcher_exclude=False, pinned_az='')
        model.add_instance(inst)
        model.map_instance(inst, model.get_node_by_name(i['host']))
    # the shape tests/functional/cluster.py hands the off-cloud harness
    return types.SimpleNamespace(
        model=model, cloud=lambda reader=None: harness.Cloud(
            model=model, reader=reader))


def test_audit_actions_equal_in_memory(data, store):
    name, make = store
    now = data['t_end'] + 60
    _, from_store = cluster.run(watcher_cluster(data), make(lambda: now),
                                **PARAMS)
    _, in_memory = cluster.run(watcher_cluster(data),
                               helpers.truth_reader(data, now), **PARAMS)
    assert cluster.moves(from_store) == cluster.moves(in_memory)
    assert cluster.moves(in_memory)


@pytest.fixture
def stopped(store):
    """The store's server process stopped for the test, then restarted."""
    name, make = store
    helpers.stack_service('stop', SERVICE[name])
    try:
        yield name, make
    finally:
        helpers.stack_service('start', SERVICE[name])


def test_reader_names_the_store_down(data, stopped):
    name, make = stopped
    reader = make(lambda: data['t_end'] + 60)
    insts = [helpers.model_instance(i) for i in data['instances']]
    with pytest.raises(base.MetricsUnavailable) as info:
        reader.read('cpu', insts, helpers.WINDOW)
    assert info.value.store.startswith(name)
    text = str(info.value)
    assert name in text and 'unavailable' in text
    assert 'refused' in text.lower() or 'connect' in text.lower(), text


def test_audit_fails_logs_error_and_emits_nothing(data, stopped, caplog):
    name, make = stopped
    now = data['t_end'] + 60
    strategy = cluster.prepare(watcher_cluster(data), make(lambda: now),
                               **PARAMS)
    with caplog.at_level(logging.ERROR):
        with pytest.raises(base.MetricsUnavailable):
            strategy.execute()
    errors = [r.getMessage() for r in caplog.records
              if r.levelno >= logging.ERROR]
    assert any('cannot read metrics' in m and name in m for m in errors), \
        errors
    assert strategy.solution.actions == []
