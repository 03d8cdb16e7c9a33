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

"""A move fails mid-plan; the moves counting on it do not start.

The stack boots ``tools/stack/scenario-room.json``: compute1 full and
CPU-hot, compute4 full and memory-hot, room for only two servers on
compute2, so compute4's moves into compute1 wait for compute1's own moves
out (the room-making order).  ``migration_action = informed_migrate`` is
set in watcher.conf (the decision engine re-reads it at the next audit).
After planning, the server of the last room-making move is stopped, then
the plan runs.  Checked: that move FAILED without migrating (its status
says why); every move counting on its room SKIPPED, naming it, and was
never sent to Nova; the others SUCCEEDED; Placement never showed a host
over capacity while the plan ran; a new audit plans the rest.
"""

import os
import time

import pytest

from tests.e2e import client
from tests.e2e import test_audit_flow as flow
from watcher_informed.adapters import solution

SCENARIO = os.path.join(client.STACK_DIR, 'scenario-room.json')
SECTION = 'watcher_strategies.informed_live_migration'
PARAMETERS = {'cpu_threshold': 0.6, 'ram_threshold': 0.5, 'period': 60,
              'granularity': 5}


def audit(stack, name):
    w = stack.watcher
    resp = w.audit(w.template(name), PARAMETERS)
    assert resp.status_code == 201, resp.text
    done = w.finished_audit(resp.json()['uuid'])
    assert done['state'] == 'SUCCEEDED', done
    plan = w.plans(done['uuid'])[0]
    return plan, actions(stack, plan['uuid'])


def actions(stack, plan_uuid):
    """The plan's actions with their status messages (API 1.5)."""
    resp = stack.watcher.request(
        'GET', '/actions/detail?action_plan_uuid=%s&limit=1000' % plan_uuid,
        headers={'OpenStack-API-Version': 'infra-optim 1.5'})
    assert resp.status_code == 200, resp.text
    return resp.json()['actions']


def step_of(action):
    facts = solution.parse_status_message(action.get('status_message'))
    return facts['step'] if facts else 10 ** 9


def run_sampling_placement(stack, plan_uuid, limit=300):
    """Start the plan; Placement's usage every half second until done."""
    w = stack.watcher
    w.start(plan_uuid)
    samples = []
    end = time.monotonic() + limit
    while time.monotonic() < end:
        samples.append(flow.placement_usage(stack))
        if w.plan(plan_uuid)['state'] in w.FINAL:
            break
        time.sleep(0.5)
    samples.append(flow.placement_usage(stack))
    return w.finished_plan(plan_uuid), samples


def nova_migrations(stack):
    return flow.migrations(stack, {s.id for s in
                                   stack.conn.compute.servers()})


@pytest.fixture(scope='module')
def room(stack):
    live = client.fresh(stack, SCENARIO)
    conn = stack.conn
    with stack.watcher_option(SECTION, 'migration_action',
                              'informed_migrate'):
        plan, planned = audit(stack, 'e2e-room')
        waits = {a['uuid']: a['input_parameters'].get('freed_by') or []
                 for a in planned}
        freed = {u for ws in waits.values() for u in ws}
        by_instance = {a['input_parameters']['resource_id']: a
                       for a in planned}
        # the last room-making move (an earlier one succeeds first)
        victim = max(sorted(freed & set(by_instance)),
                     key=lambda u: step_of(by_instance[u]))
        conn.compute.stop_server(victim)
        conn.compute.wait_for_server(conn.compute.get_server(victim),
                                     status='SHUTOFF', wait=120, interval=1)
        before = set(m['uuid'] for ms in nova_migrations(stack).values()
                     for m in ms)
        done, samples = run_sampling_placement(stack, plan['uuid'])
        after = actions(stack, plan['uuid'])
        hosts = {s.id: s.compute_host for s in conn.compute.servers()}
        migrated = {u for u, ms in nova_migrations(stack).items()
                    if any(m['uuid'] not in before for m in ms)}
        conn.compute.start_server(victim)
        conn.compute.wait_for_server(conn.compute.get_server(victim),
                                     status='ACTIVE', wait=120, interval=1)
        current = dict(live, instances=[dict(i, host=hosts[i['uuid']])
                                        for i in live['instances']])
        client.wait("Watcher's compute model after the plan", 120,
                    lambda: client.model_current(stack, current), 2.0)
        again, again_actions = audit(stack, 'e2e-room-again')
    return {'live': live, 'plan': done, 'planned': planned,
            'actions': {a['input_parameters']['resource_id']: a
                        for a in after},
            'waits': waits, 'victim': victim, 'hosts': hosts,
            'migrated': migrated, 'samples': samples,
            'again': again, 'again_actions': again_actions}


