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

import datetime

import pytest

from watcher_informed.adapters import parameters
from watcher_informed.cli import validation


def problems_of(text):
    try:
        doc = validation.parse(text, 'f')
    except validation.InputError as exc:
        return exc.problems
    return validation.plain_problems(doc)


@pytest.mark.parametrize('text, expected', [
    ('{"a": NaN}', ['a: must be a finite number, got NaN']),
    ('{"a": [1, Infinity]}', ['a[1]: must be a finite number, got '
                              'Infinity']),
    ('{"a": -Infinity}', ['a: must be a finite number, got -Infinity']),
    ('{"a": 1e400}', ['a: must be a finite number, got 1e400']),
    ('{"a": -1e400}', ['a: must be a finite number, got -1e400']),
    ('{"a": %s}' % ('9' * 400),
     ['a: number too large, got 999999999999...(400 digits)']),
    ('{"a": %s}' % ('9' * 5000),          # beyond int()'s own limit
     ['a: number too large, got 999999999999...(5000 digits)']),
    ('{"a": 1e300, "b": %s}' % ('9' * 30), []),
    ('[' * 100000 + ']' * 100000,
     ['top level: nested more than 24 levels deep']),
    ('{"a": ' * 30 + '1' + '}' * 30,
     ['a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: nested more '
      'than 24 levels deep']),
    ('a: [' * 3000 + ']' * 3000, ['top level: nested more than 24 levels '
                                  'deep']),           # YAML, recursive
    ('{1: a}', ['top level: key 1 must be a string']),  # YAML keys
    ('a: .nan', ['a: must be a finite number, got NaN']),
    ('a: !!set {x}', ['a: set is not a JSON value']),
    ('a: !!binary aGk=', ['a: bytes is not a JSON value']),
    ('{"a": [1, 2', ['line 1: invalid YAML/JSON: expected \',\' or \']\', '
                     'but got \'<stream end>\'']),
])
def test_parse_and_plain_problems(text, expected):
    assert problems_of(text) == expected


def test_yaml_times_become_iso_strings():
    doc = validation.parse('now: 2026-12-04T10:00:00Z\nday: 2026-12-04\n',
                           'f')
    assert validation.plain_problems(doc) == []
    assert doc == {'now': '2026-12-04T10:00:00+00:00', 'day': '2026-12-04'}
    assert not isinstance(doc['day'], datetime.date)


def test_yaml_alias_bomb_is_bounded(monkeypatch):
    monkeypatch.setattr(validation, 'MAX_NODES', 10000)
    lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
    for n in range(1, 12):
        lines.append('a%d: &a%d [%s]' % (n, n, ', '.join(
            ['*a%d' % (n - 1)] * 10)))
    doc = validation.parse('\n'.join(lines), 'f')
    assert validation.plain_problems(doc) == ['top level: more than 10000 '
                                              'values']


def test_size_is_bounded(monkeypatch):
    monkeypatch.setattr(validation, 'MAX_BYTES', 100)
    with pytest.raises(validation.InputError) as info:
        validation.parse('[' + '0, ' * 100 + '0]', 'big.json')
    assert str(info.value) == 'big.json: file: larger than 0 MiB'


SCHEMA = {
    'type': 'object', 'additionalProperties': False,
    'required': ['name'],
    'properties': {
        'name': {'type': 'string'},
        'locked': {'type': 'boolean'},
        'ratio': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 10},
        'state': {'enum': ['active', 'stopped']},
        'items': {'type': 'array', 'maxItems': 1,
                  'items': {'type': 'integer', 'minimum': 0}},
        'sample': {'type': 'array', 'minItems': 2, 'maxItems': 2,
                   'x-message': 'must be a [unix time, value] pair'},
    },
}


