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

"""Watcher's model read into core values, field by field."""

import dataclasses

import pytest

from watcher_informed import harness
from watcher_informed.adapters import watcher_model
from watcher_informed.core import snapshot as snap

HOSTS = (
    snap.Host('h2', 32, 65536, 800, vcpu_reserved=2, ram_reserved_mb=512,
              disk_reserved_gb=10, vcpu_ratio=4.0, ram_ratio=1.5,
              disk_ratio=1.0, up=False, enabled=True, uuid='n-2'),
    snap.Host('h1', 16, 32768, 400, enabled=False, uuid='n-1'),
)
INSTANCES = tuple(
    dataclasses.replace(i, project_id=harness.PROJECT) for i in (
        snap.Instance('u3', 'h1', 2, 2048, 20, name='vm3', state='stopped',
                      locked=True, metadata={'workload_class': 'cpu'},
                      extra_specs={'hw:cpu_policy': 'dedicated'}),
        snap.Instance('u1', 'h1', 4, 4096, 40, name='vm1', excluded=True,
                      pinned_az='az1'),
        snap.Instance('u2', 'h2', 1, 512, 0, name='vm2'),
    ))


@pytest.fixture(scope='module')
def model():
    harness.ensure_watcher()
    return harness.build_model(HOSTS, INSTANCES)


def test_read_model_gives_back_every_field(model):
    hosts, instances, elements = watcher_model.read_model(
        model, {'h1': 'az1'})
    # hosts by name, instances by host then uuid
    assert hosts == (dataclasses.replace(HOSTS[1], az='az1'), HOSTS[0])
    assert instances == (INSTANCES[1], INSTANCES[0], INSTANCES[2])
    assert list(elements) == ['u1', 'u3', 'u2']
    assert all(elements[u].uuid == u for u in elements)


def test_a_field_that_is_not_set_reads_as_before(model):
    inst = model.get_instance_by_uuid('u2')
    got = watcher_model._fields(inst)
    # pinned_az is set ('') and read from storage; 'created' is a field
    # never set by the collector: the descriptor answers, as it did
    assert got('pinned_az') == ''
    assert got('name') == 'vm2'
    with pytest.raises(NotImplementedError):
        got('created')
    assert got('no_such_field', 'x') == 'x'
