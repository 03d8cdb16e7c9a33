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

"""The ledger: O(1) moves that always equal a recomputation from scratch."""

import hypothesis
from hypothesis import strategies as st
import numpy as np
import pytest

from tests.unit import builders as b
from tests.unit.core import strategies
from watcher_informed.core import classify
from watcher_informed.core import kinds
from watcher_informed.core import ledger as ledger_mod
from watcher_informed.core import overload
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap

P = params.Params()


def fresh(snapshot, p, placement, profiles):
    """A ledger recomputed from scratch for ``placement``."""
    moved = snap.Snapshot(
        snapshot.hosts,
        tuple(snap.Instance(**dict(vars(i), host=placement[i.uuid]))
              for i in snapshot.instances),
        snapshot.usage, snapshot.server_groups)
    return ledger_mod.Ledger(moved, p, overload.demands(snapshot), profiles)


def assert_same(a, b_):
    assert a.where == b_.where
    assert [sorted(r) for r in a.residents] == \
        [sorted(r) for r in b_.residents]
    np.testing.assert_allclose(a.alloc, b_.alloc, atol=1e-6)
    np.testing.assert_allclose(a.load, b_.load, atol=1e-9)
    np.testing.assert_array_equal(a.counts, b_.counts)
    np.testing.assert_allclose(a.weights, b_.weights, atol=1e-9)


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(strategies.snapshots(), st.data())
def test_moves_and_undos_equal_a_recomputation(snapshot, data):
    if not snapshot.instances:
        return
    profiles = classify.classify(snapshot, P)
    led = ledger_mod.Ledger(snapshot, P, None, profiles)
    start = ledger_mod.Ledger(snapshot, P, None, profiles)
    names = [h.name for h in snapshot.hosts]
    uuids = sorted(led.where)
    marks = []
    for _ in range(data.draw(st.integers(1, 12))):
        if led._undo and data.draw(st.booleans()):
            led.undo()
        else:
            if data.draw(st.booleans()):
                marks.append(led.mark())
            led.move(data.draw(st.sampled_from(uuids)),
                     data.draw(st.sampled_from(names)))
        assert_same(led, fresh(snapshot, P, led.where, profiles))
    if marks:
        led.rollback(marks[0])
    led.rollback(0)
    # undo restores the rows exactly, not approximately
    np.testing.assert_array_equal(led.alloc, start.alloc)
    np.testing.assert_array_equal(led.load, start.load)
    np.testing.assert_array_equal(led.weights, start.weights)
    assert led.where == start.where


def test_loads_equal_the_overload_module():
    snapshot = b.cluster(
        [b.host('A'), b.host('B', vcpus=4)],
        [b.vm('x', 'A'), b.vm('y', 'A', vcpus=4), b.vm('z', 'B')],
        {'x': b.usage('cpu'), 'y': b.usage('disk_io'), 'z': b.usage('web')})
    led = ledger_mod.Ledger(snapshot, P)
    assert led.loads() == overload.host_loads(snapshot, P)


@pytest.mark.parametrize('uuid, host, fits', [
    ('x', 'B', True),      # 2 vCPUs into 8 - 4 used
    ('y', 'B', False),     # 6 vCPUs do not fit 4 free
    ('y', 'C', True),
])
def test_fits_counts_allocation_and_capacity(uuid, host, fits):
    snapshot = b.cluster(
        [b.host('A'), b.host('B', vcpus=8), b.host('C', vcpus=8)],
        [b.vm('x', 'A'), b.vm('y', 'A', vcpus=6), b.vm('o', 'B', vcpus=4)])
    assert ledger_mod.Ledger(snapshot, P).fits(uuid, host) is fits


def test_listeners_hear_both_hosts_of_a_move_and_its_undo():
    snapshot = b.cluster([b.host('A'), b.host('B'), b.host('C')],
                         [b.vm('x', 'A')])
    led = ledger_mod.Ledger(snapshot, P)
    heard = []
    led.listen(heard.append)
    led.move('x', 'C')
    led.undo()
    assert heard == [0, 2, 0, 2]


def test_class_columns_follow_the_instance():
    snapshot = b.cluster([b.host('A'), b.host('B')],
                         [b.vm('x', 'A'), b.vm('y', 'A')],
                         {'x': b.usage('disk_io'), 'y': b.usage('cpu')})
    profiles = classify.classify(snapshot, P)
    led = ledger_mod.Ledger(snapshot, P, None, profiles)
    led.move('x', 'B')
    assert led.class_weight('B', kinds.DISK_IO) == profiles['x'].weight
    assert led.class_weight('A', kinds.DISK_IO) == 0.0
    assert led.class_weight('A', kinds.CPU) == profiles['y'].weight


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(strategies.snapshots())
def test_per_instance_rows_answer_as_dicts_built_up_front(snapshot):
    profiles = classify.classify(snapshot, P)
    led = ledger_mod.Ledger(snapshot, P, None, profiles)
    insts = snapshot.instances
    res = {i.uuid: (float(i.vcpus), float(i.ram_mb), float(i.disk_gb))
           for i in insts}
    cls = {i.uuid: kinds.CLASSES.index(profiles[i.uuid].cls)
           for i in insts}
    weight = {i.uuid: min(profiles[i.uuid].intensity, 1.0) for i in insts}
    for built, want in ((led.res, res), (led.cls, cls),
                        (led.intensity, weight)):
        assert len(built) == len(want) and set(built) == set(want)
        for uuid in reversed(list(want)):
            assert uuid in built
            assert built[uuid] == want[uuid]
            assert built.get(uuid) == want[uuid]
        assert dict(built.items()) == want and built == want
        assert built.get('no-such-uuid') is None
        assert 'no-such-uuid' not in built
        with pytest.raises(KeyError):
            built['no-such-uuid']