@pytest.mark.parametrize('doc, expected', [
    ({'name': 'a'}, []),
    ({}, ['name: required']),
    ({'name': 'a', 'lock': True}, ['lock: unknown key; did you mean '
                                   '"locked"?']),
    ({'name': 'a', 'zzz': 1}, ['zzz: unknown key (known: items, locked, '
                               'name, ratio, sample, state)']),
    ({'name': 'a', 'locked': 'no'}, ["locked: must be true or false, got "
                                     "'no'"]),
    ({'name': 'a', 'locked': 0}, ['locked: must be true or false, got 0']),
    ({'name': 1}, ['name: must be a string, got 1']),
    ({'name': 'a', 'ratio': 0}, ['ratio: must be > 0, got 0']),
    ({'name': 'a', 'ratio': 11}, ['ratio: must be <= 10, got 11']),
    ({'name': 'a', 'ratio': True}, ['ratio: must be a number, got true']),
    ({'name': 'a', 'state': 'ACTIVE'},
     ['state: must be one of "active", "stopped", got \'ACTIVE\'; did you '
      'mean "active"?']),
    ({'name': 'a', 'items': [1, -1]},
     ['items: must have at most 1 item(s)',
      'items[1]: must be >= 0, got -1']),
    ({'name': 'a', 'items': {}}, ['items: must be a list, got a mapping']),
    ({'name': 'a', 'sample': [1]}, ['sample: must be a [unix time, value] '
                                    'pair, got a list']),
    # one message per field, in document order
    ({'name': 2, 'lock': 1, 'locked': 'x'},
     ['lock: unknown key; did you mean "locked"?',
      "locked: must be true or false, got 'x'",
      'name: must be a string, got 2']),
])
def test_schema_problems(doc, expected):
    assert validation.schema_problems(doc, SCHEMA) == expected


@pytest.mark.parametrize('params, expected', [
    ({}, []),
    ({'cpu_threshold': 0.7, 'max_migrations': 3}, []),
    ({'foo': 1}, ['foo: unknown audit parameter (known: %s)'
                  % ', '.join(sorted(parameters.defaults()))]),
    ({'cpu_threshold': 0.1, 'target_margin': 0.3}, []),
    ({'cpu_treshold': 0.7}, ['cpu_treshold: unknown audit parameter; did '
                             'you mean "cpu_threshold"?']),
    ({'cpu_threshold': float('nan')},
     ['cpu_threshold: must be a finite number, got NaN']),
    ({'cpu_threshold': 2}, ['cpu_threshold: must be <= 1, got 2']),
    ({'cpu_threshold': 0}, ['cpu_threshold: must be > 0, got 0']),
    ({'max_migrations': 2.5}, ['max_migrations: must be an integer, got '
                               '2.5']),
    ({'max_migrations': True}, ['max_migrations: must be an integer, got '
                                'true']),
    ({'seed': 10 ** 40}, ['seed: number too large, got %d' % 10 ** 40]),
    ({'interference_overrides': {'cpu+gpu': 1}},
     ['interference_overrides.cpu+gpu: unknown key (must match '
      '^(cpu|memory|disk_io|net_rx|web|idle|unknown)[+](cpu|memory|disk_io|'
      'net_rx|web|idle|unknown)$)']),
])
def test_audit_parameter_problems(params, expected):
    assert validation.audit_parameter_problems(params) == expected


def test_audit_parameter_problems_with_a_prefix():
    assert validation.audit_parameter_problems(
        {'period': 'x'}, ('parameters',)) == [
        "parameters.period: must be an integer, got 'x'"]
    assert validation.audit_parameter_problems([1]) == [
        'parameters: must be a mapping of audit parameters, got a list']


@pytest.mark.parametrize('text, expected', [
    ('plain name', 'plain name'),
    ('\x1b[31mred\x1b[0m', '\\x1b[31mred\\x1b[0m'),
    ('a\rb', 'a\\x0db'),
    ('two\nlines\tok', 'two\nlines\tok'),
    ('bidi \u202eevil', 'bidi \\u202eevil'),
    ('caf\u00e9 \u4e2d', 'caf\u00e9 \u4e2d'),
    ('\x9b31m', '\\x9b31m'),                     # C1 CSI
    ('lone \ud800', 'lone \\ud800'),
])
def test_clean(text, expected):
    assert validation.clean(text) == expected


@pytest.mark.parametrize('parts, expected', [
    (('hosts', 3, 'vcpu_ratio'), 'hosts[3].vcpu_ratio'),
    (('metrics', '3e265851-6263-4c8b-8439-d1985b2d9d14', 'cpu'),
     'metrics.3e265851-6263-4c8b-8439-d1985b2d9d14.cpu'),
    (('metrics', 'a b\x1b'), "metrics['a b\\x1b']"),
    ((), 'top level'),
])
def test_path_str(parts, expected):
    assert validation.path_str(parts) == expected
