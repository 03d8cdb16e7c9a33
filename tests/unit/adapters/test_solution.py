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

"""A move's explanation fits Watcher's status_message and reads back.

The status message is the compact form, the ``informed_migrate`` input
``explanation`` the whole text; both parse back to the same facts.
"""

import random

import jsonschema
import pytest

from watcher_informed.adapters import solution
from watcher_informed.core import cost
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
def test_emit_writes_the_action_type_freed_by_and_explanation(
        action_type):
    from tests.unit import builders as b
    p = b.plan_of(b.mv(1, 'out1', 'H', 'X'),
                  b.mv(2, 'in', 'Z', 'H', ['out1']))
    out = solution.emit(_Solution(), p, action_type=action_type)
    assert [a['action_type'] for a in out.actions] == [action_type] * 2
    keys = {'migration_type', 'source_node', 'destination_node',
            'resource_name', 'resource_id'}
    ours = action_type == 'informed_migrate'
    explained = {'explanation'} if ours else set()
    assert set(out.actions[0]['input_parameters']) == keys | explained
    extra = {'freed_by'} if ours else set()
    assert set(out.actions[1]['input_parameters']) == \
        keys | extra | explained
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


# -- the explanation, whole in informed_migrate's input -------------------
DEMO_REASON = (
    'why VM: relieves cpu on compute-09 at least cost (3.5 s x class '
    'weight 1.0). why host: interference 0.01 (cpu+cpu with %s); '
    'talkers 0; soft-anti 0; peak load 0.20. why now: shortest job first '
    '(3.5 s predicted). cost: round 1 = flavor RAM 4096 MiB, an upper '
    'bound (no ram_resident: in-memory does not provide ram_resident); '
    'link share 1210 of 1250 MiB/s' % UUID)
LONG_REASON = DEMO_REASON.replace(
    'cpu+cpu with %s' % UUID,
    ', '.join('cpu+cpu with %s' % UUID for _ in range(120)))


@pytest.mark.parametrize('action_type, waits, keys', [
    ('migrate', (), set()),
    ('migrate', ('p1',), set()),
    ('informed_migrate', (), {'explanation'}),
    ('informed_migrate', ('p1',), {'explanation', 'freed_by'}),
])
def test_action_input_carries_the_whole_explanation_only_for_ours(
        action_type, waits, keys):
    m = move(DEMO_REASON)
    params = solution.action_input(m, action_type, waits)
    assert set(params) == set(solution.migrate_input(m)) | keys
    if 'explanation' in keys:
        assert params['explanation'] == solution.explanation(m)
        assert params['explanation'].endswith(DEMO_REASON)
        assert len(params['explanation']) > solution.STATUS_MESSAGE_MAX


def test_watchers_migrate_refuses_the_explanation():
    from watcher.applier.actions import migration
    schema = migration.Migrate(config=None).schema
    params = dict(solution.action_input(move(DEMO_REASON), 'migrate'),
                  resource_id=UUID)
    jsonschema.validate(params, schema)
    with pytest.raises(jsonschema.ValidationError,
                       match='explanation'):
        jsonschema.validate(dict(params, explanation='x'), schema)


@pytest.mark.parametrize('reason, shortened', [
    (DEMO_REASON, False),
    (LONG_REASON, True),
    ('why VM: ' + 'z' * 5000, True),
])
def test_explanation_is_whole_unless_over_the_schemas_limit(
        reason, shortened):
    text = solution.explanation(move(reason))
    assert len(text) <= solution.EXPLANATION_MAX
    facts = solution.parse_status_message(text)
    assert (facts['step'], facts['class']) == (5, 'net_rx')
    assert (facts['reason'] != reason) is shortened
    if not shortened:
        assert facts['reason'] == reason


# -- the status message: compact, the cost notes kept --------------------
@pytest.mark.parametrize('reason, want', [
    # the demo's step 5: zero terms, the class weight of 1 and the
    # predicted time dropped, UUIDs shortened, cost notes short
    (DEMO_REASON,
     'VM: relieves cpu on compute-09 at least cost (3.5 s). host: '
     'interference 0.01 (cpu+cpu with 8e1ec0b5); peak load 0.20. now: '
     'shortest job first. cost: round 1 <= flavor RAM 4096 MiB; link '
     '1210/1250 MiB/s'),
    # no cost notes: no cost segment
    ('why VM: a. why host: talkers 2; peak load 0.5. why now: b',
     'VM: a. host: talkers 2; peak load 0.5. now: b'),
    # the residents of one class pair listed once
    ('why VM: a. why host: interference 0.30 (cpu+cpu with x, cpu+cpu '
     'with y, disk_io+cpu with z). why now: b. cost: c',
     'VM: a. host: interference 0.30 (cpu+cpu with x, y, disk_io+cpu '
     'with z). now: b. cost: c'),
    # a segment of zeros only stays
    ('why VM: a. why host: talkers 0. why now: b',
     'VM: a. host: talkers 0. now: b'),
    # not the strategy's form: only fit
    ('partial relief', 'partial relief'),
])
def test_compact_reason(reason, want):
    assert solution.compact_reason(reason) == want


