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

"""Bad input to the watcher-informed command: exit 2, one message, no
traceback -- in a subprocess as a user runs it, and as a property over
random shapes and values run in this process (the real strategy and
planner through Watcher's loaders)."""

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import tempfile

from hypothesis import event
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from watcher_informed.adapters import parameters
from watcher_informed.cli import main as main_mod

U0 = '00000000-0000-4000-8000-000000000000'
U1 = '00000000-0000-4000-8000-000000000001'
BASE = {
    'version': 1,
    'hosts': [{'name': 'a', 'vcpus': 4, 'ram_mb': 16384, 'disk_gb': 100},
              {'name': 'b', 'vcpus': 4, 'ram_mb': 16384, 'disk_gb': 100}],
    'instances': [{'uuid': U0, 'name': 'vm0', 'host': 'a', 'vcpus': 2,
                   'ram_mb': 2048},
                  {'uuid': U1, 'name': 'vm1', 'host': 'a', 'vcpus': 2,
                   'ram_mb': 2048}],
    'metrics': {U0: {'cpu': 0.95, 'ram': 512},
                U1: {'cpu': [[1000, 0.9], [1300, 0.9]], 'ram': 512}},
}


def cli(*args):
    return subprocess.run(
        [sys.executable, '-W', 'ignore', '-m', 'watcher_informed.cli.main']
        + list(args), capture_output=True, text=True, timeout=120)


def write(tmp_path, doc, name='s.json'):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


@pytest.mark.parametrize('args, expected', [
    (('--parameters', '{"foo": 1}'),
     '--parameters: foo: unknown audit parameter (known: '),
    (('--parameters', '{"cpu_treshold": 0.7}'),
     '--parameters: cpu_treshold: unknown audit parameter; did you mean '
     '"cpu_threshold"?'),
    (('--parameters', '{"cpu_threshold": NaN}'),
     '--parameters: cpu_threshold: must be a finite number, got NaN'),
    (('--parameters', '[1]'),
     '--parameters: must be a JSON object, got a list'),
    (('--parameters', '{"a": '),
     '--parameters: not JSON: Expecting value'),
])
def test_bad_parameters_exit_2_with_one_message(tmp_path, args, expected):
    proc = cli('plan', '--scenario', write(tmp_path, BASE), *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(expected), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert 'Traceback' not in proc.stderr and proc.stdout == ''


def test_user_error_without_and_with_debug(tmp_path):
    path = write(tmp_path, '{"version": 1, "hosts": ' + '[' * 5000 +
                 ']' * 5000 + '}')
    proc = cli('validate', path)
    assert (proc.returncode, proc.stderr) == (
        2, '%s: top level: nested more than 24 levels deep\n' % path)
    proc = cli('--debug', 'validate', path)
    assert proc.returncode == 2
    assert 'Traceback' in proc.stderr and proc.stderr.endswith(
        'nested more than 24 levels deep\n')


def test_debug_shows_the_traceback_of_a_failure(tmp_path):
    # a scenario that is valid but whose file vanishes before planning is
    # not a user error: a directory passed as a trace can not be either;
    # use an unwritable output directory instead (exit 1, a message)
    out = tmp_path / 'file'
    out.write_text('')
    for debug in ((), ('--debug',)):
        proc = cli('plan', '--scenario', write(tmp_path, BASE),
                   '--output-dir', str(out / 'sub'), *debug)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith('error: ')
        assert ('Traceback' in proc.stderr) == bool(debug)


def test_control_characters_never_reach_the_terminal(tmp_path):
    doc = copy.deepcopy(BASE)
    doc['instances'][0]['name'] = 'evil\x1b[2J\x1b]0;pwned\x07\rvm'
    doc['hosts'][1]['name'] = 'b\x1b[31m'
    doc['instances'][1]['host'] = 'b\x1b[31m'
    path = write(tmp_path, doc, 'scen\x1b[1m.json')
    outputs = []
    for args in (('plan', '--scenario', path),
                 ('validate', path)):
        proc = cli(*args)
        assert proc.returncode == 0, proc.stderr
        for text in (proc.stdout, proc.stderr):
            assert '\x1b' not in text and '\x07' not in text
            assert '\r' not in text
        outputs.append(proc.stdout)
    assert 'evil\\x1b[2J\\x1b]0;pwned\\x07\\x0dvm' in outputs[0]
    assert 'scen\\x1b[1m.json: valid' in outputs[1]
    doc['instances'][0]['host'] = 'nope\x1b[2J'
    proc = cli('validate', write(tmp_path, doc))
    assert proc.returncode == 2 and '\x1b' not in proc.stderr
    assert "unknown host 'nope\\x1b[2J'" in proc.stderr


def test_outside_paths_flag(tmp_path):
    import gzip
    trace = tmp_path / 'vm.csv.gz'
    with gzip.open(trace, 'wt') as f:
        f.write('header\n')
        for n in range(13):
            f.write('%d;\t2;\t0;\t0;\t95;\t2097152;\t1048576;\t0;\t0;'
                    '\t0;\t0\n' % (1000 + 300 * n))
    (tmp_path / 'scen').mkdir()
    doc = copy.deepcopy(BASE)
    doc['metrics'][U0] = {'bitbrains_csv': str(trace)}
    path = write(tmp_path / 'scen', doc)
    proc = cli('plan', '--scenario', path, '--format', 'json')
    assert proc.returncode == 2
    assert 'outside the scenario\'s folder' in proc.stderr
    proc = cli('plan', '--scenario', path, '--format', 'json',
               '--allow-outside-paths')
    assert proc.returncode == 0, proc.stderr
    classes = {c['uuid']: c['class']
               for c in json.loads(proc.stdout)['classification']}
    assert classes[U0] == 'cpu'           # read from the trace


# -- property: random shapes and values give a plan or exit 2 -------------

EXAMPLES = int(os.environ.get('WATCHER_INFORMED_PROPERTY_EXAMPLES', 60))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

TEXT = st.text(st.characters(codec='utf-8', exclude_categories=['Cs']),
               max_size=8) | st.sampled_from(
    ['a', 'b', 'active', 'ACTIVE', 'up', 'down', 'enabled', 'affinity',
     U0, U1, '2026-12-04T10:00:00Z', 'today', '../x.csv', '\x1b[2J'])
NUMBERS = st.integers(-10 ** 40, 10 ** 40) | st.floats() | st.sampled_from(
    [0, 1, -1, 0.5, 1e200, 1e-300, 2 ** 63, 2 ** 40 + 1, 1e15])
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT
VALUES = st.recursive(
    SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        TEXT, kids, max_size=3), max_leaves=8)


