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

"""Scenario files: every bad input is one named problem, nothing runs."""

import copy
import gzip
import json
import os
import types

import jsonschema
import pytest

from watcher_informed.adapters.metrics import base
from watcher_informed.cli import scenario

U0 = '00000000-0000-4000-8000-000000000000'
U1 = '00000000-0000-4000-8000-000000000001'
G0 = '00000000-0000-4000-8000-0000000000aa'

BASE = {
    'version': 1,
    'hosts': [{'name': 'a', 'vcpus': 4, 'ram_mb': 16384, 'disk_gb': 100},
              {'name': 'b', 'vcpus': 4, 'ram_mb': 16384, 'disk_gb': 100}],
    'instances': [{'uuid': U0, 'name': 'vm0', 'host': 'a', 'vcpus': 2,
                   'ram_mb': 2048},
                  {'uuid': U1, 'name': 'vm1', 'host': 'a', 'vcpus': 2,
                   'ram_mb': 2048}],
    'metrics': {U0: {'cpu': 0.95, 'ram': 512}, U1: {'cpu': 0.9}},
}


def problems(mutate, allow_outside=False, source='<scenario>'):
    doc = copy.deepcopy(BASE)
    mutate(doc)
    try:
        scenario.check(doc, source, allow_outside=allow_outside)
    except scenario.ScenarioError as exc:
        return exc.problems
    return []


def setter(path, value):
    """A mutation setting ``path`` (a tuple) to ``value``."""
    def mutate(doc):
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return mutate


def deleter(path):
    def mutate(doc):
        node = doc
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
    return mutate


