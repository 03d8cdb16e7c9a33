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


@pytest.mark.parametrize('metrics, first, note', [
    # the host-side resident size, never the (much smaller) used memory
    ({'ram': 100, 'ram_resident': 3000}, 3000, False),
    # resident above the flavor (QEMU's own memory): capped at the flavor
    ({'ram_resident': 5000}, 4096, False),
    # no resident size: the flavor's RAM, an upper bound, with a note
    ({'ram': 1024}, 4096, True),
    ({}, 4096, True),
])
def test_first_round_is_the_resident_size(metrics, first, note):
    inst = b.vm('a', 'h', ram_mb=4096)
    c = cost.instance_cost(inst, snap.make_usage(metrics), P)
    assert c.sent_mib == pytest.approx(first)
    flagged = any('upper bound' in n for n in c.notes)
    assert flagged == note


def _nova(**kw):
    values = dict(downtime_ms=500, steps=10, delay_s=75,
                  completion_timeout_s=800, data_gib=2.0)
    values.update(kw)
    return cost.Nova(**values)


def test_nova_downtime_steps_like_nova():
    # Nova's downtime_steps(2 GiB): (0, 50), (150, 95), ..., (1500, 500)
    nova = _nova()
    assert nova.limit_ms(0) == 50
    assert nova.limit_ms(149.9) == 50
    assert nova.limit_ms(150) == 95
    assert nova.limit_ms(1500) == 500
    assert nova.limit_ms(1e9) == 500
    assert nova.next_step_s(10) == 150
    assert nova.timeout_s == 1600


def test_rising_downtime_limit_lets_a_migration_converge():
    # 200 MiB/s into a 32 MiB working set at 100 MiB/s: the remainder
    # (32 MiB) needs a 320 ms limit, reached at the 6th step (900 s)
    c = run(1024, 200, 32, bw=100, limit_ms=None, rounds=30,
            nova=_nova())
    assert c.outcome == cost.CONVERGED
    assert 900 <= c.time_s < 901


@pytest.mark.parametrize('kw, outcome, completes', [
    ({}, cost.ABORTED, False),
    ({'timeout_action': 'force_complete'}, cost.PAUSED, True),
    ({'timeout_action': 'force_complete', 'post_copy': True},
     cost.POST_COPY, True),
    ({'auto_converge': True}, cost.THROTTLED, True),
])
def test_non_converging_migration_ends_as_nova_runs_it(kw, outcome,
                                                        completes):
    # dirtying 200 MiB/s into 512 MiB at 100 MiB/s never converges
    c = run(2048, 200, 512, bw=100, limit_ms=None, rounds=30,
            nova=_nova(**kw))
    assert c.outcome == outcome
    assert c.completes == completes
    if outcome in (cost.ABORTED, cost.PAUSED, cost.POST_COPY):
        assert c.time_s >= 1600
    if outcome == cost.PAUSED:
        assert c.downtime_s > 1.0
    if outcome == cost.POST_COPY:
        assert c.downtime_s < 0.1
    if outcome == cost.THROTTLED:
        assert c.time_s < 1600


def test_aborted_move_is_never_planned_and_says_why():
    inst = b.vm('a', 'h', ram_mb=2048)
    usage = snap.make_usage({'ram_resident': 2048, 'dirty_rate': 300,
                             'wss': 1024})
    c = cost.instance_cost(inst, usage, params.Params(migration_bandwidth=100))
    assert not c.completes
    assert any('aborts' in n for n in c.notes)


@pytest.mark.parametrize('capacity, flows, count, expected', [
    (119, [], 1, 119),
    (119, [0.5, 0.5], 1, 118),          # small senders take what they ask
    (119, [60, 60], 1, 119 / 3.0),      # two greedy web servers: 1/3 each
    (119, [10, 60], 1, 54.5),           # 10 served, rest split in two
    (100, [], 2, 50),                   # two migrations share the NIC
    (100, [1000], 1, 50),
])
def test_fair_share(capacity, flows, count, expected):
    got = cost.fair_share(capacity, flows, float('inf'), count)
    assert got == pytest.approx(expected)


def test_link_share_is_the_tightest_nic():
    assert cost.link_share(100, 119, [60, 60], 1250, []) == pytest.approx(
        119 / 3.0)
    assert cost.link_share(100, 1250, [], 119, [100]) == pytest.approx(59.5)
    assert cost.link_share(100, 1250, [], 1250, []) == 100


def test_dirty_rate_defaults_to_assumption_when_missing():
    inst = b.vm('a', 'h', ram_mb=4096)
    p = params.Params(dirty_rate_when_unknown=500.0, migration_bandwidth=100.0)
    assumed = cost.instance_cost(inst, snap.make_usage({'ram': 2048}), p)
    zero = cost.instance_cost(inst, snap.make_usage({'ram': 2048}),
                              params.Params(migration_bandwidth=100.0))
    assert assumed.time_s > zero.time_s


@pytest.mark.parametrize('kw', [
    {},
    {'timeout_action': 'abort'},
    {'timeout_action': 'force_complete'},
    {'timeout_action': 'force_complete', 'post_copy': True},
])
def test_fast_built_costs_equal_the_constructors(kw):
    nova = cost.Nova(completion_timeout_s=1.0, **kw)
    for got in (cost.precopy(8192, 50, 4096, 1250, 500, 30),
                cost.precopy(65536, 3000, 60000, 100, 500, 30, nova=nova)):
        built = cost.MigrationCost(**vars(got))
        assert got == built and hash(got) == hash(built)
        assert type(got) is cost.MigrationCost
        noted = got.with_notes(None, 'a', None, 'b')
        assert noted == cost.MigrationCost(
            **dict(vars(got), notes=got.notes + ('a', 'b')))
        assert got.notes == () and got.with_notes(None) == got
    p = params.Params(live_migration_timeout_action='force_complete',
                      live_migration_permit_post_copy=True)
    assert cost.Nova.from_params(p, 16384) == cost.Nova(
        p.live_migration_downtime, p.live_migration_downtime_steps,
        p.live_migration_downtime_delay,
        p.live_migration_completion_timeout, 'force_complete',
        p.live_migration_permit_auto_converge, True, 16.0)
