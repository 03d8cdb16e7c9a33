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

"""The balance benchmark's audits (bench/run.py ``balance``).

``--paper-platform`` tells our audits of the paper mixes the platform
the simulator runs them on, through the audit parameters an operator
would set; the simulator's truth is the same either way.
"""

import pytest

from bench import run
from bench import scenarios
from watcher_informed.adapters import parameters
from watcher_informed.evaluation import workloads


@pytest.mark.parametrize('told', [False, True])
def test_paper_mix_audit_is_told_the_simulated_platform_on_request(told):
    scenario = scenarios.paper_mix(1)
    audit = run._audit(scenario, paper_platform=told)
    p, _ = parameters.to_params(audit, None)
    truth = workloads.paper_params()
    assert p.migration_bandwidth == truth.migration_bandwidth
    assert p.host_network_capacity == truth.host_network_capacity
    same = (p.live_migration_completion_timeout ==
            truth.live_migration_completion_timeout and
            p.live_migration_downtime == truth.live_migration_downtime)
    assert same is told


class _Bitbrains:
    name = 'bitbrains-8h-s1'
    link_mibps = 1250.0


def test_the_platform_is_told_only_of_the_paper_mixes():
    assert run._audit(_Bitbrains(), paper_platform=True) == \
        run._audit(_Bitbrains())
    assert 'deploy_overrides' not in run._audit(_Bitbrains(), True)


def test_balance_runs_the_paper_mix_with_the_platform_told():
    rows = run.balance_scenario(scenarios.paper_mix(1), paper_platform=True)
    assert set(rows) == set(run.BALANCE_CONTENDERS)
    for name in ('informed', 'informed+balance'):
        assert rows[name]['violations'] == 0