INF = float('inf')
CASES = [
    # unknown keys, with a did-you-mean
    (setter(('instances', 0, 'lock'), True),
     'instances[0].lock: unknown key; did you mean "locked"?'),
    (setter(('instances', 0, 'excluded'), True),
     'instances[0].excluded: unknown key; did you mean "exclude"?'),
    (setter(('hosts', 1, 'disabled'), True),
     'hosts[1].disabled: unknown key (known: az, disk_gb, disk_ratio, '
     'disk_reserved_gb, name, network_capacity, pcpus, ram_mb, ram_ratio, '
     'ram_reserved_mb, state, status, traits, uuid, vcpu_ratio, '
     'vcpu_reserved, vcpus)'),
    (setter(('metrics', U0, 'disk_reads'), 0.5),
     'metrics.%s.disk_reads: unknown key; did you mean "disk_read"?' % U0),
    (setter(('server_group',), []),
     'server_group: unknown key; did you mean "server_groups"?'),
    # strict types
    (setter(('instances', 0, 'locked'), 'no'),
     "instances[0].locked: must be true or false, got 'no'"),
    (setter(('instances', 0, 'exclude'), 1),
     'instances[0].exclude: must be true or false, got 1'),
    (setter(('hosts', 0, 'name'), 7),
     'hosts[0].name: must be a string, got 7'),
    (setter(('instances',), {}),
     'instances: must be a list, got a mapping'),
    (setter(('server_groups',), [1]),
     'server_groups[0]: must be a mapping, got 1'),
    (setter(('metrics', U0), 5), 'metrics.%s: must be a mapping, got 5'
     % U0),
    (setter(('hosts', 0, 'ram_reserved_mb'), 'x'),
     "hosts[0].ram_reserved_mb: must be an integer, got 'x'"),
    (setter(('hosts', 0, 'vcpus'), 3.5),
     'hosts[0].vcpus: must be an integer, got 3.5'),
    (setter(('version',), 2), 'version: must be 1, got 2'),
    # Nova's vocabulary
    (setter(('instances', 0, 'state'), 'running'),
     'instances[0].state: must be a Nova vm_state (active, building, '
     'paused, suspended, stopped, rescued, resized, shelved, '
     'shelved_offloaded, soft-delete, deleted, error) or a Nova API status '
     "(ACTIVE, SHUTOFF, ...), got 'running'"),
    (setter(('instances', 0, 'state'), 'Active'),
     'instances[0].state: must be a Nova vm_state (active, building, '
     'paused, suspended, stopped, rescued, resized, shelved, '
     'shelved_offloaded, soft-delete, deleted, error) or a Nova API status '
     '(ACTIVE, SHUTOFF, ...), got \'Active\'; did you mean "active"?'),
    (setter(('hosts', 0, 'status'), 'Enabled'),
     'hosts[0].status: must be one of "enabled", "disabled", got '
     '\'Enabled\'; did you mean "enabled"?'),
    # finite numbers in range
    (setter(('hosts', 0, 'vcpu_ratio'), INF),
     'hosts[0].vcpu_ratio: must be a finite number, got Infinity'),
    (setter(('hosts', 0, 'vcpus'), float('nan')),
     'hosts[0].vcpus: must be a finite number, got NaN'),
    (setter(('hosts', 0, 'ram_ratio'), 0),
     'hosts[0].ram_ratio: must be > 0, got 0'),
    (setter(('hosts', 0, 'vcpu_reserved'), -1),
     'hosts[0].vcpu_reserved: must be >= 0, got -1'),
    (setter(('hosts', 0, 'vcpu_reserved'), 5),
     'hosts[0].vcpu_reserved: must be at most vcpus (4), got 5'),
    (setter(('hosts', 0, 'ram_mb'), 10 ** 20),
     'hosts[0].ram_mb: must be <= 1099511627776, got 100000000000000000000'),
    (setter(('metrics', U0, 'cpu'), 1e200),
     'metrics.%s.cpu: must be <= 100, got 1e+200' % U0),
    (setter(('metrics', U0, 'ram'), -1),
     'metrics.%s.ram: must be >= 0, got -1' % U0),
    (setter(('metrics', U0, 'disk_read'), 'fast'),
     "metrics.%s.disk_read: must be a number or null or a list, got 'fast'"
     % U0),
    # series samples
    (setter(('metrics', U0, 'cpu'), [['a', 0.5]]),
     "metrics.%s.cpu[0][0]: must be a number, got 'a'" % U0),
    (setter(('metrics', U0, 'cpu'), [[1, 'b']]),
     "metrics.%s.cpu[0][1]: must be a number or null, got 'b'" % U0),
    (setter(('metrics', U0, 'cpu'), [[1, 0.5, 3]]),
     'metrics.%s.cpu[0]: must be a [unix time, value] pair, got a list'
     % U0),
    (setter(('metrics', U0, 'cpu'), [5]),
     'metrics.%s.cpu[0]: must be a [unix time, value] pair, got 5' % U0),
    (setter(('metrics', U0, 'cpu'), [[1, 700]]),
     'metrics.%s.cpu[0][1]: must be <= 100, got 700' % U0),
    # references
    (setter(('instances', 0, 'host'), 'c'),
     "instances[0].host: unknown host 'c'"),
    (setter(('instances', 0, 'host'), 'A'),
     'instances[0].host: unknown host \'A\'; did you mean "a"?'),
    (lambda doc: (doc['instances'][1].update(uuid=U0),
                  doc['metrics'].pop(U1)),
     'instances[1].uuid: duplicate instance %s' % U0),
    (setter(('hosts', 1, 'name'), 'a'), "hosts[1].name: duplicate host 'a'"),
    (setter(('instances', 0, 'uuid'), 'u'),
     "instances[0].uuid: must be an instance UUID, got 'u'"),
    (setter(('metrics', G0), {}), 'metrics.%s: unknown instance' % G0),
    (setter(('metrics', 'vm0'), {}),
     "metrics.vm0: must be an instance UUID"),
    (setter(('server_groups',), [{'uuid': G0, 'policy': 'affinity',
                                  'members': [U0, G0]}]),
     'server_groups[0].members[1]: unknown instance %s' % G0),
    (setter(('server_groups',), [
        {'uuid': G0, 'policy': 'affinity', 'members': [U0]},
        {'uuid': G0[:-1] + 'b', 'policy': 'anti-affinity',
         'members': [U0]}]),
     'server_groups[1].members[0]: instance %s is already in server group '
     '%s (Nova allows one group per instance)' % (U0, G0)),
    (setter(('server_groups',), [{'uuid': G0, 'policy': 'afinity',
                                  'members': []}]),
     'server_groups[0].policy: must be one of "affinity", "anti-affinity", '
     '"soft-affinity", "soft-anti-affinity", got \'afinity\'; did you mean '
     '"affinity"?'),
    (setter(('communication_groups',), [[U0, G0]]),
     'communication_groups[0][1]: unknown instance %s' % G0),
    (setter(('recent_moves',), [{'uuid': U0, 'source': 'z',
                                 'finished_at': 1}]),
     "recent_moves[0].source: unknown host 'z'"),
    (deleter(('hosts', 0, 'vcpus')), 'hosts[0].vcpus: required'),
    (setter(('hosts',), []), 'hosts: must have at least 1 item(s)'),
    # time
    (setter(('now',), 'today'),
     "now: must be unix seconds or an ISO 8601 time "
     "(2026-12-04T10:00:00Z), got 'today'"),
    (setter(('now',), True), 'now: must be a number or a string, got true'),
    (setter(('now',), '9999-12-31T00:00:00Z'),
     "now: must be between 1970 and year 5000, got '9999-12-31T00:00:00Z'"),
    # audit parameters in the file
    (setter(('parameters',), {'cpu_treshold': 0.5}),
     'parameters.cpu_treshold: unknown audit parameter; did you mean '
     '"cpu_threshold"?'),
    (setter(('parameters',), {'period': 10}),
     'parameters.period: must be >= 60, got 10'),
]


