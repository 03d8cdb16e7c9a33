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

"""``openstack optimize informed ...`` against the real stack.

The real ``openstack`` command of the stack's venv (python-openstackclient
with python-watcherclient, our plugin's entry points), authenticated by
the stack's ``OS_*`` variables: ``export`` of the live cloud then
``watcher-informed plan --scenario`` on the file gives the moves of a real
audit; ``plan`` (a what-if that writes nothing) lists them; ``explain``
shows each action's class and reason, read back from Watcher's API, before
and after the action plan ran.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.e2e import client
from watcher_informed.adapters import solution

BIN = os.path.dirname(sys.executable)
CLASSES = {'cpu', 'memory', 'disk_io', 'net_rx', 'web', 'idle', 'unknown'}


def osc(stack, *args):
    """``openstack optimize informed ARGS`` -> the completed process."""
    store = ['--metrics-store', 'prometheus',
             '--prometheus-url', stack.facts['prometheus_url'],
             '--dirty-rate-meter', stack.facts['dirty_rate_meter']]
    if stack.facts.get('working_set_meter'):
        store += ['--working-set-meter', stack.facts['working_set_meter']]
    params = ['-p', 'cpu_threshold=%s' % client.PARAMETERS['cpu_threshold'],
              '-p', 'period=%s' % client.PARAMETERS['period'],
              '-p', 'granularity=%s' % client.PARAMETERS['granularity']]
    if args[0] in ('plan', 'export'):
        # the tests' own options come last, so they win
        args = (args[0],) + tuple(store + params) + args[1:]
    return subprocess.run(
        [os.path.join(BIN, 'openstack'), 'optimize', 'informed'] +
        list(args), capture_output=True, text=True, timeout=600)


def moves_of_actions(actions):
    return {a['input_parameters']['resource_id']: (
        a['input_parameters']['source_node'],
        a['input_parameters']['destination_node']) for a in actions}


def moves_of_document(doc):
    return {a['instance']: (a['source'], a['destination'])
            for a in doc['actions']}


@pytest.fixture(scope='module')
def audited(stack, fresh):
    w = stack.watcher
    before = {s.id: s.compute_host for s in stack.conn.compute.servers()}
    resp = w.audit(w.template('e2e-osc'), client.PARAMETERS)
    assert resp.status_code == 201, resp.text
    audit = w.finished_audit(resp.json()['uuid'])
    assert audit['state'] == 'SUCCEEDED', audit
    plans = w.plans(audit['uuid'])
    assert len(plans) == 1, plans
    actions = w.actions(plans[0]['uuid'])
    assert actions, 'the audit planned no move'
    return {'plan': plans[0]['uuid'], 'actions': actions,
            'before': before}


@pytest.fixture(scope='module')
def exported(stack, audited, tmp_path_factory):
    path = tmp_path_factory.mktemp('osc') / 'cloud.json'
    proc = osc(stack, 'export', str(path))
    assert proc.returncode == 0, proc.stderr
    with open(path) as f:
        return str(path), json.load(f)


def test_export_is_the_live_cloud(stack, fresh, exported):
    _, data = exported
    assert {i['uuid']: i['host'] for i in data['instances']} == \
        {i['uuid']: i['host'] for i in fresh['instances']}
    assert {h['name'] for h in data['hosts']} == \
        {stack.host(c) for c in stack.facts['computes']}
    assert {g['name'] for g in data['server_groups']} == \
        {g['name'] for g in fresh['server_groups']}
    # the metric window read by the strategy's reader, every server
    assert set(data['metrics']) == {i['uuid'] for i in fresh['instances']}
    for metric in ('cpu', 'ram', 'dirty_rate'):
        assert all(metric in m for m in data['metrics'].values()), metric


def test_plan_of_the_export_is_the_real_audit(audited, exported):
    path, _ = exported
    out = subprocess.run(
        [os.path.join(BIN, 'watcher-informed'), 'plan', '--scenario', path,
         '--format', 'json'], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert moves_of_document(doc) == moves_of_actions(audited['actions'])


def test_osc_plan_lists_the_audits_moves_and_writes_nothing(
        stack, audited, tmp_path):
    plans_before = stack.watcher.get('/action_plans')['action_plans']
    document = tmp_path / 'plan.json'
    proc = osc(stack, 'plan', '-f', 'json', '--output-document',
               str(document))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    names = {a['input_parameters']['resource_name']: (
        a['input_parameters']['source_node'],
        a['input_parameters']['destination_node'])
        for a in audited['actions']}
    assert {r['Instance']: (r['Source'], r['Destination'])
            for r in rows} == names
    assert all(r['Reason'].startswith('why VM: ') for r in rows)
    doc = json.loads(document.read_text())
    assert moves_of_document(doc) == moves_of_actions(audited['actions'])
    assert doc['efficacy']['instance_migrations_count'] == len(rows)
    # read-only: no audit, no action plan, no server moved
    assert stack.watcher.get('/action_plans')['action_plans'] == \
        plans_before
    assert {s.id: s.compute_host for s in stack.conn.compute.servers()} \
        == audited['before']


def test_osc_plan_refuses_a_bad_parameter_naming_it(stack):
    proc = osc(stack, 'plan', '-p', 'cpu_threshold=7')
    assert proc.returncode == 2
    assert 'cpu_threshold' in proc.stderr
    assert 'Traceback' not in proc.stderr


def explained(stack, plan):
    proc = osc(stack, 'explain', plan, '-f', 'json')
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_explain_shows_each_actions_class_reason_and_cost(
        stack, audited, exported):
    rows = explained(stack, audited['plan'])
    assert len(rows) == len(audited['actions'])
    path, _ = exported
    out = subprocess.run(
        [os.path.join(BIN, 'watcher-informed'), 'plan', '--scenario', path,
         '--format', 'json'], capture_output=True, text=True, timeout=300)
    offline = {a['name']: a
               for a in json.loads(out.stdout)['actions']}
    assert [r['Step'] for r in rows] == sorted(r['Step'] for r in rows)
    for row in rows:
        want = offline[row['Instance']]
        assert row['Step'] == want['step']
        assert row['Class'] == want['class'] and row['Class'] in CLASSES
        assert row['State'] == 'RECOMMENDED' or row['State'] == 'PENDING'
        assert row['Time (s)'] == pytest.approx(
            want['end_s'] - want['start_s'], abs=0.06)
        # both sides are rounded (the message to whole ms and MiB)
        assert row['Downtime (ms)'] == pytest.approx(
            want['downtime_s'] * 1000, abs=1)
        assert row['Transferred (MiB)'] == pytest.approx(
            want['transferred_mib'], abs=1)
        # migrate: the compact status message, its cost notes kept
        # (tests/functional/test_stack_messages.py checks it offline)
        assert row['Reason from'] == 'status message'
        assert row['Reason'][:40] == \
            solution.compact_reason(want['reason'])[:40]
        assert ('. cost: ' in row['Reason']) == \
            ('. cost: ' in want['reason'])


def test_explain_after_the_plan_ran_keeps_the_reasons(stack, audited):
    w = stack.watcher
    w.start(audited['plan'])
    plan = w.finished_plan(audited['plan'])
    assert plan['state'] == 'SUCCEEDED', plan
    rows = explained(stack, audited['plan'])
    assert {r['State'] for r in rows} == {'SUCCEEDED'}
    assert all(r['Reason'].startswith('VM: ') for r in rows)
    assert {r['Reason from'] for r in rows} == {'status message'}
    assert all(r['Class'] in CLASSES for r in rows)


def test_explain_refuses_an_unknown_plan(stack):
    proc = osc(stack, 'explain', '00000000-0000-4000-8000-000000000000')
    assert proc.returncode == 2
    assert 'not found' in proc.stderr
