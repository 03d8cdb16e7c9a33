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

"""The scheduling facts onto core values, asking only what is needed."""

import pytest

from watcher_informed import harness
from watcher_informed.adapters import scheduler
from watcher_informed.core import snapshot as snap

HOSTS = (snap.Host('h1', 8, 8192, 100), snap.Host('h2', 8, 8192, 100))


def vm(uuid, **kw):
    return snap.Instance(uuid, 'h1', 2, 1024, **kw)


@pytest.mark.parametrize('specs, aggs, asked', [
    ([{}, {}], (), []),
    ([{'trait:CUSTOM_A': 'required'}, {'trait:CUSTOM_B': 'forbidden'}], (),
     ['CUSTOM_A', 'CUSTOM_B']),
    ([{'trait:CUSTOM_A': 'required'}, {'trait:CUSTOM_A': 'required'}], (),
     ['CUSTOM_A']),
    ([{}, {}], (snap.Aggregate('g', ('h2',),
                               {'trait:CUSTOM_GPU': 'required'}),),
     ['CUSTOM_GPU']),
    ([{'hw:cpu_policy': 'dedicated'}, {}], (), ['PCPU:1']),
])
def test_placement_is_asked_only_what_flavors_and_aggregates_name(
        specs, aggs, asked):
    conn = harness.StaticNova(
        aggregates=aggs, traits={'h1': {'CUSTOM_A', 'CUSTOM_GPU'},
                                 'h2': {'CUSTOM_B'}},
        pcpus={'h2': 4})
    instances = [vm('a', extra_specs=specs[0]),
                 vm('b', extra_specs=specs[1])]
    hosts, _, got_aggs = scheduler.enrich(conn, HOSTS, instances)
    assert sorted(c[1] for c in conn.calls
                  if c[0] == 'resource_providers') == asked
    assert got_aggs == tuple(aggs)
    by_name = {h.name: h for h in hosts}
    if 'PCPU:1' in asked:
        assert by_name['h2'].pcpus == 4 and by_name['h1'].pcpus is None
    for trait in asked:
        if trait.startswith('CUSTOM'):
            assert any(trait in h.traits for h in hosts)


def test_servers_override_the_model_and_ports_mark_devices():
    nova_view = [vm('a', extra_specs={'hw:cpu_policy': 'dedicated'},
                    project_id='p1', pinned_az='az1'),
                 vm('b', vnic_types=('direct',))]
    conn = harness.StaticNova(servers=nova_view)
    servers = {'a': {'extra_specs': {'hw:cpu_policy': 'dedicated'},
                     'project_id': 'p1', 'pinned_az': 'az1'}}
    _, insts, _ = scheduler.enrich(conn, HOSTS, [vm('a'), vm('b')],
                                   servers)
    a, b = insts
    assert (dict(a.extra_specs), a.project_id, a.pinned_az) == (
        {'hw:cpu_policy': 'dedicated'}, 'p1', 'az1')
    assert b.vnic_types == ('direct',)