@pytest.mark.parametrize('mutate, expected', CASES)
def test_one_problem_per_bad_field(mutate, expected):
    assert problems(mutate) == [expected]


def test_the_valid_base_and_the_shipped_files_pass():
    assert problems(lambda doc: None) == []
    for path in (scenario.demo_path(),
                 scenario.demo_path().parents[2] / 'tools' / 'stack' /
                 'scenario.json'):
        assert scenario.load(path).data['hosts']


def test_schema_is_published_and_valid():
    schema = scenario.schema()
    jsonschema.Draft7Validator.check_schema(schema)
    assert scenario.schema_path().name == 'scenario.schema.json'
    assert scenario.schema_path().parent == scenario.demo_path().parent
    # every metric the core knows is in the schema, and nothing else
    from watcher_informed.core import snapshot as snap
    per_instance = schema['properties']['metrics']['additionalProperties']
    assert set(per_instance['properties']) == set(snap.METRICS) | {
        'bitbrains_csv'}


def test_api_statuses_read_as_vm_states_with_a_note():
    doc = copy.deepcopy(BASE)
    doc['instances'][0]['state'] = 'ACTIVE'
    doc['instances'][1]['state'] = 'SHUTOFF'
    data, _, notes = scenario.check(doc)
    assert [i['state'] for i in data['instances']] == ['active', 'stopped']
    assert notes == ('2 instance state(s) given as Nova API statuses were '
                     'read as the vm_state they stand for (ACTIVE -> '
                     'active, SHUTOFF -> stopped)',)
    model = scenario.Scenario(data, '<s>').model()
    assert model.get_instance_by_uuid(U1).state == 'stopped'


@pytest.mark.parametrize('now, expected', [
    (1700000000, 1700000000.0),
    ('2023-11-14T22:13:20Z', 1700000000.0),
    ('2023-11-14T22:13:20', 1700000000.0),         # no offset: UTC
    ('2023-11-14T23:13:20+01:00', 1700000000.0),
])
def test_now_is_unix_seconds_or_iso(now, expected):
    data = scenario.validate(dict(copy.deepcopy(BASE), now=now))
    assert scenario.Scenario(data, '<s>').now == expected


def test_every_problem_is_listed_with_its_line(tmp_path):
    path = tmp_path / 'bad.yaml'
    path.write_text('version: 1\nhosts:\n  - name: a\n    vcpus: -4\n'
                    '    ram_mb: 1\n    disk_gb: 1\n    lock: true\n'
                    'instances: []\n')
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load(path)
    assert info.value.problems == [
        'line 7: hosts[0].lock: unknown key (known: az, disk_gb, '
        'disk_ratio, disk_reserved_gb, name, network_capacity, pcpus, '
        'ram_mb, ram_ratio, ram_reserved_mb, state, status, traits, uuid, '
        'vcpu_ratio, vcpu_reserved, vcpus)',
        'line 4: hosts[0].vcpus: must be >= 1, got -4']


@pytest.mark.parametrize('content, expected', [
    (b'\xff\xfe not text', 'file: not UTF-8 text'),
    (b'', 'top level: must be a mapping, got null'),
    (b'[]', 'top level: must be a mapping, got a list'),
])
def test_unreadable_files(tmp_path, content, expected):
    path = tmp_path / 's.json'
    path.write_bytes(content)
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load(path)
    assert info.value.problems == [expected]


def test_a_directory_or_missing_file(tmp_path):
    for path, why in ((tmp_path, 'Is a directory'),
                      (tmp_path / 'nope.json', 'No such file or directory')):
        with pytest.raises(scenario.ScenarioError) as info:
            scenario.load(path)
        assert info.value.problems == ['cannot read: %s' % why]


# -- bitbrains_csv: inside the scenario's folder, never quoted ------------

HEADER = 'Timestamp [ms];\tCPU cores;\tx;\tx;\tx;\tx;\tx;\tx;\tx;\tx;\tx\n'
ROW = '%d;\t2;\t0;\t0;\t95;\t2097152;\t1048576;\t0;\t0;\t0;\t0\n'


def write_trace(path, rows=None):
    with gzip.open(path, 'wt') as f:
        f.write(HEADER)
        for line in rows or [ROW % (1000 + 300 * n) for n in range(13)]:
            f.write(line)


def with_trace(tmp_path, name, allow_outside=False):
    folder = tmp_path / 'scen'
    folder.mkdir(exist_ok=True)
    doc = copy.deepcopy(BASE)
    doc['metrics'][U0] = {'bitbrains_csv': name}
    path = folder / 's.json'
    path.write_text(json.dumps(doc))
    return scenario.load(path, allow_outside)


