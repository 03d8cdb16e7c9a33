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

"""Every parameter of the plugin, declared once.

Contract: :data:`TABLE` holds one :class:`Param` per knob -- name, type,
default, range, unit, help, whether an operator sets it per audit
(``audit``: the strategy's JSON schema), per deployment (``deploy``: an
oslo.config option in ``[watcher_strategies.informed_live_migration]``) or
not at all (``internal``), and what it feeds (``core``: the
:class:`~watcher_informed.core.params.Params` field of the same name;
otherwise the adapter that consumes it).  Generated from it, never written
twice: the audit schema (:mod:`watcher_informed.adapters.parameters`), the
options (:mod:`watcher_informed.conf.strategy`), ``Params`` and its
validation (:mod:`watcher_informed.core.params`) and the documentation's
parameter tables (``doc/source/_exts/parameters.py``).

A name is the same everywhere: audit parameter, option, ``Params`` field,
``watcher.conf``, docs.  Defaults come from the paper (Tables 1-2,
sections 3.2-3.4) or, where it is silent, from Nova's libvirt defaults.

Texts are written once for both audiences: ``text`` paragraphs are plain
sentences (Horizon shows audit descriptions unescaped, so no ``<``, ``>``
or ``&``); the range and the default sentences are generated from the
declared bounds, so what is enforced is what is written.  Pure Python.
"""

import dataclasses
import json
import typing

from watcher_informed.core import kinds

AUDIT = 'audit'
DEPLOY = 'deploy'
INTERNAL = 'internal'

#: what a parameter feeds, besides ``core`` (a Params field).
CORE = 'core'
WINDOW = 'window'            # the metric window (period, granularity, ...)
READER = 'reader'            # the metric store reader
NOVA = 'nova'                # the Nova API facts
ACTIONS = 'actions'          # the action plan's actions (adapters.solution)
GROUPS = 'groups'            # communication groups of the snapshot
INTERFERENCE = 'interference'    # Params.interference, by override
OVERRIDES = 'overrides'      # deploy-time options overridden per audit

#: JSON-schema type -> Python type of the value.
PY_TYPES = {'number': float, 'integer': int, 'boolean': bool,
            'string': str, 'array': list, 'object': dict}

