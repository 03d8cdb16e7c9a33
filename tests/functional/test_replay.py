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

"""Continuous audits over real traces: no ping-pong, no less relief.

Six hours of 10-minute audits on the Bitbrains traces (bench/replay.py):
ours runs the real strategy with the record of its own past migrations,
Watcher's workload_balance and workload_stabilization run through their
real classes; every plan is executed by the simulator.
"""

import pytest

from bench import replay
from bench import scenarios

pytestmark = pytest.mark.skipif(
    not scenarios.TRACE_DIR.exists() and not scenarios.CACHE.exists(),
    reason='Bitbrains traces not found at %s' % scenarios.TRACE_DIR)


@pytest.fixture(scope='module')
def rows():
    got = replay.replay(hosts=8, hours=6, interval=600, seed=1)
    return {r['contender']: r for r in got}


def test_ours_never_moves_a_vm_back_and_forth(rows):
    assert rows['informed']['migrations'] >= 1
    assert rows['informed']['ping_pong'] == 0
    # the replay can detect it: the unmemoried peer does bounce VMs
    assert rows['workload_stabilization']['ping_pong'] > 0


def test_balance_on_still_never_moves_a_vm_back_and_forth(rows):
    # the balance moves more, under the same cooldown and no-move-back
    assert rows['informed+balance']['migrations'] >= \
        rows['informed']['migrations']
    assert rows['informed+balance']['ping_pong'] == 0
    assert rows['informed+balance']['migrations'] < \
        rows['workload_stabilization']['migrations']


def test_ours_keeps_hosts_under_threshold_as_often_as_the_peers(rows):
    ours = rows['informed']['over_threshold_share']
    for peer in ('workload_balance', 'workload_stabilization'):
        assert ours <= rows[peer]['over_threshold_share'] + 1e-9, peer


def test_ours_moves_less_than_the_rebalancer(rows):
    assert rows['informed']['migrations'] < \
        rows['workload_stabilization']['migrations']
    assert rows['informed']['cost_core_s'] < \
        rows['workload_stabilization']['cost_core_s']
