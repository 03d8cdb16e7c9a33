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

"""The simulator reproduces the paper's findings (Table 1, Fig. 1, 3.3)."""

import dataclasses

import pytest

from tests.unit import builders as b
from watcher_informed.core import params
from watcher_informed.evaluation import simulate
from watcher_informed.evaluation import workloads

P = workloads.paper_params()
SETUP = simulate.Setup(link_mibps=workloads.LINK_1GBE)


def one(truth, p=P, setup=SETUP):
    snapshot = b.cluster([b.host('A'), b.host('B')],
                         [b.vm('x', 'A', ram_mb=int(truth.first_round_mib))])
    result = simulate.simulate(snapshot, [('x', 'A', 'B')], {}, p, setup,
                               truths={'x': truth})
    return result.moves[0]


def test_table1_ranking_of_time_and_downtime():
    runs = {name: one(t) for name, t in workloads.PAPER.items()}
    by_time = sorted(runs, key=lambda n: -(runs[n].end_s - runs[n].start_s))
    by_down = sorted(runs, key=lambda n: -runs[n].downtime_s)
    paper_time = sorted(workloads.TABLE1, key=lambda n:
                        -workloads.TABLE1[n][0])
    paper_down = sorted(workloads.TABLE1, key=lambda n:
                        -workloads.TABLE1[n][1])
    assert by_time == paper_time
    assert by_down == paper_down


@pytest.mark.parametrize('memory', [1024, 2048, 4096])
def test_fig1_time_grows_with_memory_downtime_does_not(memory):
    small = one(simulate.Truth('memory', memory, 150.0, 128.0))
    big = one(simulate.Truth('memory', memory * 2, 150.0, 128.0))
    assert big.end_s > small.end_s
    assert big.downtime_s == pytest.approx(small.downtime_s, rel=1e-6)


@pytest.mark.parametrize('wss', [32, 64, 128, 256])
def test_fig1_time_and_downtime_grow_with_dirty_size(wss):
    small = one(simulate.Truth('memory', 2048, 150.0, wss))
    big = one(simulate.Truth('memory', 2048, 150.0, wss * 2))
    assert big.end_s > small.end_s
    assert big.downtime_s > small.downtime_s


def test_lone_migration_matches_the_cost_model():
    truth = workloads.PAPER['SPEC-jbb']
    move = one(truth)
    from watcher_informed.core import cost
    model = cost.precopy(truth.first_round_mib, truth.dirty_mibps,
                         truth.wss_mib, workloads.LINK_1GBE, 300.0, 29,
                         fixed_downtime_ms=10.0)
    assert move.end_s == pytest.approx(model.time_s, rel=1e-6)
    assert move.downtime_s == pytest.approx(model.downtime_s, rel=1e-6)
    assert move.sent_mib == pytest.approx(model.sent_mib, rel=1e-6)


def sequence_experiment(kind, position):
    """Section 3.3: 8 VMs leave A for B one after the other.

    One of them (at ``position``) runs a workload, the others are idle.
    """
    idle = simulate.Truth('idle', 1024.0, 0.0, 0.0)
    loaded = {'memory': simulate.Truth('memory', 1024.0, 150.0, 128.0),
              'net_rx': simulate.Truth('net_rx', 1024.0, 1.0, 16.0,
                                       net_rx_mibps=60.0),
              'web': simulate.Truth('web', 1024.0, 8.0, 64.0,
                                    net_tx_mibps=60.0)}[kind]
    names = ['vm%d' % i for i in range(8)]
    truths = {n: (loaded if i == position else idle)
              for i, n in enumerate(names)}
    snapshot = b.cluster([b.host('A', vcpus=64, ram_mb=65536),
                          b.host('B', vcpus=64, ram_mb=65536)],
                         [b.vm(n, 'A', ram_mb=1024) for n in names])
    moves = [(n, 'A', 'B') for n in names]
    parents = {n: (names[i - 1],) if i else () for i, n in enumerate(names)}
    result = simulate.simulate(snapshot, moves, parents, P, SETUP,
                               truths=truths)
    others = [m for m in result.moves if m.uuid != names[position]]
    mean = sum(m.end_s - m.start_s for m in others) / len(others)
    return mean, sum(m.downtime_s for m in others) / len(others)


def test_memory_dirtying_vm_should_go_first():
    times = [sequence_experiment('memory', k)[0] for k in range(8)]
    assert times == sorted(times) and times[-1] > times[0]


