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

"""The operator's flow in Horizon's watcher-dashboard, in a real browser.

Contract: on the real stack and Horizon (see ``conftest.py``), as the
admin user, these tests read our strategy's detail page and our goal's
efficacy specification; create an audit template, then audits from the
Create Audit form -- with invalid JSON, with parameters our schema
refuses, and with valid parameters; open the action plan the valid one
gave, and start it from the UI.  They assert on the page text, compared
with our own schema and indicator specifications and with what Watcher's
and Nova's APIs say: every parameter is shown with its description; each
invalid input gives the message ``doc/source/horizon.rst`` documents;
the plan page lists our efficacy indicators with their descriptions and
units, and the actions in the order our planner created them, parents
first; the started plan SUCCEEDS and every server is then on the
destination host its action named; last, with ``migration_action =
informed_migrate``, each action's page lists the move's whole
explanation among its parameters.  The tests of this module run in
file order and share one logged-in tab; each page they visit is kept as
a screenshot (see ``Shots``).
"""

import json
import uuid

from playwright.sync_api import expect
import pytest
import yaml

from tests.e2e import client
from watcher_informed.adapters import parameters
from watcher_informed.goals import informed_workload_balancing as goal_mod

STRATEGY = 'informed_live_migration'
STRATEGY_DISPLAY = 'Informed live migration'
GOAL = 'informed_workload_balancing'
GOAL_DISPLAY = 'Informed workload balancing'
PROPERTIES = parameters.schema()['properties']
#: our efficacy indicators: name -> (description, unit).
INDICATORS = {name: (description, unit)
              for name, description, unit, _, _ in
              goal_mod.INDICATORS + goal_mod.BALANCE_INDICATORS}
#: what the form says about parameters that are not JSON.
INVALID_JSON_PREFIX = 'Parameters must be valid JSON: '
#: what Horizon says when Watcher refuses the audit (400).
REFUSED = 'Failed to create audit.'
REFUSED_DETAILS_PREFIX = 'Invalid parameters for strategy: '


def norm(text):
    """``text`` with every run of white space made one blank."""
    return ' '.join(text.split())


def js_default(value):
    """A default as the Create Audit panel's JavaScript prints it.

    Objects and arrays as compact JSON, anything else with JavaScript's
    ``String()``: a string without quotes, a whole float without ``.0``.
    """
    if isinstance(value, str):
        return value
    return json.dumps(_js_numbers(value), separators=(',', ':'))


