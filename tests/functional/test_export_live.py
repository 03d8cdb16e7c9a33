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

"""Export of a live cloud, then a plan of the file: the same moves.

The cloud is the embedded demo cluster served through objects shaped like
openstacksdk's (hypervisors with service details, servers with embedded
flavors, Placement inventories, server groups, compute services) -- the
real Nova is exercised by tests/e2e/test_osc_informed.py.  The metric
store is the demo's own in-memory store, read by the strategy's reader
interface.  Planning goes through the real strategy and planner
(``cli.main.run``).
"""

import json
import types

import pytest

from watcher_informed.adapters import live
from watcher_informed.cli import export
from watcher_informed.cli import main
from watcher_informed.cli import scenario as scenario_mod

NS = types.SimpleNamespace


def fake_cloud(scen):
    """openstacksdk-shaped compute/placement proxies of a scenario."""
    data = scen.data
    hypervisors, inventories = [], {}
    for n, h in enumerate(data['hosts']):
        hv_id = h.get('uuid') or '00000000-0000-4000-8000-%012d' % n
        hypervisors.append(NS(
            id=hv_id, name=h['name'] + '.hv', hypervisor_type='QEMU',
            service_details={'host': h['name']},
            state=h.get('state', 'up'), status=h.get('status', 'enabled'),
            vcpus=1, memory_size=1, local_disk_size=1))
        inventories[hv_id] = [
            NS(resource_class='VCPU', total=h['vcpus'],
               reserved=h.get('vcpu_reserved', 0),
               allocation_ratio=h.get('vcpu_ratio', 1.0)),
            NS(resource_class='MEMORY_MB', total=h['ram_mb'],
               reserved=h.get('ram_reserved_mb', 0),
               allocation_ratio=h.get('ram_ratio', 1.0)),
            NS(resource_class='DISK_GB', total=h['disk_gb'],
               reserved=h.get('disk_reserved_gb', 0),
               allocation_ratio=h.get('disk_ratio', 1.0))]
    servers = [NS(id=i['uuid'], name=i.get('name', ''),
                  compute_host=i['host'], image={'id': 'img'},
                  flavor={'vcpus': i['vcpus'], 'ram': i['ram_mb'],
                          'disk': i.get('disk_gb', 0), 'ephemeral': 0,
                          'swap': 0},
                  vm_state=i.get('state', 'active'),
                  is_locked=i.get('locked', False),
                  metadata=i.get('metadata', {}),
                  project_id=i.get('project_id'),
                  pinned_availability_zone=i.get('pinned_az'))
               for i in data['instances']]
    for server, inst in zip(servers, data['instances']):
        server.flavor['extra_specs'] = dict(inst.get('extra_specs', {}))
    for h in data['hosts']:
        if h.get('pcpus') is not None:
            hv_id = next(hv.id for hv in hypervisors
                         if hv.service_details['host'] == h['name'])
            inventories[hv_id].append(NS(resource_class='PCPU',
                                         total=h['pcpus'], reserved=0,
                                         allocation_ratio=1.0))
    nova = scen.nova()
    compute = NS(hypervisors=lambda details=True: list(hypervisors),
                 servers=lambda details=True, all_projects=True:
                 list(servers),
                 server_groups=nova.compute.server_groups,
                 services=nova.compute.services,
                 aggregates=nova.compute.aggregates)
    placement = NS(resource_provider_inventories=lambda rp:
                   list(inventories[rp]),
                   resource_providers=nova.placement.resource_providers)
    return NS(compute=compute, placement=placement, network=nova.network)


@pytest.fixture(scope='module')
def demo():
    return scenario_mod.load(scenario_mod.demo_path())


def moves(doc, rename=None):
    rename = rename or {}
    return [(rename.get(a['instance'], a['instance']),
             rename.get(a['source'], a['source']),
             rename.get(a['destination'], a['destination']))
            for a in doc['actions']]


def exported(demo, **kwargs):
    params = dict(demo.parameters)
    params.update(communication_groups=demo.communication_groups)
    return export.export_live(fake_cloud(demo), demo.reader(), params,
                              now=demo.now or 0.0, **kwargs)