def test_web_server_should_go_first_time_and_downtime():
    runs = [sequence_experiment('web', k) for k in range(8)]
    assert [r[0] for r in runs] == sorted(r[0] for r in runs)
    assert [r[1] for r in runs] == sorted(r[1] for r in runs)
    assert runs[-1][1] > runs[0][1]


def test_network_receiver_should_go_last():
    times = [sequence_experiment('net_rx', k)[0] for k in range(8)]
    assert times == sorted(times, reverse=True) and times[0] > times[-1]


def test_parallel_moves_share_the_link():
    truth = simulate.Truth('idle', 1024.0, 0.0, 0.0)
    snapshot = b.cluster([b.host('A'), b.host('B'), b.host('C')],
                         [b.vm('x', 'A', ram_mb=1024),
                          b.vm('y', 'B', ram_mb=1024)])
    p = dataclasses.replace(P, migration_bandwidth=1000.0)
    setup = simulate.Setup(link_mibps=100.0)
    both = simulate.simulate(snapshot, [('x', 'A', 'C'), ('y', 'B', 'C')],
                             {}, p, setup, truths={'x': truth, 'y': truth})
    alone = simulate.simulate(snapshot, [('x', 'A', 'C')], {}, p, setup,
                              truths={'x': truth, 'y': truth})
    # two migrations into C split its link: each takes twice as long
    assert both.moves[0].end_s == pytest.approx(2 * alone.moves[0].end_s,
                                                rel=1e-3)


@pytest.mark.parametrize('limit, expected_starts', [(1, 2), (2, 1)])
def test_nova_runs_one_outgoing_migration_per_host(limit, expected_starts):
    truth = simulate.Truth('idle', 1024.0, 0.0, 0.0)
    snapshot = b.cluster([b.host('A'), b.host('B'), b.host('C')],
                         [b.vm('x', 'A', ram_mb=1024),
                          b.vm('y', 'A', ram_mb=1024)])
    result = simulate.simulate(
        snapshot, [('x', 'A', 'B'), ('y', 'A', 'C')], {}, P,
        simulate.Setup(max_concurrent_out=limit),
        truths={'x': truth, 'y': truth})
    assert len({m.start_s for m in result.moves}) == expected_starts


def test_capacity_violation_is_counted():
    truth = simulate.Truth('idle', 1024.0, 0.0, 0.0)
    snapshot = b.cluster([b.host('A'), b.host('B', vcpus=2)],
                         [b.vm('x', 'A'), b.vm('o', 'B')])
    result = simulate.simulate(snapshot, [('x', 'A', 'B')], {}, P,
                               truths={'x': truth, 'o': truth})
    assert result.capacity_violations == 1


def test_relieved_time_and_timeline():
    vms = [b.vm('v%d' % i, 'A') for i in range(4)]
    usages = {v.uuid: b.usage('cpu', cpu=1.0) for v in vms}
    snapshot = b.cluster([b.host('A'), b.host('B')], vms, usages)
    p = params.Params(migration_bandwidth=100)
    result = simulate.simulate(snapshot, [('v0', 'A', 'B'),
                                          ('v1', 'A', 'B')],
                               {'v1': ('v0',)}, p)
    # A: 8 busy cores of 8, 6 after one move (0.75 <= 0.8): relieved
    assert result.relieved_at_s == pytest.approx(result.moves[0].end_s)
    assert result.timeline[0][1]['A'] == pytest.approx(1.0)
    assert result.timeline[-1][1]['A'] == pytest.approx(0.5)
    assert result.final_loads['B']['cpu'] == pytest.approx(0.5)


def test_unreachable_moves_are_an_error():
    snapshot = b.cluster([b.host('A'), b.host('B')], [b.vm('x', 'A')])
    with pytest.raises(RuntimeError):
        simulate.simulate(snapshot, [('x', 'A', 'B')], {'x': ('x',)}, P)


@pytest.mark.parametrize('workers, starts', [(1, 3), (2, 2), (0, 2)])
def test_applier_workers_bound_concurrency(workers, starts):
    truth = simulate.Truth('idle', 1024.0, 0.0, 0.0)
    vms = [b.vm('x', 'A', ram_mb=1024), b.vm('y', 'B', ram_mb=1024),
           b.vm('z', 'B', ram_mb=1024)]
    snapshot = b.cluster([b.host('A'), b.host('B'), b.host('C')], vms)
    result = simulate.simulate(
        snapshot, [('x', 'A', 'C'), ('y', 'B', 'C'), ('z', 'B', 'C')], {},
        P, simulate.Setup(workers=workers),
        truths={v.uuid: truth for v in vms})
    # B's two moves are serialised by Nova whatever the workers allow
    assert len({round(m.start_s, 6) for m in result.moves}) == starts


