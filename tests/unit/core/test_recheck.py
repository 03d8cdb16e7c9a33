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

"""The start-time re-check of one move: each premise, each hard rule."""

import dataclasses

import pytest

from tests.unit import builders as b
from watcher_informed.core import recheck
from watcher_informed.core import snapshot as snap

SRC, DST = b.host('S'), b.host('D', vcpus=8, ram_mb=8192, disk_gb=100)
VM = b.vm('vm', 'S', vcpus=2, ram_mb=2048, disk_gb=10)
MOVE = recheck.Assumed('vm', 'S', 'D', freed_by=('p',))
R = snap.Resources


def seen(**over):
    """A start where everything the plan assumed holds."""
    base = recheck.Seen(
        hosts=(SRC, DST), instance=VM,
        used={'S': R(6, 6144, 30), 'D': R(4, 4096, 40)},
        where={'p': 'X', 'mate': 'S'},
        groups=(snap.ServerGroup('g', 'anti-affinity', ('vm', 'mate')),),
        names={'p': 'parent-vm', 'mate': 'mate-vm'})
    return dataclasses.replace(base, **over)


def test_everything_as_planned_starts():
    assert recheck.verdict(seen(), MOVE) is None


@pytest.mark.parametrize('over, kind, fragment', [
    (dict(instance=None), recheck.SKIP, 'no longer exists'),
    (dict(instance=dataclasses.replace(VM, host='X')), recheck.SKIP,
     'is on X, not on its planned source S'),
    (dict(where={'p': 'D'}), recheck.SKIP,
     'waits for room on D that the move of parent-vm (p) was to free'),
    (dict(instance=dataclasses.replace(VM, state='stopped')), recheck.FAIL,
     'may not move: state is stopped'),
    (dict(instance=dataclasses.replace(VM, locked=True)), recheck.FAIL,
     'may not move: locked'),
    (dict(hosts=(dataclasses.replace(SRC, up=False), DST)), recheck.FAIL,
     'compute service S is down'),
    (dict(hosts=(SRC,)), recheck.FAIL, 'not a compute host Nova knows'),
    (dict(hosts=(SRC, dataclasses.replace(DST, enabled=False))),
     recheck.FAIL, 'destination D: compute service is disabled'),
    (dict(hosts=(SRC, dataclasses.replace(DST, up=False))),
     recheck.FAIL, 'destination D: compute service is down'),
    (dict(where={'p': 'X', 'mate': 'D'}), recheck.FAIL,
     'destination D: anti-affinity with mate'),
    (dict(groups=(snap.ServerGroup('g', 'affinity', ('vm', 'mate')),)),
     recheck.FAIL, 'member of affinity server group g'),
    (dict(used={'S': R(6, 6144, 30), 'D': R(7, 4096, 40)}), recheck.FAIL,
     'not the room for it now in Placement (vCPU 2 needed, 1 free)'),
    (dict(used={'S': R(6, 6144, 30), 'D': R(4, 7000, 95)}), recheck.FAIL,
     'RAM MiB 2048 needed, 1192 free; disk GiB 10 needed, 5 free'),
])
def test_each_broken_premise_is_named(over, kind, fragment):
    found = recheck.verdict(seen(**over), MOVE)
    assert found is not None
    assert found.kind == kind
    assert fragment in found.reason, found.reason


def test_room_freed_when_the_waited_for_instance_is_gone_or_elsewhere():
    for where in ({'p': None}, {'p': 'S'}, {}):
        assert recheck.verdict(seen(where=where), MOVE) is None, where


def test_room_counts_placement_not_the_plan():
    # exactly full once the instance arrives: allowed; one MiB more: not
    exact = seen(used={'S': R(6, 6144, 30), 'D': R(6, 6144, 90)})
    assert recheck.verdict(exact, MOVE) is None
    over = seen(used={'S': R(6, 6144, 30), 'D': R(6, 6145, 90)})
    assert recheck.verdict(over, MOVE).kind == recheck.FAIL


def test_allocation_ratio_and_reserved_come_from_the_host():
    dst = dataclasses.replace(DST, vcpu_reserved=2, vcpu_ratio=2.0)
    # (8 - 2) x 2 = 12 allocatable vCPUs: 10 used + 2 fits, 11 + 2 not
    fits = seen(hosts=(SRC, dst), used={'D': R(10, 0, 0)})
    assert recheck.verdict(fits, MOVE) is None
    full = seen(hosts=(SRC, dst), used={'D': R(11, 0, 0)})
    assert 'vCPU 2 needed, 1 free' in recheck.verdict(full, MOVE).reason


def test_the_moving_instance_is_counted_once_on_its_source():
    state = recheck.state_snapshot(seen())
    on_s = [i for i in state.instances if i.host == 'S']
    assert sum(i.vcpus for i in on_s) == 6
    assert {i.uuid for i in on_s} == {'vm', 'mate', recheck.OTHERS + 'S'}


def test_a_skip_comes_before_a_failure():
    # the instance is elsewhere AND the destination is disabled: the
    # premise is gone, so skip (as Watcher's migrate does)
    gone = seen(instance=dataclasses.replace(VM, host='X'),
                hosts=(SRC, dataclasses.replace(DST, enabled=False)))
    assert recheck.verdict(gone, MOVE).kind == recheck.SKIP
