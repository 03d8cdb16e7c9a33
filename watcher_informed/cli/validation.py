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

"""Untrusted JSON/YAML input: bounded parsing, JSON Schema, plain messages.

Contract: every check here turns bad input into :class:`InputError`, a list
of problems of the form ``<field path>: <what is wrong>`` (``hosts[3]
.vcpu_ratio: must be a finite number, got Infinity``), and never into
another exception.  :func:`parse` reads JSON (or YAML) within
:data:`MAX_BYTES`; numbers JSON cannot carry as finite floats (``NaN``,
``Infinity``, ``1e400``, a 400-digit integer) are kept as markers so that
:func:`plain_problems` can name their field.  :func:`plain_problems` walks
the document without recursion (so no nesting can raise ``RecursionError``)
within :data:`MAX_DEPTH` and :data:`MAX_NODES`, refusing non-finite
numbers, non-string keys and values JSON has no type for.
:func:`schema_problems` runs a JSON Schema with the ``jsonschema`` library
and words each error for an operator: unknown keys with a did-you-mean
(``difflib``), types as ``true or false`` rather than ``boolean``, one
message per field.  :func:`audit_parameter_problems` checks audit
parameters the same way against the strategy's own schema.  :func:`clean`
escapes control characters before anything reaches a terminal.
"""

import datetime
import difflib
import json
import math
import re
import unicodedata

#: Largest scenario file read, in bytes.
MAX_BYTES = 128 * 1024 * 1024
#: Deepest nesting of lists and mappings accepted.
MAX_DEPTH = 24
#: Most values (scalars, lists and mappings) in one document; bounds the
#: work on YAML whose aliases repeat a node many times.
MAX_NODES = 20_000_000
#: Longest integer literal accepted (digits); larger ones are refused.
MAX_INT_DIGITS = 30
#: Most problems listed in one message.
MAX_PROBLEMS = 25


class InputError(ValueError):
    """Bad user input: ``problems`` are ``path: message`` strings."""

    def __init__(self, source, problems):
        problems = list(problems)
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append('... and %d more problem(s)'
                         % (len(problems) - MAX_PROBLEMS))
        if len(problems) == 1:
            text = '%s: %s' % (source, problems[0])
        else:
            text = '%s: %d problem(s):\n  %s' % (source, len(problems),
                                                  '\n  '.join(shown))
        super().__init__(text)
        self.source = source
        self.problems = problems


class Unrepresentable:
    """A JSON number that is not a finite float, kept to be reported."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text if len(self.text) <= 40 else '%s...(%d digits)' % (
            self.text[:12], len(self.text))


def _parse_float(text):
    value = float(text)
    return value if math.isfinite(value) else Unrepresentable(text)


def _parse_int(text):
    digits = len(text.lstrip('-'))
    return int(text) if digits <= MAX_INT_DIGITS else Unrepresentable(text)


def loads_json(text):
    """``json.loads`` keeping NaN, Infinity, 1e400 and huge ints as
    :class:`Unrepresentable` markers (raises ``JSONDecodeError``)."""
    return json.loads(text, parse_float=_parse_float, parse_int=_parse_int,
                      parse_constant=Unrepresentable)


def parse(text, source):
    """Parse JSON, else YAML; syntax errors carry their line."""
    if len(text) > MAX_BYTES:
        raise InputError(source, ['file: larger than %d MiB'
                                  % (MAX_BYTES // 2 ** 20)])
    too_deep = 'top level: nested more than %d levels deep' % MAX_DEPTH
    try:
        return loads_json(text)
    except json.JSONDecodeError as exc:
        json_error = exc
    except RecursionError:
        raise InputError(source, [too_deep]) from None
    try:
        import yaml
    except ImportError:
        raise InputError(source, ['line %d: invalid JSON: %s'
                                  % (json_error.lineno, json_error.msg)])
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise InputError(source, [too_deep]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        line = mark.line + 1 if mark else '?'
        what = getattr(exc, 'problem', None) or 'syntax error'
        raise InputError(source, ['line %s: invalid YAML/JSON: %s'
                                  % (line, clean(what))]) from None
    except ValueError as exc:     # e.g. an out-of-range YAML timestamp
        raise InputError(source, ['invalid YAML/JSON: %s'
                                  % clean(str(exc))]) from None


_KEY = re.compile(r'^[A-Za-z0-9_:+-]+$')


def path_str(parts):
    """``('hosts', 3, 'vcpus')`` -> ``hosts[3].vcpus``."""
    out = ''
    for part in parts:
        if isinstance(part, int):
            out += '[%d]' % part
        elif isinstance(part, str) and _KEY.match(part):
            out += ('.' if out else '') + part
        else:
            out += '[%s]' % clean(repr(part))
    return out or 'top level'


def show(value, limit=60):
    """A short, terminal-safe rendering of a user's value."""
    if isinstance(value, Unrepresentable):
        text = repr(value)
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, float) and not math.isfinite(value):
        text = json.dumps(value)          # NaN, Infinity, -Infinity
    elif isinstance(value, dict):
        return 'a mapping'
    elif isinstance(value, list):
        return 'a list'
    else:
        text = repr(value)
    text = clean(text)
    return text if len(text) <= limit else text[:limit] + '...'


