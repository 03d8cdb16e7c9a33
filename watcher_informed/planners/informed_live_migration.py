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

"""Planner ``informed_live_migration``: the strategy's DAG, not barriers.

Watcher's ``workload_stabilization`` planner gives migrations no parents
(all run at once) and ``weight`` cuts them into chunks separated by
barriers.  This planner writes the action plan exactly as the strategy
scheduled it: each ``migrate`` action's ``parents`` are the actions of the
moves that must complete first -- the previous move in the same host lane
and the moves that free the room it needs.  It reads that DAG from the
core plan the strategy keeps (``solution.strategy.informed_plan``),
because action input cannot carry it.  Each planned action's
``status_message`` is its explanation (class, predicted time, downtime and
data, the reason in a compact form that keeps the cost notes;
``adapters.solution.status_message``), retrievable through Watcher's API;
an ``informed_migrate`` action also has the whole explanation in its
input (``adapters.solution.action_input``).  The action plan's
``status_message`` names every host the plan leaves overloaded and why,
and each ``overloaded_hosts_left_*``
efficacy indicator names the hosts it counts in its description
(``adapters.solution``).  Actions not in the plan (none are
expected) are chained after the plan's actions, in solution order, so
nothing ever runs unordered.
"""

from oslo_log import log
from watcher import objects
from watcher.common import utils
from watcher.decision_engine.planner import base

from watcher_informed.adapters import solution as solution_adapter

LOG = log.getLogger(__name__)


def action_parents(solution_actions, plan):
    """``[(action dict, action uuid, [parent action uuids])]``.

    Pure: ``solution_actions`` are Watcher solution action dicts in order;
    ``plan`` is the core plan or ``None``.
    """
    moves = {m.uuid: m for m in (plan.moves if plan else ())}
    uuid_of = {}
    rows = []
    for action in solution_actions:
        new = utils.generate_uuid()
        resource = action.get('input_parameters', {}).get('resource_id')
        if action.get('action_type') in solution_adapter.MOVE_ACTIONS and \
                resource in moves:
            uuid_of[resource] = new
        rows.append([action, new, resource])
    result = []
    last_unplanned = None
    last_planned = [uuid_of[u] for u in uuid_of]
    for action, new, resource in rows:
        move = moves.get(resource)
        if move is not None and uuid_of.get(resource) == new:
            parents = [uuid_of[p] for p in move.parents if p in uuid_of]
        else:
            parents = [last_unplanned] if last_unplanned else \
                list(last_planned)
            last_unplanned = new
        result.append((action, new, parents))
    return result


class InformedLiveMigrationPlanner(base.BasePlanner):
    """Turn the informed strategy's schedule into the action-plan DAG."""

    def schedule(self, context, audit_id, solution):
        LOG.debug('Creating an informed action plan for audit %s', audit_id)
        strategy = objects.Strategy.get_by_name(context,
                                                solution.strategy.name)
        plan = getattr(solution.strategy, 'informed_plan', None)
        action_plan = objects.ActionPlan(
            context, uuid=utils.generate_uuid(), audit_id=audit_id,
            strategy_id=strategy.id,
            state=objects.action_plan.State.RECOMMENDED,
            global_efficacy=solution.global_efficacy,
            status_message=solution_adapter.plan_status_message(plan)
            if plan is not None else None)
        action_plan.create()
        for indicator in solution.efficacy_indicators:
            objects.EfficacyIndicator(
                context, uuid=utils.generate_uuid(), name=indicator.name,
                description=solution_adapter.indicator_description(
                    indicator.name, indicator.description, plan),
                unit=indicator.unit, value=indicator.value,
                action_plan_id=action_plan.id).create()
        rows = action_parents(solution.actions, plan)
        moves = {m.uuid: m for m in (plan.moves if plan else ())}
        for action, new, parents in rows:
            move = moves.get(action.get('input_parameters', {}).get(
                'resource_id'))
            message = solution_adapter.status_message(move) if move else None
            objects.Action(context, uuid=new, parents=parents,
                           action_plan_id=action_plan.id,
                           status_message=message, **action).create()
        if not rows:
            LOG.warning('The action plan is empty')
            action_plan.state = objects.action_plan.State.SUCCEEDED
            action_plan.save()
        return action_plan