#: workload class names, as plain strings (the schema is plain literals).
CLASSES = tuple(c.value for c in kinds.WorkloadClass)


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter.  See the module contract."""

    name: str
    type: str
    default: typing.Any
    when: str
    feeds: str
    #: paragraphs; the first is the one-line summary.
    text: tuple
    unit: str = ''
    minimum: typing.Optional[float] = None
    maximum: typing.Optional[float] = None
    exclusive_minimum: bool = False
    #: ``((value, meaning), ...)`` of a string with fixed choices.
    choices: tuple = ()
    #: "Possible values" bullets, when the range alone does not say it.
    possible: tuple = ()
    #: names of related parameters.
    related: tuple = ()
    #: extra JSON-schema keywords (plain literals) for arrays and objects.
    schema: typing.Mapping = dataclasses.field(default_factory=dict)
    #: former names of a deploy-time option, still read from watcher.conf
    #: (oslo.config ``deprecated_opts``); an audit parameter is never
    #: renamed (stored audit templates would fail validation).
    deprecated_names: tuple = ()

    @property
    def py_type(self):
        return PY_TYPES[self.type]

    @property
    def summary(self):
        return self.text[0]

    def range_text(self):
        """The bounds as a sentence (empty when unbounded)."""
        unit = '' if self.unit in ('', 'fraction') else ' ' + self.unit
        low, high = _num(self.minimum), _num(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            if self.exclusive_minimum:
                return 'Greater than %s, at most %s%s.' % (low, high, unit)
            return 'Between %s and %s%s.' % (low, high, unit)
        if self.minimum is not None:
            return '%s %s%s.' % ('Greater than' if self.exclusive_minimum
                                 else 'At least', low, unit)
        if self.maximum is not None:
            return 'At most %s%s.' % (high, unit)
        return ''

    def default_text(self):
        return 'Default %s.' % json.dumps(self.default)

    def description(self):
        """One paragraph: text, range and default (the audit schema's)."""
        parts = [' '.join(self.text), self.range_text(),
                 self.default_text()]
        return ' '.join(p for p in parts if p)

    def possible_values(self):
        """The "Possible values" bullets of the option help."""
        if self.possible:
            return self.possible
        if self.choices:
            return tuple('``%s``: %s' % c for c in self.choices)
        if self.type == 'boolean':
            return ('True or False.',)
        kind = 'An integer' if self.type == 'integer' else 'A number'
        text = self.range_text()
        if not text:
            return ('%s.' % kind,)
        return ('%s, %s%s' % (kind, text[0].lower(), text[1:]),)


def _num(value):
    return None if value is None else json.dumps(value)


def _p(name, type_, default, when, feeds, *text, **kw):
    return Param(name, type_, default, when, feeds, tuple(text), **kw)


#: ``metrics`` of the balance (Watcher's workload_stabilization names for
#: CPU and RAM) -> the load dimension whose spread each one measures.
SPREAD_DIMS = {
    'instance_cpu_usage': kinds.Dim.CPU.value,
    'instance_ram_usage': kinds.Dim.RAM.value,
    'instance_disk_io_usage': kinds.Dim.DISK_IO.value,
    'instance_network_usage': kinds.Dim.NET.value,
}
SPREAD_METRICS = tuple(SPREAD_DIMS)

UUID_PATTERN = ('^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                '[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')
CLASS_PAIR_PATTERN = '^(%s)[+](%s)$' % ('|'.join(CLASSES),
                                        '|'.join(CLASSES))


def _threshold(name, default, what):
    return _p(name, 'number', default, AUDIT, CORE,
              'Host %s load, as a fraction of the host capacity, above which '
              'the host is overloaded and instances are moved off it.'
              % what, unit='fraction', minimum=0, maximum=1,
              exclusive_minimum=True)


def _factor(name, default, what, where):
    """A section 3.3 interference factor on another migration."""
    return _p(name, 'number', default, INTERNAL, CORE,
              'Section 3.3: factor on the %s of a migration %s.'
              % (what, where), minimum=1.0, maximum=10.0)


TABLE = (
    # -- audit parameters (the strategy's JSON schema), in schema order --
    _threshold('cpu_threshold', 0.8, 'CPU (busy cores / cores)'),
    _threshold('ram_threshold', 0.9, 'memory (used / physical)'),
    _threshold('disk_io_threshold', 0.8,
               'disk I/O (MiB/s / host_disk_io_capacity)'),
    _threshold('net_threshold', 0.8,
               'network (MiB/s / host_network_capacity)'),
    _p('target_margin', 'number', 0.1, AUDIT, CORE,
       'An overloaded host counts as relieved once each of its overloaded '
       'loads is at most its threshold minus this margin (a fraction of '
       'the host capacity); destinations must stay at most that target '
       'too.  The margin never takes more than a quarter of a threshold: '
       'with a threshold of 0.1 the target is 0.075.',
       unit='fraction', minimum=0, maximum=0.5),
    _p('period', 'integer', 3600, AUDIT, WINDOW,
       'Seconds of metric history averaged to classify workloads and '
       'measure load.', unit='seconds', minimum=60, maximum=604800),
    _p('granularity', 'integer', 300, AUDIT, WINDOW,
       'Seconds between the metric samples read.', unit='seconds',
       minimum=1, maximum=86400),
    _p('max_migrations', 'integer', 50, AUDIT, CORE,
       'Most live migrations one audit may plan.', minimum=0,
       maximum=10000),
    _p('room_making_moves', 'integer', 2, AUDIT, CORE,
       'Most instances that may first leave a host that is not overloaded '
       'to make room there for an instance that must leave an overloaded '
       'host and fits nowhere else. They go to hosts that are not '
       'overloaded and stay under their target, count against '
       'max_migrations, and the move waits for them. 0 never makes room.',
       minimum=0, maximum=3),
    _p('relief_spread', 'number', 0.0, AUDIT, CORE,
       'Extra spreads of the next-hour estimate the plan allows for. An '
       'overloaded host sheds until the instances staying on it fit '
       'under its target at their planned load plus this many spreads '
       'of their summed load (their spreads added in quadrature), or, '
       'when no set of its movable instances can do that, until they fit '
       'at their planned load. A host under its thresholds at its planned '
       'load but over one at its planned load plus this many spreads is '
       'at risk and sheds the same way, or nothing; the cost-benefit gate '
       'values the overload removed at that robust load. Among '
       'destinations, the one whose load after the move, counted the same '
       'way, is lowest is preferred. 0 plans on the planned load only.',
       unit='spreads', minimum=0, maximum=5),
    _p('migration_bandwidth', 'number', 1250, AUDIT, CORE,
       'Bandwidth of one live migration in MiB/s, used to predict '
       'migration time, downtime and data sent (1250 MiB/s is 10 '
       'Gbit/s).', unit='MiB/s', minimum=1, maximum=1000000),
    _p('max_concurrent_out', 'integer', 1, AUDIT, CORE,
       'Most live migrations leaving one host at the same time, as Nova '
       'max_concurrent_live_migrations.', minimum=1, maximum=16),
    _p('max_concurrent_in', 'integer', 1, AUDIT, CORE,
       'Most live migrations entering one host at the same time.',
       minimum=1, maximum=16),
    _p('max_parallel', 'integer', 0, AUDIT, CORE,
       'Most live migrations running at the same time in the whole cloud; '
       '0 means no global limit.', minimum=0, maximum=1000),
    _p('communication_groups', 'array', [], AUDIT, GROUPS,
       'Groups of instances that talk to each other and should share a '
       'host, as a list of lists of instance UUIDs, for example '
       '[["uuid-a", "uuid-b"]]. Members of affinity and soft-affinity '
       'server groups are treated as talkers without being listed.',
       schema={'items': {'type': 'array', 'minItems': 2,
                         'items': {'type': 'string',
                                   'pattern': UUID_PATTERN}}}),
    _p('interference_overrides', 'object', {}, AUDIT, INTERFERENCE,
       'Overrides of the co-location penalty between two workload '
       'classes, keyed "class+class" with a value between 0 (fine '
       'together) and 1 (never together), for example {"disk_io+disk_io": '
       '0.8}. Classes: %s. Defaults from the paper: disk_io+disk_io 0.5, '
       'cpu+cpu 0.25, cpu+disk_io 0.' % ', '.join(CLASSES),
       schema={'patternProperties': {
           CLASS_PAIR_PATTERN: {'type': 'number', 'minimum': 0,
                                'maximum': 1}},
           'additionalProperties': False}),
    _p('deploy_overrides', 'object', {}, AUDIT, OVERRIDES,
       'Values, for this audit only, of the deploy-time options that '
       'describe the links and Nova live migration settings of the compute '
       'nodes, for example {"host_network_capacity": 119, '
       '"live_migration_permit_auto_converge": true}. Keys: '
       'host_network_capacity (MiB/s), live_migration_downtime (ms), '
       'live_migration_downtime_steps, live_migration_downtime_delay (s per '
       'GiB), live_migration_completion_timeout (s per GiB, 0 for none), '
       'live_migration_timeout_action (abort or force_complete), '
       'live_migration_permit_auto_converge and '
       'live_migration_permit_post_copy (true or false).',
       schema={'additionalProperties': False, 'properties': {
           'host_network_capacity': {'type': 'number', 'minimum': 1,
                                     'maximum': 1000000},
           'live_migration_downtime': {'type': 'integer', 'minimum': 100,
                                       'maximum': 1000000},
           'live_migration_downtime_steps': {'type': 'integer',
                                             'minimum': 3,
                                             'maximum': 1000},
           'live_migration_downtime_delay': {'type': 'integer',
                                             'minimum': 3,
                                             'maximum': 100000},
           'live_migration_completion_timeout': {'type': 'integer',
                                                 'minimum': 0,
                                                 'maximum': 1000000},
           'live_migration_timeout_action': {
               'type': 'string', 'enum': ['abort', 'force_complete']},
           'live_migration_permit_auto_converge': {'type': 'boolean'},
           'live_migration_permit_post_copy': {'type': 'boolean'}}}),
    _p('host_network_capacities', 'object', {}, AUDIT, CORE,
       'NIC capacity of particular compute hosts in MiB/s per direction, '
       'keyed by host name, for example {"compute-3": 119}; other hosts '
       'have host_network_capacity. Each between 1 and 1000000.',
       schema={'additionalProperties': {'type': 'number', 'minimum': 1,
                                        'maximum': 1000000}}),
    _p('aggressiveness', 'integer', 3, AUDIT, CORE,
       'How readily instances are moved, from 1 (only when the relief is '
       'worth 8 times what the tenants lose to the migrations) to 5 (as '
       'soon as it is worth half of it); 3 asks for twice.',
       minimum=1, maximum=5),
    _p('horizon', 'integer', 3600, AUDIT, CORE,
       'Seconds the new placement is expected to hold, over which the '
       'relief of a move is counted against its cost.', unit='seconds',
       minimum=60, maximum=2592000),
    _p('cooldown', 'integer', 3600, AUDIT, CORE,
       'Seconds an instance rests after a live migration before it may '
       'move again; the rest doubles with each further migration within '
       'the history window (up to the cooldown_cap option).',
       unit='seconds', minimum=0, maximum=604800),
    # -- issue 18: the next hour's load (core.demand) --
    _p('demand_estimator', 'string', 'recent', AUDIT, CORE,
       'How the load of the next hour is estimated from the last '
       'demand_history seconds of metrics: last (mean of the last hour), '
       'recent (mean of the last hour, or the last sample where higher), '
       'mean (of the whole history), quantile (a busy hour: 90th '
       'percentile of the hourly means), trend (damped trend of the '
       'samples) or seasonal (the last hour plus the change of the same '
       'hour a day earlier). The plan is made on the estimate plus one '
       'spread (the hour-to-hour change of the history), the CPU no '
       'higher than the instance\'s vCPUs unless the estimate is.',
       choices=(
           ('last', 'the mean of the last hour'),
           ('recent', 'the mean of the last hour, or the last sample '
            'where higher'),
           ('mean', 'the mean of the whole history'),
           ('quantile', 'the 90th percentile of the hourly means'),
           ('trend', "Holt's damped trend of the samples"),
           ('seasonal', 'the last hour plus the change of the same hour '
            'a day earlier'),
       ),
       schema={'enum': ['last', 'recent', 'mean', 'quantile', 'trend',
                        'seasonal']},
       related=('demand_history',)),
    _p('demand_history', 'integer', 90000, AUDIT, CORE,
       'Seconds of metric history read, in one query per metric, to '
       'estimate the next hour load and its spread.', unit='seconds',
       minimum=3600, maximum=604800, related=('demand_estimator',)),
    # -- issue 19: balance after relief (core.balance) --
    _p('balance', 'boolean', False, AUDIT, CORE,
       'Whether, after relieving the overloaded hosts, instances are also '
       'moved from the most to the least loaded hosts to flatten the load '
       '(the weighted standard deviation of host loads over metrics, with '
       'weights), each move kept only when its reduction of that spread, '
       'held for the horizon, is worth aggressiveness times what its '
       'tenant loses to the migration. The balance moves obey the same '
       'hard rules, cooldowns and co-location rules as the relief moves, '
       'never make interference or talkers worse, share max_migrations '
       'and run after the relief moves.',
       related=('metrics', 'weights', 'aggressiveness', 'horizon')),
    _p('metrics', 'array', list(SPREAD_METRICS[:1]), AUDIT, CORE,
       'Host loads whose spread the balance flattens, as '
       "workload_stabilization's metrics: a list of %s (CPU, memory, "
       'disk I/O and network load of each host as a fraction of its '
       'capacity). Used only with balance.'
       % ', '.join(SPREAD_METRICS),
       schema={'items': {'type': 'string', 'enum': list(SPREAD_METRICS)},
               'minItems': 1, 'uniqueItems': True},
       related=('balance', 'weights')),
    _p('weights', 'object',
       {m + '_weight': 1.0 for m in SPREAD_METRICS[:2]}, AUDIT, CORE,
       "Weight of each metric's standard deviation in the spread, as "
       "workload_stabilization's weights: keys are a metric name followed "
       'by _weight, values between 0 and 1; a metric listed in metrics '
       'without a weight counts with weight 1. Used only with balance.',
       schema={'properties': {m + '_weight': {'type': 'number',
                                              'minimum': 0, 'maximum': 1}
                              for m in SPREAD_METRICS},
               'additionalProperties': False},
       related=('balance', 'metrics')),
    _p('seed', 'integer', 0, AUDIT, CORE,
       'Seed of the randomised search used when a host has more candidate '
       'instances than can be searched exhaustively; the same seed gives '
       'the same plan.', minimum=0, maximum=2147483647),

    # -- deploy-time options, in watcher.conf order --
    _p('host_disk_io_capacity', 'number', 500.0, DEPLOY, CORE,
       'Disk throughput of one compute host, in MiB/s.',
       "Host disk-I/O load is the sum of its instances' read and write "
       "rates divided by this value; the audit's ``disk_io_threshold`` "
       'applies to it.', unit='MiB/s', minimum=0.001,
       related=('host_network_capacity',)),
    _p('host_network_capacity', 'number', 1250.0, DEPLOY, CORE,
       'NIC capacity of one compute host, in MiB/s in each direction (1250 '
       '= 10 Gbit/s).',
       "Host network load is the sum of its instances' receive and "
       "transmit rates divided by this value; the audit's "
       '``net_threshold`` applies to it. The cost model shares this link '
       'between a live migration, what the instances on its source send '
       '(or on its destination receive) and the other migrations on the '
       'same NIC. Overridable per audit (``deploy_overrides``) and per '
       "host (the audit's ``host_network_capacities``).",
       unit='MiB/s', minimum=0.001,
       related=('host_disk_io_capacity', 'network_heavy_share')),
    _p('live_migration_downtime', 'integer', 500, DEPLOY, CORE,
       "Maximum downtime of a live migration, in milliseconds, as Nova's "
       '``[libvirt] live_migration_downtime``.',
       'The cost model stops pre-copy rounds once the remaining dirty '
       'memory can be sent within the downtime limit in force, which Nova '
       'raises to this value in ``live_migration_downtime_steps`` steps. '
       "Set it to your compute nodes' value (Nova's default 500 ms, at "
       'least 100). Overridable per audit (``deploy_overrides``).',
       unit='ms', minimum=1,
       related=('live_migration_downtime_steps',
                'live_migration_downtime_delay')),
    _p('live_migration_downtime_steps', 'integer', 10, DEPLOY, CORE,
       'Number of steps in which Nova raises the downtime limit to '
       "``live_migration_downtime``, as Nova's ``[libvirt] "
       'live_migration_downtime_steps``.',
       'The limit starts at ``live_migration_downtime`` divided by this '
       'number (Nova: at least 3); 0 keeps the limit at '
       '``live_migration_downtime`` throughout (a hypervisor not driven by '
       'Nova). Overridable per audit (``deploy_overrides``).', minimum=0,
       related=('live_migration_downtime',)),
    _p('live_migration_downtime_delay', 'integer', 75, DEPLOY, CORE,
       'Seconds per GiB of instance RAM (at least 2 GiB counted) between '
       "two increases of the downtime limit, as Nova's ``[libvirt] "
       'live_migration_downtime_delay``.',
       "Nova's minimum is 3. Overridable per audit "
       '(``deploy_overrides``).', unit='s per GiB', minimum=0,
       related=('live_migration_downtime_steps',)),
    _p('live_migration_completion_timeout', 'integer', 800, DEPLOY, CORE,
       'Seconds per GiB of instance RAM (at least 2 GiB counted) after '
       'which Nova ends a live migration that is still copying, as '
       "Nova's ``[libvirt] live_migration_completion_timeout``; 0 "
       'disables the timeout.',
       'A migration the model predicts not to converge in time is costed '
       'as Nova will run it: aborted (the instance stays where it is, so '
       'the move is never planned), or forced to complete by post-copy or '
       'by pausing the guest, following '
       '``live_migration_timeout_action``. Overridable per audit '
       '(``deploy_overrides``).', unit='s per GiB', minimum=0,
       related=('live_migration_timeout_action', 'max_precopy_rounds')),
    _p('live_migration_timeout_action', 'string', 'abort', DEPLOY, CORE,
       'What Nova does with a live migration still copying at the '
       "completion timeout, as Nova's ``[libvirt] "
       'live_migration_timeout_action``.',
       'Overridable per audit (``deploy_overrides``).',
       choices=(('abort', "Nova aborts the migration (Nova's default)"),
                ('force_complete', 'Nova completes it by post-copy when '
                 '``live_migration_permit_post_copy``, else by pausing '
                 'the guest')),
       related=('live_migration_completion_timeout',)),
    _p('live_migration_permit_auto_converge', 'boolean', False, DEPLOY,
       CORE,
       'Whether Nova lets QEMU throttle a guest whose dirtying outpaces '
       "its live migration, as Nova's ``[libvirt] "
       'live_migration_permit_auto_converge``.',
       "The model then slows the guest's dirtying as QEMU does (20 %, "
       'then 10 points more every second round that dirties over half of '
       'what it sent), so such a migration converges, and the move\'s '
       'reason says it is throttled. Not used when post-copy is permitted '
       '(as in Nova). Overridable per audit (``deploy_overrides``).',
       related=('live_migration_permit_post_copy',)),
    _p('live_migration_permit_post_copy', 'boolean', False, DEPLOY, CORE,
       "Whether Nova may switch a live migration to post-copy, as Nova's "
       '``[libvirt] live_migration_permit_post_copy``.',
       'With ``live_migration_timeout_action = force_complete`` a '
       'migration still copying at the completion timeout is then '
       'completed by post-copy (the guest runs on the destination and '
       'fetches the rest) instead of pausing it. Overridable per audit '
       '(``deploy_overrides``).',
       related=('live_migration_timeout_action',)),
    _p('max_precopy_rounds', 'integer', 30, DEPLOY, CORE,
       'Number of pre-copy rounds after which the model forces '
       'stop-and-copy when ``live_migration_completion_timeout`` is 0.',
       'QEMU never gives up on its own; with a completion timeout Nova '
       'ends the migration and the model follows Nova (this cap is then '
       'not used).', minimum=1,
       related=('live_migration_completion_timeout',)),
    _p('stop_copy_bandwidth', 'number', 0.0, DEPLOY, CORE,
       'Rate of the final stop-and-copy phase, in MiB/s; 0 uses the '
       "audit's ``migration_bandwidth``.",
       'QEMU 7.2 sends the last dirty pages unthrottled (at memory speed), '
       'so on such hypervisors a higher value predicts downtime more '
       'accurately.', unit='MiB/s', minimum=0.0,
       possible=('0 (the migration bandwidth), or a positive number of '
                 'MiB/s.',),
       related=('migration_bandwidth',)),
    _p('dirty_rate_when_unknown', 'number', 0.0, DEPLOY, CORE,
       'Memory dirty rate, in MiB/s, assumed for an instance without a '
       'dirty-rate metric.', unit='MiB/s', minimum=0.0,
       related=('dirty_rate_meter',)),
    _p('cpu_heavy', 'number', 0.25, DEPLOY, CORE,
       "CPU utilisation (fraction of the instance's vCPUs) from which an "
       'instance counts as a CPU workload.', unit='fraction', minimum=0.0,
       related=('disk_heavy', 'network_heavy_share', 'dirty_heavy')),
    _p('disk_heavy', 'number', 1.0, DEPLOY, CORE,
       'Disk read + write rate, in MiB/s, from which an instance counts as '
       'a disk-I/O workload.', unit='MiB/s', minimum=0.0,
       related=('cpu_heavy', 'network_heavy_share', 'dirty_heavy')),
    _p('network_heavy_share', 'number', 0.05, DEPLOY, CORE,
       "Share of its host's NIC capacity (``host_network_capacity``) from "
       "which an instance's network receive (or transmit) rate makes it a "
       'network-receive (or web / network-transmit) workload.',
       'What slows the live migrations sharing that link is the part of '
       'it an instance takes, so the threshold follows the NIC: 0.05 is '
       '62.5 MiB/s on 10 Gbit/s and 6 MiB/s on 1 Gbit/s.',
       unit='fraction', minimum=0.0, maximum=1.0,
       related=('cpu_heavy', 'disk_heavy', 'dirty_heavy')),
    _p('dirty_heavy', 'number', 16.0, DEPLOY, CORE,
       'Memory dirty rate, in MiB/s, from which an instance counts as a '
       'memory-dirtying workload.', unit='MiB/s', minimum=0.0,
       related=('cpu_heavy', 'disk_heavy', 'network_heavy_share',
                'dirty_rate_meter')),
    _p('metric_stale_after', 'integer', 900, DEPLOY, WINDOW,
       "Age, in seconds, after which an instance's newest sample is stale "
       'and the metric is treated as missing.', unit='seconds', minimum=1,
       related=('metrics_store',)),
    _p('cooldown_cap', 'integer', 86400, DEPLOY, CORE,
       'Longest rest, in seconds, imposed on an instance after repeated '
       'live migrations.',
       "The rest after a migration starts at the audit's ``cooldown`` and "
       'doubles with each further migration of the same instance within '
       '``history_window``; it never exceeds this value.',
       unit='seconds', minimum=0, related=('history_window', 'cooldown')),
    _p('history_window', 'integer', 86400, DEPLOY, CORE,
       "How far back, in seconds, Watcher's records of executed migrate "
       'actions are read to enforce cooldowns and to refuse moves that '
       'undo recent ones.', unit='seconds', minimum=0,
       possible=('0 (no memory) or a positive number of seconds.',),
       related=('cooldown_cap', 'cooldown')),
    _p('metrics_store', 'string', 'auto', DEPLOY, READER,
       'Where the strategy reads instance metrics.',
       'The Gnocchi, Prometheus and Aetos readers fetch each metric (CPU, '
       'memory used, disk read/write, network receive/transmit) for all '
       'instances of the audit in one query, from the meters Ceilometer '
       "publishes; Watcher's own datasource calls make one query per "
       'instance and metric and only give CPU and RAM, so the disk-I/O, '
       'network and web workload classes stay unknown. If the store is '
       'down or refuses, the audit fails and the decision engine logs the '
       'store and the reason at ERROR level.',
       choices=(
           ('auto', "the bulk reader of the store behind Watcher's "
            'datasource (Gnocchi, Prometheus, Aetos); Watcher\'s own '
            'per-instance calls for any other datasource'),
           ('datasource', "Watcher's per-instance datasource calls (CPU "
            'and RAM only)'),
           ('gnocchi', "Gnocchi, with Watcher's client configuration"),
           ('prometheus', 'Prometheus, from [prometheus_client]'),
           ('aetos', 'Aetos, from [aetos_client]'),
       ), related=('dirty_rate_meter', 'metric_stale_after')),
    _p('dirty_rate_meter', 'string', 'memory.dirty.rate', DEPLOY, READER,
       "Name of the gauge, in MiB/s, holding each instance's memory dirty "
       'rate: a metric of the Gnocchi ``instance`` resource, or, in '
       'Prometheus, a series whose instance UUID label is the one Watcher '
       'uses (``resource`` by default). A name with dots is a Ceilometer '
       'meter name, read in Prometheus as ``ceilometer_<name with _ for '
       '.>``.',
       'Ceilometer has no such meter; the default is the meter that the '
       'compute-node agent ``watcher-informed-dirtyrate`` publishes. An '
       'instance without it gets ``dirty_rate_when_unknown``. Empty: no '
       'dirty rate is read.',
       possible=('A meter name.', 'Empty: no dirty rate is read.'),
       related=('metrics_store', 'dirty_rate_when_unknown',
                'working_set_meter')),
    _p('working_set_meter', 'string', 'memory.dirty.working_set', DEPLOY,
       READER,
       "Name of the gauge, in MiB, holding each instance's writable "
       'working set (the memory it keeps rewriting), read like '
       '``dirty_rate_meter``.',
       'The default is the meter that ``watcher-informed-dirtyrate`` '
       'publishes. An instance without it is modelled as rewriting all its '
       "used memory (the pre-copy model's upper bound). Empty: no working "
       'set is read.',
       possible=('A meter name.', 'Empty: no working set is read.'),
       related=('dirty_rate_meter',)),
    _p('use_server_groups', 'boolean', True, DEPLOY, NOVA,
       'Read Nova server groups (affinity, anti-affinity and the soft '
       'policies) and honour them when placing instances.',
       "Watcher's compute model has no server groups; with this option "
       'on, the strategy lists them through the Nova API with Watcher\'s '
       'credentials.'),
    _p('use_scheduler_constraints', 'boolean', True, DEPLOY, NOVA,
       "Read what Nova's scheduler checks (flavor extra specs, host "
       'aggregates, Placement traits and PCPUs, SR-IOV ports) and never '
       'plan a move it would refuse.',
       'With this option on, each audit lists the host aggregates once, '
       "the servers once when Watcher's model lacks their flavor extra "
       'specs (``[compute_model] enable_extended_attributes``), the '
       'SR-IOV/vDPA ports once, and asks Placement once per trait the '
       'flavors or aggregates name; a cluster without such constraints '
       'is planned as before.'),
    _p('migration_action', 'string', 'migrate', DEPLOY, ACTIONS,
       'Watcher action type of each planned live migration.',
       "Watcher's applier starts a move once the moves before it have "
       'finished, whether they succeeded or not. With '
       '``informed_migrate``, each move first re-checks what the plan '
       'assumed: the moves it waits for freed the room on its '
       'destination, the destination has the room in Placement and is '
       'enabled, the server-group policies hold and the instance is '
       'ACTIVE on its source; otherwise it does not migrate, and its '
       'status says why (SKIPPED or FAILED), so the moves waiting for it '
       'skip in turn. Its input also carries the whole explanation of '
       'the move (``explanation``, read by ``openstack optimize informed '
       "explain``), which Watcher's 255-character status message can "
       'only hold in a compact form. Set it only where this plugin is '
       "installed in every watcher-applier's environment too (the "
       '``watcher_actions`` entry point ``informed_migrate``): an applier '
       'without it fails every move of the plan.',
       choices=(
           ('migrate', "Watcher's own action; the applier needs nothing of "
            'this plugin'),
           ('informed_migrate', "this plugin's action: Watcher's migrate, "
            're-checked at its start, with the whole explanation in its '
            'input'),
       )),

    # -- internal: Params fields no operator sets (documented only) --
    _p('idle_cpu', 'number', 0.05, INTERNAL, CORE,
       'CPU utilisation below which (with idle disk and network) an '
       'instance is idle.', unit='fraction', minimum=0.0),
    _p('idle_disk_mibps', 'number', 0.05, INTERNAL, CORE,
       'Disk read + write rate below which the disk counts as idle.',
       unit='MiB/s', minimum=0.0),
    _p('idle_net_mibps', 'number', 0.01, INTERNAL, CORE,
       'Network rate below which the network counts as idle.',
       unit='MiB/s', minimum=0.0),
    _p('fixed_downtime_ms', 'number', 10.0, INTERNAL, CORE,
       'Pause of a live migration on top of the final copy (QEMU, '
       'measured).', unit='ms', minimum=0.0),
    _factor('dirty_on_source_time', 1.3, 'time',
            'whose source still hosts a memory-dirtying instance'),
    _factor('netrx_on_dest_time', 1.3, 'time',
            'into a host with a network-receive instance'),
    _factor('netrx_on_dest_downtime', 1.5, 'downtime',
            'into a host with a network-receive instance'),
    _factor('web_on_source_time', 1.4, 'time',
            'whose source hosts a web server'),
    _factor('web_on_source_downtime', 1.5, 'downtime',
            'whose source hosts a web server'),
    _p('exact_select_limit', 'integer', 12, INTERNAL, CORE,
       'Most candidates of one host searched exhaustively; more are '
       'searched greedily with seeded restarts.', minimum=0),
    _p('communication_bonus', 'number', 1.0, INTERNAL, CORE,
       'Placement score bonus per communicating partner on the '
       'destination.', minimum=0.0),
    _p('soft_anti_affinity_penalty', 'number', 1.0, INTERNAL, CORE,
       'Placement score penalty per soft-anti-affinity mate on the '
       'destination.', minimum=0.0),
    _p('headroom_weight', 'number', 0.5, INTERNAL, CORE,
       "Weight of the destination's resulting peak load in the placement "
       'score.', minimum=0.0),
)

BY_NAME = {row.name: row for row in TABLE}


def rows(when=None, feeds=None):
    """The rows set ``when`` (audit, deploy, internal) feeding ``feeds``."""
    return tuple(r for r in TABLE
                 if (when is None or r.when == when)
                 and (feeds is None or r.feeds == feeds))


def rst_table(when):
    """RST lines of the table of the rows set at ``when`` (for the docs)."""
    selected = rows(when=when)
    if not selected:
        raise ValueError('no parameters set at %r' % (when,))
    lines = ['.. list-table::', '   :header-rows: 1',
             '   :widths: 22 9 12 20 37', '',
             '   * - parameter', '     - type', '     - default',
             '     - range', '     - meaning']
    for row in selected:
        lines += ['   * - ``%s``' % row.name,
                  '     - %s' % row.type,
                  '     - ``%s``' % json.dumps(row.default),
                  '     - %s' % (row.range_text() or '--'),
                  '     - %s' % ' '.join(row.text)]
    return lines
