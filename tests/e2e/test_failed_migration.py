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

"""A migration that fails mid-plan, for real.

After planning, the destination of two of the plan's moves is disabled
in Nova.  doc/source/planner.rst promises: the applier does not stop at
the failed action; a move that waited for a failed move still runs (and
fails too, Nova refusing the disabled host); moves of other lanes
succeed; the plan ends FAILED; no host is over capacity at any point and
the servers that could not move stay ACTIVE on their source host.
"""

import pytest

from tests.e2e import client
from tests.e2e import test_audit_flow as flow


@pytest.fixture(scope='module')
def broken(stack, fresh):
    w = stack.watcher
    resp = w.audit(w.template('e2e-broken'), client.PARAMETERS)
    assert resp.status_code == 201, resp.text
    audit = w.finished_audit(resp.json()['uuid'])
    assert audit['state'] == 'SUCCEEDED', audit
    plan = w.plans(audit['uuid'])[0]
    actions = w.actions(plan['uuid'])
    planned = flow.moves(actions)
    dests = [dst for _, dst in planned.values()]
    # the destination receiving most moves (with a DAG edge between them)
    target = max(sorted(set(dests)), key=dests.count)
    service = next(s for s in stack.conn.compute.services()
                   if s.binary == 'nova-compute' and s.host == target)
    stack.conn.compute.disable_service(service, target, 'nova-compute',
                                       disabled_reason='e2e test')
    try:
        w.start(plan['uuid'])
        done = w.finished_plan(plan['uuid'])
        after = w.actions(plan['uuid'])
        hosts = {s.id: (s.compute_host, s.status)
                 for s in stack.conn.compute.servers()}
        usage = flow.placement_usage(stack)
    finally:
        stack.conn.compute.enable_service(service, target, 'nova-compute')
    return {'plan': done, 'actions': after, 'planned': planned,
            'target': target, 'hosts': hosts, 'usage': usage,
            'before': {i['uuid']: i['host'] for i in fresh['instances']}}


def state_of(broken):
    return {a['input_parameters']['resource_id']: a['state']
            for a in broken['actions']}


def test_the_plan_ends_failed(broken):
    assert broken['plan']['state'] == 'FAILED', broken['plan']


def test_moves_to_the_disabled_host_fail_and_the_rest_succeed(broken):
    states = state_of(broken)
    for uuid, (_, dst) in broken['planned'].items():
        want = 'FAILED' if dst == broken['target'] else 'SUCCEEDED'
        assert states[uuid] == want, (uuid, dst, states[uuid])
    assert 'SUCCEEDED' in states.values()


def test_a_move_after_a_failed_one_still_ran(broken):
    by_uuid = {a['uuid']: a for a in broken['actions']}
    children = [a for a in broken['actions'] if any(
        by_uuid[p]['state'] == 'FAILED' for p in a['parents'])]
    assert children, 'the scenario should give a move after a failed one'
    for child in children:
        assert child['state'] in ('SUCCEEDED', 'FAILED'), child


def test_servers_that_could_not_move_stay_active_on_their_source(broken):
    for uuid, (src, dst) in broken['planned'].items():
        host, status = broken['hosts'][uuid]
        assert status == 'ACTIVE', (uuid, status)
        assert host == (src if dst == broken['target'] else dst), uuid
    for uuid, host in broken['before'].items():
        if uuid not in broken['planned']:
            assert broken['hosts'][uuid] == (host, 'ACTIVE')


def test_no_host_is_over_capacity(broken):
    over = [u for u in broken['usage'] if u[2] > u[3]]
    assert not over, over
