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

"""Our planner writing a real action plan into Watcher's database.

Built on Watcher's own ``DbTestCase`` (a per-test SQLite database created
with Watcher's schema, fake messaging, Watcher's request context), like
Watcher's ``test_weight_planner``.  The goal and strategy rows are created
by Watcher's ``Syncer`` -- what ``watcher-decision-engine`` does at start
-- and the planner is loaded by name from ``strategy.planner`` as the audit
handler does.  Rows are read back through Watcher's versioned objects and
the resulting DAG is linked with taskflow exactly as Watcher's applier
(``DefaultWorkFlowEngine.execute``) links it.
"""

import jsonschema
import networkx as nx
from taskflow import task as flow_task
from taskflow.patterns import graph_flow
from watcher import objects
from watcher.applier.actions import migration
from watcher.common import utils
from watcher.decision_engine import sync
from watcher.decision_engine.loading import default as loading
from watcher.tests.unit.db import base as db_base
from watcher.tests.unit.db import utils as db_utils

from tests.functional import cluster as cl
from tests.functional import conftest

STRATEGY = 'informed_live_migration'
GOAL = 'informed_workload_balancing'
MIGRATE_SCHEMA = migration.Migrate(config=None).schema


def capacity_dependency_cluster():
    """Two hot sources, four moves, one host full until a move leaves it.

    * hA: 4 x (2 vCPU, 4096 MiB) fill its 8 vCPU / 16384 MiB; all CPU-busy
      (load 1.0), so two must leave.  Only hC can take them.
    * hB: 8 x (1 vCPU, 2048 MiB) fill it too; RAM-hot (0.996), so two must
      leave.  hC is full by then, so they go to hA -- which has room only
      once one of hA's own instances has left.
    * hC: empty, room for exactly two of hA's instances (8192 MiB).
    """
    k = cl.Cluster()
    k.host('hA', vcpus=8, memory=16384)
    k.host('hB', vcpus=8, memory=16384)
    k.host('hC', vcpus=8, memory=8192)
    for i in range(4):
        k.vm('a%d' % i, 'hA', vcpus=2, memory=4096, cpu=1.0, ram=1024)
    for i in range(8):
        k.vm('b%d' % i, 'hB', vcpus=1, memory=2048, cpu=0.1, ram=2040)
    return k


def left_overloaded_cluster():
    """hA stays overloaded: its one free instance fits nowhere."""
    k = cl.Cluster()
    k.host('hA', vcpus=8, memory=16384)
    k.host('hB', vcpus=8, memory=4096)
    k.vm('free', 'hA', vcpus=4, memory=8192, cpu=1.0)
    k.vm('held', 'hA', vcpus=4, memory=4096, cpu=1.0, locked=True)
    return k


class _Recorder(flow_task.Task):
    def execute(self):
        return None


def applier_flow(actions):
    """Link the actions as Watcher's applier does (raises on a cycle)."""
    flow = graph_flow.Flow('watcher_flow')
    tasks = {}
    for a in actions:
        tasks[a.uuid] = _Recorder(name=a.uuid)
        flow.add(tasks[a.uuid])
    for a in actions:
        for parent in a.parents:
            flow.link(tasks[parent], tasks[a.uuid])
    return flow


