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

"""An informed audit on the real stack, from the API to Nova.

Audit template and audit through Watcher's API with our strategy and
parameters; the action plan is checked against the plan our own CLI
computes offline from the same scenario (actions, DAG parents, efficacy
indicators), then started, and Nova and Placement are checked: every
server on its planned host, migration records completed in an order the
DAG allows, server-group policies held, no host over capacity.
"""

import datetime
import itertools

import pytest

from tests.e2e import client
from watcher_informed.conf import strategy as options
from watcher_informed.goals import informed_workload_balancing as goal


def _stamp(text):
    return datetime.datetime.fromisoformat(text.replace('Z', ''))


@pytest.fixture(scope='module')
def audited(stack, fresh):
    w = stack.watcher
    template = w.template('e2e-flow')
    resp = w.audit(template, client.PARAMETERS)
    assert resp.status_code == 201, resp.text
    audit = w.finished_audit(resp.json()['uuid'])
    assert audit['state'] == 'SUCCEEDED', audit
    plans = w.plans(audit['uuid'])
    assert len(plans) == 1, plans
    plan = w.plan(plans[0]['uuid'])
    return {'audit': audit, 'plan': plan,
            'actions': w.actions(plan['uuid']),
            'offline': stack.offline_plan(client.PARAMETERS),
            'before': {s.id: s.compute_host
                       for s in stack.conn.compute.servers()}}


@pytest.fixture(scope='module')
def applied(stack, audited):
    w = stack.watcher
    w.start(audited['plan']['uuid'])
    plan = w.finished_plan(audited['plan']['uuid'])
    return {'plan': plan, 'actions': w.actions(plan['uuid'])}


def moves(actions):
    """``{instance uuid: (source, destination)}`` of migrate actions."""
    return {a['input_parameters']['resource_id']: (
        a['input_parameters']['source_node'],
        a['input_parameters']['destination_node']) for a in actions
        if a['action_type'] == 'migrate'}


def parents_by_instance(actions, uuid_key, parent_key, instance):
    """The DAG as ``{instance: set of parent instances}``."""
    owner = {a[uuid_key]: instance(a) for a in actions}
    return {instance(a): {owner[p] for p in a[parent_key]}
            for a in actions}


def test_every_action_is_a_live_migration_with_the_five_fields(audited):
    assert audited['actions'], 'the plan is empty'
    for action in audited['actions']:
        assert action['action_type'] == 'migrate'
        assert set(action['input_parameters']) == {
            'migration_type', 'resource_id', 'resource_name',
            'source_node', 'destination_node'}
        assert action['input_parameters']['migration_type'] == 'live'


def test_actions_are_the_plan_our_cli_makes_of_the_same_cloud(audited):
    offline = {a['instance']: (a['source'], a['destination'])
               for a in audited['offline']['actions']}
    assert moves(audited['actions']) == offline


def test_dag_parents_are_the_planners(audited):
    online = parents_by_instance(
        audited['actions'], 'uuid', 'parents',
        lambda a: a['input_parameters']['resource_id'])
    offline = parents_by_instance(
        audited['offline']['actions'], 'action_uuid', 'parents',
        lambda a: a['instance'])
    assert online == offline
    assert any(online.values()), 'expected at least one ordered pair'


def test_moves_respect_groups_and_relieve_the_hot_hosts(stack, audited,
                                                        fresh):
    sources = {src for src, _ in moves(audited['actions']).values()}
    assert sources == {stack.host('compute1'), stack.host('compute4')}
    members = {g['name']: g['members'] for g in fresh['server_groups']}
    planned = moves(audited['actions'])
    assert not set(members['pair']) & set(planned), \
        'a member of a hard-affinity group was moved alone'
    # the web tier stays apart: no move brings one member to the other
    placed = {i['uuid']: i['host'] for i in fresh['instances']}
    placed.update({u: dst for u, (_, dst) in planned.items()})
    web = members['web-tier']
    assert len({placed[u] for u in web}) == len(web)


def test_efficacy_indicators_have_names_units_and_our_values(audited):
    shown = {i['name']: i for i in audited['plan']['efficacy_indicators']}
    spec = {s.name: s for s in goal.InformedWorkloadBalancingSpec()
            .get_indicators_specifications()}
    # the balance_* indicators only come with the audit's ``balance``
    balance = {name for name, *_ in goal.BALANCE_INDICATORS}
    assert set(shown) == set(spec) - balance
    assert balance <= set(spec)
    for name, indicator in shown.items():
        assert indicator['description'], name
        assert indicator['unit'] == spec[name].unit, name
    offline = audited['offline']['efficacy']
    assert shown['instance_migrations_count']['value'] == \
        offline['instance_migrations_count'] == len(audited['actions'])
    assert shown['overloaded_hosts_after']['value'] == 0
    assert shown['overloaded_hosts_before']['value'] == 2
    assert shown['predicted_makespan']['value'] == pytest.approx(
        offline['predicted_makespan'], rel=1e-3)
    names = {g['name'] for g in audited['plan']['global_efficacy']}
    assert 'overloaded_hosts_relieved' in names


