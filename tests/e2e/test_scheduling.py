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

"""Nova's scheduling constraints on the real stack: no move Nova refuses.

The stack's scenario is booted with constraints set through the real
APIs (``tools/stack/seed.py``): custom traits on the computes' resource
providers in Placement, flavors with ``trait:NAME=required|forbidden`` and
``aggregate_instance_extra_specs`` extra specs, and Nova host aggregates
-- one isolated to a trait (``trait:CUSTOM_WI_GPU=required``, with
``[scheduler] enable_isolated_aggregate_filtering``), one carrying the
``ssd=true`` metadata ``AggregateInstanceExtraSpecsFilter`` matches.
Without them our planner would send ``c1-disk`` to compute2 (which has
the trait its flavor forbids) and an instance to compute3 (isolated).
The audit reads them in bulk from Nova and Placement, plans no such move,
and every planned move is then carried out by Nova; asked directly, Nova
refuses the two moves the plan left out.
"""

import copy
import json
import os

from openstack import exceptions
import pytest

from tests.e2e import client
from tests.e2e import test_audit_flow as flow

TRAITS = {'compute1': ['CUSTOM_WI_FAST'], 'compute2': ['CUSTOM_WI_SLOW'],
          'compute3': ['CUSTOM_WI_FAST', 'CUSTOM_WI_GPU']}
AGGREGATES = [
    {'name': 'wi-gpu', 'hosts': ['compute3'],
     'metadata': {'trait:CUSTOM_WI_GPU': 'required'}},
    {'name': 'wi-ssd', 'hosts': ['compute2', 'compute4'],
     'metadata': {'ssd': 'true'}},
]
SPECS = {
    'c1-disk': {'trait:CUSTOM_WI_SLOW': 'forbidden'},
    'c1-cpu-a': {'trait:CUSTOM_WI_FAST': 'required'},
    'c4-cpu-b': {'aggregate_instance_extra_specs:ssd': 'true'},
}
#: host -> instances (by name) Nova accepts there
ISOLATED = {'compute3'}


def constrained(stack):
    with open(client.SCENARIO) as f:
        data = json.load(f)
    for h in data['hosts']:
        if h['name'] in TRAITS:
            h['traits'] = TRAITS[h['name']]
    for i in data['instances']:
        if i['name'] in SPECS:
            i['extra_specs'] = SPECS[i['name']]
    data['aggregates'] = copy.deepcopy(AGGREGATES)
    path = os.path.join(stack.run, 'scenario-constraints.json')
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)
    return path


def unconstrained(live):
    out = copy.deepcopy(live)
    out.pop('aggregates', None)
    for h in out['hosts']:
        h.pop('traits', None)
    for i in out['instances']:
        i.pop('extra_specs', None)
    return out


@pytest.fixture(scope='module')
def setup(stack):
    live = client.fresh(stack, constrained(stack))
    yield live
    client.fresh(stack)     # the next suites find the plain scenario


@pytest.fixture(scope='module')
def audited(stack, setup):
    w = stack.watcher
    log_before = len(stack.log('watcher-decision-engine'))
    resp = w.audit(w.template('e2e-scheduling'), client.PARAMETERS)
    assert resp.status_code == 201, resp.text
    audit = w.finished_audit(resp.json()['uuid'])
    assert audit['state'] == 'SUCCEEDED', audit
    plans = w.plans(audit['uuid'])
    assert len(plans) == 1, plans
    actions = w.actions(plans[0]['uuid'])
    return {'plan': plans[0], 'actions': actions,
            'moves': flow.moves(actions),
            'log': stack.log('watcher-decision-engine')[log_before:],
            'before': {s.id: s.compute_host
                       for s in stack.conn.compute.servers()}}


def why(stack, audited):
    """What the audit said of its plan: the action plan's status message
    (the hosts left overloaded and why, API 1.5), its non-zero
    indicators and the decision engine's lines about our strategy."""
    resp = stack.watcher.request(
        'GET', '/action_plans/%s' % audited['plan']['uuid'],
        headers={'OpenStack-API-Version': 'infra-optim 1.5'})
    plan = resp.json() if resp.status_code == 200 else {}
    indicators = {i['name']: i['value']
                  for i in plan.get('efficacy_indicators') or ()
                  if i.get('value')}
    lines = [line for line in audited['log'].splitlines()
             if 'informed' in line][-30:]
    return '\n'.join([str(plan.get('status_message')), str(indicators)]
                     + lines)


