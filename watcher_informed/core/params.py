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

"""Every number the core decides with, in one frozen value.

Contract: :class:`Params` is built once per audit (by the strategy from its
audit parameters and deploy-time options, or by tests directly) and
validated by :func:`Params.validate`, which names the offending field.  Its
fields, their types, defaults and bounds are generated from the rows of
:data:`watcher_informed.core.paramtable.TABLE` that feed the core (the
field has the row's name), plus the two matrices below.
"""

import dataclasses
import functools
import types
import typing

from watcher_informed.core import kinds
from watcher_informed.core import paper
from watcher_informed.core import paramtable

CLASSES = kinds.CLASSES

#: Table 2 / section 3.2 defaults and section 3.4 class weights
#: (see ``paper``).
DEFAULT_INTERFERENCE = paper.INTERFERENCE
DEFAULT_CLASS_WEIGHT = paper.CLASS_WEIGHT

#: the table rows that are Params fields, in field order.
FIELDS = paramtable.rows(feeds=paramtable.CORE)


#: the largest share of a threshold the target margin may take: with the
#: default margin (0.1) every threshold of 0.4 or more keeps the whole
#: margin, and a 10 % threshold is relieved at 7.5 %.
MAX_MARGIN_SHARE = 0.25


class ParamError(ValueError):
    """An invalid parameter; ``field`` names it."""

    def __init__(self, field, message):
        super().__init__('%s: %s' % (field, message))
        self.field = field


def interference_key(a, b):
    """Order-independent key of the interference matrix."""
    return (a, b) if a <= b else (b, a)


class _Methods:
    """Behaviour of :class:`Params` (its fields come from the table)."""

    def thresholds(self):
        return {'cpu': self.cpu_threshold, 'ram': self.ram_threshold,
                'disk_io': self.disk_io_threshold,
                'net': self.net_threshold}

    def margins(self):
        """The margin below each threshold a relieved host reaches.

        ``target_margin``, but never more than :data:`MAX_MARGIN_SHARE`
        of the threshold itself, so that a low threshold (the paper's
        10 % in section 3.3) keeps a target above zero instead of a
        refusal or a plan that can never qualify a destination.
        """
        return {k: min(self.target_margin, MAX_MARGIN_SHARE * v)
                for k, v in self.thresholds().items()}

    def targets(self):
        margins = self.margins()
        return {k: v - margins[k] for k, v in self.thresholds().items()}

    def nic_mibps(self, host):
        """NIC capacity of ``host`` (a name), MiB/s per direction."""
        return float(self.host_network_capacities.get(
            host, self.host_network_capacity))

    def pair_penalty(self, a, b):
        return self.interference.get(interference_key(a, b), 0.0)

    def with_interference(self, overrides):
        """A copy whose matrix has ``overrides`` ({"a+b": value}) applied."""
        matrix = dict(self.interference)
        for key, value in overrides.items():
            parts = key.split('+')
            if len(parts) != 2 or not all(p in CLASSES for p in parts):
                raise ParamError(
                    'interference_overrides',
                    '%r is not "<class>+<class>" with classes from %s'
                    % (key, ', '.join(CLASSES)))
            matrix[interference_key(*parts)] = float(value)
        return dataclasses.replace(
            self, interference=types.MappingProxyType(matrix))

    def validate(self):
        """Raise :class:`ParamError` naming the first invalid field.

        Each field is checked against its table row: type (an integer
        field takes only integers), NaN, and the declared bounds.
        """
        for row in FIELDS:
            value = getattr(self, row.name)
            if row.type in ('boolean', 'string', 'object', 'array'):
                _check_other(row, value)
            elif row.type == 'integer':
                _check_int(row.name, value, row.minimum, row.maximum)
            elif row.type == 'string':
                _check_choice(row.name, value, row.choices)
            else:
                _check_range(row.name, value, row.minimum, row.maximum,
                             low_open=row.exclusive_minimum)
        for key, value in self.interference.items():
            _check_range('interference_overrides', value, 0.0, 1.0)
        return self