class InformedPlannerDbTest(db_base.DbTestCase):

    def setUp(self):
        # Watcher's base test case resets cfg.CONF on cleanup; cleanups run
        # last-in first-out, so this one (added first) restores the parsed
        # configuration the rest of the functional suite relies on.
        self.addCleanup(conftest.ensure_watcher_conf)
        super().setUp()
        syncer = sync.Syncer()
        syncer.sync()
        self.goal = objects.Goal.get_by_name(self.context, GOAL)
        self.strategy_row = objects.Strategy.get_by_name(self.context,
                                                         STRATEGY)
        self.audit = db_utils.create_test_audit(
            uuid=utils.generate_uuid(), goal_id=self.goal.id,
            strategy_id=self.strategy_row.id)

    def execute(self, cluster, **params):
        strategy, solution = cl.run(cluster, **params)
        return strategy, solution

    def schedule(self, solution):
        # as AuditHandler.get_planner / do_schedule
        planner = loading.DefaultPlannerLoader().load(
            name=solution.strategy.planner)
        return planner.schedule(self.context, self.audit.id, solution)

    def read_back(self, action_plan):
        plan = objects.ActionPlan.get_by_uuid(self.context, action_plan.uuid)
        actions = objects.Action.list(
            self.context, filters={'action_plan_uuid': plan.uuid})
        indicators = objects.EfficacyIndicator.list(
            self.context, filters={'action_plan_uuid': plan.uuid})
        return plan, actions, indicators

    # -- tests ---------------------------------------------------------

    def test_syncer_registers_goal_and_strategy_stably(self):
        strategy = loading.DefaultStrategyLoader().load(STRATEGY)
        self.assertEqual(self.goal.id, self.strategy_row.goal_id)
        self.assertEqual(strategy.get_schema(),
                         self.strategy_row.parameters_spec)
        names = [i['name'] for i in self.goal.efficacy_specification]
        self.assertIn('predicted_makespan', names)
        # a restart syncs again: the rows must be recognised as unchanged
        # (the schema round-trips), not soft-deleted and re-created
        sync.Syncer().sync()
        again = objects.Strategy.get_by_name(self.context, STRATEGY)
        self.assertEqual(self.strategy_row.id, again.id)
        self.assertEqual(self.goal.id,
                         objects.Goal.get_by_name(self.context, GOAL).id)

    def test_action_plan_is_the_strategy_dag(self):
        k = capacity_dependency_cluster()
        initial = k.placement()
        strategy, solution = self.execute(k)
        plan = strategy.informed_plan
        moves = {m.uuid: m for m in plan.moves}
        self.assertGreaterEqual(len(moves), 4)
        self.assertGreaterEqual(len({m.source for m in plan.moves}), 2)

        action_plan = self.schedule(solution)
        db_plan, actions, indicators = self.read_back(action_plan)

        self.assertEqual(objects.action_plan.State.RECOMMENDED,
                         db_plan.state)
        self.assertEqual(self.strategy_row.id, db_plan.strategy_id)
        self.assertEqual(self.audit.id, db_plan.audit_id)
        self.assertEqual(
            {g.name: g.value for g in solution.global_efficacy},
            {g['name']: g['value'] for g in db_plan.global_efficacy})

        # one PENDING migrate action per planned move, input unchanged
        self.assertEqual(len(moves), len(actions))
        by_resource = {}
        for a in actions:
            self.assertEqual('migrate', a.action_type)
            self.assertEqual(objects.action.State.PENDING, a.state)
            jsonschema.validate(a.input_parameters, MIGRATE_SCHEMA)
            by_resource[a.input_parameters['resource_id']] = a
        self.assertEqual(set(moves), set(by_resource))
        for sol_action in solution.actions:
            rid = sol_action['input_parameters']['resource_id']
            self.assertEqual(sol_action['input_parameters'],
                             by_resource[rid].input_parameters)

        # parents are exactly the plan's parents, as action uuids
        uuid_of = {rid: a.uuid for rid, a in by_resource.items()}
        for rid, move in moves.items():
            self.assertEqual(sorted(uuid_of[p] for p in move.parents),
                             sorted(by_resource[rid].parents), k.names[rid])

        graph = nx.DiGraph()
        graph.add_nodes_from(a.uuid for a in actions)
        for a in actions:
            for parent in a.parents:
                graph.add_edge(parent, a.uuid)
        self.assertTrue(nx.is_directed_acyclic_graph(graph))
        applier_flow(actions)  # taskflow refuses cycles, like the applier
        name_of = {a.uuid: k.names[a.input_parameters['resource_id']]
                   for a in actions}

        def ancestors(action):
            return {name_of[u] for u in nx.ancestors(graph, action.uuid)}

        # actions leaving one source are chained (max_concurrent_out 1)
        for x in actions:
            for y in actions:
                if x.uuid < y.uuid and x.input_parameters['source_node'] == \
                        y.input_parameters['source_node']:
                    self.assertTrue(
                        name_of[x.uuid] in ancestors(y) or
                        name_of[y.uuid] in ancestors(x),
                        (name_of[x.uuid], name_of[y.uuid]))

        # every move into a host that is full when the plan starts waits
        # for a move that leaves that host
        dependent = [a for a in actions
                     if self._full_without_departure(k, initial, a)]
        self.assertGreaterEqual(len(dependent), 1)
        for a in dependent:
            dest = a.input_parameters['destination_node']
            freeing = {n for n in ancestors(a) if initial[n] == dest}
            self.assertTrue(freeing, name_of[a.uuid])

        # our goal's indicators are stored with the plan
        self.assertEqual(
            {i.name: i.value for i in solution.efficacy_indicators},
            {i.name: i.value for i in indicators})
        self.assertIn('predicted_makespan', {i.name for i in indicators})
        self.assertIn('instance_migrations_count',
                      {i.name for i in indicators})

    @staticmethod
    def _full_without_departure(cluster, initial, action):
        """Whether ``action``'s instance needs a departure to fit.

        True when it fits its destination only once something initially
        there has left.
        """
        dest = action.input_parameters['destination_node']
        node = cluster.model.get_node_by_name(dest)
        inst = cluster.model.get_instance_by_uuid(
            action.input_parameters['resource_id'])
        used_cpu = used_ram = 0
        for name, host in initial.items():
            if host == dest:
                other = cluster.model.get_instance_by_uuid(cl.uid(name))
                used_cpu += other.vcpus
                used_ram += other.memory
        return (used_cpu + inst.vcpus > node.vcpus or
                used_ram + inst.memory > node.memory)

    def test_wider_lanes_keep_the_capacity_dependency(self):
        k = capacity_dependency_cluster()
        initial = k.placement()
        strategy, solution = self.execute(k, max_concurrent_out=2,
                                          max_concurrent_in=2)
        _, actions, _ = self.read_back(self.schedule(solution))
        by_name = {k.names[a.input_parameters['resource_id']]: a
                   for a in actions}
        name_of = {a.uuid: n for n, a in by_name.items()}
        parents_by_name = {n: {name_of[p] for p in a.parents}
                           for n, a in by_name.items()}
        into_a = [n for n, a in by_name.items()
                  if a.input_parameters['destination_node'] == 'hA']
        self.assertTrue(into_a)
        for n in into_a:
            self.assertTrue(
                any(initial[p] == 'hA' for p in parents_by_name[n]), n)
        # and some action now starts without a parent on its own source
        roots = [n for n, ps in parents_by_name.items() if not ps]
        self.assertGreaterEqual(len(roots), 2)

    def test_empty_solution_gives_a_succeeded_plan(self):
        k = cl.Cluster()
        k.host('h0')
        k.host('h1')
        k.vm('v0', 'h0', cpu=0.2)
        strategy, solution = self.execute(k)
        self.assertEqual([], solution.actions)
        db_plan, actions, indicators = self.read_back(
            self.schedule(solution))
        self.assertEqual(objects.action_plan.State.SUCCEEDED, db_plan.state)
        self.assertEqual([], actions)
        self.assertIn('instance_migrations_count',
                      {i.name for i in indicators})

    def test_room_making_chain_is_a_dag_edge(self):
        # hH is overloaded by 'big' (6 GiB); hD has 4 GiB free until
        # 'small' (2 GiB) leaves it for hE, which has 3 GiB free
        k = cl.Cluster()
        k.host('hH', vcpus=8, memory=32768)
        k.host('hD', vcpus=8, memory=16384)
        k.host('hE', vcpus=8, memory=16384)
        k.vm('big', 'hH', vcpus=4, memory=6144, cpu=1.0)
        k.vm('h-rest', 'hH', vcpus=3, memory=18432, cpu=1.0, locked=True)
        k.vm('small', 'hD', vcpus=1, memory=2048)
        k.vm('d-rest', 'hD', vcpus=1, memory=10240, locked=True)
        k.vm('e-rest', 'hE', vcpus=1, memory=13312, locked=True)
        strategy, solution = self.execute(k)
        _, actions, _ = self.read_back(self.schedule(solution))
        by_name = {k.names[a.input_parameters['resource_id']]: a
                   for a in actions}
        self.assertEqual({'big', 'small'}, set(by_name))
        self.assertEqual('hD',
                         by_name['big'].input_parameters['destination_node'])
        self.assertEqual([by_name['small'].uuid], by_name['big'].parents)
        self.assertIn('makes room on hD', by_name['small'].status_message)
        applier_flow(actions)

    def test_hosts_left_overloaded_are_named_with_their_reason(self):
        strategy, solution = self.execute(left_overloaded_cluster())
        db_plan, actions, indicators = self.read_back(
            self.schedule(solution))
        self.assertEqual([], actions)
        self.assertTrue(db_plan.status_message.startswith(
            'informed: 1 of 1 overloaded host(s) left: hA (partial relief'))
        self.assertIn('no destination', db_plan.status_message)
        by_name = {i.name: i for i in indicators}
        left = by_name['overloaded_hosts_left_no_destination']
        self.assertEqual(1, left.value)
        self.assertTrue(left.description.endswith(': hA'))
        self.assertEqual(0, by_name['overloaded_hosts_left_rules'].value)
        self.assertEqual(1, by_name['overloaded_hosts_after'].value)

    def test_action_outside_the_plan_runs_after_it(self):
        k = capacity_dependency_cluster()
        strategy, solution = self.execute(k)
        solution.add_action(action_type='nop',
                            input_parameters={'message': 'done'})
        _, actions, _ = self.read_back(self.schedule(solution))
        nop = [a for a in actions if a.action_type == 'nop']
        migrations = [a for a in actions if a.action_type == 'migrate']
        self.assertEqual(1, len(nop))
        self.assertEqual(sorted(a.uuid for a in migrations),
                         sorted(nop[0].parents))
        applier_flow(actions)
