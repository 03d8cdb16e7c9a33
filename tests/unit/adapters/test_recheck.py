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

"""Nova and Placement -> the start-time re-check's input."""

import pytest

from tests.unit import fake_cloud
from watcher_informed.adapters import recheck as adapter
from watcher_informed.core import recheck
from watcher_informed.core import snapshot as snap

VM, MATE, PARENT, OTHER = ('00000000-0000-4000-8000-00000000000%d' % i
                           for i in range(1, 5))


def cloud():
    c = fake_cloud.FakeCloud()
    c.host('S', 8, 16384, 100)
    c.host('D', 8, 8192, 100, reserved=(2, 512, 0), ratios=(2.0, 1.5, 1.0))
    c.host('E', 8, 8192, 100)
    c.server(VM, 'vm', 'S', 2, 2048, 10)
    c.server(PARENT, 'parent', 'D', 4, 4096, 20)
    c.server(MATE, 'mate', 'E', 1, 512, 1)
    c.server(OTHER, 'other', 'D', 1, 1024, 5)
    c.group('g1', 'anti-affinity', [VM, MATE], name='web')
    return c


MOVE = adapter.assumed({'resource_id': VM, 'source_node': 'S',
                        'destination_node': 'D', 'freed_by': [PARENT]})


def test_seen_has_placements_numbers_and_where_things_are():
    c = cloud()
    seen = adapter.read(c.compute, c.placement, MOVE)
    dest = {h.name: h for h in seen.hosts}['D']
    assert dest.capacity == snap.Resources((8 - 2) * 2.0,
                                           (8192 - 512) * 1.5, 100)
    assert seen.used['D'] == snap.Resources(5, 5120, 25)
    assert seen.instance.resources == snap.Resources(2, 2048, 10)
    assert seen.instance.state == 'active' and seen.instance.host == 'S'
    assert seen.where == {PARENT: 'D', MATE: adapter.ELSEWHERE}
    assert [g.name for g in seen.groups] == ['web']
    assert seen.names[PARENT] == 'parent'


def test_a_handful_of_calls_whatever_the_cloud():
    c = cloud()
    for i in range(200):
        c.server('10000000-0000-4000-8000-%012d' % i, 'x%d' % i, 'E', 0, 0,
                 0)
    adapter.read(c.compute, c.placement, MOVE)
    assert len(c.calls) <= 7, c.calls


def test_verdicts_from_what_was_read():
    c = cloud()
    # the parent is still on D: its move did not happen -> skip
    found = recheck.verdict(adapter.read(c.compute, c.placement, MOVE),
                            MOVE)
    assert found.kind == recheck.SKIP and 'parent' in found.reason
    # it left: the move may start
    c.servers[PARENT]['host'] = 'E'
    c.hosts['E']['claims'][PARENT] = c.hosts['D']['claims'].pop(PARENT)
    assert recheck.verdict(adapter.read(c.compute, c.placement, MOVE),
                           MOVE) is None
    # the mate arrived on D meanwhile -> fail, naming it
    c.servers[MATE]['host'] = 'D'
    found = recheck.verdict(adapter.read(c.compute, c.placement, MOVE),
                            MOVE)
    assert found.kind == recheck.FAIL and MATE in found.reason
    # the instance was stopped -> fail
    c.servers[MATE]['host'] = 'E'
    c.servers[VM]['status'] = 'SHUTOFF'
    found = recheck.verdict(adapter.read(c.compute, c.placement, MOVE),
                            MOVE)
    assert 'state is shutoff' in found.reason


def test_a_deleted_server_and_an_unknown_destination():
    c = cloud()
    del c.servers[VM]
    seen = adapter.read(c.compute, c.placement, MOVE)
    assert seen.instance is None
    c = cloud()
    move = adapter.assumed({'resource_id': VM, 'source_node': 'S',
                            'destination_node': 'nowhere'})
    found = recheck.verdict(adapter.read(c.compute, c.placement, move),
                            move)
    assert 'not a compute host' in found.reason


def test_groups_listed_when_the_api_does_not_give_them_per_server():
    c = cloud()
    get = c.get_server

    def old_api(uuid):
        server = get(uuid)
        server.server_groups = None
        return server
    c.compute.get_server = old_api
    seen = adapter.read(c.compute, c.placement, MOVE)
    assert [g.name for g in seen.groups] == ['web']
    assert ('server_groups', True) in c.calls


def test_flavor_when_placement_has_no_allocation():
    c = cloud()
    c.placement.get = lambda path: fake_cloud._Resp(200, {
        'allocations': {}}) if path.startswith('/allocations') else \
        c.placement_get(path)
    seen = adapter.read(c.compute, c.placement, MOVE)
    assert seen.instance.resources == snap.Resources(2, 2048, 10)


@pytest.mark.parametrize('broken', ['placement', 'hypervisors'])
def test_an_unanswered_call_is_unavailable_naming_it(broken):
    from openstack import exceptions as sdk_exc
    c = cloud()
    if broken == 'placement':
        c.placement.get = lambda path: fake_cloud._Resp(503, {})
        fragment = 'Placement GET /resource_providers/'
    else:
        def down(**kw):
            raise sdk_exc.HttpException('connection refused')
        c.compute.hypervisors = down
        fragment = 'Nova hypervisors of S'
    with pytest.raises(adapter.Unavailable, match=fragment):
        adapter.read(c.compute, c.placement, MOVE)
