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

import dataclasses

import pytest

from watcher_informed.core import snapshot as snap

FIELDS = dict(uuid='u1', host='h1', vcpus=2.0, ram_mb=2048.0, disk_gb=20.0,
              name='vm', state='active', locked=False, excluded=True,
              metadata={'k': 'v'}, pinned_az='az1',
              extra_specs={'hw:cpu_policy': 'dedicated'},
              project_id='p1', vnic_types=('direct',))


@pytest.mark.parametrize('change', [
    {}, {'vnic_types': ()}, {'metadata': {}, 'pinned_az': None},
    {'state': 'paused', 'locked': True},
])
def test_instance_of_equals_the_constructor(change):
    fields = dict(FIELDS, **change)
    fast = snap.instance_of(**fields)
    slow = snap.Instance(**fields)
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    assert fast.immovable_reason() == slow.immovable_reason()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.host = 'h2'


def test_instance_of_takes_every_field():
    names = [f.name for f in dataclasses.fields(snap.Instance)]
    assert list(vars(snap.instance_of(**FIELDS))) == names


def _snapshot():
    hosts = (snap.Host('h1', 8, 8192, 100), snap.Host('h2', 8, 8192, 100))
    insts = tuple(snap.Instance(u, h, 1, 512) for u, h in
                  (('c', 'h2'), ('a', 'h1'), ('b', 'h2')))
    return snap.Snapshot(hosts, insts)


def test_indexes_follow_the_instance_order():
    s = _snapshot()
    assert s.uuids == ('c', 'a', 'b')
    assert dict(s.position) == {'c': 0, 'a': 1, 'b': 2}
    assert {h: list(k) for h, k in s.by_host.items()} == {
        'h1': [1], 'h2': [0, 2]}


def test_memo_is_per_snapshot():
    s = _snapshot()
    s.memo['x'] = 1
    assert s.memo['x'] == 1
    assert dataclasses.replace(s, now=5.0).memo == {}
