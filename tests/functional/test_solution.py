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

"""Core plan -> Watcher solution, through Watcher's real solution class."""

from watcher.decision_engine.solution import default

from tests.functional import cluster as cl
from watcher_informed.adapters import solution as solution_adapter


def _hot_cluster(n):
    k = cl.Cluster()
    k.host('hot', vcpus=8)
    for i in range(4):
        k.host('cool%d' % i, vcpus=16)
    for i in range(n):
        k.vm('v%d' % i, 'hot', vcpus=1, memory=1024, cpu=0.95)
    return k


def test_emitted_actions_equal_watchers_add_action():
    strategy, solution = cl.run(_hot_cluster(8))
    plan = strategy.informed_plan
    assert plan.moves, 'the hot host must shed instances'
    reference = default.DefaultSolution(strategy.goal, strategy)
    for move in plan.moves:
        reference.add_action(
            action_type='migrate', resource_id=move.uuid,
            input_parameters=solution_adapter.migrate_input(move))
    assert solution.actions == reference.actions


class _Recording(default.DefaultSolution):
    """A solution class of somebody else's: its add_action is used."""

    def __init__(self, strategy):
        super().__init__(strategy.goal, strategy)
        self.calls = 0

    def add_action(self, **kwargs):
        self.calls += 1
        return super().add_action(**kwargs)


def test_another_solution_class_keeps_its_own_add_action():
    strategy, _ = cl.run(_hot_cluster(8))
    other = _Recording(strategy)
    solution_adapter.emit(other, strategy.informed_plan)
    assert other.calls == len(strategy.informed_plan.moves) > 0