def test_plan_succeeds_and_servers_are_where_planned(stack, audited,
                                                     applied):
    assert applied['plan']['state'] == 'SUCCEEDED', applied
    assert {a['state'] for a in applied['actions']} == {'SUCCEEDED'}
    planned = moves(audited['actions'])
    now = {s.id: s.compute_host for s in stack.conn.compute.servers()}
    for uuid, host in audited['before'].items():
        want = planned[uuid][1] if uuid in planned else host
        assert now[uuid] == want, (uuid, host, now[uuid], want)
    statuses = {s.status for s in stack.conn.compute.servers()}
    assert statuses == {'ACTIVE'}


def migrations(stack, uuids):
    """Nova's live-migration records of ``uuids`` by server."""
    resp = stack.conn.compute.get(
        '/os-migrations?migration_type=live-migration',
        microversion='2.59')
    resp.raise_for_status()
    out = {}
    for m in resp.json()['migrations']:
        if m['instance_uuid'] in uuids:
            out.setdefault(m['instance_uuid'], []).append(m)
    return out


def test_nova_migrations_completed_in_dag_order(stack, audited, applied):
    planned = moves(audited['actions'])
    records = migrations(stack, set(planned))
    assert set(records) == set(planned)
    for uuid, found in records.items():
        assert len(found) == 1, found
        m = found[0]
        assert m['status'] == 'completed', m
        assert (m['source_compute'], m['dest_compute']) == planned[uuid]
    dag = parents_by_instance(
        audited['actions'], 'uuid', 'parents',
        lambda a: a['input_parameters']['resource_id'])
    for child, parents in dag.items():
        for parent in parents:
            assert _stamp(records[child][0]['created_at']) >= \
                _stamp(records[parent][0]['updated_at']), (child, parent)


def test_server_group_policies_hold_in_nova(stack, applied):
    hosts = {s.id: s.compute_host for s in stack.conn.compute.servers()}
    groups = list(stack.conn.compute.server_groups())
    assert {g.policy for g in groups} == {'affinity', 'anti-affinity'}
    for g in groups:
        where = [hosts[m] for m in g.member_ids]
        if g.policy == 'affinity':
            assert len(set(where)) == 1, (g.name, where)
        else:
            assert len(set(where)) == len(where), (g.name, where)


def placement_usage(stack):
    """``[(provider, class, used, capacity)]`` from Placement."""
    out = []
    for rp in stack.conn.placement.resource_providers():
        inventories = stack.conn.placement.get(
            '/resource_providers/%s/inventories' % rp.id).json()[
                'inventories']
        usages = stack.conn.placement.get(
            '/resource_providers/%s/usages' % rp.id).json()['usages']
        for rc, inv in inventories.items():
            cap = (inv['total'] - inv['reserved']) * inv['allocation_ratio']
            out.append((rp.name, rc, usages.get(rc, 0), cap))
    return out


def test_placement_shows_no_host_over_capacity(stack, applied):
    usage = placement_usage(stack)
    assert {name for name, *_ in usage} == set(stack.facts['hosts'].values())
    over = [u for u in usage if u[2] > u[3]]
    assert not over, over
    # and the audit did change allocations: compute1 no longer full
    vcpu = {name: used for name, rc, used, _ in usage if rc == 'VCPU'}
    assert vcpu[stack.host('compute1')] < 10


def test_inventories_are_the_configured_sizes(stack, fresh):
    usage = placement_usage(stack)
    caps = {(name, rc): cap for name, rc, _, cap in usage}
    for h in fresh['hosts']:
        assert caps[(h['name'], 'VCPU')] == h['vcpus'] - h['vcpu_reserved']
        assert caps[(h['name'], 'MEMORY_MB')] == \
            h['ram_mb'] - h['ram_reserved_mb']
    for name, sizes in stack.facts.get('computes', {}).items():
        assert caps[(stack.host(name), 'VCPU')] == \
            10 - sizes['reserved_host_cpus']
        assert caps[(stack.host(name), 'MEMORY_MB')] == \
            8192 - sizes['reserved_host_memory_mb']


def test_strategy_logged_its_reasons(stack, audited):
    log = stack.log('watcher-decision-engine')
    for step, action in zip(itertools.count(1), audited['offline'][
            'actions']):
        assert 'informed_live_migration: step %d %s' % (
            step, action['instance']) in log


def test_the_dirty_rate_agents_meters_reach_the_reader(stack, audited,
                                                      fresh):
    # the strategy's default meter names (those of watcher-informed-
    # dirtyrate) read back, through Prometheus, the scenario's values
    defaults = {o.name: o.default for o in options.OPTS}
    assert stack.facts['dirty_rate_meter'] == defaults['dirty_rate_meter']
    assert stack.facts['working_set_meter'] == \
        defaults['working_set_meter']
    want = {u: m for u, m in fresh['metrics'].items() if 'wss' in m}
    assert want, 'the scenario gives some servers a working set'
    for metric in ('dirty_rate', 'wss'):
        got = client.readings(stack, fresh, metric)
        for uuid, m in want.items():
            assert got[uuid] == pytest.approx(m[metric]), (metric, uuid)
