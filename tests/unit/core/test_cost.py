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

import pytest

from tests.unit import builders as b
from watcher_informed.core import cost
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap

P = params.Params()


def run(memory, dirty, wss, bw=128.0, limit_ms=300.0, rounds=30, **kw):
    return cost.precopy(memory, dirty, wss, bw, limit_ms, rounds, **kw)


def test_idle_guest_is_one_round_at_bandwidth():
    c = run(1024, 0, 0, fixed_downtime_ms=0)
    assert c.rounds == 1 and c.converged
    assert c.time_s == pytest.approx(8.0)
    assert c.downtime_s == 0 and c.sent_mib == pytest.approx(1024)


def test_textbook_rounds_by_hand():
    # V0=1024 at 128 MiB/s: 8 s; re-dirtied min(256, 16*8)=128 -> 1 s;
    # min(256, 16*1)=16 MiB <= 128*0.3=38.4 -> stop; downtime 16/128.
    c = run(1024, 16, 256)
    assert c.rounds == 2 and c.converged
    assert c.time_s == pytest.approx(8 + 1 + 0.125)
    assert c.downtime_s == pytest.approx(0.125)
    assert c.sent_mib == pytest.approx(1024 + 128 + 16)


def test_round_cap_forces_stop_and_copy():
    c = run(512, 256, 256, bw=32, rounds=7)
    assert not c.converged and c.rounds == 7
    assert c.downtime_s == pytest.approx(256 / 32.0)


@pytest.mark.parametrize('memory', [256, 512, 1024, 2048])
def test_fig1_time_grows_with_memory_downtime_does_not(memory):
    small, big = run(memory, 64, 64, bw=32), run(memory * 2, 64, 64, bw=32)
    assert big.time_s > small.time_s
    assert big.downtime_s == pytest.approx(small.downtime_s)


@pytest.mark.parametrize('wss', [16, 64, 128])
def test_fig1_time_and_downtime_grow_with_dirty_set(wss):
    small, big = run(1024, 64, wss, bw=32), run(1024, 64, wss * 2, bw=32)
    assert big.time_s > small.time_s
    assert big.downtime_s > small.downtime_s


def test_unthrottled_stop_copy_shortens_downtime_only_at_the_end():
    slow = run(1024, 64, 256, bw=32, rounds=7)
    fast = run(1024, 64, 256, bw=32, rounds=7, stop_copy_bandwidth=1500)
    assert fast.downtime_s < slow.downtime_s
    assert fast.sent_mib == pytest.approx(slow.sent_mib)


def test_interference_slows_time_and_downtime():
    base = run(1024, 64, 256, bw=32, rounds=7)
    slowed = run(1024, 64, 256, bw=32, rounds=7, time_factor=1.3,
                 downtime_factor=1.5)
    assert slowed.time_s > base.time_s
    assert slowed.downtime_s == pytest.approx(base.downtime_s * 1.5)


def test_bandwidth_must_be_positive():
    with pytest.raises(ValueError):
        run(1024, 0, 0, bw=0)


@pytest.mark.parametrize('src, dst, expected', [
    (set(), set(), (1.0, 1.0)),
    ({'memory'}, set(), (P.dirty_on_source_time, 1.0)),
    ({'web'}, set(), (P.web_on_source_time, P.web_on_source_downtime)),
    (set(), {'net_rx'}, (P.netrx_on_dest_time, P.netrx_on_dest_downtime)),
    ({'net_rx', 'cpu', 'disk_io'}, {'memory', 'web'}, (1.0, 1.0)),
])
def test_interference_factors_section_3_3(src, dst, expected):
    assert cost.interference_factors(src, dst, P) == pytest.approx(
        expected)


def test_used_memory_is_the_first_round():
    inst = b.vm('a', 'h', ram_mb=4096)
    touched = cost.instance_cost(inst, b.usage('idle', ram=1024), P)
    unknown = cost.instance_cost(inst, snap.make_usage({}), P)
    assert touched.sent_mib == pytest.approx(1024)
    assert unknown.sent_mib == pytest.approx(4096)


def test_dirty_rate_defaults_to_assumption_when_missing():
    inst = b.vm('a', 'h', ram_mb=4096)
    p = params.Params(dirty_rate_when_unknown=500.0, migration_bandwidth=100.0)
    assumed = cost.instance_cost(inst, snap.make_usage({'ram': 2048}), p)
    zero = cost.instance_cost(inst, snap.make_usage({'ram': 2048}),
                              params.Params(migration_bandwidth=100.0))
    assert assumed.time_s > zero.time_s
