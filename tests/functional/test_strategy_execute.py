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

"""The strategy's ``execute()`` on Watcher's real compute model.

The strategy is loaded by Watcher's loader, runs Watcher's
``BaseStrategy.execute`` (pre/do/post execute, then the goal's efficacy
validation and global efficacy), writes a real ``DefaultSolution`` and
mutates a real ``ModelRoot``.  Injected: the model itself, the plugin's
in-memory metric reader and a duck-typed Nova connection (real Nova cannot
run in this unit of testing; the end-to-end issue covers it) -- see
:mod:`tests.functional.cluster`.
"""

import math

import hypothesis
from hypothesis import strategies as st
import jsonschema
import pytest
from watcher.applier.actions import migration

from tests.functional import cluster as cl
from watcher_informed.adapters.metrics import base as metrics_base
from watcher_informed.adapters.metrics import memory

INDICATORS = (
    'instance_migrations_count', 'instances_count',
    'standard_deviation_before_audit', 'standard_deviation_after_audit',
    'overloaded_hosts_before', 'overloaded_hosts_after',
    'predicted_makespan', 'predicted_migration_time_sum',
    'predicted_total_downtime', 'predicted_transferred_data',
    'overloaded_hosts_left_not_worth_it',
    'overloaded_hosts_left_max_migrations',
    'overloaded_hosts_left_no_destination', 'overloaded_hosts_left_rules',
    'overloaded_hosts_left_other')
GLOBAL = ('live_migrations_count', 'overloaded_hosts_relieved')
#: only with the audit parameter ``balance``.
BALANCE_INDICATORS = (
    'balance_spread_before', 'balance_spread_after_relief',
    'balance_spread_after', 'balance_migrations_count',
    'balance_migration_time_sum', 'balance_tenant_cost')

MIGRATE_SCHEMA = migration.Migrate(config=None).schema


def check_solution(cluster, strategy, solution, before):
    """Invariants every solution must satisfy; returns the moves by name.

    ``before`` is the placement ``{instance name: host}`` before execute.
    """
    names = cluster.names
    moved = {}
    for action in solution.actions:
        assert action['action_type'] == 'migrate'
        params = action['input_parameters']
        # exactly what Watcher's applier will validate before migrating
        jsonschema.validate(params, MIGRATE_SCHEMA)
        assert params['migration_type'] == 'live'
        name = names[params['resource_id']]
        assert name not in moved, 'moved twice: %s' % name
        assert params['source_node'] == before[name]
        assert params['destination_node'] != params['source_node']
        assert params['resource_name'] == name
        moved[name] = params['destination_node']
    # the strategy's model copy now shows the plan's outcome
    after = cluster.placement()
    for name, host in before.items():
        assert after[name] == moved.get(name, host), name
    # the plan kept on the strategy for the planner is the same plan
    plan = strategy.informed_plan
    assert [names[m.uuid] for m in plan.moves] == list(moved)
    assert solution.model is cluster.model
    # efficacy: our goal's indicators, validated by Watcher, and the
    # global efficacy computed from them
    indicators = {i.name: i.value for i in solution.efficacy_indicators}
    assert set(indicators) == set(INDICATORS) | (
        set(BALANCE_INDICATORS) if plan.balance is not None else set())
    assert indicators['instance_migrations_count'] == len(moved)
    assert indicators['instances_count'] == len(before)
    # every host left overloaded counts under exactly one reason
    assert sum(v for n, v in indicators.items()
               if n.startswith('overloaded_hosts_left_')) == \
        indicators['overloaded_hosts_after']
    glob = {i.name: i.value for i in solution.global_efficacy}
    assert set(glob) == set(GLOBAL)
    assert glob['live_migrations_count'] == pytest.approx(
        100.0 * len(moved) / len(before))
    return moved


def run_checked(cluster, reader=None, **params):
    before = cluster.placement()
    strategy, solution = cl.run(cluster, reader, **params)
    moved = check_solution(cluster, strategy, solution, before)
    return strategy, solution, moved