# -- the shared link and Nova's limits, against the planner's model ------

def _with_web(tx_mibps, p):
    """x migrates A -> B while a web server on A sends ``tx_mibps``."""
    snapshot = b.cluster([b.host('A'), b.host('B')],
                         [b.vm('x', 'A'), b.vm('w', 'A')])
    truths = {'x': simulate.Truth('idle', 2048.0, 0.0, 16.0),
              'w': simulate.Truth('web', 2048.0, 0.0, 16.0,
                                  net_tx_mibps=tx_mibps)}
    return simulate.simulate(snapshot, [('x', 'A', 'B')], {}, p, SETUP,
                             truths=truths).moves[0]


@pytest.mark.parametrize('tx, share', [(0.0, 1.0), (30.0, 89.0 / 119.0),
                                       (100.0, 0.5)])
def test_migration_shares_the_nic_with_a_web_server(tx, share):
    # max-min fair: a 30 MiB/s sender keeps its 30; a 100 MiB/s one and
    # the migration split the 1 GbE link in two
    p = dataclasses.replace(P, web_on_source_time=1.0,
                            web_on_source_downtime=1.0)
    move = _with_web(tx, p)
    rounds_s = 2048.0 / (workloads.LINK_1GBE * share)
    assert move.end_s - move.start_s == pytest.approx(
        rounds_s + 0.01, rel=1e-3)


def test_planner_predicts_the_simulated_link_share():
    from watcher_informed.core import cost
    p = dataclasses.replace(P, web_on_source_time=1.0,
                            web_on_source_downtime=1.0)
    move = _with_web(100.0, p)
    rate = cost.link_share(p.migration_bandwidth, workloads.LINK_1GBE,
                           [0.0, 100.0], workloads.LINK_1GBE, [])
    inst = b.vm('x', 'A')
    predicted = cost.instance_cost(
        inst, b.usage('idle', ram_resident=2048.0, wss=16.0), p,
        rate_mibps=rate, link_mibps=rate)
    assert predicted.time_s == pytest.approx(move.end_s - move.start_s,
                                             rel=1e-3)


def test_nova_aborts_a_migration_that_never_converges():
    # 200 MiB/s into 1 GiB at 119 MiB/s never converges: Nova's default
    # (abort after 800 s/GiB x 2 GiB) leaves the instance where it was
    p = params.Params(migration_bandwidth=workloads.LINK_1GBE,
                      host_network_capacity=workloads.LINK_1GBE)
    snapshot = b.cluster([b.host('A'), b.host('B')], [b.vm('x', 'A')])
    truth = simulate.Truth('memory', 2048.0, 200.0, 1024.0)
    result = simulate.simulate(snapshot, [('x', 'A', 'B')], {}, p, SETUP,
                               truths={'x': truth})
    move = result.moves[0]
    assert move.outcome == 'aborted'
    assert move.end_s == pytest.approx(1600.0)
    forced = dataclasses.replace(p, live_migration_permit_auto_converge=True)
    move = simulate.simulate(snapshot, [('x', 'A', 'B')], {}, forced, SETUP,
                             truths={'x': truth}).moves[0]
    assert move.outcome == 'throttled' and move.end_s < 1600.0


@pytest.mark.parametrize('post_copy, outcome', [(True, 'post-copy'),
                                                (False, 'paused')])
def test_nova_forces_completion_when_told(post_copy, outcome):
    p = params.Params(migration_bandwidth=workloads.LINK_1GBE,
                      host_network_capacity=workloads.LINK_1GBE,
                      live_migration_timeout_action='force_complete',
                      live_migration_permit_post_copy=post_copy)
    snapshot = b.cluster([b.host('A'), b.host('B')], [b.vm('x', 'A')])
    truth = simulate.Truth('memory', 2048.0, 200.0, 1024.0)
    move = simulate.simulate(snapshot, [('x', 'A', 'B')], {}, p, SETUP,
                             truths={'x': truth}).moves[0]
    assert move.outcome == outcome and move.end_s > 1600.0
    if post_copy:
        assert move.downtime_s == pytest.approx(p.fixed_downtime_ms / 1e3)
    else:
        # the rest of the round and the dirtied set, sent while paused
        assert move.downtime_s > 1.0
