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

"""The OpenStack client commands' argument handling and rows."""

import argparse

from keystoneauth1 import session as ks_session
import pytest

from watcher_informed.adapters import solution
from watcher_informed.cli import export
from watcher_informed.osc import v1


@pytest.mark.parametrize('pairs, text, want', [
    (['cpu_threshold=0.7'], None, {'cpu_threshold': 0.7}),
    (['max_migrations=3', 'seed=1'], None,
     {'max_migrations': 3, 'seed': 1}),
    (['communication_groups=[["a","b"]]'], None,
     {'communication_groups': [['a', 'b']]}),
    (['name=plain text'], None, {'name': 'plain text'}),
    ([], '{"period": 60}', {'period': 60}),
    (['period=120'], '{"period": 60}', {'period': 120}),
])
def test_parameters_are_parsed(pairs, text, want):
    assert v1.parse_parameters(pairs, text) == want


@pytest.mark.parametrize('pairs, text, message', [
    (['cpu_threshold'], None, 'expected name=value'),
    (['=1'], None, 'expected name=value'),
    ([], '[1]', 'must be a JSON object'),
    ([], '{', 'not JSON'),
])
def test_bad_parameters_name_the_option(pairs, text, message):
    with pytest.raises(v1.InputError, match=message):
        v1.parse_parameters(pairs, text)


def _move(step, reason, parents=()):
    from watcher_informed.core import plan
    return plan.PlannedMove(step, 'u%d' % step, 'vm%d' % step, 'cpu', 'a',
                            'b', tuple(parents), 'a/out0', 0.0, 2.5, 0.04,
                            1024.0, True, reason)


def test_explain_rows_follow_the_steps_and_keep_foreign_messages():
    first, second = _move(1, 'why VM: x'), _move(2, 'why VM: y', ['u1'])
    actions = [
        {'uuid': 'A2', 'state': 'PENDING', 'parents': ['A1'],
         'status_message': solution.status_message(second),
         'input_parameters': {'resource_name': 'vm2', 'source_node': 'a',
                              'destination_node': 'b'}},
        {'uuid': 'A1', 'state': 'PENDING', 'parents': [],
         'status_message': solution.status_message(first),
         'input_parameters': {'resource_name': 'vm1', 'source_node': 'a',
                              'destination_node': 'b'}},
        {'uuid': 'A3', 'state': 'FAILED', 'parents': [],
         'status_message': 'Action failed in execute: boom',
         'input_parameters': {'resource_id': 'u3', 'source_node': 'a'}},
    ]
    rows = v1.explain_rows(actions)
    assert [r[1] for r in rows] == ['A1', 'A2', 'A3']
    assert rows[0][3:] == ('cpu', 'a', 'b', 'PENDING', 2.5, 40, 1024, '-',
                           'why VM: x')
    assert rows[1][10] == '1'
    assert rows[2][2] == 'u3' and rows[2][3] == '-'
    assert rows[2][11].endswith('Action failed in execute: boom')


def test_plan_rows_give_the_steps_each_move_waits_for():
    def a(step, uuid, parents):
        return {'step': step, 'action_uuid': uuid, 'name': 'vm%d' % step,
                'instance': 'u%d' % step, 'class': 'cpu', 'source': 's',
                'destination': 'd', 'start_s': 1.0, 'end_s': 3.26,
                'downtime_s': 0.0123, 'transferred_mib': 99.6,
                'parents': parents, 'reason': 'why VM: r%d' % step}
    doc = {'actions': [a(1, 'X', []), a(2, 'Y', []), a(3, 'Z', ['Y', 'X'])]}
    rows = [dict(zip(v1.MOVE_COLUMNS, r)) for r in v1.plan_rows(doc)]
    assert [r['After'] for r in rows] == ['-', '-', '2,1']
    assert rows[2]['Time (s)'] == 2.3 and rows[2]['Downtime (ms)'] == 12
    assert rows[2]['Transferred (MiB)'] == 100
    assert rows[2]['Instance'] == 'vm3' and rows[2]['Reason'] == 'why VM: r3'


@pytest.mark.parametrize('store, name', [
    ('prometheus', 'prometheus'), ('gnocchi', 'gnocchi'),
    ('none', 'in-memory')])
def test_every_metric_store_option_builds_the_strategys_reader(store,
                                                               name):
    parser = argparse.ArgumentParser()
    export.add_store_arguments(parser)
    args = parser.parse_args(['--metrics-store', store,
                              '--prometheus-url', 'http://127.0.0.1:1',
                              '--dirty-rate-meter', 'memory.dirty.rate'])
    session = None
    if store == 'gnocchi':
        session = ks_session.Session()
    reader = export.make_reader(args, session)
    assert reader.name == name
    if store != 'none':
        assert reader.supports('dirty_rate')