def test_export_then_plan_gives_the_moves_of_the_original(demo, tmp_path):
    data = exported(demo)
    path = tmp_path / 'export.json'
    export.write(data, str(path))
    again = scenario_mod.load(path)          # a valid scenario file
    doc = main.to_document(main.run(again, {}), again)
    original = main.to_document(main.run(demo, {}), demo)
    assert moves(original), 'the demo plans no move'
    assert moves(doc) == moves(original)
    assert [a['parents'] != [] for a in doc['actions']] == \
        [a['parents'] != [] for a in original['actions']]


def test_export_reads_placement_and_keeps_missing_metrics_missing(demo):
    data = exported(demo)
    by_name = {h['name']: h for h in data['hosts']}
    for h in demo.data['hosts']:
        got = by_name[h['name']]
        assert (got['vcpus'], got['ram_mb'], got['disk_gb']) == \
            (h['vcpus'], h['ram_mb'], h['disk_gb'])
        assert got['vcpu_ratio'] == h.get('vcpu_ratio', 1.0)
    window = export.parameters_mod.read(data['parameters'],
                                        export._Options({})).window
    usage = export.metrics_base.read_usage(
        demo.reader(), [NS(uuid=i['uuid'], vcpus=i['vcpus'])
                        for i in demo.data['instances']], window)
    for uuid, u in usage.items():
        assert data['metrics'].get(uuid, {}) == dict(u.values)


def test_anonymized_export_plans_the_same_moves(demo):
    data = exported(demo)
    anon = live.anonymize(data, salt='test')
    text = json.dumps(anon)
    for inst in data['instances']:
        assert inst['uuid'] not in text
        assert inst['name'] not in text
    for h in data['hosts']:
        assert '"%s"' % h['name'] not in text
    back = {}
    for a, b in zip(anon['instances'], data['instances']):
        back[a['uuid']] = b['uuid']
    for a, b in zip(anon['hosts'], data['hosts']):
        back[a['name']] = b['name']
    plain = scenario_mod.Scenario(data, '<export>')
    hidden = scenario_mod.Scenario(anon, '<anonymized>')
    want = moves(main.to_document(main.run(plain, {}), plain))
    got = moves(main.to_document(main.run(hidden, {}), hidden), back)
    assert want and got == want


def test_anonymize_is_consistent_and_salted(demo):
    data = exported(demo)
    one = live.anonymize(data, salt='a')
    assert live.anonymize(data, salt='a') == one
    other = live.anonymize(data, salt='b')
    assert [i['uuid'] for i in one['instances']] != \
        [i['uuid'] for i in other['instances']]
    members = {m for g in one['server_groups'] for m in g['members']}
    assert members <= {i['uuid'] for i in one['instances']}


def test_recent_moves_from_watchers_api_rows():
    rows = [
        {'action_type': 'migrate', 'state': 'SUCCEEDED',
         'updated_at': '1970-01-01T00:16:40+00:00',
         'input_parameters': {'resource_id': 'u1', 'source_node': 'a',
                              'destination_node': 'b'}},
        {'action_type': 'migrate', 'state': 'FAILED',
         'updated_at': '1970-01-01T00:16:40+00:00',
         'input_parameters': {'resource_id': 'u2', 'source_node': 'a'}},
        {'action_type': 'migrate', 'state': 'SUCCEEDED',
         'updated_at': '1970-01-01T00:00:10', 'input_parameters': {
             'resource_id': 'u3', 'source_node': 'a'}},
        {'action_type': 'informed_migrate', 'state': 'SUCCEEDED',
         'updated_at': '1970-01-01T00:16:50+00:00',
         'input_parameters': {'resource_id': 'u4', 'source_node': 'c',
                              'destination_node': 'a', 'freed_by': ['u1']}},
        {'action_type': 'informed_migrate', 'state': 'SKIPPED',
         'updated_at': '1970-01-01T00:16:50+00:00',
         'input_parameters': {'resource_id': 'u5', 'source_node': 'c'}},
        {'action_type': 'nop', 'state': 'SUCCEEDED',
         'updated_at': '1970-01-01T00:16:50+00:00',
         'input_parameters': {'resource_id': 'u6', 'source_node': 'c'}},
    ]
    got = live.recent_moves(rows, now=1500.0, window_s=600)
    assert got == [{'uuid': 'u1', 'source': 'a', 'dest': 'b',
                    'finished_at': 1000.0},
                   {'uuid': 'u4', 'source': 'c', 'dest': 'a',
                    'finished_at': 1010.0}]


