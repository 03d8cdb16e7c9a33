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

"""The explanations of the real stack's plans, computed offline.

``tests/e2e`` and ``tests/browser`` read the actions' status messages
and ``informed_migrate`` explanations from a real Watcher (``bash
tools/stack/stack.sh run all``, too slow for this suite).  Here the
stack's scenarios are planned by our CLI with the audit parameters of
those tests, and the texts our planner would store are checked for what
they assert: Horizon's status message shows ``informed step``, ``. VM:``
and ``. cost:``; ``explain`` reads a reason starting with ``VM:`` whose
first 40 characters are the compact form of the plan's reason; the
explanation parses back to the same facts with the reason uncut.
"""

import os

import pytest

from tests.e2e import client
from tests.e2e import test_informed_migrate as e2e_room
from watcher_informed.adapters import solution
from watcher_informed.cli import main as cli_main
from watcher_informed.cli import scenario as scenario_mod

SCENARIOS = {
    'scenario.json': client.PARAMETERS,
    'scenario-room.json': e2e_room.PARAMETERS,
}


@pytest.fixture(scope='module', params=sorted(SCENARIOS))
def stack_plan(request):
    path = os.path.join(client.STACK_DIR, request.param)
    result = cli_main.run(scenario_mod.load(path),
                          dict(SCENARIOS[request.param]))
    assert result['plan'].moves, 'the stack scenario must plan moves'
    return result['plan']


def test_horizon_shows_the_compact_message_with_its_cost(stack_plan):
    for move in stack_plan.moves:
        text = solution.status_message(move)
        assert len(text) <= solution.STATUS_MESSAGE_MAX
        assert text.startswith('informed step %d: ' % move.step)
        assert '. VM: ' in text
        assert '. cost: ' in move.reason
        assert '. cost: ' in text and not text.endswith('\u2026')


def test_explain_reads_the_compact_reason(stack_plan):
    for move in stack_plan.moves:
        facts = solution.parse_status_message(
            solution.status_message(move))
        assert facts['step'] == move.step and facts['class'] == move.cls
        assert facts['reason'].startswith('VM: ')
        # what tests/e2e/test_osc_informed.py compares with the CLI's plan
        assert facts['reason'][:40] == \
            solution.compact_reason(move.reason)[:40]


def test_informed_migrate_carries_the_whole_reason(stack_plan):
    for move in stack_plan.moves:
        params = solution.action_input(move, solution.INFORMED_MIGRATE)
        whole = solution.parse_status_message(params['explanation'])
        short = solution.parse_status_message(
            solution.status_message(move))
        assert whole['reason'] == move.reason
        assert whole['reason'].startswith('why VM: ')
        assert {k: v for k, v in whole.items() if k != 'reason'} == \
            {k: v for k, v in short.items() if k != 'reason'}
