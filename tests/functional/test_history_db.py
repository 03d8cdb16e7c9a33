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

"""Cooldowns read from Watcher's real database, across audits.

The first audit's plan is written by our planner into Watcher's database
(Watcher's own ``DbTestCase``: SQLite with Watcher's schema) and its
actions are marked SUCCEEDED as the applier would.  A second audit -- a
new strategy object, as after a decision-engine restart -- reads those
rows through the strategy's default history source and must leave the
migrated instances resting.
"""

import time

from watcher import objects
from watcher.common import utils
from watcher.decision_engine import sync
from watcher.decision_engine.loading import default as loading
from watcher.tests.unit.db import base as db_base
from watcher.tests.unit.db import utils as db_utils

from tests.functional import cluster as cl
from tests.functional import conftest
from watcher_informed.adapters import history


def hot_cluster():
    k = cl.Cluster()
    k.host('hA', vcpus=8, memory=16384)
    k.host('hB', vcpus=8, memory=16384)
    k.host('hC', vcpus=8, memory=16384)
    for i in range(4):
        k.vm('a%d' % i, 'hA', vcpus=2, memory=2048, cpu=1.0, ram=1024)
    return k


class HistoryDbTest(db_base.DbTestCase):

    def setUp(self):
        self.addCleanup(conftest.ensure_watcher_conf)
        super().setUp()
        sync.Syncer().sync()
        goal = objects.Goal.get_by_name(self.context,
                                        'informed_workload_balancing')
        strategy = objects.Strategy.get_by_name(self.context,
                                                'informed_live_migration')
        self.audit = db_utils.create_test_audit(
            uuid=utils.generate_uuid(), goal_id=goal.id,
            strategy_id=strategy.id)

    def _apply_first_audit(self, action_type='migrate'):
        strategy = cl.prepare(hot_cluster())
        strategy.config['migration_action'] = action_type
        solution = strategy.execute()
        planner = loading.DefaultPlannerLoader().load(
            name=solution.strategy.planner)
        plan = planner.schedule(self.context, self.audit.id, solution)
        actions = objects.Action.list(
            self.context, filters={'action_plan_uuid': plan.uuid},
            eager=True)
        for action in actions:
            action.state = objects.action.State.SUCCEEDED
            action.save()
        return strategy.informed_plan

    def test_recent_moves_are_read_back(self):
        for action_type in ('migrate', 'informed_migrate'):
            first = self._apply_first_audit(action_type)
            self.assertTrue(first.moves)
            got = history.recent_moves(self.context, time.time(), 3600)
            self.assertEqual(
                sorted((m.uuid, m.source, m.dest) for m in first.moves),
                sorted((m.uuid, m.source, m.dest) for m in got))
            # forget this round: only succeeded migrations are read
            for action in objects.Action.list(self.context, eager=True):
                action.state = objects.action.State.CANCELLED
                action.save()
        # outside the window they are forgotten
        self.assertEqual((), history.recent_moves(
            self.context, time.time() + 7200, 3600))

    def test_second_audit_leaves_migrated_instances_resting(self):
        first = self._apply_first_audit()
        moved = {m.uuid for m in first.moves}
        # same metrics, same placement: without memory the same instances
        # would be chosen again
        again = cl.prepare(hot_cluster())
        again.history_source = None      # the default: Watcher's database
        again.execute()
        plan = again.informed_plan
        self.assertFalse(moved & {m.uuid for m in plan.moves})
        for uuid in moved:
            self.assertIn('cooling down', plan.not_moved[uuid])