# -- scenarios -------------------------------------------------------------

def overloaded_with_cheapest(flag=None):
    """h0 is CPU-hot and ``small`` is the natural instance to move.

    Shedding any one instance relieves h0, and ``small`` (512 MiB) is by far
    the cheapest to migrate.
    """
    k = cl.Cluster()
    for h in ('h0', 'h1', 'h2'):
        k.host(h)
    kw = {
        None: {},
        'watcher_exclude': {'exclude': True},
        'locked': {'locked': True},
        'stopped': {'state': 'stopped'},
        'affinity': {},
    }[flag]
    k.vm('small', 'h0', memory=512, cpu=0.9, ram=256, **kw)
    for i in range(3):
        k.vm('big%d' % i, 'h0', memory=4096, cpu=0.9, ram=4000)
    if flag == 'affinity':
        k.group('pair', 'affinity', 'small', 'big0')
    return k


def test_overloaded_host_is_relieved_by_the_cheapest_move():
    k = overloaded_with_cheapest()
    strategy, solution, moved = run_checked(k)
    assert moved == {'small': 'h1'}
    indicators = {i.name: i.value for i in solution.efficacy_indicators}
    assert indicators['overloaded_hosts_before'] == 1
    assert indicators['overloaded_hosts_after'] == 0
    assert indicators['standard_deviation_after_audit'] < \
        indicators['standard_deviation_before_audit']
    assert indicators['predicted_makespan'] > 0
    assert indicators['predicted_transferred_data'] > 0
    glob = {i.name: i.value for i in solution.global_efficacy}
    assert glob['overloaded_hosts_relieved'] == 100.0
    assert strategy.informed_plan.still_overloaded == ()


@pytest.mark.parametrize('flag, reason', [
    ('watcher_exclude', 'watcher_exclude'),
    ('locked', 'locked'),
    ('stopped', 'stopped'),
    ('affinity', 'affinity server group'),
])
def test_pinned_instance_never_moves_even_as_the_natural_choice(flag,
                                                                reason):
    k = overloaded_with_cheapest(flag)
    strategy, solution, moved = run_checked(k)
    assert 'small' not in moved
    assert k.host_of('small') == 'h0'
    # the host is still relieved, by another instance
    assert len(moved) == 1
    assert strategy.informed_plan.still_overloaded == ()
    not_moved = {k.names[u]: r
                 for u, r in strategy.informed_plan.not_moved.items()}
    assert reason in not_moved['small']
    if flag == 'affinity':
        assert 'big0' not in moved
        assert reason in not_moved['big0']


def anti_affinity_pair(policy=None):
    """``a`` must leave hot h0 and h1, where ``b`` lives, is its natural home.

    h1 is emptier than h2 (and ``a`` and ``b`` may be declared talkers).
    """
    k = cl.Cluster()
    for h in ('h0', 'h1', 'h2'):
        k.host(h)
    for i in range(3):
        k.vm('hot%d' % i, 'h0', memory=4096, cpu=0.9, ram=4000)
    k.vm('a', 'h0', memory=1024, cpu=0.9, ram=1000)
    k.vm('b', 'h1', memory=1024, cpu=0.05, ram=500)
    k.vm('load', 'h2', vcpus=4, memory=2048, cpu=0.5, ram=1000)
    if policy:
        k.group('pair', policy, 'a', 'b')
    return k


@pytest.mark.parametrize('policy, talk, dest', [
    (None, False, 'h1'),
    (None, True, 'h1'),
    ('anti-affinity', False, 'h2'),
    ('anti-affinity', True, 'h2'),
    # soft anti-affinity is a preference: the talker bonus wins
    ('soft-anti-affinity', True, 'h1'),
])
def test_anti_affinity_members_never_end_up_together(policy, talk, dest):
    k = anti_affinity_pair(policy)
    params = {}
    if talk:
        params['communication_groups'] = [[cl.uid('a'), cl.uid('b')]]
    strategy, solution, moved = run_checked(k, **params)
    assert moved == {'a': dest}
    if policy == 'anti-affinity':
        assert k.host_of('a') != k.host_of('b')


