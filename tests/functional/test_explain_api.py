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

"""Each move's explanation, stored by our planner, read through Watcher's API.

Built on Watcher's own API ``FunctionalTest`` (Watcher's pecan application
over a per-test SQLite database with Watcher's schema): the strategy runs,
our planner writes the action plan, and ``openstack optimize informed
explain`` reads it back through ``GET /v1/action_plans/<uuid>`` and
``GET /v1/actions/detail`` (API 1.5) -- the requests a keystoneauth
session would send to watcher-api.
"""

import io
import types

from watcher import objects
from watcher.common import utils
from watcher.decision_engine import sync
from watcher.decision_engine.loading import default as loading
from watcher.tests.unit.api import base as api_base
from watcher.tests.unit.db import utils as db_utils

from tests.functional import cluster as cl
from tests.functional import conftest
from tests.functional import test_planner_db
from watcher_informed.adapters import solution as solution_adapter
from watcher_informed.osc import v1

STRATEGY = 'informed_live_migration'
GOAL = 'informed_workload_balancing'


class _Response:
    def __init__(self, resp):
        self.status_code = resp.status_int
        self.text = resp.text
        self._json = resp.json if resp.content_type == 'application/json' \
            else None

    def json(self):
        return self._json


class _Session:
    """keystoneauth's ``get`` on Watcher's test application."""

    def __init__(self, app):
        self.app = app
        self.seen = []

    def get(self, path, endpoint_filter=None, headers=None,
            raise_exc=True):
        self.seen.append((path, dict(headers or {})))
        return _Response(self.app.get(path, headers=headers,
                                      expect_errors=True))


