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

"""Audit parameters and deploy options -> what one audit runs with.

Contract: :func:`schema` returns the flat Draft-4 schema Watcher validates,
generated from the ``audit`` rows of
:data:`watcher_informed.core.paramtable.TABLE` and made of plain literals
only (Watcher stores it with ``str()`` and reads it back with
``ast.literal_eval``).  Every property has a type, a default, its bounds
and a description for Horizon's Create Audit panel, which shows only type,
default and description: the description ends with the bounds (and unit)
and the default, and avoids HTML-significant characters.

:func:`read` parses the validated audit parameters and the deploy-time
options once, into :class:`AuditSettings`: the core
:class:`~watcher_informed.core.params.Params`, the communication groups,
the metric :class:`Window` and the adapters' options.  Anything the schema
cannot express (NaN, a bad key) raises
:class:`~watcher_informed.core.params.ParamError` naming the parameter, by
the name the operator set: parameters, options and ``Params`` fields share
one name.
"""

import copy
import dataclasses
import uuid as uuid_mod

from watcher_informed.adapters.metrics import base as metrics_base
from watcher_informed.core import params as params_mod
from watcher_informed.core import paramtable

AUDIT_ROWS = paramtable.rows(when=paramtable.AUDIT)
DEPLOY_ROWS = paramtable.rows(when=paramtable.DEPLOY)


def _property(row):
    prop = {'type': row.type}
    if row.minimum is not None:
        prop['minimum'] = row.minimum
        if row.exclusive_minimum:
            prop['exclusiveMinimum'] = True
    if row.maximum is not None:
        prop['maximum'] = row.maximum
    prop['default'] = row.default
    prop.update(row.schema)
    prop['description'] = row.description()
    return prop


def schema():
    """The audit parameter schema (plain literals, a fresh copy).

    Watcher's validator puts the schema's default objects into the audit
    parameters, so no caller may share them with the table.
    """
    return copy.deepcopy(
        {'properties': {row.name: _property(row) for row in AUDIT_ROWS}})


def defaults():
    """``{name: default}`` of every audit parameter (a fresh copy)."""
    return copy.deepcopy({row.name: row.default for row in AUDIT_ROWS})


@dataclasses.dataclass(frozen=True)
class AuditSettings:
    """Everything one audit runs with, parsed once."""

    params: params_mod.Params
    #: tuples of normalised instance UUIDs.
    communication_groups: tuple
    window: metrics_base.Window
    #: ``{name: value}`` of every deploy-time option (defaults filled).
    options: dict


def _uuid(value):
    """Nova's form of a UUID (lower case, hyphenated), or ``None``."""
    try:
        return str(uuid_mod.UUID(str(value)))
    except ValueError:
        return None


def options(config):
    """``{name: value}`` of the deploy-time options, defaults filled.

    ``config`` has them as attributes (Watcher's ``Struct``); a missing or
    ``None`` one takes its table default.
    """
    out = {}
    for row in DEPLOY_ROWS:
        value = getattr(config, row.name, None)
        out[row.name] = row.default if value is None else value
    return out


def read(audit, config):
    """:class:`AuditSettings` from audit parameters and deploy options.

    ``audit`` is a mapping (Watcher's ``input_parameters``); missing keys
    take the schema defaults.
    """
    values = defaults()
    values.update(dict(audit or {}))
    unknown = sorted(set(values) - set(defaults()))
    if unknown:
        raise params_mod.ParamError(unknown[0], 'unknown audit parameter')
    opts = options(config)
    overrides = values['deploy_overrides'] or {}
    allowed = paramtable.BY_NAME['deploy_overrides'].schema['properties']
    if not isinstance(overrides, dict) or set(overrides) - set(allowed):
        raise params_mod.ParamError(
            'deploy_overrides', 'must be an object with keys among %s'
            % ', '.join(sorted(allowed)))
    # the audit's values of deploy-time options win, for this audit
    given = dict(values, **dict(opts, **overrides))
    nics = values['host_network_capacities'] or {}
    if not isinstance(nics, dict):
        raise params_mod.ParamError('host_network_capacities',
                                    'must be an object')
    given['host_network_capacities'] = {str(h): v for h, v in
                                        sorted(nics.items())}
    p = params_mod.Params(**{row.name: given[row.name]
                             for row in params_mod.FIELDS
                             if row.when != paramtable.INTERNAL})
    overrides = values['interference_overrides'] or {}
    if not isinstance(overrides, dict):
        raise params_mod.ParamError('interference_overrides',
                                    'must be an object')
    p = p.with_interference(overrides)
    groups = values['communication_groups'] or []
    if not isinstance(groups, list) or not all(
            isinstance(g, list) and all(_uuid(m) for m in g)
            for g in groups):
        raise params_mod.ParamError('communication_groups',
                                    'must be a list of lists of UUIDs')
    window = metrics_base.Window(
        period_s=int(values['period']),
        granularity_s=int(values['granularity']),
        stale_after_s=int(opts['metric_stale_after']))
    return AuditSettings(
        p.validate(), tuple(tuple(_uuid(m) for m in g) for g in groups),
        window, opts)


def to_params(audit, config):
    """``(Params, communication groups)``: the core's part of :func:`read`.
    """
    settings = read(audit, config)
    return settings.params, settings.communication_groups