def two_hot_hosts_one_good_destination(policy=None):
    """``a`` (on hot h0) and ``b`` (on hot h3) both leave.

    h1 is the best destination for both of them.
    """
    k = cl.Cluster()
    for h in ('h0', 'h1', 'h2', 'h3'):
        k.host(h)
    for h in ('h0', 'h3'):
        for i in range(3):
            k.vm('%s-big%d' % (h, i), h, memory=4096, cpu=0.9, ram=4000)
    k.vm('a', 'h0', memory=512, cpu=0.9, ram=500)
    k.vm('b', 'h3', memory=512, cpu=0.9, ram=500)
    k.vm('load', 'h2', vcpus=4, memory=2048, cpu=0.5, ram=1000)
    if policy:
        k.group('pair', policy, 'a', 'b')
    return k


@pytest.mark.parametrize('policy', [None, 'anti-affinity'])
def test_moving_anti_affinity_members_are_split(policy):
    k = two_hot_hosts_one_good_destination(policy)
    params = {'communication_groups': [[cl.uid('a'), cl.uid('b')]]}
    strategy, solution, moved = run_checked(k, **params)
    assert 'a' in moved or 'b' in moved
    if policy is None:
        # control: unconstrained, the two end up together on h1
        assert moved == {'a': 'h1', 'b': 'h1'}
    else:
        assert k.host_of('a') != k.host_of('b')


def talker_elsewhere():
    """``a`` leaves hot h0 for the empty h1, unless it talks to ``b``.

    ``b`` lives on the busier h2; a communication group pulls ``a`` there.
    """
    k = cl.Cluster()
    for h in ('h0', 'h1', 'h2'):
        k.host(h)
    for i in range(3):
        k.vm('hot%d' % i, 'h0', memory=4096, cpu=0.9, ram=4000)
    k.vm('a', 'h0', memory=1024, cpu=0.9, ram=1000)
    k.vm('b', 'h2', vcpus=4, memory=2048, cpu=0.4, ram=1000)
    return k


@pytest.mark.parametrize('form, dest', [
    (None, 'h1'),
    (str, 'h2'),
    # the schema accepts these forms too; they must not be silently dropped
    (str.upper, 'h2'),
    (lambda u: u.replace('-', ''), 'h2'),
])
def test_communication_group_brings_talkers_together(form, dest):
    k = talker_elsewhere()
    params = {}
    if form is not None:
        params['communication_groups'] = [[form(cl.uid('a')),
                                           form(cl.uid('b'))]]
    strategy, solution, moved = run_checked(k, **params)
    assert moved == {'a': dest}


def unusable_best_host(state='up', status='enabled'):
    """h1 (empty) is the natural destination of h0's load; h2 is busier."""
    k = cl.Cluster()
    k.host('h0')
    k.host('h1', state=state, status=status)
    k.host('h2')
    for i in range(4):
        k.vm('hot%d' % i, 'h0', memory=2048, cpu=1.0, ram=1000)
    k.vm('load', 'h2', vcpus=2, memory=2048, cpu=0.5, ram=1000)
    return k


@pytest.mark.parametrize('state, status, receives', [
    ('up', 'enabled', True),
    ('down', 'enabled', False),
    ('up', 'disabled', False),
    ('down', 'disabled', False),
])
def test_disabled_or_down_host_never_receives(state, status, receives):
    k = unusable_best_host(state, status)
    strategy, solution, moved = run_checked(k)
    assert moved
    assert ('h1' in moved.values()) is receives
    assert strategy.informed_plan.still_overloaded == ()


def test_down_host_is_still_relieved_as_a_source():
    k = cl.Cluster()
    k.host('h0', status='disabled')
    k.host('h1')
    for i in range(4):
        k.vm('hot%d' % i, 'h0', memory=2048, cpu=1.0, ram=1000)
    strategy, solution, moved = run_checked(k)
    assert moved and set(moved.values()) == {'h1'}


