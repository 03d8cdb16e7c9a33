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
