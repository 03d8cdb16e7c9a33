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

"""The watcher-informed command end to end, in a subprocess."""

import json
import subprocess
import sys

import pytest

from watcher_informed.cli import scenario


def cli(*args):
    return subprocess.run(
        [sys.executable, '-W', 'ignore', '-m', 'watcher_informed.cli.main']
        + list(args), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope='module')
def demo_json():
    proc = cli('demo', '--format', 'json')
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_demo_table_prints_every_section():
    proc = cli('demo')
    assert proc.returncode == 0, proc.stderr
    for title in ('Workload classification', 'Overloaded hosts',
                  'Plan (execution order)', 'Why', 'Efficacy'):
        assert title in proc.stdout


def test_demo_plan_is_checked_and_relieves(demo_json):
    doc = demo_json
    assert doc['format'] == 'watcher-informed-plan/1'
    assert doc['actions'] and doc['overloaded_hosts']
    assert doc['still_overloaded'] == []
    assert doc['efficacy']['instance_migrations_count'] == \
        len(doc['actions'])
    uuids = {a['action_uuid'] for a in doc['actions']}
    seen = set()
    for a in doc['actions']:
        assert set(a['parents']) <= seen, 'parents must come earlier'
        assert set(a['parents']) <= uuids
        seen.add(a['action_uuid'])
        assert a['end_s'] >= a['start_s'] >= 0


def test_demo_plan_passes_the_core_checkers(demo_json):
    # Rebuild the plan as a value and run every hard-rule checker on it.
    from watcher_informed.adapters.metrics import base
    from watcher_informed.core import checks
    from watcher_informed.core import params
    from watcher_informed.core import plan as plan_mod
    from watcher_informed.core import snapshot as snap
    scen = scenario.load(scenario.demo_path())
    data = scen.data
    insts = scen.instances()
    # the metrics the strategy read: the target-load rule needs them
    usage = base.read_usage(scen.reader(), insts, base.Window(
        **{k: v for k, v in (('period_s', data.get('parameters', {}).get(
            'period')),) if v}))
    groups = tuple(snap.ServerGroup(g['uuid'], g['policy'],
                                    tuple(g['members']))
                   for g in data['server_groups'])
    snapshot = snap.Snapshot(scen.hosts(), insts, usage, groups)
    by_action = {a['action_uuid']: a['instance']
                 for a in demo_json['actions']}
    moves = tuple(plan_mod.PlannedMove(
        a['step'], a['instance'], a['name'], a['class'], a['source'],
        a['destination'], tuple(by_action[p] for p in a['parents']),
        a['lane'], a['start_s'], a['end_s'], a['downtime_s'],
        a['transferred_mib'], a['converged'], a['reason'])
        for a in demo_json['actions'])
    plan = plan_mod.Plan(moves, {}, (), {}, {}, {}, (), len(insts))
    assert checks.violations(snapshot, plan, params.Params()) == []


def _without_action_uuids(doc):
    """``doc`` with action uuids (new on every run) numbered in order."""
    number = {a['action_uuid']: n for n, a in enumerate(doc['actions'])}
    return dict(doc, actions=[
        dict(a, action_uuid=number[a['action_uuid']],
             parents=[number[p] for p in a['parents']])
        for a in doc['actions']])


def test_start_up_trimming_leaves_the_plan_unchanged(demo_json, capsys):
    # the subprocess (the command's own command line) defers Watcher's
    # service modules (cli.startup); main(argv) in this process does not
    from watcher_informed.cli import main
    assert main.main(['demo', '--format', 'json']) == 0
    doc = json.loads(capsys.readouterr().out)
    assert _without_action_uuids(doc) == _without_action_uuids(demo_json)


def test_parameters_change_the_plan():
    proc = cli('demo', '--format', 'json', '--parameters',
               '{"max_migrations": 1}')
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)['actions']) == 1


@pytest.mark.parametrize('params, field', [
    ('{"cpu_threshold": 2}', 'cpu_threshold'),
    ('{"max_concurrent_out": 0}', 'max_concurrent_out'),
])
def test_invalid_parameters_exit_2_naming_the_field(params, field):
    proc = cli('demo', '--parameters', params)
    assert proc.returncode == 2
    assert field in proc.stderr


