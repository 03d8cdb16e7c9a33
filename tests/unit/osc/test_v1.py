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
import csv
import io
import json
import types

from keystoneauth1 import session as ks_session
import pytest
import yaml

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
                           'why VM: x', 'status message')
    assert rows[1][10] == '1'
    assert rows[2][2] == 'u3' and rows[2][3] == '-'
    assert rows[2][11].endswith('Action failed in execute: boom')
    assert rows[2][12] == 'status message'


REASON = ('why VM: relieves cpu on a %s. why host: peak load 0.40. why '
          'now: shortest job first. cost: %s' % (
              'x' * 300, '; '.join('note %d' % i for i in range(6))))


@pytest.mark.parametrize('explanation, message, reason, source', [
    # informed_migrate: the whole reason from the input
    (True, 'ours', REASON, 'input'),
    (True, None, REASON, 'input'),
    # the applier replaced the status message: the reason, then why
    (True, 'Action was skipped automatically: not started',
     REASON + ' (status message: Action was skipped automatically: not '
     'started)', 'input'),
    # migrate: the compact status message
    (False, 'ours', 'compact', 'status message'),
    (None, 'ours', 'compact', 'status message'),
    # an input explanation not of ours is not read
    ('from elsewhere', 'ours', 'compact', 'status message'),
    (False, 'Action failed in execute: boom',
     'not recorded by informed_live_migration: Action failed in execute: '
     'boom', 'status message'),
])
def test_explain_prefers_the_inputs_explanation(explanation, message,
                                                reason, source):
    move = _move(1, REASON)
    compact = solution.status_message(move)
    assert len(compact) <= 255 < len(solution.explanation(move))
    params = {'resource_name': 'vm1', 'source_node': 'a',
              'destination_node': 'b'}
    if explanation is True:
        params['explanation'] = solution.explanation(move)
    elif explanation:
        params['explanation'] = explanation
    action = {'uuid': 'A1', 'state': 'PENDING', 'parents': [],
              'status_message': compact if message == 'ours' else message,
              'input_parameters': params}
    row = dict(zip(v1.ExplainInformed.COLUMNS, v1.explain_rows([action])[0]))
    assert row['Reason from'] == source
    if reason == 'compact':
        reason = solution.parse_status_message(compact)['reason']
        assert reason.endswith('note 5')
    assert row['Reason'] == reason
    if not reason.startswith('not recorded'):
        assert (row['Step'], row['Class'], row['Time (s)'],
                row['Downtime (ms)'], row['Transferred (MiB)']) == \
            (1, 'cpu', 2.5, 40, 1024)


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


# -- explain through cliff, on a recorded Watcher API ---------------------

PLAN = '11111111-1111-4111-8111-111111111111'


class _Response:
    def __init__(self, status, body):
        self.status_code, self._body = status, body
        self.text = json.dumps(body)

    def json(self):
        return self._body


class _Session:
    """Answers GETs from a dict of path -> (status, body); 404 else."""

    def __init__(self, pages):
        self.pages, self.calls = pages, []

    def get(self, path, **kw):
        self.calls.append((path, kw))
        return _Response(*self.pages.get(path, (404, {})))


def _watcher(strategy='informed_live_migration', explanation=False):
    move = _move(1, 'why VM: relieves cpu on a')
    params = {'resource_name': 'vm1', 'source_node': 'a',
              'destination_node': 'b'}
    if explanation:
        params['explanation'] = solution.explanation(
            _move(1, 'why VM: relieves cpu on a, uncut'))
    return {
        '/v1/action_plans/%s' % PLAN: (200, {
            'strategy_name': strategy,
            'status_message': solution.PLAN_PREFIX + 'a (no destination)',
            'efficacy_indicators': [
                {'name': 'predicted_makespan', 'value': 2.5}]}),
        '/v1/actions/detail?action_plan_uuid=%s&limit=1000' % PLAN: (200, {
            'actions': [{
                'uuid': 'A1', 'state': 'PENDING', 'parents': [],
                'status_message': solution.status_message(move),
                'input_parameters': params}]})}


def _explain(pages, *argv):
    session = _Session(pages)
    app = types.SimpleNamespace(
        client_manager=types.SimpleNamespace(
            session=session, interface='internal', region_name='R2'),
        stdout=io.StringIO(), stderr=io.StringIO())
    cmd = v1.ExplainInformed(app, None)
    args = cmd.get_parser('openstack optimize informed explain').parse_args(
        list(argv))
    try:
        status = cmd.run(args)
    except SystemExit as exc:
        status = exc.code
    return status, app.stdout.getvalue(), app.stderr.getvalue(), session


@pytest.mark.parametrize('fmt, parse', [
    ('json', json.loads),
    ('yaml', yaml.safe_load),
    ('csv', lambda text: list(csv.DictReader(io.StringIO(text)))),
])
@pytest.mark.parametrize('explanation, reason, source', [
    (False, 'why VM: relieves cpu on a', 'status message'),
    (True, 'why VM: relieves cpu on a, uncut', 'input'),
])
def test_explain_prints_every_cliff_format(fmt, parse, explanation,
                                           reason, source):
    status, out, _, session = _explain(
        _watcher(explanation=explanation), '-f', fmt, PLAN)
    assert status == 0
    rows = parse(out)
    assert len(rows) == 1
    row = rows[0]
    assert str(row['Step']) == '1' and row['Class'] == 'cpu'
    assert row['Reason'] == reason
    assert row['Reason from'] == source
    assert float(row['Time (s)']) == 2.5
    assert str(row['Downtime (ms)']) == '40'
    # Watcher's API at microversion 1.5 (status_message), on the
    # client's interface and region
    for _, kw in session.calls:
        assert kw['headers'] == {'OpenStack-API-Version': 'infra-optim 1.5'}
        assert kw['endpoint_filter'] == {
            'service_type': 'infra-optim', 'interface': 'internal',
            'region_name': 'R2'}


def test_explain_table_adds_the_efficacy_and_the_hosts_left():
    status, out, _, _ = _explain(_watcher(), PLAN)
    assert status == 0
    assert '| why VM: relieves cpu on a | status message |' in out
    assert 'Predicted efficacy: predicted_makespan 2.5' in out
    assert 'Overloaded hosts: a (no destination)' in out


@pytest.mark.parametrize('pages, message', [
    ({}, 'action plan %s: not found' % PLAN),
    (_watcher('workload_stabilization'),
     'made by strategy workload_stabilization, not informed_live_migration'),
])
def test_explain_refuses_with_one_line_and_status_2(pages, message):
    status, out, err, _ = _explain(pages, PLAN)
    assert status == 2 and out == ''
    assert err.startswith('error: ') and message in err
    assert err.count('\n') == 1 and 'Traceback' not in err
