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

"""A failed move inside Watcher's real applier, with ``informed_migrate``.

The strategy plans with ``migration_action = informed_migrate`` on a
cluster where moves into a full host wait for moves out of it; our planner
writes the action plan into Watcher's database (``DbTestCase``: SQLite,
Watcher's schema); Watcher's own action-plan handler runs it through its
TaskFlow workflow engine, which loads our action through the
``watcher_actions`` entry point.  Nova and Placement are the in-memory
stand-in of ``tests/unit/fake_cloud.py`` (the real ones run in
``tests/e2e``), which refuses the first move that frees room.  Checked:
that move FAILED, every move counting on its room SKIPPED with the reason,
the rest SUCCEEDED, no host ever over capacity, and Nova asked only for
the moves that were started.  With ``migrate`` the same plan starts the
moves that count on the failed one.
"""

from unittest import mock

from watcher import objects
from watcher.applier.action_plan import default as plan_handler
from watcher.common import utils
from watcher.decision_engine import sync
from watcher.decision_engine.loading import default as loading
from watcher.tests.unit.db import base as db_base
from watcher.tests.unit.db import utils as db_utils

from tests.functional import cluster as cl
from tests.functional import conftest
from tests.functional import test_planner_db as planner_db
from tests.unit import fake_cloud

STRATEGY = 'informed_live_migration'
GOAL = 'informed_workload_balancing'
SKIPPED = objects.action.State.SKIPPED
FAILED = objects.action.State.FAILED
SUCCEEDED = objects.action.State.SUCCEEDED


class InformedMigrateApplierTest(db_base.DbTestCase):

    def setUp(self):
        self.addCleanup(conftest.ensure_watcher_conf)
        super().setUp()
        sync.Syncer().sync()
        goal = objects.Goal.get_by_name(self.context, GOAL)
        strategy = objects.Strategy.get_by_name(self.context, STRATEGY)
        self.audit = db_utils.create_test_audit(
            uuid=utils.generate_uuid(), goal_id=goal.id,
            strategy_id=strategy.id)

    def plan(self, cluster, action_type):
        strategy = cl.prepare(cluster)
        strategy.config['migration_action'] = action_type
        solution = strategy.execute()
        planner = loading.DefaultPlannerLoader().load(
            name=solution.strategy.planner)
        action_plan = planner.schedule(self.context, self.audit.id,
                                       solution)
        return strategy.informed_plan, action_plan

    def apply(self, action_plan, cloud):
        with mock.patch('watcher.common.nova_helper.NovaHelper',
                        cloud.helper), \
                mock.patch('watcher.common.placement_helper.'
                           'PlacementHelper', cloud.helper):
            plan_handler.DefaultActionPlanHandler(
                self.context, mock.MagicMock(), action_plan.uuid).execute()
        plan = objects.ActionPlan.get_by_uuid(self.context, action_plan.uuid)
        actions = objects.Action.list(
            self.context, filters={'action_plan_uuid': plan.uuid})
        return plan, {a.input_parameters['resource_id']: a for a in actions}

    def scenario(self, action_type):
        """Plan, make Nova refuse a room-making move, apply."""
        k = planner_db.capacity_dependency_cluster()
        core_plan, action_plan = self.plan(k, action_type)
        cloud = fake_cloud.FakeCloud.from_model(
            planner_db.capacity_dependency_cluster().model)
        moves = {m.uuid: m for m in core_plan.moves}
        waiting = {m.uuid: [p for p in m.parents
                            if moves[p].source == m.dest]
                   for m in core_plan.moves}
        failed = min((p for ps in waiting.values() for p in ps),
                     key=lambda u: moves[u].step)
        cloud.refuse.add(failed)
        plan, actions = self.apply(action_plan, cloud)
        return k, moves, waiting, failed, cloud, plan, actions

    def test_moves_counting_on_a_failed_one_skip_with_the_reason(self):
        k, moves, waiting, failed, cloud, plan, actions = self.scenario(
            'informed_migrate')
        self.assertEqual({'informed_migrate'},
                         {a.action_type for a in actions.values()})
        self.assertEqual(FAILED, plan.state)
        self.assertEqual(FAILED, actions[failed].state)
        # every move whose room depends (transitively) on the failed one
        lost, grew = {failed}, True
        while grew:
            grew = False
            for uuid, parents in waiting.items():
                if uuid not in lost and lost & set(parents):
                    lost.add(uuid)
                    grew = True
        self.assertGreater(len(lost), 1, 'the cluster must have a waiter')
        for uuid in sorted(lost - {failed}):
            a = actions[uuid]
            self.assertEqual(SKIPPED, a.state, k.names[uuid])
            self.assertIn('Action was skipped automatically: not started: '
                          'waits for room on %s' % moves[uuid].dest,
                          a.status_message)
            self.assertLessEqual(len(a.status_message), 255)
        for uuid in sorted(set(moves) - lost):
            self.assertEqual(SUCCEEDED, actions[uuid].state, k.names[uuid])
        # Nova was asked only for the moves that started
        self.assertEqual(set(moves) - (lost - {failed}),
                         {m[0] for m in cloud.migrations})
        self.assertEqual([], cloud.over_capacity())
        where = cloud.where()
        for uuid, move in moves.items():
            want = move.source if uuid in lost else move.dest
            self.assertEqual(want, where[uuid], k.names[uuid])

    def test_with_migrate_the_waiting_moves_still_start(self):
        k, moves, waiting, failed, cloud, plan, actions = self.scenario(
            'migrate')
        self.assertEqual({'migrate'},
                         {a.action_type for a in actions.values()})
        self.assertEqual(FAILED, actions[failed].state)
        waiters = [u for u, ps in waiting.items() if failed in ps]
        self.assertTrue(waiters)
        started = {m[0] for m in cloud.migrations}
        for uuid in waiters:
            self.assertNotEqual(SKIPPED, actions[uuid].state)
            self.assertIn(uuid, started, k.names[uuid])


def test_the_option_changes_the_type_adds_freed_by_and_explanation():
    from tests.functional import test_planner_db as pdb
    from watcher_informed.planners import informed_live_migration as pl

    def solve(action_type):
        strategy = cl.prepare(pdb.capacity_dependency_cluster())
        strategy.config['migration_action'] = action_type
        solution = strategy.execute()
        rows = pl.action_parents(solution.actions, strategy.informed_plan)
        uuid_of = {new: a['input_parameters']['resource_id']
                   for a, new, _ in rows}
        return [(a['action_type'], dict(a['input_parameters']),
                 sorted(uuid_of[p] for p in parents))
                for a, _, parents in rows], solution

    plain, plain_solution = solve('migrate')
    ours, ours_solution = solve('informed_migrate')
    assert {t for t, _, _ in plain} == {'migrate'}
    assert {t for t, _, _ in ours} == {'informed_migrate'}
    assert any(params.get('freed_by') for _, params, _ in ours)
    for (_, p1, parents1), (_, p2, parents2) in zip(plain, ours):
        waits = p2.pop('freed_by', [])
        assert p2.pop('explanation').startswith('informed step ')
        assert p1 == p2
        assert parents1 == parents2
        assert set(waits) <= set(parents1)
    assert [i.value for i in plain_solution.efficacy_indicators] == \
        [i.value for i in ours_solution.efficacy_indicators]