def _js_numbers(value):
    """``value`` with whole floats as integers, at any depth (JavaScript
    has one number type: ``JSON.stringify(1.0)`` is ``1``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def table_rows(locator):
    """The text of each cell of each body row of a Horizon table."""
    return [[norm(c) for c in row.locator('td').all_inner_texts()]
            for row in locator.locator('tbody tr').all()]


def open_create_audit(page, template):
    """The Create Audit modal with ``template`` chosen; its panel lines."""
    page.goto('/admin/audits/')
    page.get_by_role('link', name='Create Audit').click()
    page.wait_for_selector('#id_audit_template')
    page.select_option('#id_audit_template', value=template['uuid'])
    items = page.locator('#parameters-list li')
    expect(items).to_have_count(len(PROPERTIES))
    page.select_option('#id_audit_type', value='oneshot')
    return [norm(t) for t in items.all_inner_texts()]


def submit_audit(page, name, text):
    page.fill('#id_audit_name', name)
    page.fill('#id_parameters', text)
    page.locator('.modal-footer [type=submit]').click()


def find_audit(stack, name):
    audits = stack.watcher.get('/audits/detail?limit=1000')['audits']
    return [a for a in audits if a['name'] == name]


@pytest.fixture(scope='module')
def template(page, stack, shots):
    """An audit template for our goal and strategy, made in the UI."""
    name = unique('wi-browser')
    page.goto('/admin/audit_templates/')
    page.get_by_role('link', name='Create Template').click()
    page.fill('#id_name', name)
    page.select_option('#id_goal', label=GOAL_DISPLAY)
    expect(page.locator('#id_strategy option', has_text=STRATEGY_DISPLAY)
           ).to_have_count(1)
    page.select_option('#id_strategy', label=STRATEGY_DISPLAY)
    shots.take(page, 'create-template', doc=True)
    page.locator('.modal-footer [type=submit]').click()
    expect(page.locator('.alert-success')).to_be_visible()
    expect(page.locator('tbody tr', has_text=name)).to_have_count(1)
    found = [t for t in stack.watcher.get(
        '/audit_templates/detail?limit=1000')['audit_templates']
        if t['name'] == name]
    assert len(found) == 1, found
    assert (found[0]['goal_name'], found[0]['strategy_name']) == (
        GOAL, STRATEGY)
    return found[0]


def test_strategy_detail_shows_every_parameter_with_its_description(
        page, stack, shots):
    page.goto('/admin/strategies/')
    row = page.locator('tbody tr', has_text=STRATEGY)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(STRATEGY_DISPLAY)
    expect(row).to_contain_text(GOAL)
    row.locator('a').first.click()
    page.wait_for_url('**/admin/strategies/*/detail')
    spec = page.locator('dt:has-text("Parameters Spec") + dd pre')
    text = spec.inner_text()
    shots.take(page, 'strategy', doc=True)
    # The page shows the schema's properties as YAML: exactly ours, and
    # what Watcher's API serves.
    shown = yaml.safe_load(text)
    assert shown == PROPERTIES
    api = stack.watcher.get('/strategies/%s' % STRATEGY)
    assert shown == api['parameters_spec']['properties']
    # (each description is shown: ``shown`` is parsed from the page; the
    # YAML may quote or fold it, so it is not compared as flat text)
    flat = norm(text)
    for name, prop in PROPERTIES.items():
        assert '%s:' % name in text.splitlines() or (
            '%s:' % name in flat), name
        assert shown[name]['description'] == prop['description'], name


def served_indicators(stack):
    """name -> (description, unit) of our goal, as Watcher serves them."""
    goal = stack.watcher.get('/goals/%s' % GOAL)
    return {s['name']: (s['description'], s['unit'])
            for s in goal['efficacy_specification']}


def test_watcher_serves_our_indicator_texts(stack):
    # Watcher's decision engine stores the goal's efficacy specification
    # when it starts: a stack started before a text changed serves the
    # old one (restart watcher-decision-engine).
    assert served_indicators(stack) == INDICATORS


def test_goal_detail_lists_our_indicators_with_units(page, stack, shots):
    page.goto('/admin/goals/%s/detail' % GOAL)
    table = page.locator('table', has_text='Efficacy specification')
    rows = {r[0]: r for r in table_rows(table)}
    shots.take(page, 'goal', doc=True)
    served = served_indicators(stack)
    assert set(rows) == set(served) == set(INDICATORS)
    for name, (description, unit) in served.items():
        assert rows[name][1] == description, name
        assert rows[name][2] == (unit or '-'), name


def test_create_audit_panel_lists_every_parameter(page, template, shots):
    lines = open_create_audit(page, template)
    expect(page.locator('#strategy-name')).to_have_text(
        'Strategy: ' + STRATEGY_DISPLAY)
    shots.take(page, 'create-audit', doc=True)
    want = ['%s (type: %s) - default: %s - %s' % (
        name, prop['type'], js_default(prop['default']),
        norm(prop['description'])) for name, prop in PROPERTIES.items()]
    assert lines == want


def test_invalid_json_is_refused_by_the_form(page, stack, template, shots):
    text = '{"cpu_threshold": 0.6,}'
    try:
        json.loads(text)
    except ValueError as exc:
        want = INVALID_JSON_PREFIX + str(exc)
    name = unique('wi-browser-badjson')
    open_create_audit(page, template)
    submit_audit(page, name, text)
    modal = page.locator('.modal')
    expect(modal).to_contain_text(want)
    shots.take(page, 'audit-invalid-json', doc=True)
    assert find_audit(stack, name) == []


@pytest.mark.parametrize('params, violation', [
    ({'cpu_threshold': 2}, '2 is greater than the maximum of 1'),
    ({'period': 30}, '30 is less than the minimum of 60'),
], ids=['cpu_threshold-2', 'period-30'])
def test_schema_violation_fails_with_its_first_violation(
        page, stack, template, shots, params, violation):
    name = unique('wi-browser-refused')
    # What Watcher's API answers to the same request.
    resp = stack.watcher.audit(template['uuid'], params)
    assert resp.status_code == 400, resp.text
    fault = json.loads(resp.json()['error_message'])['faultstring']
    assert fault.startswith(REFUSED_DETAILS_PREFIX + violation), fault
    open_create_audit(page, template)
    submit_audit(page, name, json.dumps(params))
    alert = page.locator('.alert-danger')
    expect(alert).to_contain_text(REFUSED)
    alert.get_by_text('Details').click()
    expect(alert).to_contain_text(REFUSED_DETAILS_PREFIX + violation)
    assert norm(fault) in norm(alert.inner_text())
    if params == {'cpu_threshold': 2}:
        shots.take(page, 'audit-refused', doc=True)
    else:
        shots.take(page, 'audit-refused-' + next(iter(params)))
    assert find_audit(stack, name) == []


@pytest.fixture(scope='module')
def audit(page, stack, template, fresh, shots):
    """A ONESHOT audit created from the form, finished."""
    name = unique('wi-browser-audit')
    open_create_audit(page, template)
    submit_audit(page, name, json.dumps(client.PARAMETERS))
    expect(page.locator('.alert-success')).to_contain_text(
        'Audit was successfully created.')
    found = find_audit(stack, name)
    assert len(found) == 1, found
    done = stack.watcher.finished_audit(found[0]['uuid'], limit=180)
    assert done['state'] == 'SUCCEEDED', done
    return done


@pytest.fixture(scope='module')
def plan(stack, audit):
    """The audit's action plan and its actions, from Watcher's API."""
    plans = stack.watcher.plans(audit['uuid'])
    assert len(plans) == 1, plans
    found = stack.watcher.plan(plans[0]['uuid'])
    assert found['state'] == 'RECOMMENDED', found
    actions = stack.watcher.actions(found['uuid'])
    assert actions, 'the audit planned no action'
    return found, actions


def test_audit_detail_shows_parameters_and_plan(page, audit, plan, shots):
    page.goto('/admin/audits/')
    page.locator('tbody tr', has_text=audit['uuid']).locator(
        'a', has_text=audit['uuid']).first.click()
    page.wait_for_url('**/admin/audits/%s/detail' % audit['uuid'])
    body = page.locator('#content_body, main, body').first
    expect(body).to_contain_text('SUCCEEDED')
    spec = page.locator('dt:has-text("Parameters") + dd').first
    shown = yaml.safe_load(spec.inner_text())
    # Watcher fills in every default; ours are the ones we sent.
    assert {k: shown[k] for k in client.PARAMETERS} == client.PARAMETERS
    assert set(shown) == set(PROPERTIES)
    related = page.locator('table', has_text='Related Action Plans')
    expect(related.locator('tbody tr', has_text=plan[0]['uuid'])
           ).to_have_count(1)
    shots.take(page, 'audit', doc=True)


def test_action_plan_page_shows_indicators_and_ordered_actions(
        page, stack, plan, shots):
    found, actions = plan
    page.goto('/admin/audits/%s/detail' % found['audit_uuid'])
    page.locator('table', has_text='Related Action Plans').locator(
        'a', has_text=found['uuid']).first.click()
    page.wait_for_url('**/admin/action_plans/%s/detail' % found['uuid'])
    expect(page.locator('dl').first).to_contain_text('RECOMMENDED')
    shots.take(page, 'action-plan', doc=True, full=True)

    # Efficacy indicators: ours, with their descriptions and units, and
    # Watcher's values.
    rows = table_rows(page.locator('#efficacy_indicators table'))
    shown = {r[0]: r for r in rows}
    assert len(shown) == len(rows)
    api = {i['name']: i for i in found['efficacy_indicators']}
    assert set(shown) == set(api)
    assert set(shown) <= set(INDICATORS)
    assert {'instance_migrations_count', 'predicted_makespan',
            'predicted_total_downtime'} <= set(shown)
    served = served_indicators(stack)
    for name, row in shown.items():
        description, unit = served[name]
        # an overloaded_hosts_left_* description also names its hosts
        assert row[1] == description or (
            name.startswith('overloaded_hosts_left_') and
            row[1].startswith(description + ': ')), name
        assert row[2] == (unit or '-'), name
        assert float(row[3]) == pytest.approx(float(api[name]['value']))
    assert float(shown['instance_migrations_count'][3]) == len(actions)

    # Actions: in the order our planner created them, parents first.
    rows = table_rows(page.locator('#wactions table'))
    order = [r[0] for r in rows]
    assert order == [a['uuid'] for a in actions]
    assert all(r[1] == 'Migrate' for r in rows), rows
    seen = set()
    for action in actions:
        assert set(action['parents']) <= seen, action
        seen.add(action['uuid'])
    assert any(a['parents'] for a in actions), 'no action has a parent'


def test_action_detail_shows_source_and_destination(page, plan, shots):
    found, actions = plan
    for i, action in enumerate(actions):
        page.goto('/admin/action_plans/%s/detail' % found['uuid'])
        page.locator('#wactions table').locator(
            'a', has_text=action['uuid']).first.click()
        page.wait_for_url('**/admin/actions/%s/detail' % action['uuid'])
        expect(page.locator('dl').first).to_contain_text('PENDING')
        # the planner's reason for the move, as Watcher's API serves it
        # (status_message, microversion 1.5, which the dashboard asks
        # for), in its compact form with the cost notes kept
        # (tests/functional/test_stack_messages.py checks it offline)
        reason = page.locator('dt:has-text("Status Message") + dd').first
        expect(reason).to_contain_text('informed step ')
        expect(reason).to_contain_text('. VM: ')
        expect(reason).to_contain_text('. cost: ')
        rows = {r[0]: r[1] for r in table_rows(
            page.locator('table', has_text='Related parameters'))
            if len(r) > 1}
        for key in ('source_node', 'destination_node', 'resource_id',
                    'migration_type'):
            assert rows.get(key) == str(action['input_parameters'][key]), (
                key, rows)
        if i == 0:
            shots.take(page, 'action', doc=True)


def test_start_from_the_ui_moves_the_servers(page, stack, plan, shots):
    found, actions = plan
    for action in actions:
        params = action['input_parameters']
        server = stack.conn.compute.find_server(params['resource_id'])
        assert server is not None and server.compute_host == params[
            'source_node'], ('server %s is not where the plan expects it: '
                             'reset by another test?' % params)
    page.goto('/admin/action_plans/')
    # The operator's way to find the plan: filter by the audit.
    page.fill('input[name="action_plans__filter__q"]', found['audit_uuid'])
    page.click('#action_plans__action_filter')
    rows = page.locator('#action_plans tbody tr')
    expect(rows).to_have_count(1)
    row = page.locator('tbody tr', has_text=found['uuid'])
    expect(row).to_contain_text('Recommended')
    shots.take(page, 'action-plans', doc=True)
    # Start has no confirmation dialog: it posts at once.
    row.get_by_role('button', name='Start Action Plan').click()
    expect(page.locator('.alert-success')).to_contain_text(
        'Action Plan started')
    done = stack.watcher.finished_plan(found['uuid'], limit=300)
    assert done['state'] == 'SUCCEEDED', done
    states = [(a['state'], a.get('status_message'))
              for a in stack.watcher.actions(found['uuid'])]
    assert [st for st, _ in states] == ['SUCCEEDED'] * len(actions), states
    page.goto('/admin/action_plans/%s/detail' % found['uuid'])
    expect(page.locator('dl').first).to_contain_text('SUCCEEDED')
    rows = table_rows(page.locator('#wactions table'))
    assert [r[2] for r in rows] == ['Succeeded'] * len(actions), rows
    shots.take(page, 'action-plan-succeeded', doc=True, full=True)
    for action in actions:
        params = action['input_parameters']
        server = client.wait(
            'server %s on %s' % (params['resource_id'],
                                 params['destination_node']), 60,
            lambda: (lambda s: s if s.compute_host == params[
                'destination_node'] else None)(
                    stack.conn.compute.get_server(params['resource_id'])),
            1.0)
        assert server.status == 'ACTIVE', server


def test_action_detail_lists_the_whole_explanation(page, stack, shots):
    # With migration_action = informed_migrate each action's input also
    # carries the move's whole explanation, which the applier never
    # rewrites; Horizon's action page lists every input parameter, so an
    # operator reads the reason there uncut (doc/source/horizon.rst).
    # Runs last: the scenario is booted afresh and only planned.
    client.fresh(stack)
    w = stack.watcher
    with stack.watcher_option('watcher_strategies.' + STRATEGY,
                              'migration_action', 'informed_migrate'):
        resp = w.audit(w.template(unique('wi-browser-explained')),
                       client.PARAMETERS)
        assert resp.status_code == 201, resp.text
        done = w.finished_audit(resp.json()['uuid'], limit=180)
    assert done['state'] == 'SUCCEEDED', done
    plans = w.plans(done['uuid'])
    assert len(plans) == 1, plans
    actions = w.actions(plans[0]['uuid'])
    assert actions, 'the audit planned no action'
    assert {a['action_type'] for a in actions} == {'informed_migrate'}
    for i, action in enumerate(actions):
        page.goto('/admin/actions/%s/detail' % action['uuid'])
        rows = {r[0]: r[1] for r in table_rows(
            page.locator('table', has_text='Related parameters'))
            if len(r) > 1}
        whole = action['input_parameters']['explanation']
        assert whole.startswith('informed step '), whole
        assert ' why VM: ' in whole, whole
        assert rows.get('explanation') == norm(whole), rows
        if i == 0:
            shots.take(page, 'action-explanation')