_PLAIN = (str, int, float, bool, type(None))


def plain_problems(doc, prefix=()):
    """Problems of a parsed document JSON itself cannot express.

    Non-finite numbers, numbers too large, keys that are not strings,
    values of no JSON type, nesting beyond :data:`MAX_DEPTH` and more than
    :data:`MAX_NODES` values.  YAML times and dates become ISO strings in
    place.  Iterative: no input makes it recurse.
    """
    problems = []
    stack = [(doc, tuple(prefix), 0)]
    nodes = 0
    while stack:
        value, path, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            problems.append('top level: more than %d values' % MAX_NODES)
            break
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                problems.append('%s: nested more than %d levels deep'
                                % (path_str(path), MAX_DEPTH))
                continue
            for key in list(value):
                if not isinstance(key, str):
                    problems.append('%s: key %s must be a string'
                                    % (path_str(path), show(key)))
                    continue
                item = _as_plain(value, key)
                stack.append((item, path + (key,), depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                problems.append('%s: nested more than %d levels deep'
                                % (path_str(path), MAX_DEPTH))
                continue
            for n in range(len(value)):
                stack.append((_as_plain(value, n), path + (n,), depth + 1))
        elif isinstance(value, Unrepresentable):
            what = 'number too large' if value.text.lstrip('-').isdigit() \
                else 'must be a finite number'
            problems.append('%s: %s, got %s'
                            % (path_str(path), what, show(value)))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append('%s: must be a finite number, got %s'
                            % (path_str(path), show(value)))
        elif isinstance(value, int) and not isinstance(value, bool) and \
                len(str(abs(value))) > MAX_INT_DIGITS:
            problems.append('%s: number too large, got %s'
                            % (path_str(path), show(value)))
        elif not isinstance(value, _PLAIN):
            problems.append('%s: %s is not a JSON value'
                            % (path_str(path), type(value).__name__))
    return sorted(set(problems), key=problems.index)


def _as_plain(container, key):
    """YAML dates and times as ISO strings (in place)."""
    value = container[key]
    if isinstance(value, (datetime.date, datetime.datetime)):
        value = container[key] = value.isoformat()
    return value


_TYPE_WORDS = {'integer': 'an integer', 'number': 'a number',
               'boolean': 'true or false', 'string': 'a string',
               'array': 'a list', 'object': 'a mapping', 'null': 'null'}


def _did_you_mean(word, choices):
    if not isinstance(word, str):
        return ''
    lowered = {}
    for choice in choices:          # the first spelling of a word wins
        if isinstance(choice, str):
            lowered.setdefault(choice.lower(), choice)
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1,
                                      cutoff=0.6)
    return '; did you mean %s?' % json.dumps(lowered[match[0]]) \
        if match else ''


def _explain(err):
    """``[(path tuple, message)]`` for one ``jsonschema`` error."""
    path = tuple(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    kind = err.validator
    value = err.instance
    if kind == 'additionalProperties':
        known = sorted(schema.get('properties', {}))
        patterns = list(schema.get('patternProperties', {}))
        out = []
        for key in value:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            hint = _did_you_mean(key, known) or (
                ' (known: %s)' % ', '.join(known) if known else
                ' (must match %s)' % ' or '.join(patterns) if patterns
                else '')
            out.append((path + (key,), 'unknown key' + hint))
        return out
    if kind == 'required':
        return [(path + (key,), 'required') for key in err.validator_value
                if key not in value]
    message = schema.get('x-message')
    if 'propertyNames' in err.relative_schema_path:
        return [(path + (value,), message or 'not allowed as a key')]
    if message and kind in ('type', 'minItems', 'maxItems', 'items',
                            'additionalItems', 'pattern', 'enum'):
        hint = _did_you_mean(value, err.validator_value) \
            if kind == 'enum' else ''
        return [(path, '%s, got %s%s' % (message, show(value), hint))]
    if kind == 'type':
        types = err.validator_value
        types = types if isinstance(types, list) else [types]
        return [(path, 'must be %s, got %s' % (
            ' or '.join(_TYPE_WORDS.get(t, t) for t in types), show(value)))]
    if kind == 'enum':
        choices = err.validator_value
        return [(path, 'must be one of %s, got %s%s' % (
            ', '.join(json.dumps(c) for c in choices), show(value),
            _did_you_mean(value, choices)))]
    if kind == 'const':
        return [(path, 'must be %s, got %s'
                 % (json.dumps(err.validator_value), show(value)))]
    bounds = {'minimum': '>=', 'maximum': '<=', 'exclusiveMinimum': '>',
              'exclusiveMaximum': '<'}
    if kind in bounds:
        limit = err.validator_value
        if isinstance(limit, bool):          # Draft 4's boolean form
            kind = kind.replace('exclusiveM', 'm')
            limit = schema[kind]
            op = '>' if kind == 'minimum' else '<'
        else:
            op = bounds[kind]
            if kind in ('minimum', 'maximum') and schema.get(
                    'exclusive' + kind[0].upper() + kind[1:]) is True:
                op = op[0]
        return [(path, 'must be %s %s, got %s' % (op, limit, show(value)))]
    if kind == 'minItems':
        return [(path, 'must have at least %d item(s)' % err.validator_value)]
    if kind == 'maxItems':
        return [(path, 'must have at most %d item(s)' % err.validator_value)]
    if kind == 'minLength':
        return [(path, 'must not be empty' if err.validator_value == 1 else
                 'must be at least %d characters' % err.validator_value)]
    if kind == 'maxLength':
        return [(path, 'must be at most %d characters'
                 % err.validator_value)]
    if kind == 'uniqueItems':
        return [(path, 'has duplicate items')]
    if kind == 'pattern':
        return [(path, 'must match %s, got %s'
                 % (err.validator_value, show(value)))]
    return [(path, clean(err.message))]


def schema_problems(doc, schema, prefix=(), validator_cls=None, fast=None):
    """Every error of ``doc`` against ``schema``, one message per field.

    ``doc`` must have passed :func:`plain_problems`.  Errors are listed in
    document order.  ``fast`` is an optional compiled check of the same
    schema (:func:`compiled`): a document it accepts is valid without the
    slower walk of ``jsonschema``, which then only runs to word the errors.
    """
    import jsonschema
    first = None
    if fast is not None:
        try:
            fast(doc)
            return []
        except Exception as exc:  # noqa: BLE001 - worded by jsonschema
            first = exc
    cls = validator_cls or jsonschema.validators.validator_for(schema)
    found = {}
    for err in cls(schema).iter_errors(doc):
        for path, message in _explain(err):
            found.setdefault(tuple(prefix) + path, message)
    if not found and first is not None:       # the two disagree: refuse
        parts = [int(x) if str(x).isdigit() else x
                 for x in list(getattr(first, 'path', ['data']))[1:]]
        found[tuple(prefix) + tuple(parts)] = clean(
            getattr(first, 'message', str(first)))
    return ['%s: %s' % (path_str(p), m)
            for p, m in sorted(found.items(), key=lambda kv: _order(kv[0]))]


def compiled(schema):
    """A fast check of ``schema`` (``fastjsonschema``), or ``None``.

    ``jsonschema`` walks a 10,000-instance scenario in about 6 s on this
    project's 2-core machine, the compiled check in 0.4 s (plus 0.4 s to
    compile); see :func:`schema_problems`.
    """
    try:
        import fastjsonschema
    except ImportError:
        return None
    return fastjsonschema.compile(schema)


def _order(path):
    return tuple((0, p, '') if isinstance(p, int) else (1, 0, str(p))
                 for p in path)


def audit_parameter_problems(params, prefix=()):
    """Problems of audit parameters, as Watcher and the strategy see them.

    The strategy's own Draft-4 schema (unknown parameters refused, as
    Watcher's validator does), then the checks the schema cannot express
    (:func:`~watcher_informed.adapters.parameters.to_params`).
    """
    import types

    import jsonschema

    from watcher_informed.adapters import parameters
    from watcher_informed.core import params as params_mod
    if not isinstance(params, dict):
        return ['%s: must be a mapping of audit parameters, got %s'
                % (path_str(prefix) if prefix else 'parameters',
                   show(params))]
    problems = plain_problems(params, prefix)
    if problems:
        return problems
    schema = dict(parameters.schema(), type='object',
                  additionalProperties=False)
    problems = schema_problems(params, schema, prefix,
                               jsonschema.Draft4Validator)
    if problems:
        top = {path_str(tuple(prefix) + (k,)) for k in params}
        return [p.replace(': unknown key', ': unknown audit parameter', 1)
                if p.split(': ', 1)[0] in top else p for p in problems]
    try:
        parameters.to_params(params, types.SimpleNamespace())
    except params_mod.ParamError as exc:
        field = getattr(exc, 'field', '') or ''
        message = str(exc).split(': ', 1)[-1]
        return ['%s: %s' % (path_str(tuple(prefix) + (field,)), message)]
    return []


def _escape(char):
    code = ord(char)
    return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code


def clean(text):
    """``text`` with control and format characters escaped (``\\x1b``).

    Newlines and tabs are kept; anything a terminal would interpret (ESC
    sequences, carriage returns, bidirectional overrides) is shown
    escaped instead.
    """
    text = str(text)
    if text.isprintable():
        return text
    return ''.join(
        c if c in '\n\t' or unicodedata.category(c) not in
        ('Cc', 'Cf', 'Cs', 'Co', 'Zl', 'Zp') else _escape(c)
        for c in text)
