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

"""Core plan -> Watcher solution (migrate actions and efficacy).

Contract: :func:`emit` appends one ``migrate`` action per planned move, in
execution order, with exactly the input Watcher's ``Migrate`` action
accepts (``migration_type``, ``source_node``, ``destination_node``,
``resource_name``; ``resource_id`` is passed separately), keeps the
strategy's private copy of the compute model in step with
``migrate_instance``, and sets the efficacy indicators.  The DAG itself
cannot travel in action input (extra keys are refused by the applier); our
planner reads it from the plan kept on the strategy.
"""

from watcher_informed.core import plan as plan_mod


def migrate_input(move):
    """The ``migrate`` action input of one planned move."""
    return {
        'migration_type': 'live',
        'source_node': move.source,
        'destination_node': move.dest,
        'resource_name': move.name or move.uuid,
    }


def _adder(solution):
    """``solution.add_action`` without its scan of earlier actions.

    Watcher's ``DefaultSolution.add_action`` drops an action equal to an
    earlier one by scanning them all, which is quadratic in the plan
    size.  Ours are distinct by construction (one per instance, which the
    ``moves-once`` checker proves), so for that class the same action
    dict is appended directly; any other solution class gets its own
    ``add_action``.
    """
    from watcher.decision_engine.solution import default
    actions = getattr(solution, '_actions', None)
    if type(solution) is not default.DefaultSolution or \
            not isinstance(actions, list):
        return solution.add_action

    def add(action_type, resource_id, input_parameters):
        params = dict(input_parameters)
        params['resource_id'] = resource_id
        actions.append({'action_type': action_type,
                        'input_parameters': params})
    return add


def emit(solution, plan, model=None):
    """Add ``plan``'s actions and indicators to a Watcher ``solution``."""
    # ModelRoot.get_node_by_name scans every node: look them up once
    nodes = {n.hostname: n for n in model.get_all_compute_nodes().values()} \
        if model is not None else {}
    add = _adder(solution)
    for move in plan.moves:
        if model is not None:
            inst = model.get_instance_by_uuid(move.uuid)
            model.migrate_instance(inst, nodes[move.source],
                                   nodes[move.dest])
        add(action_type='migrate', resource_id=move.uuid,
            input_parameters=migrate_input(move))
    solution.set_efficacy_indicators(**plan_mod.efficacy(plan))
    return solution