def _default(row):
    """The dataclass field of a row: containers get a fresh copy each."""
    if isinstance(row.default, dict):
        return dataclasses.field(
            default_factory=types.MappingProxyType(row.default).copy)
    if isinstance(row.default, list):
        return dataclasses.field(
            default_factory=functools.partial(list, row.default))
    return dataclasses.field(default=row.default)


Params = dataclasses.make_dataclass(
    'Params',
    [(row.name, row.py_type, _default(row)) for row in FIELDS] + [
        ('interference', typing.Mapping[tuple, float],
         dataclasses.field(default_factory=lambda: DEFAULT_INTERFERENCE)),
        ('class_weight', typing.Mapping[str, float],
         dataclasses.field(default_factory=lambda: DEFAULT_CLASS_WEIGHT)),
    ],
    bases=(_Methods,), frozen=True,
    namespace={'__doc__': 'Thresholds, cost-model inputs and limits of one '
               'audit (fields: see paramtable.TABLE).'})
Params.__module__ = __name__


def _check_range(name, value, low, high, low_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(name, 'must be a number, got %r' % (value,))
    if value != value:
        raise ParamError(name, 'must be a number, got NaN')
    if low is not None and ((value < low) or (low_open and value == low)):
        raise ParamError(name, 'must be %s %g, got %g'
                         % ('>' if low_open else '>=', low, value))
    if high is not None and value > high:
        raise ParamError(name, 'must be <= %g, got %g' % (high, value))


def _check_other(row, value):
    """A boolean, a string among its choices, or a ``{name: MiB/s}``."""
    if row.type == 'boolean':
        if not isinstance(value, bool):
            raise ParamError(row.name, 'must be true or false, got %r'
                             % (value,))
    elif row.type == 'string':
        names = [c[0] for c in row.choices]
        if not isinstance(value, str) or (names and value not in names):
            raise ParamError(row.name, 'must be one of %s, got %r'
                             % (', '.join(names), value))
    elif row.type == 'array':
        _check_array(row, value)
    else:
        if not isinstance(value, typing.Mapping):
            raise ParamError(row.name, 'must be an object, got %r'
                             % (value,))
        props = row.schema.get('properties')
        for key, number in value.items():
            if props is None:
                _check_range(row.name, number, 0.0, None, low_open=True)
                continue
            if key not in props:
                raise ParamError(row.name, '%r is not one of %s'
                                 % (key, ', '.join(sorted(props))))
            _check_range('%s.%s' % (row.name, key), number,
                         props[key].get('minimum'),
                         props[key].get('maximum'))


def _check_array(row, value):
    """A list of distinct strings among the row's ``items`` enum."""
    if isinstance(value, (str, bytes)) or \
            not isinstance(value, (list, tuple)):
        raise ParamError(row.name, 'must be a list, got %r' % (value,))
    allowed = row.schema.get('items', {}).get('enum')
    if len(value) < row.schema.get('minItems', 0):
        raise ParamError(row.name, 'must have at least %d item(s)'
                         % row.schema['minItems'])
    if allowed is not None:
        for item in value:
            if item not in allowed:
                raise ParamError(row.name, '%r is not one of %s'
                                 % (item, ', '.join(allowed)))
    if row.schema.get('uniqueItems') and len(set(value)) != len(value):
        raise ParamError(row.name, 'lists an item twice: %r' % (value,))


def _check_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(name, 'must be an integer, got %r' % (value,))
    if low is not None and value < low:
        raise ParamError(name, 'must be >= %d, got %d' % (low, value))
    if high is not None and value > high:
        raise ParamError(name, 'must be <= %d, got %d' % (high, value))


def _check_choice(name, value, choices):
    allowed = [c[0] for c in choices]
    if not isinstance(value, str) or (allowed and value not in allowed):
        raise ParamError(name, 'must be one of %s, got %r'
                         % (', '.join(allowed), value))