@pytest.mark.parametrize('content, expected', [
    ('{"version": 1, "hosts": []', 'line 1'),
    ('{"version": 2, "hosts": [{"name": "a", "vcpus": 1, "ram_mb": 1,'
     ' "disk_gb": 1}], "instances": []}', 'version: must be 1'),
    ('{"version": 1, "hosts": [{"name": "a", "vcpus": -1, "ram_mb": 1,'
     ' "disk_gb": 1}], "instances": []}', 'hosts[0].vcpus'),
    ('{"version": 1, "hosts": [{"name": "a", "vcpus": 1, "ram_mb": 1,'
     ' "disk_gb": 1}], "instances": [{"uuid":'
     ' "00000000-0000-4000-8000-000000000000", "host": "zz",'
     ' "vcpus": 1, "ram_mb": 1}]}', 'instances[0].host'),
])
def test_validate_reports_location(tmp_path, content, expected):
    path = tmp_path / 'bad.json'
    path.write_text(content)
    for args in (('validate', str(path)), ('plan', '--scenario',
                                           str(path))):
        proc = cli(*args)
        assert proc.returncode == 2
        assert expected in proc.stderr, proc.stderr


def test_validate_accepts_the_demo():
    proc = cli('validate', str(scenario.demo_path()))
    assert proc.returncode == 0 and 'valid' in proc.stdout


def test_json_output_validates_against_the_shipped_schema(demo_json):
    import jsonschema
    schema = json.loads((scenario.demo_path().parent /
                         'plan.schema.json').read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.validate(demo_json, schema)
    broken = dict(demo_json, actions=[dict(demo_json['actions'][0],
                                           extra=1)])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_yaml_output_is_the_same_document(demo_json):
    import yaml
    proc = cli('demo', '--format', 'yaml')
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load(proc.stdout)
    assert [a['instance'] for a in doc['actions']] == \
        [a['instance'] for a in demo_json['actions']]


def test_pictures_are_valid_png_and_svg(tmp_path):
    import xml.etree.ElementTree as ElementTree
    out = tmp_path / 'pics'
    proc = cli('demo', '--output-dir', str(out))
    assert proc.returncode == 0, proc.stderr
    for name in ('plan-gantt', 'host-load'):
        png = (out / (name + '.png')).read_bytes()
        assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000
        # our own freshly written file, not untrusted input
        root = ElementTree.parse(  # noqa: S314
            out / (name + '.svg')).getroot()
        assert root.tag.endswith('svg')
    gantt = (out / 'plan-gantt.svg').read_text()
    assert 'spec-cpu' in gantt or 'iozone' in gantt


def test_scenario_with_bitbrains_trace_and_series(tmp_path):
    import gzip
    trace = tmp_path / 'vm.csv.gz'
    header = 'Timestamp [ms];\tCPU cores;\tx;\tx;\tx;\tx;\tx;\tx;\tx;\tx;\tx\n'
    with gzip.open(trace, 'wt') as f:
        f.write(header)
        for n in range(13):
            # 2 cores, 95 % CPU, 1 GiB used, idle disk and network
            f.write('%d;\t2;\t0;\t0;\t95;\t2097152;\t1048576;\t0;\t0;\t0;\t0\n'
                    % (1000 + 300 * n))
    doc = {
        'version': 1,
        'parameters': {'migration_bandwidth': 100},
        'hosts': [{'name': 'a', 'vcpus': 4, 'ram_mb': 16384,
                   'disk_gb': 100},
                  {'name': 'b', 'vcpus': 4, 'ram_mb': 16384,
                   'disk_gb': 100}],
        'instances': [
            {'uuid': '00000000-0000-4000-8000-00000000000%d' % i,
             'name': 'vm%d' % i, 'host': 'a', 'vcpus': 2, 'ram_mb': 2048}
            for i in range(2)],
        'metrics': {
            '00000000-0000-4000-8000-000000000000': {
                'bitbrains_csv': 'vm.csv.gz'},
            '00000000-0000-4000-8000-000000000001': {
                'cpu': [[1000, 0.9], [4600, 0.9]], 'ram': 512,
                'disk_read': 0, 'disk_write': 0, 'net_rx': 0,
                'net_tx': 0}},
    }
    path = tmp_path / 'scenario.json'
    path.write_text(json.dumps(doc))
    proc = cli('plan', '--scenario', str(path), '--format', 'json')
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out['parameters']['migration_bandwidth'] == 100
    classes = {c['name']: c['class'] for c in out['classification']}
    assert classes == {'vm0': 'cpu', 'vm1': 'cpu'}
    assert len(out['actions']) == 1 and out['still_overloaded'] == []


def test_field_errors_carry_their_line(tmp_path):
    path = tmp_path / 'bad.yaml'
    path.write_text('version: 1\nhosts:\n  - name: a\n    vcpus: -4\n'
                    '    ram_mb: 1\n    disk_gb: 1\ninstances: []\n')
    proc = cli('validate', str(path))
    assert proc.returncode == 2
    assert 'line 4: hosts[0].vcpus' in proc.stderr


@pytest.mark.parametrize('args', [(), ('demo',), ('plan',), ('validate',)])
def test_help_on_every_subcommand(args):
    proc = cli(*(args + ('--help',)))
    assert proc.returncode == 0 and 'usage: watcher-informed' in proc.stdout