def test_down_host_is_not_a_live_migration_source():
    k = cl.Cluster()
    k.host('h0', state='down')
    k.host('h1')
    for i in range(4):
        k.vm('hot%d' % i, 'h0', memory=2048, cpu=1.0, ram=1000)
    # Nova refuses to live-migrate off a down compute service (the
    # conductor's LiveMigrationTask calls _check_host_is_up(source)).
    strategy, solution, moved = run_checked(k)
    assert moved == {}
    not_moved = {k.names[u]: r
                 for u, r in strategy.informed_plan.not_moved.items()}
    assert set(not_moved) == {'hot0', 'hot1', 'hot2', 'hot3'}
    assert all('down' in r for r in not_moved.values())
    indicators = {i.name: i.value for i in solution.efficacy_indicators}
    assert indicators['overloaded_hosts_after'] == 1


def test_pinned_availability_zone_is_honoured():
    # h1 is the natural destination but lies outside the instance's zone;
    # host zones come from nova-compute services (FakeNova).
    k = unusable_best_host()
    for i in range(4):
        k.model.get_instance_by_uuid(cl.uid('hot%d' % i)).pinned_az = 'az2'
    k.zones = {'h0': 'az2', 'h1': 'az1', 'h2': 'az2'}
    strategy = cl.prepare(k)
    before = k.placement()
    solution = strategy.execute()
    moved = check_solution(k, strategy, solution, before)
    assert moved and set(moved.values()) == {'h2'}
    assert ('services', 'nova-compute') in strategy.nova_connection.calls


def test_server_groups_are_read_from_nova_for_all_projects():
    k = anti_affinity_pair('anti-affinity')
    strategy = cl.prepare(k)
    strategy.execute()
    assert strategy.nova_connection.calls == [('server_groups', True)]


def test_use_server_groups_off_skips_nova():
    k = anti_affinity_pair('anti-affinity')
    strategy = cl.prepare(k)
    strategy.config['use_server_groups'] = False
    before = k.placement()
    solution = strategy.execute()
    moved = check_solution(k, strategy, solution, before)
    assert strategy.nova_connection.calls == []
    # the group is unknown, so the natural choice is made
    assert moved == {'a': 'h1'}


@pytest.mark.parametrize('params', [{}, {'cpu_threshold': 0.9}])
def test_healthy_cluster_yields_no_actions(params):
    k = cl.Cluster()
    for h in ('h0', 'h1'):
        k.host(h)
    for i in range(3):
        k.vm('v%d' % i, 'h0', cpu=0.5)
    k.vm('w', 'h1', cpu=0.9)
    strategy, solution, moved = run_checked(k, **params)
    assert solution.actions == []
    assert moved == {}
    indicators = {i.name: i.value for i in solution.efficacy_indicators}
    assert indicators['overloaded_hosts_before'] == 0
    assert indicators['predicted_makespan'] == 0
    glob = {i.name: i.value for i in solution.global_efficacy}
    assert glob == {'live_migrations_count': 0.0,
                    'overloaded_hosts_relieved': 100.0}


def test_balance_flattens_a_healthy_cluster_through_watcher():
    # nothing overloaded: relief plans nothing, the opt-in balance moves
    # one VM from the busiest host to the idle one; Watcher validates the
    # balance indicators against our goal's efficacy specification
    def cluster():
        k = cl.Cluster()
        for h in ('h0', 'h1', 'h2'):
            k.host(h)
        for i in range(3):
            k.vm('v%d' % i, 'h0', cpu=0.5)
        k.vm('w', 'h1', cpu=0.9)
        return k

    assert run_checked(cluster())[2] == {}
    strategy, solution, moved = run_checked(
        cluster(), balance=True, metrics=['instance_cpu_usage'],
        weights={'instance_cpu_usage_weight': 1.0})
    assert list(moved.values()) == ['h2']
    indicators = {i.name: i.value for i in solution.efficacy_indicators}
    assert indicators['balance_migrations_count'] == 1
    assert indicators['balance_spread_after'] < \
        indicators['balance_spread_before']
    assert indicators['balance_tenant_cost'] > 0
    assert 'balances load' in strategy.informed_plan.moves[0].reason


