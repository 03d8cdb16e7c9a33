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

"""The operator's flow with the real clients only: ``openstack optimize``.

Every step is a command an operator types -- python-openstackclient with
python-watcherclient's plugin, in a subprocess, with the stack's admin
credentials in ``OS_*`` variables and nothing else: the goals listed, our
strategy shown with its parameter schema (the one our plugin declares),
an audit template created, bad audit parameters refused with Watcher's
error naming the field (exit status not 0, no traceback, no audit
created), an audit created with ``-p`` parameters, its action plan
listed, its actions listed, the plan started and followed with
``actionplan show`` until it succeeds, and every migration seen where an
operator sees it: the server's host in ``openstack server show`` and one
completed live-migration record per move in ``openstack server migration
list``.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.e2e import client
from watcher_informed.strategies import informed_live_migration

GOAL = 'informed_workload_balancing'
STRATEGY = 'informed_live_migration'
#: bad ``-p`` values and the field Watcher's refusal must name: out of
#: range, wrong type, unknown (a typo), malformed groups.
BAD = [
    ('cpu_threshold=2', 'cpu_threshold'),
    ('period=an-hour', 'period'),
    ('cpu_treshold=0.7', 'cpu_treshold'),
    ('communication_groups=[["not-a-uuid"]]', 'communication_groups'),
]
#: the compute API version of ``server migration list`` with the
#: fields read here (2.80: user and project, 2.59: uuid).
COMPUTE_API = '2.80'


def openstack_command():
    """The ``openstack`` next to this Python (the stack's venv, DevStack's
    global venv), else the one on ``PATH``."""
    here = os.path.join(os.path.dirname(sys.executable), 'openstack')
    return here if os.access(here, os.X_OK) else shutil.which('openstack')


class Operator:
    """``openstack ...`` as the stack's admin types it."""

    def __init__(self, stack):
        self.command = openstack_command()
        assert self.command, 'no openstack command (python-openstackclient)'
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_AUTH_URL=stack.facts['auth_url'],
                   OS_USERNAME='admin', OS_PASSWORD=stack.facts['password'],
                   OS_PROJECT_NAME='admin', OS_USER_DOMAIN_NAME='Default',
                   OS_PROJECT_DOMAIN_NAME='Default',
                   OS_REGION_NAME='RegionOne', OS_IDENTITY_API_VERSION='3',
                   PYTHONWARNINGS='ignore')
        self.env = env

    def run(self, *args):
        """The finished command (any exit status)."""
        return subprocess.run([self.command, *args], capture_output=True,
                              text=True, timeout=180, env=self.env,
                              stdin=subprocess.DEVNULL)

    def ok(self, *args):
        """The output of a command that must succeed."""
        done = self.run(*args)
        assert done.returncode == 0, (args, done.returncode, done.stderr)
        return done.stdout

    def json(self, *args):
        return json.loads(self.ok(*args, '-f', 'json'))

    def value(self, *args):
        """One column (``-c``) of a ``show``, as text."""
        return self.ok(*args, '-f', 'value').strip()

    def until(self, what, limit, args, final):
        """Poll ``args`` (one value) until it is in ``final``; bounded."""
        end = time.monotonic() + limit
        last = None
        while time.monotonic() < end:
            last = self.value(*args)
            if last in final:
                return last
            time.sleep(2)
        raise AssertionError('%s: not final after %d s (last: %r)' % (
            what, limit, last))


def spec_of(shown):
    """The strategy's ``Parameters spec``: the client shows the schema's
    ``properties``, as JSON text."""
    spec = shown['Parameters spec']
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            spec = ast.literal_eval(spec)
    return spec


@pytest.fixture(scope='module')
def operator(stack):
    return Operator(stack)


@pytest.fixture(scope='module')
def template(operator, fresh):
    name = 'osc-flow-%s' % uuid.uuid4().hex[:8]
    made = operator.json('optimize', 'audittemplate', 'create', name, GOAL,
                         '--strategy', STRATEGY)
    assert made['Name'] == name
    return made


@pytest.fixture(scope='module')
def audit(operator, template):
    params = [a for k, v in sorted(client.PARAMETERS.items())
              for a in ('-p', '%s=%s' % (k, v))]
    made = operator.json('optimize', 'audit', 'create', '-a',
                         template['UUID'], *params)
    state = operator.until(
        'audit %s' % made['UUID'], 300,
        ('optimize', 'audit', 'show', made['UUID'], '-c', 'State'),
        client.Watcher.FINAL)
    assert state == 'SUCCEEDED', operator.json('optimize', 'audit', 'show',
                                               made['UUID'])
    return made


@pytest.fixture(scope='module')
def plan(operator, audit):
    plans = operator.json('optimize', 'actionplan', 'list', '--audit',
                          audit['UUID'])
    assert len(plans) == 1, plans
    return plans[0]


def actions_of(operator, plan_uuid):
    """``action list --detail`` of the plan, each with its parameters."""
    return operator.json('optimize', 'action', 'list', '--action-plan',
                         plan_uuid, '--detail')