class ExplainThroughWatcherApiTest(api_base.FunctionalTest):

    def setUp(self):
        self.addCleanup(conftest.ensure_watcher_conf)
        super().setUp()
        sync.Syncer().sync()
        goal = objects.Goal.get_by_name(self.context, GOAL)
        strategy = objects.Strategy.get_by_name(self.context, STRATEGY)
        self.audit = db_utils.create_test_audit(
            uuid=utils.generate_uuid(), goal_id=goal.id,
            strategy_id=strategy.id)

    def plan(self, cluster, action_type=None):
        if action_type is None:
            strategy, solution = cl.run(cluster)
        else:
            strategy = cl.prepare(cluster)
            strategy.config['migration_action'] = action_type
            solution = strategy.execute()
        planner = loading.DefaultPlannerLoader().load(
            name=solution.strategy.planner)
        return strategy.informed_plan, planner.schedule(
            self.context, self.audit.id, solution)

    def fail_and_explain(self, action, plan_uuid):
        """``action`` FAILED with the applier's message; its explain row."""
        action.state = objects.action.State.FAILED
        action.status_message = 'Action failed in execute: no host'
        action.save()
        columns, rows, _ = self.explain(plan_uuid)
        return [dict(zip(columns, r)) for r in rows
                if r[1] == action.uuid][0]

    def explain(self, plan_uuid, formatter='table'):
        session = _Session(self.app)
        out, err = io.StringIO(), io.StringIO()
        app = types.SimpleNamespace(
            client_manager=types.SimpleNamespace(
                session=session, interface='public', region_name=None),
            stdout=out, stderr=err, options=None)
        cmd = v1.ExplainInformed(app, None)
        parsed = cmd.get_parser('explain').parse_args(
            [plan_uuid, '-f', formatter])
        try:
            columns, rows = cmd.take_action(parsed)
        except SystemExit as exc:
            return exc.code, err.getvalue(), session
        self.last_left = cmd.left
        return list(columns), list(rows), session

    def test_hosts_left_overloaded_come_back_with_their_reason(self):
        core_plan, action_plan = self.plan(
            test_planner_db.left_overloaded_cluster())
        self.assertEqual(('hA',), core_plan.still_overloaded)
        columns, rows, _ = self.explain(action_plan.uuid)
        self.assertEqual([], rows)
        cmd_left = self.last_left
        self.assertTrue(cmd_left.startswith('1 of 1 overloaded host(s) '
                                            'left: hA (partial relief'))
        self.assertIn(core_plan.left['hA'], cmd_left)

    def test_every_action_explains_its_move(self):
        core_plan, action_plan = self.plan(
            test_planner_db.capacity_dependency_cluster())
        self.assertGreaterEqual(len(core_plan.moves), 4)
        columns, rows, session = self.explain(action_plan.uuid)
        # API 1.5 was asked for: status_message is hidden below it
        self.assertTrue(all(h.get('OpenStack-API-Version') ==
                            'infra-optim 1.5' for _, h in session.seen))
        by_instance = {}
        for row in rows:
            by_instance[dict(zip(columns, row))['Instance']] = \
                dict(zip(columns, row))
        self.assertEqual(len(core_plan.moves), len(rows))
        steps = [r[0] for r in rows]
        self.assertEqual(sorted(steps), steps)
        for move in core_plan.moves:
            row = by_instance[move.name]
            self.assertEqual(move.step, row['Step'])
            self.assertEqual(move.cls, row['Class'])
            self.assertEqual((move.source, move.dest),
                             (row['Source'], row['Destination']))
            self.assertAlmostEqual(move.time_s, row['Time (s)'], delta=0.05)
            self.assertEqual(round(move.downtime_s * 1000.0),
                             row['Downtime (ms)'])
            self.assertEqual(round(move.sent_mib), row['Transferred (MiB)'])
            self.assertEqual('PENDING', row['State'])
            # migrate: the reason is the status message's compact form,
            # its cost notes kept
            stored = solution_adapter.status_message(move)
            self.assertLessEqual(len(stored), 255)
            self.assertTrue(row['Reason'].startswith('VM: relieves'))
            self.assertEqual(stored.split('. ', 1)[1], row['Reason'])
            self.assertEqual('status message', row['Reason from'])
            if '. cost: ' in move.reason:
                self.assertIn('. cost: ', row['Reason'])
                self.assertFalse(row['Reason'].endswith('\u2026'))
            parents = {m.uuid: m.step for m in core_plan.moves}
            want_after = ','.join(str(parents[p]) for p in move.parents)
            self.assertEqual(sorted((want_after or '-').split(',')),
                             sorted(row['After'].split(',')))

    def test_informed_migrate_keeps_the_whole_reason_in_its_input(self):
        core_plan, action_plan = self.plan(
            test_planner_db.capacity_dependency_cluster(),
            'informed_migrate')
        # stored by Watcher's database as our planner wrote it
        stored = {a.input_parameters['resource_id']: a
                  for a in objects.Action.list(
                      self.context,
                      filters={'action_plan_uuid': action_plan.uuid},
                      eager=True)}
        self.assertEqual(len(core_plan.moves), len(stored))
        for move in core_plan.moves:
            a = stored[move.uuid]
            self.assertEqual('informed_migrate', a.action_type)
            text = a.input_parameters['explanation']
            self.assertEqual(solution_adapter.explanation(move), text)
            self.assertTrue(text.endswith(move.reason))
            self.assertEqual(solution_adapter.status_message(move),
                             a.status_message)
        # and read back through the API, whole
        columns, rows, _ = self.explain(action_plan.uuid, 'json')
        by_instance = {r['Instance']: r for r in
                       (dict(zip(columns, row)) for row in rows)}
        for move in core_plan.moves:
            row = by_instance[move.name]
            self.assertEqual(move.reason, row['Reason'])
            self.assertEqual('input', row['Reason from'])
            self.assertEqual((move.step, move.cls),
                             (row['Step'], row['Class']))
        # the applier replaces the status message: the reason stays
        row = self.fail_and_explain(stored[core_plan.moves[0].uuid],
                                    action_plan.uuid)
        self.assertEqual(('FAILED', core_plan.moves[0].cls, 'input'),
                         (row['State'], row['Class'], row['Reason from']))
        self.assertEqual(core_plan.moves[0].reason + ' (status message: '
                         'Action failed in execute: no host)',
                         row['Reason'])

    def test_failed_action_shows_the_appliers_message(self):
        _, action_plan = self.plan(
            test_planner_db.capacity_dependency_cluster())
        actions = objects.Action.list(
            self.context, filters={'action_plan_uuid': action_plan.uuid},
            eager=True)
        row = self.fail_and_explain(actions[0], action_plan.uuid)
        self.assertEqual('FAILED', row['State'])
        self.assertIn('Action failed in execute: no host', row['Reason'])
        self.assertEqual('-', row['Class'])
        self.assertEqual('status message', row['Reason from'])

    def test_unknown_plan_and_other_strategies_exit_2(self):
        code, err, _ = self.explain(utils.generate_uuid())
        self.assertEqual(2, code)
        self.assertIn('not found', err)
        other = objects.Strategy.get_by_name(self.context, 'dummy')
        plan = db_utils.create_test_action_plan(
            id=77, uuid=utils.generate_uuid(), audit_id=self.audit.id,
            strategy_id=other.id)
        code, err, _ = self.explain(plan.uuid)
        self.assertEqual(2, code)
        self.assertIn('made by strategy dummy', err)