def names(live):
    return {i['uuid']: i['name'] for i in live['instances']}


def test_constraints_are_in_placement_and_nova(stack, setup):
    for host, traits in TRAITS.items():
        rp = stack.conn.placement.get(
            '/resource_providers?name=%s' % stack.host(host),
            microversion='1.6').json()['resource_providers'][0]
        have = stack.conn.placement.get(
            '/resource_providers/%s/traits' % rp['uuid'],
            microversion='1.6').json()['traits']
        assert set(traits) <= set(have), (host, have)
    aggs = {a.name: a for a in stack.conn.compute.aggregates()}
    for want in AGGREGATES:
        assert sorted(aggs[want['name']].hosts) == sorted(
            stack.host(h) for h in want['hosts'])
        assert aggs[want['name']].metadata == want['metadata']
    specs = {s.name: dict(s.flavor.get('extra_specs') or {})
             for s in stack.conn.compute.servers(details=True)}
    for name, want in SPECS.items():
        assert specs[name] == want, (name, specs[name])


def test_without_the_constraints_our_plan_would_break_them(stack, setup):
    doc = stack.offline_plan(client.PARAMETERS, unconstrained(setup))
    by_name = {a['name']: a['destination'] for a in doc['actions']}
    # c1-disk forbids compute2's trait; compute3 is isolated to GPU
    assert by_name.get('c1-disk') == stack.host('compute2'), by_name
    assert stack.host('compute3') in by_name.values(), by_name


def test_the_audit_plans_no_move_nova_would_refuse(stack, setup, audited):
    who = names(setup)
    planned = {who[u]: dst for u, (_, dst) in audited['moves'].items()}
    assert planned, 'the constrained plan is empty: %s' % why(stack, audited)
    assert 'c1-disk' not in planned or \
        planned['c1-disk'] != stack.host('compute2')
    for name, dst in planned.items():
        assert dst not in {stack.host(h) for h in ISOLATED}, (name, dst)
    # c1-cpu-a needs CUSTOM_WI_FAST: compute1 (its own) and compute3
    # (isolated) only -- it cannot move
    assert 'c1-cpu-a' not in planned
    if 'c4-cpu-b' in planned:
        assert planned['c4-cpu-b'] in {stack.host('compute2'),
                                       stack.host('compute4')}
    # the facts were read in bulk: one line per audit says how many
    assert 'scheduling facts: 2 aggregate(s), 3 instance(s) with extra ' \
        'specs' in audited['log']


def test_the_audit_equals_our_cli_on_the_same_cloud(stack, audited):
    doc = stack.offline_plan(client.PARAMETERS)
    offline = {a['instance']: (a['source'], a['destination'])
               for a in doc['actions']}
    assert audited['moves'] == offline, why(stack, audited)


def test_nova_carries_out_every_planned_move(stack, audited):
    w = stack.watcher
    w.start(audited['plan']['uuid'])
    plan = w.finished_plan(audited['plan']['uuid'])
    actions = w.actions(plan['uuid'])
    assert plan['state'] == 'SUCCEEDED', (plan, [
        (a['state'], a.get('status_message')) for a in actions])
    assert {a['state'] for a in actions} == {'SUCCEEDED'}
    now = {s.id: s.compute_host for s in stack.conn.compute.servers()}
    for uuid, host in audited['before'].items():
        want = audited['moves'].get(uuid, (host, host))[1]
        assert now[uuid] == want, (uuid, host, now[uuid], want)


@pytest.mark.parametrize('name, host', [('c1-disk', 'compute2'),
                                        ('c1-cpu-a', 'compute3')])
def test_nova_refuses_the_moves_the_plan_left_out(stack, setup, audited,
                                                  name, host):
    server = next(s for s in stack.conn.compute.servers()
                  if s.name == name)
    source = server.compute_host
    assert source != stack.host(host)
    try:
        stack.conn.compute.live_migrate_server(
            server, host=stack.host(host), block_migration='auto')
    except exceptions.HttpException as exc:
        # refused at once (an older microversion's NoValidHost)
        assert exc.status_code in (400, 409), exc
    else:
        def settled():
            states = {m.status for m in stack.conn.compute.migrations(
                server_id=server.id)}
            return states if states & {'error', 'failed', 'completed'} \
                else None
        states = client.wait('Nova decided on %s -> %s' % (name, host),
                             120, settled, 2.0)
        assert 'completed' not in states, states
    again = stack.conn.compute.get_server(server.id)
    assert again.compute_host == source
    assert again.status == 'ACTIVE'