def test_watcher_informed_export_and_plan_live(demo, tmp_path, monkeypatch,
                                              capsys):
    monkeypatch.setattr(export, 'connect', lambda args: NS(
        session=None, **vars(fake_cloud(demo))))
    monkeypatch.setattr(export, 'make_reader',
                        lambda args, session=None: demo.reader())
    monkeypatch.setattr(export, 'watcher_actions', lambda session: [])
    params = json.dumps(dict(demo.parameters,
                             communication_groups=demo.communication_groups))
    path = tmp_path / 'cloud.json'
    assert main.main(['export', '-o', str(path), '--parameters', params,
                      '--anonymize']) == 0
    assert 'anonymized' in json.loads(path.read_text())['description']
    capsys.readouterr()
    assert main.main(['plan', '--live', '--format', 'json',
                      '--parameters', params]) == 0
    live_doc = json.loads(capsys.readouterr().out)
    original = main.to_document(main.run(demo, {}), demo)
    assert moves(live_doc) == moves(original)
    assert main.main(['plan', '--live', '--parameters',
                      '{"cpu_threshold": 3}']) == 2
    assert 'cpu_threshold' in capsys.readouterr().err


def test_export_writes_nova_constraints_and_plans_the_same(demo, tmp_path):
    data = json.loads(json.dumps(demo.data))
    data['hosts'][0]['traits'] = ['CUSTOM_A']
    data['hosts'][1]['traits'] = ['CUSTOM_B', 'CUSTOM_UNASKED']
    data['hosts'][2]['pcpus'] = 8
    data['aggregates'] = [{'name': 'ssd', 'uuid': 'agg-1',
                           'hosts': [data['hosts'][1]['name']],
                           'metadata': {'ssd': 'true',
                                        'filter_tenant_id': 'p1'}}]
    specs = [{'trait:CUSTOM_A': 'required'},
             {'trait:CUSTOM_B': 'forbidden'},
             {'aggregate_instance_extra_specs:ssd': 'true'},
             {'hw:cpu_policy': 'dedicated'}]
    for n, inst in enumerate(data['instances'][:8]):
        inst['extra_specs'] = specs[n % 4]
        inst['project_id'] = 'p%d' % (n % 2)
    data['instances'][8]['vnic_types'] = ['direct']
    constrained = scenario_mod.Scenario(scenario_mod.check(data)[0], 'c')
    params = dict(constrained.parameters)
    params.update(communication_groups=constrained.communication_groups)
    out = export.export_live(fake_cloud(constrained), constrained.reader(),
                             params, now=constrained.now or 0.0)
    hosts = {h['name']: h for h in out['hosts']}
    # only the traits the flavors name are asked of Placement
    assert hosts[data['hosts'][0]['name']]['traits'] == ['CUSTOM_A']
    assert hosts[data['hosts'][1]['name']]['traits'] == ['CUSTOM_B']
    assert hosts[data['hosts'][2]['name']]['pcpus'] == 8
    assert out['aggregates'] == [{'name': 'ssd', 'uuid': 'agg-1',
                                  'hosts': [data['hosts'][1]['name']],
                                  'metadata': data['aggregates'][0][
                                      'metadata']}]
    insts = {i['uuid']: i for i in out['instances']}
    for inst in data['instances'][:9]:
        got = insts[inst['uuid']]
        assert got.get('extra_specs', {}) == inst.get('extra_specs', {})
        assert got.get('vnic_types', []) == inst.get('vnic_types', [])
    path = tmp_path / 'constrained.json'
    export.write(out, str(path))
    again = scenario_mod.load(path)
    assert moves(main.to_document(main.run(again, {}), again)) == \
        moves(main.to_document(main.run(constrained, {}), constrained))
    anon = live.anonymize(out, salt='s')
    assert anon['aggregates'][0]['name'] == 'aggregate-0001'
    assert 'p1' not in json.dumps(anon['aggregates'])
    assert scenario_mod.check(anon)[0]