def test_max_migrations_zero_plans_nothing_but_reports_overload():
    k = overloaded_with_cheapest()
    strategy, solution, moved = run_checked(k, max_migrations=0)
    assert moved == {}
    indicators = {i.name: i.value for i in solution.efficacy_indicators}
    assert indicators['overloaded_hosts_before'] == 1
    assert indicators['overloaded_hosts_after'] == 1
    glob = {i.name: i.value for i in solution.global_efficacy}
    assert glob['overloaded_hosts_relieved'] == 0.0


# -- metrics ---------------------------------------------------------------

class BrokenStore(metrics_base.MetricsReader):
    """A metric store that is down (real reader interface, no mock)."""

    name = 'gnocchi'

    def read(self, metric, instances, window):
        raise metrics_base.MetricsUnavailable(self.name,
                                              'connection refused')


def test_unavailable_metric_store_fails_the_audit():
    k = overloaded_with_cheapest()
    before = k.placement()
    strategy = cl.prepare(k, reader=BrokenStore())
    with pytest.raises(metrics_base.MetricsUnavailable) as info:
        strategy.execute()
    assert 'gnocchi' in str(info.value)
    assert strategy.solution.actions == []
    assert k.placement() == before


BASE = {'ram': 1000, 'disk_read': 0.0, 'disk_write': 0.0, 'net_rx': 0.0,
        'net_tx': 0.0}


@pytest.mark.parametrize('metrics, reason', [
    (dict(BASE, cpu=float('nan')), 'NaN'),
    (dict(BASE, cpu=-0.5), 'negative'),
    (dict(BASE, cpu=float('inf')), 'inf'),
    (dict(BASE), 'no samples'),
    ({}, 'no samples'),
])
def test_bad_metrics_degrade_to_unknown_with_a_reason(metrics, reason):
    k = cl.Cluster()
    for h in ('h0', 'h1', 'h2'):
        k.host(h)
    for i in range(4):
        k.vm('hot%d' % i, 'h0', memory=2048, cpu=0.9, ram=1000)
    odd = k.vm('odd', 'h0', memory=1024, metrics=metrics)
    strategy, solution, moved = run_checked(k)
    # the audit still relieves the host
    assert moved
    assert strategy.informed_plan.still_overloaded == ()
    profile = strategy.informed_plan.profiles[odd]
    assert profile.cls == 'unknown'
    text = ' '.join(profile.evidence)
    assert 'cpu' in text and reason in text


def test_nan_ram_falls_back_to_the_flavor_size():
    k = cl.Cluster()
    for h in ('h0', 'h1'):
        k.host(h, memory=8192)
    # RAM-hot h0 if the NaN instance counts its whole flavor (4096 MiB)
    k.vm('odd', 'h0', memory=4096,
         metrics=dict(BASE, ram=float('nan'), cpu=0.01))
    k.vm('v', 'h0', memory=4096, ram=3500, cpu=0.01)
    strategy, solution, moved = run_checked(k)
    loads = strategy.informed_plan.loads_before
    assert loads['h0']['ram'] == pytest.approx((4096 + 3500) / 8192.0)
    assert not math.isnan(loads['h0']['ram'])


@pytest.mark.parametrize('value, cls, source', [
    ('web', 'web', 'metadata'),
    (' Memory ', 'memory', 'metadata'),
    ('bogus', 'cpu', 'metrics'),
])
def test_workload_class_metadata_reaches_the_classifier(value, cls, source):
    # Watcher's Instance.metadata (a JsonField filled from Nova) is what the
    # operator sets with "openstack server set --property".
    k = overloaded_with_cheapest()
    k.model.get_instance_by_uuid(cl.uid('big0')).metadata = {
        'informed:workload_class': value}
    strategy, solution, moved = run_checked(k)
    profile = strategy.informed_plan.profiles[cl.uid('big0')]
    assert (profile.cls, profile.source) == (cls, source)


