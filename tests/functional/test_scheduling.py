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

"""Nova's scheduling constraints through the real strategy and planner.

Scenario files carry the constraints (host ``traits`` and ``pcpus``,
``aggregates``, instance ``extra_specs``, ``project_id`` and
``vnic_types``); the off-cloud harness answers the strategy's Nova,
Neutron and Placement calls from them (``harness.StaticNova``), so the
strategy's own bulk readers run.  The real services are exercised by
``tests/e2e/test_scheduling.py``.
"""

import copy
import logging

import pytest

from watcher_informed import harness
from watcher_informed.cli import main
from watcher_informed.cli import scenario as scenario_mod


@pytest.fixture(scope='module')
def demo():
    return scenario_mod.load(scenario_mod.demo_path())


def plan(data):
    scen = scenario_mod.Scenario(scenario_mod.check(copy.deepcopy(data))[0],
                                 '<test>')
    return main.to_document(main.run(scen, {}), scen)


def moves(doc):
    return [(a['instance'], a['source'], a['destination'])
            for a in doc['actions']]


def test_moves_avoid_forbidden_hosts_and_devices_stay(demo):
    before = moves(plan(demo.data))
    assert len(before) >= 3
    data = copy.deepcopy(demo.data)
    hosts = {h['name']: h for h in data['hosts']}
    insts = {i['uuid']: i for i in data['instances']}
    # every moved instance forbids a trait its chosen host now has
    for uuid, _, dest in before:
        hosts[dest].setdefault('traits', []).append('CUSTOM_BAD')
        insts[uuid]['extra_specs'] = {'trait:CUSTOM_BAD': 'forbidden'}
    pci = before[0][0]
    insts[pci]['extra_specs'] = {'pci_passthrough:alias': 'gpu:1'}
    doc = plan(data)
    bad = {h['name'] for h in data['hosts'] if h.get('traits')}
    for uuid, _, dest in moves(doc):
        assert not (insts[uuid].get('extra_specs') and dest in bad), \
            (uuid, dest)
    assert pci not in {u for u, _, _ in moves(doc)}
    assert 'PCI passthrough' in doc['not_moved'][pci]
    assert moves(doc), 'other hosts remain: the plan must not be empty'


def test_no_destination_says_which_rule_of_nova(demo, caplog):
    caplog.set_level(logging.INFO, 'watcher_informed')
    data = copy.deepcopy(demo.data)
    hot = {'compute-08', 'compute-09', 'compute-10'}
    for i in data['instances']:
        if i['host'] in hot:
            i['extra_specs'] = {'trait:CUSTOM_NOWHERE': 'required'}
    doc = plan(data)
    assert doc['actions'] == []
    reasons = set(doc['not_moved'].values())
    assert any('lacks required trait(s) CUSTOM_NOWHERE' in r
               for r in reasons), reasons
    assert set(doc['still_overloaded_why']) == hot
    # the decision engine's log names the rule too
    assert any('(flavor extra specs or devices) not moved: no destination'
               in r.getMessage() and 'CUSTOM_NOWHERE' in r.getMessage()
               for r in caplog.records)


def test_aggregates_and_tenants_shape_the_plan(demo):
    before = moves(plan(demo.data))
    dests = sorted({d for _, _, d in before})
    data = copy.deepcopy(demo.data)
    # the plan's destinations take only project p-other's instances
    data['aggregates'] = [{'name': 'other', 'hosts': dests,
                           'metadata': {'filter_tenant_id': 'p-other'}}]
    doc = plan(data)
    assert not {d for _, _, d in moves(doc)} & set(dests)


def scaled(count):
    """4 hosts, ``count`` instances with traits and specs (one hot host)."""
    hosts = [{'name': 'h%d' % n, 'vcpus': 64, 'ram_mb': 262144,
              'disk_gb': 2000, 'traits': ['CUSTOM_T%d' % (n % 3)],
              'pcpus': 16} for n in range(4)]
    aggs = [{'name': 'ssd', 'hosts': ['h1', 'h2'],
             'metadata': {'ssd': 'true'}}]
    specs = [{}, {'trait:CUSTOM_T1': 'required'},
             {'trait:CUSTOM_T2': 'forbidden'},
             {'aggregate_instance_extra_specs:ssd': 'true'},
             {'hw:cpu_policy': 'dedicated'}]
    instances, metrics = [], {}
    for n in range(count):
        uuid = '%08d-0000-4000-8000-000000000000' % n
        instances.append({'uuid': uuid, 'host': 'h0' if n % 2 else 'h3',
                          'vcpus': 1, 'ram_mb': 512,
                          'extra_specs': specs[n % len(specs)]})
        metrics[uuid] = {'cpu': 0.9 if n % 2 else 0.1, 'ram': 256}
    return {'version': 1, 'hosts': hosts, 'instances': instances,
            'aggregates': aggs, 'metrics': metrics,
            'parameters': {'cpu_threshold': 0.3}}


def audit_calls(data, extended=True):
    scen = scenario_mod.Scenario(scenario_mod.check(data)[0], '<test>')
    cloud = scen.cloud()
    strategy = harness.prepare(cloud, scen.parameters)
    strategy.extended_attributes = extended
    strategy.execute()
    return sorted(cloud.nova.calls, key=repr), strategy.informed_plan


@pytest.mark.parametrize('extended', [True, False])
def test_nova_and_placement_calls_do_not_grow_with_instances(extended):
    small, _ = audit_calls(scaled(20), extended)
    large, plan_large = audit_calls(scaled(400), extended)
    assert small == large
    asked = [c[1] for c in large if c[0] == 'resource_providers']
    # one call per distinct trait the flavors name, one for PCPUs
    assert sorted(asked) == ['CUSTOM_T1', 'CUSTOM_T2', 'PCPU:1']
    assert (('servers', True, True) in large) is (not extended)
    assert plan_large.moves, 'the hot host sheds instances'


def test_server_facts_from_nova_equal_the_models():
    # Watcher's model without extended attributes: the strategy reads the
    # extra specs from Nova's servers and plans the same moves
    _, with_model = audit_calls(scaled(60), True)
    _, with_servers = audit_calls(scaled(60), False)
    assert [(m.uuid, m.dest) for m in with_model.moves] == \
        [(m.uuid, m.dest) for m in with_servers.moves]
