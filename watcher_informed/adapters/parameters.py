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

"""Audit parameters: the JSON schema Watcher validates, and -> core Params.

Contract: :func:`schema` returns a flat Draft-4 schema made of plain
literals only (Watcher stores it with ``str()`` and reads it back with
``ast.literal_eval``).  Every property has a type, a default, bounds and a
description written for Horizon's Create Audit panel, which shows only
type, default and description: so every bound and unit is repeated in the
description, and descriptions avoid HTML-significant characters.
:func:`to_params` combines the validated audit parameters with the
deploy-time options into a core :class:`~watcher_informed.core.params.
Params`, raising :class:`~watcher_informed.core.params.ParamError` naming
the field for anything the schema cannot express.
"""

import uuid as uuid_mod

from watcher_informed.adapters.metrics import base as metrics_base
from watcher_informed.core import params as params_mod

UUID_PATTERN = ('^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                '[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')
CLASS_PAIR_PATTERN = (
    '^(cpu|memory|disk_io|net_rx|web|idle|unknown)'
    '[+](cpu|memory|disk_io|net_rx|web|idle|unknown)$')


#: deploy-time options an audit may override (``deploy_overrides``).
DEPLOY_OVERRIDES = {
    'host_network_capacity': {'type': 'number', 'minimum': 1,
                              'maximum': 1000000},
    'live_migration_downtime': {'type': 'integer', 'minimum': 100,
                                'maximum': 1000000},
    'live_migration_downtime_steps': {'type': 'integer', 'minimum': 3,
                                      'maximum': 1000},
    'live_migration_downtime_delay': {'type': 'integer', 'minimum': 10,
                                      'maximum': 100000},
    'live_migration_completion_timeout': {'type': 'integer', 'minimum': 0,
                                          'maximum': 1000000},
    'live_migration_timeout_action': {'type': 'string',
                                      'enum': ['abort', 'force_complete']},
    'live_migration_permit_auto_converge': {'type': 'boolean'},
    'live_migration_permit_post_copy': {'type': 'boolean'},
}


def _fraction(default, what):
    return {
        'type': 'number', 'minimum': 0, 'exclusiveMinimum': True,
        'maximum': 1, 'default': default,
        'description': (
            'Host %s load, as a fraction of the host capacity, above which '
            'the host is overloaded and instances are moved off it. '
            'Greater than 0, at most 1. Default %s.' % (what, default)),
    }


def schema():
    """The audit parameter schema (plain literals)."""
    return {
        'properties': {
            'cpu_threshold': _fraction(0.8, 'CPU (busy cores / cores)'),
            'ram_threshold': _fraction(0.9, 'memory (used / physical)'),
            'disk_io_threshold': _fraction(
                0.8, 'disk I/O (MiB/s / host_disk_io_capacity)'),
            'net_threshold': _fraction(
                0.8, 'network (MiB/s / host_network_capacity)'),
            'target_margin': {
                'type': 'number', 'minimum': 0, 'maximum': 0.5,
                'default': 0.1,
                'description': (
                    'An overloaded host counts as relieved once each of its '
                    'overloaded loads is at most its threshold minus this '
                    'margin; destinations must stay at most that target '
                    'too. Between 0 and 0.5. Default 0.1.'),
            },
            'period': {
                'type': 'integer', 'minimum': 60, 'maximum': 604800,
                'default': 3600,
                'description': (
                    'Seconds of metric history averaged to classify '
                    'workloads and measure load. Between 60 and 604800. '
                    'Default 3600.'),
            },
            'granularity': {
                'type': 'integer', 'minimum': 1, 'maximum': 86400,
                'default': 300,
                'description': (
                    'Seconds between the metric samples read. Between 1 '
                    'and 86400. Default 300.'),
            },
            'max_migrations': {
                'type': 'integer', 'minimum': 0, 'maximum': 10000,
                'default': 50,
                'description': (
                    'Most live migrations one audit may plan. Between 0 '
                    'and 10000. Default 50.'),
            },
            'migration_bandwidth': {
                'type': 'number', 'minimum': 1, 'maximum': 1000000,
                'default': 1250,
                'description': (
                    'Bandwidth of one live migration in MiB/s, used to '
                    'predict migration time, downtime and data sent '
                    '(1250 MiB/s is 10 Gbit/s). Between 1 and 1000000. '
                    'Default 1250.'),
            },
            'max_concurrent_out': {
                'type': 'integer', 'minimum': 1, 'maximum': 16,
                'default': 1,
                'description': (
                    'Most live migrations leaving one host at the same '
                    'time, as Nova max_concurrent_live_migrations. Between '
                    '1 and 16. Default 1.'),
            },
            'max_concurrent_in': {
                'type': 'integer', 'minimum': 1, 'maximum': 16,
                'default': 1,
                'description': (
                    'Most live migrations entering one host at the same '
                    'time. Between 1 and 16. Default 1.'),
            },
            'max_parallel': {
                'type': 'integer', 'minimum': 0, 'maximum': 1000,
                'default': 0,
                'description': (
                    'Most live migrations running at the same time in the '
                    'whole cloud; 0 means no global limit. Between 0 and '
                    '1000. Default 0.'),
            },
            'communication_groups': {
                'type': 'array', 'default': [],
                'items': {
                    'type': 'array', 'minItems': 2,
                    'items': {'type': 'string', 'pattern': UUID_PATTERN},
                },
                'description': (
                    'Groups of instances that talk to each other and '
                    'should share a host, as a list of lists of instance '
                    'UUIDs, for example [["uuid-a", "uuid-b"]]. Members of '
                    'affinity and soft-affinity server groups are treated '
                    'as talkers without being listed. Default [].'),
            },
            'interference_overrides': {
                'type': 'object', 'default': {},
                'patternProperties': {
                    CLASS_PAIR_PATTERN: {
                        'type': 'number', 'minimum': 0, 'maximum': 1},
                },
                'additionalProperties': False,
                'description': (
                    'Overrides of the co-location penalty between two '
                    'workload classes, keyed "class+class" with a value '
                    'between 0 (fine together) and 1 (never together), for '
                    'example {"disk_io+disk_io": 0.8}. Classes: cpu, '
                    'memory, disk_io, net_rx, web, idle, unknown. Defaults '
                    'from the paper: disk_io+disk_io 0.5, cpu+cpu 0.25, '
                    'cpu+disk_io 0. Default {}.'),
            },
            'aggressiveness': {
                'type': 'integer', 'minimum': 1, 'maximum': 5,
                'default': 3,
                'description': (
                    'How readily instances are moved, from 1 (only when '
                    'the relief is worth 8 times what the tenants lose to '
                    'the migrations) to 5 (as soon as it is worth half of '
                    'it); 3 asks for twice. Between 1 and 5. Default 3.'),
            },
            'horizon': {
                'type': 'integer', 'minimum': 60, 'maximum': 2592000,
                'default': 3600,
                'description': (
                    'Seconds the new placement is expected to hold, over '
                    'which the relief of a move is counted against its '
                    'cost. Between 60 and 2592000. Default 3600.'),
            },
            'cooldown': {
                'type': 'integer', 'minimum': 0, 'maximum': 604800,
                'default': 3600,
                'description': (
                    'Seconds an instance rests after a live migration '
                    'before it may move again; the rest doubles with each '
                    'further migration within the history window (up to '
                    'the cooldown_cap option). Between 0 and 604800. '
                    'Default 3600.'),
            },
            'deploy_overrides': {
                'type': 'object', 'default': {},
                'properties': DEPLOY_OVERRIDES,
                'additionalProperties': False,
                'description': (
                    'Values, for this audit only, of the deploy-time '
                    'options that describe the links and Nova live '
                    'migration settings of the compute nodes, for example '
                    '{"host_network_capacity": 119, '
                    '"live_migration_permit_auto_converge": true}. Keys: '
                    'host_network_capacity (MiB/s), live_migration_downtime '
                    '(ms, at least 100), live_migration_downtime_steps (at '
                    'least 3), live_migration_downtime_delay (s per GiB, '
                    'at least 10), live_migration_completion_timeout (s per '
                    'GiB, 0 for none), live_migration_timeout_action '
                    '(abort or force_complete), '
                    'live_migration_permit_auto_converge and '
                    'live_migration_permit_post_copy (true or false). '
                    'Default {}.'),
            },
            'host_network_capacities': {
                'type': 'object', 'default': {},
                'additionalProperties': {
                    'type': 'number', 'minimum': 1, 'maximum': 1000000},
                'description': (
                    'NIC capacity of particular compute hosts in MiB/s '
                    'per direction, keyed by host name, for example '
                    '{"compute-3": 119}; other hosts have '
                    'host_network_capacity. Each between 1 and 1000000. '
                    'Default {}.'),
            },
            'seed': {
                'type': 'integer', 'minimum': 0, 'maximum': 2147483647,
                'default': 0,
                'description': (
                    'Seed of the randomised search used when a host has '
                    'more candidate instances than can be searched '
                    'exhaustively; the same seed gives the same plan. '
                    'Between 0 and 2147483647. Default 0.'),
            },
        },
    }


def defaults():
    """``{name: default}`` of every audit parameter."""
    return {k: v['default'] for k, v in schema()['properties'].items()}


def window(audit, config):
    """The metric :class:`Window` of the audit."""
    return metrics_base.Window(
        period_s=int(audit.get('period', 3600)),
        granularity_s=int(audit.get('granularity', 300)),
        stale_after_s=int(getattr(config, 'metric_stale_after', 900)))


#: core Params field -> the audit parameter or option an operator sets.
FIELD_NAMES = {
    'bandwidth_mibps': 'migration_bandwidth',
    'max_out_per_host': 'max_concurrent_out',
    'max_in_per_host': 'max_concurrent_in',
    'host_disk_io_mibps': 'host_disk_io_capacity',
    'host_net_mibps': 'host_network_capacity',
    'downtime_limit_ms': 'live_migration_downtime',
    'max_rounds': 'max_precopy_rounds',
    'stop_copy_mibps': 'stop_copy_bandwidth',
    'assumed_dirty_mibps': 'dirty_rate_when_unknown',
    'disk_heavy_mibps': 'disk_heavy',
    'net_heavy_share': 'network_heavy_share',
    'downtime_steps': 'live_migration_downtime_steps',
    'downtime_delay_s': 'live_migration_downtime_delay',
    'completion_timeout_s': 'live_migration_completion_timeout',
    'timeout_action': 'live_migration_timeout_action',
    'auto_converge': 'live_migration_permit_auto_converge',
    'post_copy': 'live_migration_permit_post_copy',
    'dirty_heavy_mibps': 'dirty_heavy',
    'horizon_s': 'horizon',
    'cooldown_s': 'cooldown',
    'cooldown_cap_s': 'cooldown_cap',
    'history_window_s': 'history_window',
}


def _host_nics(value):
    """``{host: MiB/s}`` from the audit's ``host_network_capacities``."""
    if not isinstance(value or {}, dict):
        raise params_mod.ParamError('host_network_capacities',
                                    'must be an object')
    out = {}
    for host, mibps in sorted((value or {}).items()):
        if isinstance(mibps, bool) or not isinstance(mibps, (int, float)):
            raise params_mod.ParamError(
                'host_network_capacities',
                '%s: must be a number, got %r' % (host, mibps))
        out[str(host)] = float(mibps)
    return out


def _uuid(value):
    """Nova's form of a UUID (lower case, hyphenated), or ``None``."""
    try:
        return str(uuid_mod.UUID(str(value)))
    except ValueError:
        return None


def to_params(audit, config):
    """See :func:`_to_params`; errors name the operator-facing field."""
    try:
        return _to_params(audit, config)
    except params_mod.ParamError as exc:
        field = FIELD_NAMES.get(exc.field, exc.field)
        if field == exc.field:
            raise
        message = str(exc).split(': ', 1)[-1]
        raise params_mod.ParamError(field, message) from exc


def _to_params(audit, config):
    """Core :class:`Params` from audit parameters and deploy options.

    ``audit`` is a mapping (Watcher's ``input_parameters``); missing keys
    take the schema defaults.  ``config`` has the deploy-time options as
    attributes (Watcher's ``Struct``); missing ones take their defaults.
    """
    values = defaults()
    values.update({k: v for k, v in dict(audit or {}).items()})
    unknown = sorted(set(values) - set(defaults()))
    if unknown:
        raise params_mod.ParamError(unknown[0], 'unknown audit parameter')

    overrides = values['deploy_overrides'] or {}
    if not isinstance(overrides, dict) or \
            set(overrides) - set(DEPLOY_OVERRIDES):
        raise params_mod.ParamError(
            'deploy_overrides', 'must be an object with keys among %s'
            % ', '.join(sorted(DEPLOY_OVERRIDES)))

    def opt(name, default):
        if name in overrides:
            return overrides[name]
        value = getattr(config, name, None)
        return default if value is None else value

    p = params_mod.Params(
        cpu_threshold=values['cpu_threshold'],
        ram_threshold=values['ram_threshold'],
        disk_io_threshold=values['disk_io_threshold'],
        net_threshold=values['net_threshold'],
        target_margin=values['target_margin'],
        max_migrations=values['max_migrations'],
        bandwidth_mibps=values['migration_bandwidth'],
        max_out_per_host=values['max_concurrent_out'],
        max_in_per_host=values['max_concurrent_in'],
        max_parallel=values['max_parallel'],
        seed=values['seed'],
        aggressiveness=values['aggressiveness'],
        horizon_s=float(values['horizon']),
        cooldown_s=float(values['cooldown']),
        cooldown_cap_s=float(opt('cooldown_cap', 86400)),
        history_window_s=float(opt('history_window', 86400)),
        host_disk_io_mibps=opt('host_disk_io_capacity', 500.0),
        host_net_mibps=opt('host_network_capacity', 1250.0),
        downtime_limit_ms=opt('live_migration_downtime', 500),
        max_rounds=opt('max_precopy_rounds', 30),
        stop_copy_mibps=opt('stop_copy_bandwidth', 0.0),
        assumed_dirty_mibps=opt('dirty_rate_when_unknown', 0.0),
        cpu_heavy=opt('cpu_heavy', 0.25),
        disk_heavy_mibps=opt('disk_heavy', 1.0),
        net_heavy_share=opt('network_heavy_share', 0.05),
        dirty_heavy_mibps=opt('dirty_heavy', 16.0),
        downtime_steps=opt('live_migration_downtime_steps', 10),
        downtime_delay_s=float(opt('live_migration_downtime_delay', 75)),
        completion_timeout_s=float(
            opt('live_migration_completion_timeout', 800)),
        timeout_action=opt('live_migration_timeout_action', 'abort'),
        auto_converge=opt('live_migration_permit_auto_converge', False),
        post_copy=opt('live_migration_permit_post_copy', False),
        host_nic_mibps=_host_nics(values['host_network_capacities']),
    )
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
    return p.validate(), tuple(tuple(_uuid(m) for m in g) for g in groups)
