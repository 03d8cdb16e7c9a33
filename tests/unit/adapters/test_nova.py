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