def lost(room):
    """The victim and every move counting on its room, transitively."""
    by_uuid = {a['uuid']: a['input_parameters']['resource_id']
               for a in room['planned']}
    out, grew = {room['victim']}, True
    while grew:
        grew = False
        for action_uuid, waits in room['waits'].items():
            inst = by_uuid[action_uuid]
            if inst not in out and out & set(waits):
                out.add(inst)
                grew = True
    return out


def test_the_plan_is_of_informed_migrate_actions_that_wait_for_room(room):
    planned = room['planned']
    assert {a['action_type'] for a in planned} == {'informed_migrate'}
    source = {a['input_parameters']['resource_id']:
              a['input_parameters']['source_node'] for a in planned}
    waiting = [a for a in planned if a['input_parameters'].get('freed_by')]
    assert waiting, 'the scenario must have a room-making order'
    by_uuid = {a['uuid']: a for a in planned}
    for a in waiting:
        dest = a['input_parameters']['destination_node']
        for inst in a['input_parameters']['freed_by']:
            assert source[inst] == dest
        parents = {by_uuid[p]['input_parameters']['resource_id']
                   for p in a['parents']}
        assert set(a['input_parameters']['freed_by']) <= parents


def test_each_action_carries_its_whole_explanation(room):
    # the input the applier never rewrites: the same facts as the
    # status message our planner wrote, with the strategy's reason uncut
    for a in room['planned']:
        text = a['input_parameters']['explanation']
        assert len(text) <= solution.EXPLANATION_MAX
        whole = solution.parse_status_message(text)
        short = solution.parse_status_message(a['status_message'])
        assert whole['reason'].startswith('why VM: ')
        assert short['reason'].startswith('VM: ')
        assert {k: v for k, v in whole.items() if k != 'reason'} == \
            {k: v for k, v in short.items() if k != 'reason'}
    # still there once the applier replaced the status messages
    for a in room['actions'].values():
        assert a['input_parameters']['explanation'].startswith(
            'informed step ')


def test_the_stopped_servers_move_failed_without_migrating(room):
    victim = room['actions'][room['victim']]
    assert victim['state'] == 'FAILED', victim
    assert 'not started' in victim['status_message']
    assert 'state is shutoff' in victim['status_message']
    assert room['victim'] not in room['migrated']
    assert room['hosts'][room['victim']] == \
        victim['input_parameters']['source_node']


def test_moves_counting_on_it_skipped_naming_it(room):
    dependents = lost(room) - {room['victim']}
    assert dependents, 'some move must wait for the failed one'
    name = room['actions'][room['victim']]['input_parameters'][
        'resource_name']
    for uuid in dependents:
        a = room['actions'][uuid]
        params = a['input_parameters']
        assert a['state'] == 'SKIPPED', a
        assert a['status_message'].startswith(
            'Action was skipped automatically: not started: waits for room '
            'on %s' % params['destination_node']), a['status_message']
        assert name in a['status_message'] or any(
            w[:8] in a['status_message'] for w in params['freed_by'])
        assert uuid not in room['migrated']
        assert room['hosts'][uuid] == params['source_node']


def test_the_other_moves_succeeded(room):
    others = set(room['actions']) - lost(room)
    assert others, 'some move must not depend on the failed one'
    for uuid in others:
        a = room['actions'][uuid]
        assert a['state'] == 'SUCCEEDED', a
        assert room['hosts'][uuid] == a['input_parameters'][
            'destination_node']
    assert room['migrated'] == others
    assert room['plan']['state'] == 'FAILED'


def test_no_host_over_capacity_at_any_moment(room):
    assert len(room['samples']) >= 2
    for usage in room['samples']:
        over = [u for u in usage if u[2] > u[3]]
        assert not over, over


def test_a_new_audit_plans_the_rest(room):
    again = room['again_actions']
    assert again, 'the hosts left hot by the failure must be relieved'
    assert {a['action_type'] for a in again} == {'informed_migrate'}
    moved = room['migrated']
    # the sources of the moves that did not happen
    unrelieved = {room['actions'][u]['input_parameters']['source_node']
                  for u in lost(room)}
    for a in again:
        params = a['input_parameters']
        # no instance that just moved moves again (cooldown) ...
        assert params['resource_id'] not in moved
        # ... and the moves relieve the hosts the failure left hot
        assert params['source_node'] in unrelieved, params
    assert room['again']['state'] == 'RECOMMENDED'