def test_trace_inside_the_folder_is_read(tmp_path):
    (tmp_path / 'scen' / 'traces').mkdir(parents=True)
    write_trace(tmp_path / 'scen' / 'traces' / 'vm.csv.gz')
    scen = with_trace(tmp_path, 'traces/vm.csv.gz')
    assert len(scen.traces[U0]['cpu']) == 13
    vm = types.SimpleNamespace(uuid=U0)
    reading = scen.reader().read('cpu', [vm], base.Window(period_s=3600))
    assert reading[U0].value == pytest.approx(0.95)


@pytest.mark.parametrize('name', ['../outside.csv.gz', '/etc/passwd',
                                  'link.csv.gz'])
def test_trace_outside_the_folder_is_refused(tmp_path, name):
    write_trace(tmp_path / 'outside.csv.gz')
    (tmp_path / 'scen').mkdir()
    os.symlink(tmp_path / 'outside.csv.gz', tmp_path / 'scen' / 'link.csv.gz')
    with pytest.raises(scenario.ScenarioError) as info:
        with_trace(tmp_path, name)
    assert info.value.problems == [
        "metrics.%s.bitbrains_csv: %r is outside the scenario's folder "
        "(allow it with --allow-outside-paths)" % (U0, name)]


def test_trace_outside_the_folder_when_allowed(tmp_path):
    write_trace(tmp_path / 'outside.csv.gz')
    scen = with_trace(tmp_path, '../outside.csv.gz', allow_outside=True)
    assert len(scen.traces[U0]['ram']) == 13


@pytest.mark.parametrize('content, why', [
    ('root:x:0:0:root:/root:/bin/bash\nsecret;line\n',
     'line 2: 2 columns, expected 11'),
    (HEADER + '1;\t2;\t3;\t4;\tSECRET;\t6;\t7;\t8;\t9;\t10;\t11\n',
     'line 2: cpu_usage_pct is not a number'),
    (HEADER + '1;\t2;\t3;\t4;\tnan;\t6;\t7;\t8;\t9;\t10;\t11\n',
     'row 1, cpu_usage_pct: not a finite number'),
])
def test_bad_trace_lines_are_named_never_quoted(tmp_path, content, why):
    (tmp_path / 'scen').mkdir()
    (tmp_path / 'scen' / 'vm.csv').write_text(content)
    with pytest.raises(scenario.ScenarioError) as info:
        with_trace(tmp_path, 'vm.csv', allow_outside=True)
    assert info.value.problems == [
        "metrics.%s.bitbrains_csv: 'vm.csv': %s" % (U0, why)]
    assert 'root:x' not in str(info.value)
    assert 'SECRET' not in str(info.value)


@pytest.mark.parametrize('content, why', [
    (b'not gzip at all', 'cannot read: not a gzip file'),
    (b'\x1f\x8b\x08\x00truncated', 'cannot read: EOFError'),
])
def test_bad_gzip_traces(tmp_path, content, why):
    (tmp_path / 'scen').mkdir()
    (tmp_path / 'scen' / 'vm.csv.gz').write_bytes(content)
    with pytest.raises(scenario.ScenarioError) as info:
        with_trace(tmp_path, 'vm.csv.gz')
    assert info.value.problems == [
        "metrics.%s.bitbrains_csv: 'vm.csv.gz': %s" % (U0, why)]


def test_missing_trace(tmp_path):
    with pytest.raises(scenario.ScenarioError) as info:
        with_trace(tmp_path, 'nope.csv')
    assert info.value.problems == [
        "metrics.%s.bitbrains_csv: no such file 'nope.csv'" % U0]


@pytest.mark.parametrize('mutate, expected', CASES[:30])
def test_the_compiled_schema_gives_the_same_answer(monkeypatch, mutate,
                                                   expected):
    """Big files are checked by fastjsonschema first: same verdict."""
    slow = problems(mutate)
    monkeypatch.setattr(scenario, 'FAST_ABOVE', -1)
    assert problems(mutate) == slow
    assert problems(lambda doc: None) == []


def test_a_hosts_network_capacity_is_its_nic_for_the_audit(tmp_path):
    # a host's network_capacity joins the audit's host_network_capacities
    # (issue 17's link model); hosts without one keep the option's value
    doc = copy.deepcopy(BASE)
    doc['hosts'][0]['network_capacity'] = 119
    doc['parameters'] = {'migration_bandwidth': 100,
                         'host_network_capacities': {'c': 12.5}}
    path = tmp_path / 'nic.json'
    path.write_text(json.dumps(doc))
    params = scenario.load(path).parameters
    assert params['host_network_capacities'] == {'a': 119, 'c': 12.5}
    assert params['migration_bandwidth'] == 100
    del doc['hosts'][0]['network_capacity']
    del doc['parameters']['host_network_capacities']
    path.write_text(json.dumps(doc))
    assert 'host_network_capacities' not in scenario.load(path).parameters