def test_long_segments_are_cut_not_the_cost():
    text = solution.status_message(move(LONG_REASON))
    assert len(text) == solution.STATUS_MESSAGE_MAX
    assert text.endswith('. cost: round 1 <= flavor RAM 4096 MiB; link '
                         '1210/1250 MiB/s')
    assert 'host: interference 0.01 (cpu+cpu with 8e1ec0b5, 8e1ec0b5' in \
        text
    assert '\u2026. now: ' in text


NOVA = cost.Nova()
TIMEOUT = '%.0f s timeout' % NOVA.timeout_s


def _outcome(outcome, downtime_s=0.0, rounds=30):
    return cost.outcome_note(cost.MigrationCost(
        10.0, downtime_s, 100.0, rounds, False, outcome), NOVA)


@pytest.mark.parametrize('note, short', [
    ('round 1 = flavor RAM 2048 MiB, an upper bound (no ram_resident: '
     'in-memory does not provide ram_resident)',
     'round 1 <= flavor RAM 2048 MiB'),
    ('link share 1248 of 1250 MiB/s', 'link 1248/1250 MiB/s'),
    (_outcome(cost.THROTTLED), 'converges by auto-converge throttling'),
    (_outcome(cost.ABORTED), 'aborted by Nova at the ' + TIMEOUT),
    (_outcome(cost.POST_COPY), 'post-copy after the ' + TIMEOUT),
    (_outcome(cost.PAUSED, 2.5),
     'paused after the %s (2.5 s downtime)' % TIMEOUT),
    (_outcome(cost.CAPPED), 'stop-and-copy after 30 rounds'),
    ('a note of tomorrow', 'a note of tomorrow'),
])
def test_cost_notes_have_a_short_form(note, short):
    assert solution.short_note(note) == short


def _random_reason(rng):
    """A reason of the strategy's form, of any length."""
    def words(n):
        return ' '.join(rng.choice(('relieves', 'cpu', 'on', 'cmp0001',
                                    UUID, 'peak load 0.40', 'x' * 30))
                        for _ in range(n))
    notes = rng.sample([
        'link share 1248 of 1250 MiB/s', _outcome(cost.ABORTED),
        _outcome(cost.PAUSED, 1.2), _outcome(cost.THROTTLED),
        'round 1 = flavor RAM 8192 MiB, an upper bound (no ram_resident: '
        'none)'], rng.randint(0, 3))
    reason = 'why VM: %s. why host: %s; talkers 0. why now: %s' % (
        words(rng.randint(1, 25)), words(rng.randint(1, 40)),
        words(rng.randint(1, 10)))
    return reason + ('. cost: ' + '; '.join(notes) if notes else ''), notes


@pytest.mark.parametrize('seed', range(20))
def test_every_status_message_fits_keeps_its_cost_and_parses_back(seed):
    rng = random.Random(seed)
    for _ in range(50):
        reason, notes = _random_reason(rng)
        m = move(reason, cls=rng.choice(('cpu', 'disk_io', 'memory')),
                 time_s=rng.uniform(0, 900), downtime_s=rng.uniform(0, 9),
                 mib=rng.uniform(0, 10 ** 6))
        text = solution.status_message(m)
        assert len(text) <= solution.STATUS_MESSAGE_MAX
        short = solution.parse_status_message(text)
        whole = solution.parse_status_message(solution.explanation(m))
        assert whole['reason'] == reason
        assert {k: v for k, v in short.items() if k != 'reason'} == \
            {k: v for k, v in whole.items() if k != 'reason'}
        assert short['reason'].startswith('VM: ')
        tail = '. cost: ' + '; '.join(solution.short_note(n) for n in notes)
        # the other segments can be cut to 'VM: abc\u2026' (31 in all)
        if notes and len(text) - len(short['reason']) + 31 + len(tail) <= \
                solution.STATUS_MESSAGE_MAX:
            assert text.endswith(tail)
        elif not notes:
            assert 'cost: ' not in text
