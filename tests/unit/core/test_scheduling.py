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

"""Nova's scheduling constraints: predicates, rules, and every plan."""

import dataclasses
import os

from hypothesis import event
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from tests.unit import builders as b
from tests.unit.core import strategies
from watcher_informed.core import checks
from watcher_informed.core import ledger as ledger_mod
from watcher_informed.core import params
from watcher_informed.core import pipeline
from watcher_informed.core import proofs
from watcher_informed.core import rules
from watcher_informed.core import scheduling
from watcher_informed.core import snapshot as snap

P = params.Params(max_concurrent_in=4)


# -- what an instance needs ---------------------------------------------------

@pytest.mark.parametrize('spec, vcpus, field, expected', [
    ({'trait:CUSTOM_A': 'required'}, 2, 'required', {'CUSTOM_A'}),
    ({'trait:CUSTOM_A': 'forbidden'}, 2, 'forbidden', {'CUSTOM_A'}),
    ({'trait:CUSTOM_A': 'preferred'}, 2, 'required', set()),
    ({'trait1:CUSTOM_A': 'required'}, 2, 'required', set()),
    ({'aggregate_instance_extra_specs:ssd': 'true'}, 2, 'aggregate',
     (('ssd', 'true'),)),
    ({'hw:cpu_policy': 'dedicated'}, 4, 'pcpus', 4.0),
    ({'hw:cpu_policy': 'mixed'}, 4, 'pcpus', 4.0),
    ({'hw:cpu_policy': 'shared'}, 4, 'pcpus', 0.0),
    ({'resources:PCPU': '3'}, 4, 'pcpus', 3.0),
    ({'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '1'}, 2,
     'pinned_reason', None),
    ({'hw:mem_page_size': 'small'}, 2, 'pinned_reason', None),
    ({}, 2, 'pinned_reason', None),
])
def test_needs_of_reads_the_flavor(spec, vcpus, field, expected):
    needs = scheduling.needs_of(spec, vcpus)
    got = getattr(needs, field)
    assert (set(got) if isinstance(got, frozenset) else got) == expected


@pytest.mark.parametrize('spec, vnics, fragment', [
    ({'pci_passthrough:alias': 'gpu:1'}, (), 'PCI passthrough'),
    ({}, ('direct',), 'SR-IOV'),
    ({}, ('direct-physical', 'normal'), 'direct-physical'),
    ({}, ('macvtap',), None),
    ({'accel:device_profile': 'fpga'}, (), 'accelerator'),
    ({'resources1:VGPU': '1'}, (), 'nested resource provider'),
    ({'resources:VGPU': '1'}, (), 'resources:VGPU'),
    ({'resources:VCPU': '2'}, (), None),
    ({'hw:numa_nodes': '2'}, (), 'NUMA topology over 2 cells'),
    ({'hw:numa_nodes': '1'}, (), 'without dedicated CPUs'),
    ({'hw:mem_page_size': 'large'}, (), 'huge pages'),
    ({'hw:mem_page_size': '2MB', 'hw:cpu_policy': 'dedicated'}, (),
     'huge pages'),
    ({'hw:numa_cpus.0': '0,1'}, (), 'hw:numa_cpus.0'),
    ({'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated'}, (),
     'hw:cpu_realtime'),
])
def test_devices_and_numa_layouts_pin_the_instance(spec, vnics, fragment):
    reason = scheduling.needs_of(spec, 2, vnic_types=vnics).pinned_reason
    if fragment is None:
        assert reason is None
    else:
        assert fragment in reason


@pytest.mark.parametrize('value, req, ok', [
    ('true', 'true', True),
    ('True', 'true', False),
    ('fast', '<or> slow <or> fast', True),
    ('fast', '<or> slow', False),
    ('intel-ssd', '<in> ssd', True),
    ('a b', '<all-in> a b', True),
    ('a', '<all-in> a b', False),
    ('abc', 's== abc', True),
    ('abc', 's!= abc', False),
    ('8', '>= 4', True),
    ('2', '>= 4', False),
    ('4', '= 2', True),        # Nova's '=' is "at least" for numbers
    ('4', '== 4', True),
    ('x', '>= 4', False),
    ('x', '<in>', False),
])
def test_matches_is_novas_extra_specs_ops(value, req, ok):
    assert scheduling.matches(value, req) is ok


# -- what a host offers -------------------------------------------------------

def offer(traits=(), aggs=(), pcpus=None):
    return scheduling.offer_of(traits, aggs, pcpus)


@pytest.mark.parametrize('spec, host, fragment', [
    ({'trait:CUSTOM_A': 'required'}, offer(['CUSTOM_A']), None),
    ({'trait:CUSTOM_A': 'required'}, offer(), 'lacks required'),
    ({'trait:CUSTOM_B': 'forbidden'}, offer(['CUSTOM_B']), 'forbidden'),
    ({'trait:CUSTOM_B': 'forbidden'}, offer(['CUSTOM_A']), None),
    ({}, offer(['CUSTOM_GPU'], [{'trait:CUSTOM_GPU': 'required'}]),
     'isolated to trait(s) CUSTOM_GPU'),
    ({'trait:CUSTOM_GPU': 'required'},
     offer(['CUSTOM_GPU'], [{'trait:CUSTOM_GPU': 'required'}]), None),
])
def test_trait_reason(spec, host, fragment):
    reason = scheduling.trait_reason(scheduling.needs_of(spec), host)
    assert (reason is None) if fragment is None else fragment in reason


@pytest.mark.parametrize('spec, project, host, homes, fragment', [
    ({'aggregate_instance_extra_specs:ssd': 'true'}, 'p',
     offer(aggs=[{'ssd': 'true'}]), (), None),
    ({'aggregate_instance_extra_specs:ssd': 'true'}, 'p',
     offer(aggs=[{'ssd': 'false'}, {'ssd': 'true'}]), (), None),
    ({'aggregate_instance_extra_specs:ssd': 'true'}, 'p', offer(), (),
     'AggregateInstanceExtraSpecsFilter'),
    ({}, 'p', offer(aggs=[{'ssd': 'true'}]), (), None),
    ({}, 'p1', offer(aggs=[{'filter_tenant_id': 'p1,p2'}]), ('p1', 'p2'),
     None),
    ({}, 'p3', offer(aggs=[{'filter_tenant_id': 'p1,p2'}]), ('p1', 'p2'),
     'tenant-isolated'),
    ({}, 'p3', offer(aggs=[{'filter_tenant_id_2': 'p3'}]), ('p3',), None),
    ({}, 'p1', offer(), ('p1',), 'outside the tenant-isolated'),
    ({}, 'p9', offer(), ('p1',), None),
])
def test_aggregate_reason(spec, project, host, homes, fragment):
    needs = scheduling.needs_of(spec, 2, project)
    reason = scheduling.aggregate_reason(needs, host, frozenset(homes))
    assert (reason is None) if fragment is None else fragment in reason


@pytest.mark.parametrize('pcpus, used, fragment', [
    (None, 0, 'no PCPU inventory'),
    (8.0, 0, None),
    (8.0, 4, None),
    (8.0, 5, 'not enough free PCPU'),
])
def test_pcpu_reason(pcpus, used, fragment):
    needs = scheduling.needs_of({'hw:cpu_policy': 'dedicated'}, 4)
    reason = scheduling.pcpu_reason(needs, offer(pcpus=pcpus), used)
    assert (reason is None) if fragment is None else fragment in reason


# -- the rules: search and checker --------------------------------------------

HOSTS = [b.host('A', traits=frozenset({'CUSTOM_A'}), pcpus=8.0),
         b.host('B'), b.host('C', traits=frozenset({'CUSTOM_A'}),
                             pcpus=4.0),
         b.host('G', traits=frozenset({'CUSTOM_A', 'CUSTOM_GPU'}),
                pcpus=16.0),
         b.host('S', traits=frozenset({'CUSTOM_B'}))]
AGGREGATES = (snap.Aggregate('gpu', ('G',), {'trait:CUSTOM_GPU': 'required'}),
              snap.Aggregate('ssd', ('S', 'B'), {'ssd': 'true'}),
              snap.Aggregate('p2', ('S',), {'filter_tenant_id': 'p2'}))
VMS = [b.vm('plain', 'A', project_id='p1'),
       b.vm('needs-a', 'A', extra_specs={'trait:CUSTOM_A': 'required'}),
       b.vm('no-b', 'A', extra_specs={'trait:CUSTOM_B': 'forbidden'}),
       b.vm('ssd', 'A', extra_specs={
           'aggregate_instance_extra_specs:ssd': 'true'}),
       b.vm('pin-3', 'A', vcpus=3, extra_specs={
           'hw:cpu_policy': 'dedicated'}),
       b.vm('pin-2', 'A', vcpus=2, extra_specs={
           'hw:cpu_policy': 'dedicated'}),
       b.vm('pci', 'A', extra_specs={'pci_passthrough:alias': 'a:1'}),
       b.vm('p2-vm', 'A', project_id='p2')]


def constrained():
    cluster = b.cluster(HOSTS, VMS)
    return dataclasses.replace(cluster, aggregates=AGGREGATES)


@pytest.mark.parametrize('uuid, host, fragment', [
    ('plain', 'B', None),
    ('plain', 'G', 'isolated to trait(s) CUSTOM_GPU'),
    ('plain', 'S', 'tenant-isolated'),
    ('needs-a', 'B', 'lacks required trait(s) CUSTOM_A'),
    ('needs-a', 'C', None),
    ('no-b', 'S', 'has forbidden trait(s) CUSTOM_B'),
    ('no-b', 'B', None),
    ('ssd', 'C', 'AggregateInstanceExtraSpecsFilter'),
    ('ssd', 'B', None),
    ('pin-3', 'B', 'no PCPU inventory'),
    ('pin-3', 'C', None),
    ('p2-vm', 'S', None),
    ('p2-vm', 'B', 'outside the tenant-isolated aggregates of project p2'),
])
def test_the_search_asks_the_scheduling_rules(uuid, host, fragment):
    snapshot = constrained()
    view = rules.View(snapshot, P, ledger_mod.Ledger(snapshot, P))
    inst = snapshot.instance_by_uuid[uuid]
    reason = rules.admit_reason(view, inst, inst.host,
                                snapshot.host_by_name[host])
    assert (reason is None) if fragment is None else fragment in reason


def test_pcpus_claimed_by_earlier_moves_count_in_the_search():
    snapshot = constrained()
    ledger = ledger_mod.Ledger(snapshot, P)
    view = rules.View(snapshot, P, ledger)
    inst = snapshot.instance_by_uuid
    assert rules.admit_reason(view, inst['pin-2'], 'A',
                              snapshot.host_by_name['C']) is None
    ledger.move('pin-3', 'C')           # 3 of C's 4 PCPUs
    reason = rules.admit_reason(view, inst['pin-2'], 'A',
                                snapshot.host_by_name['C'])
    assert 'not enough free PCPU' in reason


def test_devices_keep_the_instance_where_it_is():
    snapshot = constrained()
    view = rules.View(snapshot, P)
    assert 'PCI passthrough' in rules.movable_reason(
        view, snapshot.instance_by_uuid['pci'])
    assert rules.movable_reason(view, snapshot.instance_by_uuid['plain']) \
        is None


@pytest.mark.parametrize('rule, moves, fragment', [
    ('traits', [b.mv(1, 'needs-a', 'A', 'B')], 'lacks required'),
    ('traits', [b.mv(1, 'no-b', 'A', 'S')], 'forbidden'),
    ('traits', [b.mv(1, 'plain', 'A', 'G')], 'isolated'),
    ('aggregates', [b.mv(1, 'ssd', 'A', 'C')], 'AggregateInstanceExtra'),
    ('aggregates', [b.mv(1, 'plain', 'A', 'S')], 'tenant-isolated'),
    ('dedicated-cpus', [b.mv(1, 'pin-3', 'A', 'B')], 'no PCPU'),
    ('dedicated-cpus', [b.mv(1, 'pin-3', 'A', 'C'),
                        b.mv(2, 'pin-2', 'A', 'C', ['pin-3'])],
     'not enough free PCPU'),
    ('devices', [b.mv(1, 'pci', 'A', 'B')], 'PCI passthrough'),
])
def test_each_scheduling_checker_catches_its_rule(rule, moves, fragment):
    snapshot = constrained()
    checker = {r.name: r for r in rules.RULES}[rule]
    plan = b.plan_of(*moves)
    found = checker.check(snapshot, plan, P, proofs.Facts(snapshot, plan))
    assert any(fragment in v and 'Nova' in v or fragment in v
               for v in found), found
    assert checks.violations(snapshot, plan, P), 'verify must refuse it'


def test_moves_nova_accepts_pass_every_checker():
    snapshot = constrained()
    plan = b.plan_of(b.mv(1, 'needs-a', 'A', 'C'), b.mv(2, 'ssd', 'A', 'B'),
                     b.mv(3, 'pin-3', 'A', 'C'), b.mv(4, 'plain', 'A', 'B'),
                     b.mv(5, 'p2-vm', 'A', 'S'))
    facts = proofs.Facts(snapshot, plan)
    names = ('traits', 'aggregates', 'dedicated-cpus', 'devices')
    assert [v for r in rules.RULES if r.name in names
            for v in r.check(snapshot, plan, P, facts)] == []


def test_a_cluster_without_constraints_skips_every_question():
    snapshot = b.cluster([b.host('A'), b.host('B')],
                         [b.vm('x', 'A', project_id='p1')])
    index = snapshot.scheduling
    assert not index.active
    assert index.pinned == {} and index.claimed == {}


# -- every plan keeps them ----------------------------------------------------

PROPERTY = settings(
    max_examples=int(os.environ.get('WATCHER_INFORMED_PROPERTY_EXAMPLES',
                                    200)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow,
                           HealthCheck.data_too_large])
CLUSTERS = strategies.constrained(st.one_of(
    strategies.snapshots(),
    strategies.snapshots(tight=True, max_hosts=5)))


def nova_refuses(snapshot, plan):
    """An independent reading of Nova's filters, move by move."""
    members = {}
    for agg in snapshot.aggregates:
        for host in agg.hosts:
            members.setdefault(host, []).append(agg.metadata)
    homes = {t for a in snapshot.aggregates
             for k, v in a.metadata.items() if k == 'filter_tenant_id'
             for t in v.split(',')}
    pinned_in = {}
    out = []
    for m in plan.moves:
        inst = snapshot.instance_by_uuid[m.uuid]
        host = snapshot.host_by_name[m.dest]
        spec = inst.extra_specs
        metas = members.get(m.dest, [])
        want = {k[6:] for k, v in spec.items()
                if k.startswith('trait:') and v == 'required'}
        if 'pci_passthrough:alias' in spec or inst.vnic_types or \
                'hw:mem_page_size' in spec:
            out.append('device')
        if not want <= host.traits:
            out.append('required')
        if {k[6:] for k, v in spec.items()
                if k.startswith('trait:') and v == 'forbidden'} & \
                host.traits:
            out.append('forbidden')
        for meta in metas:
            isolating = {k[6:] for k, v in meta.items()
                         if k.startswith('trait:') and v == 'required'}
            if not isolating <= want:
                out.append('isolated')
            if 'filter_tenant_id' in meta and inst.project_id not in \
                    meta['filter_tenant_id'].split(','):
                out.append('tenant')
        if inst.project_id in homes and not any(
                'filter_tenant_id' in meta for meta in metas):
            out.append('tenant home')
        if spec.get('aggregate_instance_extra_specs:ssd') == 'true' and \
                not any(meta.get('ssd') == 'true' for meta in metas):
            out.append('ssd')
        if spec.get('hw:cpu_policy') == 'dedicated':
            pinned_in[m.dest] = pinned_in.get(m.dest, 0) + inst.vcpus
            held = sum(i.vcpus for i in snapshot.instances
                       if i.host == m.dest and
                       i.extra_specs.get('hw:cpu_policy') == 'dedicated')
            if host.pcpus is None or \
                    held + pinned_in[m.dest] > host.pcpus:
                out.append('pcpu')
    return out


@PROPERTY
@given(CLUSTERS, strategies.params(), st.booleans())
def test_no_plan_makes_a_move_nova_refuses(snapshot, p, balance):
    # the balance stage (issue 19) asks the same rules
    p = dataclasses.replace(p, balance=balance)
    plan = pipeline.build_plan(snapshot, p)
    event('moves: %s' % min(len(plan.moves), 5))
    event('held by a scheduling rule: %s' % any(
        'Nova' in r or 'trait' in r or 'PCI' in r or 'NUMA' in r
        for r in plan.not_moved.values()))
    assert checks.violations(snapshot, plan, p) == []
    assert nova_refuses(snapshot, plan) == []
