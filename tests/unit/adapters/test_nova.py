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

"""Server groups and zones from openstacksdk-shaped objects.

A real Nova cannot run in the unit tests; these objects have the attribute
names of openstacksdk's ``ServerGroup`` and ``Service`` resources.
"""

import types

from watcher_informed.adapters import nova


def group(id_, policy=None, policies=None, members=()):
    return types.SimpleNamespace(id=id_, name='n' + id_, policy=policy,
                                 policies=policies, member_ids=list(members))


def conn(groups=(), services=()):
    compute = types.SimpleNamespace(
        server_groups=lambda all_projects: list(groups),
        services=lambda binary: list(services))
    return types.SimpleNamespace(compute=compute)


def test_policy_from_new_and_old_microversions():
    result = nova.server_groups(conn([
        group('2', policy='anti-affinity', members=['y', 'x']),
        group('1', policies=['soft-affinity'], members=['z']),
        group('3', policy='bogus')]))
    assert [(g.uuid, g.policy, g.members) for g in result] == [
        ('1', 'soft-affinity', ('z',)), ('2', 'anti-affinity', ('x', 'y'))]


def test_host_zones():
    services = [types.SimpleNamespace(host='h1', availability_zone='az1'),
                types.SimpleNamespace(host='h2', availability_zone=None)]
    assert nova.host_zones(conn(services=services)) == {'h1': 'az1'}


def test_aggregates_keep_hosts_metadata_and_zone():
    aggs = [types.SimpleNamespace(
        name='b', uuid='u2', id=2, hosts=['h2', 'h1'],
        metadata={'ssd': 'true'}, availability_zone='az1'),
        {'name': 'a', 'uuid': 'u1', 'hosts': None, 'metadata': None,
         'availability_zone': None}]
    c = types.SimpleNamespace(compute=types.SimpleNamespace(
        aggregates=lambda: aggs))
    result = nova.aggregates(c)
    assert [(a.name, a.hosts, dict(a.metadata)) for a in result] == [
        ('a', (), {}),
        ('b', ('h1', 'h2'), {'ssd': 'true', 'availability_zone': 'az1'})]


def test_server_facts_read_the_embedded_flavor():
    servers = [types.SimpleNamespace(
        id='s1', project_id='p1', pinned_availability_zone='az1',
        flavor={'vcpus': 2, 'extra_specs': {'trait:CUSTOM_A': 'required'}}),
        types.SimpleNamespace(id='s2', project_id=None, flavor=None)]
    calls = []

    def listing(**kw):
        calls.append(kw)
        return servers
    c = types.SimpleNamespace(compute=types.SimpleNamespace(
        servers=listing))
    assert nova.server_facts(c) == {
        's1': {'extra_specs': {'trait:CUSTOM_A': 'required'},
               'project_id': 'p1', 'pinned_az': 'az1'},
        's2': {'extra_specs': {}, 'project_id': '', 'pinned_az': None}}
    assert calls == [{'details': True, 'all_projects': True}]


def test_device_ports_one_neutron_call():
    calls = []

    def ports(**query):
        calls.append(query)
        return [types.SimpleNamespace(device_id='s1',
                                      binding_vnic_type='direct'),
                types.SimpleNamespace(device_id='s1',
                                      binding_vnic_type='vdpa'),
                types.SimpleNamespace(device_id='',
                                      binding_vnic_type='direct'),
                types.SimpleNamespace(device_id='s2',
                                      binding_vnic_type='normal')]
    c = types.SimpleNamespace(network=types.SimpleNamespace(ports=ports))
    assert nova.device_ports(c) == {'s1': ('direct', 'vdpa')}
    assert len(calls) == 1
    assert 'normal' not in calls[0]['binding:vnic_type']


def test_device_ports_without_neutron():
    class EndpointNotFound(Exception):
        pass

    def ports(**query):
        raise EndpointNotFound('no network endpoint')
    c = types.SimpleNamespace(network=types.SimpleNamespace(ports=ports))
    assert nova.device_ports(c) == {}
    assert nova.device_ports(types.SimpleNamespace()) == {}