def test_stale_samples_are_missing_not_used():
    # one sample an hour older than the window: the CPU must not count
    k = overloaded_with_cheapest()
    series = {}
    for uuid, metrics in k.values.items():
        for metric, value in metrics.items():
            series.setdefault(metric, {})[uuid] = [(0.0, value)]
    reader = memory.InMemoryMetrics(series, now=2 * 3600.0)
    strategy, solution, moved = run_checked(k, reader)
    assert moved == {}
    profile = strategy.informed_plan.profiles[cl.uid('small')]
    assert profile.cls == 'unknown'
    assert 'stale' in ' '.join(profile.evidence)


# -- random small clusters: invariants -------------------------------------

@st.composite
def clusters(draw):
    k = cl.Cluster()
    n_hosts = draw(st.integers(2, 4))
    hosts = ['h%d' % i for i in range(n_hosts)]
    for h in hosts:
        k.host(h, vcpus=8, memory=16384,
               state=draw(st.sampled_from(['up'] * 4 + ['down'])),
               status=draw(st.sampled_from(['enabled'] * 4 +
                                           ['disabled'])))
    n_vms = draw(st.integers(1, 12))
    for i in range(n_vms):
        k.vm('v%d' % i, draw(st.sampled_from(hosts)),
             vcpus=draw(st.sampled_from([1, 2])),
             memory=draw(st.sampled_from([512, 1024, 2048])),
             state=draw(st.sampled_from(['active'] * 6 + ['stopped'])),
             locked=draw(st.sampled_from([False] * 6 + [True])),
             exclude=draw(st.sampled_from([False] * 6 + [True])),
             cpu=draw(st.sampled_from([0.0, 0.3, 0.9, 1.0, float('nan')])),
             disk_read=draw(st.sampled_from([0.0, 5.0, 300.0])))
    vm_names = ['v%d' % i for i in range(n_vms)]
    for g in range(draw(st.integers(0, 2)) if n_vms > 1 else 0):
        members = draw(st.lists(st.sampled_from(vm_names), min_size=2,
                                max_size=3, unique=True))
        k.group('g%d' % g, draw(st.sampled_from(
            ['affinity', 'anti-affinity', 'soft-affinity',
             'soft-anti-affinity'])), *members)
    return k


@hypothesis.settings(max_examples=60, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(clusters())
def test_random_clusters_keep_every_hard_rule(k):
    before = k.placement()
    model = k.model
    pinned = set()
    for uuid, name in k.names.items():
        inst = model.get_instance_by_uuid(uuid)
        node = model.get_node_by_instance_uuid(uuid)
        if inst.watcher_exclude or inst.locked or inst.state != 'active' \
                or node.state != 'up':
            pinned.add(name)
    uid_to_name = k.names
    groups = [(g['policy'], [uid_to_name[m] for m in g['member_ids']])
              for g in k.groups]
    for policy, members in groups:
        if policy == 'affinity':
            pinned.update(members)

    strategy, solution, moved = run_checked(k)

    assert not pinned & set(moved), 'pinned instance moved'
    for dest in moved.values():
        node = model.get_node_by_name(dest)
        assert node.state == 'up' and node.status == 'enabled', dest
    # allocation of every host that receives stays within its capacity
    for dest in set(moved.values()):
        node = model.get_node_by_name(dest)
        insts = model.get_node_instances(node)
        assert sum(i.vcpus for i in insts) <= node.vcpus
        assert sum(i.memory for i in insts) <= node.memory
    after = k.placement()
    for policy, members in groups:
        if policy != 'anti-affinity':
            continue
        for x in members:
            for y in members:
                if x < y and after[x] == after[y]:
                    assert before[x] == before[y], (x, y)