def moves(actions):
    """``{server: (source, destination)}`` from the actions' parameters."""
    out = {}
    for action in actions:
        assert action['Action'] == 'migrate', action
        params = action['Parameters']
        if isinstance(params, str):
            params = json.loads(params)
        out[params['resource_id']] = (params['source_node'],
                                      params['destination_node'])
    return out


@pytest.fixture(scope='module')
def pending(operator, plan):
    """The plan's actions before it is started."""
    return actions_of(operator, plan['UUID'])


@pytest.fixture(scope='module')
def applied(operator, plan, pending):
    operator.ok('optimize', 'actionplan', 'start', plan['UUID'])
    state = operator.until(
        'action plan %s' % plan['UUID'], 600,
        ('optimize', 'actionplan', 'show', plan['UUID'], '-c', 'State'),
        client.Watcher.FINAL)
    return {'state': state, 'before': pending,
            'after': actions_of(operator, plan['UUID'])}


def test_goal_list_has_our_goal_beside_watchers(operator):
    goals = {g['Name']: g for g in operator.json('optimize', 'goal',
                                                 'list')}
    assert GOAL in goals
    assert 'dummy' in goals, 'Watcher\'s own goals are listed too'
    strategies = operator.json('optimize', 'strategy', 'list', '--goal',
                               GOAL)
    assert [s['Name'] for s in strategies] == [STRATEGY]


def test_strategy_show_has_our_parameter_schema(operator):
    shown = operator.json('optimize', 'strategy', 'show', STRATEGY)
    assert shown['Name'] == STRATEGY
    assert shown['Goal'] == GOAL
    declared = informed_live_migration.InformedLiveMigration.get_schema()
    assert spec_of(shown) == json.loads(json.dumps(declared['properties']))
    assert {'cpu_threshold', 'period', 'granularity',
            'max_migrations'} <= set(spec_of(shown))


def test_audit_template_names_our_goal_and_strategy(operator, template):
    shown = operator.json('optimize', 'audittemplate', 'show',
                          template['UUID'])
    assert (shown['Goal'], shown['Strategy']) == (GOAL, STRATEGY)


@pytest.fixture(scope='module')
def refused(operator, template):
    """Each bad ``audit create``, and the audit count before and after."""
    before = len(operator.json('optimize', 'audit', 'list'))
    done = {field: operator.run('optimize', 'audit', 'create', '-a',
                                template['UUID'], '-p', parameter)
            for parameter, field in BAD}
    after = len(operator.json('optimize', 'audit', 'list'))
    return {'done': done, 'counts': (before, after)}


@pytest.mark.parametrize('field', [f for _, f in BAD])
def test_bad_parameter_is_refused_naming_the_field(refused, field):
    done = refused['done'][field]
    assert done.returncode != 0, done.stdout
    assert field in done.stderr, done.stderr
    assert 'HTTP 400' in done.stderr, done.stderr
    assert 'Traceback' not in done.stderr, done.stderr


def test_refused_audits_are_not_created(refused):
    before, after = refused['counts']
    assert after == before


def test_audit_keeps_the_parameters_given_with_p(operator, audit):
    shown = operator.json('optimize', 'audit', 'show', audit['UUID'])
    params = shown['Parameters']
    if isinstance(params, str):
        params = json.loads(params)
    for key, value in client.PARAMETERS.items():
        assert params[key] == value, (key, params)
    assert shown['Strategy'] == STRATEGY


def test_actionplan_list_shows_one_recommended_plan(plan, pending):
    assert plan['State'] == 'RECOMMENDED'
    assert pending, 'the plan has no actions'
    assert {a['State'] for a in pending} == {'PENDING'}
    for action in pending:
        params = action['Parameters']
        if isinstance(params, str):
            params = json.loads(params)
        assert params['migration_type'] == 'live', action
    assert moves(pending)


def test_actionplan_start_runs_every_action(applied):
    assert applied['state'] == 'SUCCEEDED', applied['after']
    assert {a['State'] for a in applied['after']} == {'SUCCEEDED'}
    assert moves(applied['after']) == moves(applied['before'])


def test_migrations_are_seen_in_server_show(operator, applied):
    planned = moves(applied['after'])
    for server, (_, dest) in planned.items():
        shown = operator.json('server', 'show', server)
        assert shown['OS-EXT-SRV-ATTR:host'] == dest, (server, shown)
        assert shown['status'] == 'ACTIVE'
    records = operator.json('--os-compute-api-version', COMPUTE_API,
                            'server', 'migration', 'list', '--type',
                            'live-migration')
    seen = {}
    for r in records:
        if r['Server UUID'] in planned:
            seen.setdefault(r['Server UUID'], []).append(
                (r['Source Compute'], r['Dest Compute'], r['Status']))
    assert seen == {server: [(src, dst, 'completed')]
                    for server, (src, dst) in planned.items()}
