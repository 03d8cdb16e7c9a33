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
from watcher_informed.core import gate
from watcher_informed.core import params
from watcher_informed.core import pipeline

P = params.Params()
HOST = b.host('A')   # 8 cores


def mig(time_s, downtime_s):
    return cost.MigrationCost(time_s, downtime_s, 0.0, 1, True)


@pytest.mark.parametrize('cls, expected', [
    ('cpu', 2.0 * (10 * 0.0331 + 0.1)),
    ('memory', 2.0 * (10 * 0.3326 + 0.1)),
])
def test_move_cost_uses_table1_overhead_and_busy_cores(cls, expected):
    inst = b.vm('x', 'A', vcpus=2)
    c = gate.move_cost(inst, b.usage('idle', cpu=1.0), cls, mig(10, 0.1))
    assert c == pytest.approx(expected)


def test_idle_vm_is_not_free_to_move():
    inst = b.vm('x', 'A', vcpus=4)
    assert gate.busy_cores(inst, b.usage('idle', cpu=0.0)) == \
        pytest.approx(0.4)


def test_relief_counts_only_load_above_threshold():
    load = {'cpu': 0.9, 'ram': 0.1, 'disk_io': 0.0, 'net': 0.0}
    # taking 1.6 cores off 8: 0.9 -> 0.7; only 0.1 of it was over 0.8
    assert gate.relief(HOST, load, {'cpu': 1.6}, P) == pytest.approx(0.8)


@pytest.mark.parametrize('aggressiveness, keep', [(1, False), (3, True),
                                                  (5, True)])
def test_margin_knob(aggressiveness, keep):
    load = {'cpu': 0.9, 'ram': 0.1, 'disk_io': 0.0, 'net': 0.0}
    # benefit 0.8 core x 3600 s = 2880 core-s; cost 500 core-s
    verdict = gate.judge(HOST, load, [{'cpu': 1.6}], [500.0], P, 3600.0,
                         aggressiveness)
    assert verdict.keep is keep
    assert verdict.benefit == pytest.approx(2880.0)
    assert ('>=' if keep else '<') in verdict.why


def test_pipeline_skips_a_host_not_worth_relieving():
    # A barely over the threshold; the only movable VM dirties memory
    # faster than the link copies it: a long, costly migration
    vms = [b.vm('big', 'A', vcpus=4, ram_mb=8192),
           b.vm('pin', 'A', vcpus=4, locked=True)]
    usages = {'big': b.usage('memory', cpu=0.71, ram=8000,
                             ram_resident=8000, dirty_rate=400.0),
              'pin': b.usage('idle', cpu=0.9)}
    snapshot = b.cluster([b.host('A'), b.host('B')], vms, usages)
    # no completion timeout: pre-copy runs its rounds, then stop-and-copy
    slow = params.Params(migration_bandwidth=100.0, horizon=600,
                         live_migration_completion_timeout=0)
    plan = pipeline.build_plan(snapshot, slow)
    assert plan.moves == ()
    assert plan.not_moved['big'].startswith('not worth it')
    # the same move pays off if the placement holds two days (benefit
    # 0.04 core x 172800 s = 6912 core-s vs a ~2570 core-s migration)
    long = params.Params(migration_bandwidth=100.0, horizon=172800,
                         live_migration_completion_timeout=0)
    assert [m.uuid for m in pipeline.build_plan(snapshot, long).moves] == \
        ['big']
    cautious = params.Params(migration_bandwidth=100.0, horizon=172800,
                             aggressiveness=1)
    assert pipeline.build_plan(snapshot, cautious).moves == ()