def paths(doc, prefix=()):
    """Every path into ``doc`` (mappings and lists)."""
    yield prefix
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) \
        if isinstance(doc, list) else ()
    for key, value in items:
        yield from paths(value, prefix + (key,))


ALL_PATHS = list(paths(BASE))[1:]


def near(value):
    """Values of the same kind as ``value``, often still valid."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(-2, 4 * value + 2)
    if isinstance(value, float):
        return st.floats(-0.1, 2 * value + 1)
    if isinstance(value, str):
        return st.sampled_from(['a', 'b', 'c', U0, U1, value + 'x'])
    return st.just(value)


@st.composite
def mutated(draw):
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        node = doc
        try:
            for part in path[:-1]:
                node = node[part]
            op = draw(st.sampled_from(['near', 'set', 'delete', 'add']))
            if op == 'near':
                node[path[-1]] = draw(near(node[path[-1]]))
            elif op == 'set':
                node[path[-1]] = draw(VALUES)
            elif op == 'delete':
                del node[path[-1]]
            elif isinstance(node, dict):
                node[draw(TEXT)] = draw(VALUES)
        except (KeyError, IndexError, TypeError):
            pass                      # an earlier mutation changed shape
    return doc


def run_main(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main_mod.main(list(args))
        except SystemExit as exc:      # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def assert_plan_or_exit_2(code, out, err):
    event('exit %s' % code)
    assert code in (0, 2), err
    assert 'Traceback' not in err
    if code == 0:
        assert json.loads(out)['format'] == main_mod.JSON_FORMAT
    else:
        assert err.strip() and out == ''


@pytest.fixture(scope='module')
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield name


@PROPERTY
@given(doc=st.one_of(mutated(), VALUES))
def test_random_scenarios_plan_or_exit_2(folder, doc):
    path = os.path.join(folder, 's.json')
    with open(path, 'w') as f:
        json.dump(doc, f)
    assert_plan_or_exit_2(*run_main('plan', '--scenario', path, '--format',
                                    'json'))


PARAMETER_NAMES = sorted(parameters.defaults()) + ['foo', 'cpu_treshold']


def in_range(spec):
    """Values the schema of one audit parameter allows, and its edges."""
    low, high = spec.get('minimum', -10), spec.get('maximum', 10)
    if spec['type'] == 'integer':
        return st.integers(low - 1, min(high, low + 100) + 1)
    if spec['type'] == 'number':
        return st.floats(low - 0.5, high + 0.5)
    return st.just(spec['default'])


VALID_ISH = st.fixed_dictionaries({}, optional={
    name: in_range(spec)
    for name, spec in parameters.schema()['properties'].items()})


@PROPERTY
@given(params=VALID_ISH | st.dictionaries(st.sampled_from(PARAMETER_NAMES),
                                          VALUES | NUMBERS, max_size=4)
       | VALUES)
def test_random_parameters_plan_or_exit_2(folder, params):
    path = os.path.join(folder, 'base.json')
    if not os.path.exists(path):
        with open(path, 'w') as f:
            json.dump(BASE, f)
    assert_plan_or_exit_2(*run_main(
        'plan', '--scenario', path, '--format', 'json', '--parameters',
        json.dumps(params)))
