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

"""A move's explanation fits Watcher's status_message and reads back."""

import pytest

from watcher_informed.adapters import solution
from watcher_informed.core import plan

UUID = '8e1ec0b5-a33e-4c24-8654-191e8a472ecd'


def move(reason, cls='net_rx', time_s=1.04, downtime_s=0.0375, mib=512.4):
    return plan.PlannedMove(5, UUID, 'vm', cls, 'a', 'b', (), 'a/out0',
                            1.0, 1.0 + time_s, downtime_s, mib, True,
                            reason)


@pytest.mark.parametrize('reason, kept', [
    ('why VM: short', 'why VM: short'),
    ('why VM: with %s; waits for %s' % (UUID, UUID),
     'why VM: with %s; waits for %s' % (UUID, UUID)),
    ('why VM: ' + 'x' * 150 + ' with %s' % UUID,
     'why VM: ' + 'x' * 150 + ' with 8e1ec0b5'),
    ('why VM: ' + 'y' * 400, None),
])
def test_status_message_fits_and_parses_back(reason, kept):
    text = solution.status_message(move(reason))
    assert len(text) <= solution.STATUS_MESSAGE_MAX
    facts = solution.parse_status_message(text)
    assert (facts['step'], facts['class']) == (5, 'net_rx')
    assert facts['time_s'] == pytest.approx(1.0)
    assert facts['downtime_s'] == pytest.approx(0.038)
    assert facts['transferred_mib'] == 512.0
    if kept is None:
        assert facts['reason'].endswith('\u2026')
        assert reason.startswith(facts['reason'][:-1])
    else:
        assert facts['reason'] == kept


@pytest.mark.parametrize('text', [
    None, '', 'Action failed in execute: boom',
    'Action was skipped automatically: informed step 1: cpu',
])
def test_foreign_messages_are_not_ours(text):
    assert solution.parse_status_message(text) is None


def test_freed_by_is_the_parents_leaving_the_destination():
    from tests.unit import builders as b
    p = b.plan_of(b.mv(1, 'out1', 'H', 'X'), b.mv(2, 'out2', 'H', 'Y'),
                  b.mv(3, 'lane', 'Z', 'Y', ['out2']),
                  b.mv(4, 'in', 'Z', 'H', ['out1', 'out2', 'lane']))
    assert solution.freed_by(p) == {'out1': (), 'out2': (), 'lane': (),
                                    'in': ('out1', 'out2')}


class _Solution:
    def __init__(self):
        self.actions = []
        self.indicators = None

    def add_action(self, action_type, resource_id, input_parameters):
        self.actions.append({'action_type': action_type,
                             'input_parameters': dict(
                                 input_parameters, resource_id=resource_id)})

    def set_efficacy_indicators(self, **values):
        self.indicators = values


@pytest.mark.parametrize('action_type', solution.MOVE_ACTIONS)
def test_emit_writes_the_action_type_and_freed_by_only_for_ours(
        action_type):
    from tests.unit import builders as b
    p = b.plan_of(b.mv(1, 'out1', 'H', 'X'),
                  b.mv(2, 'in', 'Z', 'H', ['out1']))
    out = solution.emit(_Solution(), p, action_type=action_type)
    assert [a['action_type'] for a in out.actions] == [action_type] * 2
    keys = {'migration_type', 'source_node', 'destination_node',
            'resource_name', 'resource_id'}
    assert set(out.actions[0]['input_parameters']) == keys
    extra = {'freed_by'} if action_type == 'informed_migrate' else set()
    assert set(out.actions[1]['input_parameters']) == keys | extra
    if extra:
        assert out.actions[1]['input_parameters']['freed_by'] == ['out1']


def test_emit_refuses_an_unknown_action_type():
    from tests.unit import builders as b
    with pytest.raises(ValueError, match='unknown migration action'):
        solution.emit(_Solution(), b.plan_of(), action_type='nop')


def left_plan(hosts, reason='partial relief: 2 no destination'):
    """A plan leaving ``hosts`` overloaded for no destination."""
    return plan.Plan((), {}, tuple(hosts), {}, {}, {}, tuple(hosts), 0,
                     {h: reason for h in hosts},
                     {h: 'no_destination' for h in hosts})


@pytest.mark.parametrize('hosts, reason, fragment', [
    ((), '', 'relieves all 0'),
    (('cmp1',), 'not worth it', 'cmp1 (not worth it)'),
    # long reasons: uuids shortened first, then cut
    (('cmp1',), 'y' * 180 + ' held by %s' % UUID, 'held by 8e1ec0b5)'),
    (['cmp%03d' % i for i in range(40)], 'partial relief', 'cmp000'),
])
def test_plan_status_message_names_the_hosts_left(hosts, reason, fragment):
    text = solution.plan_status_message(left_plan(hosts, reason))
    assert text.startswith(solution.PLAN_PREFIX)
    assert len(text) <= solution.STATUS_MESSAGE_MAX
    assert fragment in text


@pytest.mark.parametrize('name, hosts, suffix', [
    ('overloaded_hosts_left_no_destination', ('b', 'a'), 'x: a, b'),
    ('overloaded_hosts_left_no_destination', (), 'x'),
    ('overloaded_hosts_left_rules', ('a',), 'x'),
    ('predicted_makespan', ('a',), 'x'),
])
def test_left_indicators_name_their_hosts(name, hosts, suffix):
    text = solution.indicator_description(name, 'x', left_plan(hosts))
    assert text == suffix
    long = solution.indicator_description(
        'overloaded_hosts_left_no_destination', 'x',
        left_plan(['h%04d' % i for i in range(100)]))
    assert len(long) <= solution.STATUS_MESSAGE_MAX
