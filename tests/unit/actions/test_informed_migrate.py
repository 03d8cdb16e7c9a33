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

"""The ``informed_migrate`` action: migrate's input, a re-checked start."""

from unittest import mock

import jsonschema
import pytest
from watcher.applier.actions import migration
from watcher.common import exception

from tests.unit import fake_cloud
from watcher_informed.actions import informed_migrate as action_mod

VM, PARENT = ('00000000-0000-4000-8000-00000000000%d' % i for i in (1, 2))
MIGRATE_SCHEMA = migration.Migrate(config=None).schema


def action(cloud, **params):
    a = action_mod.InformedMigrate(config=None)
    a.compute, a.placement = cloud.compute, cloud.placement
    a.input_parameters = dict({
        'migration_type': 'live', 'resource_id': VM, 'source_node': 'S',
        'destination_node': 'D', 'resource_name': 'vm'}, **params)
    return a


def cloud():
    c = fake_cloud.FakeCloud()
    c.host('S', 8, 8192, 100).host('D', 4, 4096, 100)
    c.server(VM, 'vm', 'S', 2, 2048, 10)
    c.server(PARENT, 'parent', 'D', 4, 2048, 10)
    return c


@pytest.mark.parametrize('params', [
    {'migration_type': 'live', 'resource_id': VM, 'source_node': 'S'},
    {'migration_type': 'cold', 'resource_id': VM, 'source_node': 'S',
     'destination_node': None, 'resource_name': 'vm'},
    {'migration_type': 'live', 'resource_id': VM, 'source_node': 'S',
     'destination_node': 'D', 'resource_name': 'vm'},
])
def test_every_migrate_input_is_valid_here(params):
    jsonschema.validate(params, MIGRATE_SCHEMA)
    a = action_mod.InformedMigrate(config=None)
    a.input_parameters = params
    assert a.validate_parameters()


@pytest.mark.parametrize('bad', [
    {'freed_by': 'not-a-list'}, {'freed_by': ['not-a-uuid']},
    {'freed_by': [PARENT, PARENT]}, {'typo': 1},
    {'explanation': 'x' * 4097}, {'explanation': 7},
    {'explanation': None}, {'explanation': ['why']}])
def test_bad_input_is_refused(bad):
    with pytest.raises(jsonschema.ValidationError):
        action(cloud(), **bad).validate_parameters()


@pytest.mark.parametrize('explanation', [
    '', 'informed step 1: cpu; 1.0 s; downtime 10 ms; 100 MiB. why VM: a',
    'x' * 4096, '\u2026 ' * 2048])
def test_the_explanation_is_accepted_up_to_4096_characters(explanation):
    a = action(cloud(), explanation=explanation, freed_by=[PARENT])
    assert a.validate_parameters()


def test_the_explanation_is_not_sent_to_nova():
    c = cloud()
    c.servers[PARENT]['host'] = 'S'
    c.hosts['S']['claims'][PARENT] = c.hosts['D']['claims'].pop(PARENT)
    a = action(c, explanation='why VM: x' * 100)
    sent = []

    def live_migrate_instance(**kwargs):
        sent.append(kwargs)
        return True
    helper = mock.Mock(live_migrate_instance=live_migrate_instance,
                       find_instance=c.find_instance)
    with mock.patch('watcher.common.nova_helper.NovaHelper',
                    return_value=helper):
        assert a.execute() is True
    assert sent == [{'instance_id': VM, 'dest_hostname': 'D'}]


def test_starts_when_the_room_was_freed():
    c = cloud()
    c.servers[PARENT]['host'] = 'S'
    c.hosts['S']['claims'][PARENT] = c.hosts['D']['claims'].pop(PARENT)
    assert action(c, freed_by=[PARENT]).pre_condition() is None


def test_skips_naming_the_move_that_did_not_free_the_room():
    with pytest.raises(exception.ActionSkipped) as caught:
        action(cloud(), freed_by=[PARENT]).pre_condition()
    text = str(caught.value)
    assert text.startswith('not started: waits for room on D')
    assert 'parent (%s)' % PARENT in text


def test_fails_without_room_naming_the_numbers():
    with pytest.raises(exception.ActionExecutionFailure) as caught:
        action(cloud()).pre_condition()
    assert 'vCPU 2 needed, 0 free' in str(caught.value)


def test_fails_when_nova_cannot_be_asked():
    c = cloud()
    c.placement.get = lambda path: fake_cloud._Resp(500, {})
    with pytest.raises(exception.ActionExecutionFailure,
                       match='cannot re-check the plan: Placement GET'):
        action(c).pre_condition()


def test_message_fits_watchers_column_with_its_prefix():
    text = action_mod.InformedMigrate._message('x' * 400)
    assert len('Action was skipped automatically: ' + text) <= 255
    assert text.endswith('\u2026')


def test_abort_is_possible_for_a_live_migration():
    c = cloud()
    assert action(c).check_abort() is True
    assert action(c, migration_type='cold').check_abort() is False


def test_waits_a_bounded_time_for_placement_to_release_a_departure(
        monkeypatch):
    c = cloud()
    # the parent has left D in Nova, Placement still holds its allocation
    c.servers[PARENT]['host'] = 'S'
    a = action(c, freed_by=[PARENT])
    a.ROOM_WAIT_S, a.ROOM_POLL_S = 5.0, 0.0
    reads = []

    def release_on_third_read(*args):
        reads.append(1)
        if len(reads) == 3:
            c.hosts['D']['claims'].pop(PARENT)
    monkeypatch.setattr(action_mod.time, 'sleep', release_on_third_read)
    assert a.pre_condition() is None
    assert len(reads) == 3


def test_no_room_without_a_departure_to_wait_for_fails_at_once(
        monkeypatch):
    monkeypatch.setattr(action_mod.time, 'sleep', lambda s: pytest.fail(
        'must not wait'))
    with pytest.raises(exception.ActionExecutionFailure):
        action(cloud()).pre_condition()
