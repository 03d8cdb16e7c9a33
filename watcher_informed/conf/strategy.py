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

"""Deploy-time options of the informed_live_migration strategy.

They are registered by Watcher's loader under
``[watcher_strategies.informed_live_migration]`` (the strategy's
``get_config_opts()`` extends Watcher's own list with :data:`OPTS`).
Audit-time knobs live in the strategy's parameter schema instead; no knob
is in both places.
"""

from oslo_config import cfg

GROUP = 'watcher_strategies.informed_live_migration'

OPTS = [
    cfg.FloatOpt(
        'host_disk_io_capacity', default=500.0, min=0.001,
        help="""
Disk throughput of one compute host, in MiB/s.

Host disk-I/O load is the sum of its instances' read and write rates
divided by this value; the audit's ``disk_io_threshold`` applies to it.

Possible values:

* A positive number of MiB/s.

Related options:

* ``host_network_capacity``
"""),
    cfg.FloatOpt(
        'host_network_capacity', default=1250.0, min=0.001,
        help="""
NIC capacity of one compute host, in MiB/s in each direction (1250 = 10
Gbit/s).

Host network load is the sum of its instances' receive and transmit rates
divided by this value; the audit's ``net_threshold`` applies to it. The
cost model shares this link between a live migration, what the instances
on its source send (or on its destination receive) and the other
migrations on the same NIC. Overridable per audit (``deploy_overrides``)
and per host (the audit's ``host_network_capacities``).

Possible values:

* A positive number of MiB/s.
"""),
    cfg.IntOpt(
        'live_migration_downtime', default=500, min=100,
        help="""
Maximum downtime of a live migration, in milliseconds, as Nova's
``[libvirt] live_migration_downtime``.

The cost model stops pre-copy rounds once the remaining dirty memory can be
sent within the downtime limit in force, which Nova raises to this value in
``live_migration_downtime_steps`` steps. Set it to your compute nodes'
value (Nova's default 500 ms). Overridable per audit (``deploy_overrides``).

Possible values:

* At least 100 (Nova's minimum) milliseconds.

Related options:

* ``live_migration_downtime_steps``
* ``live_migration_downtime_delay``
"""),
    cfg.IntOpt(
        'live_migration_downtime_steps', default=10, min=3,
        help="""
Number of steps in which Nova raises the downtime limit to
``live_migration_downtime``, as Nova's ``[libvirt]
live_migration_downtime_steps``.

The limit starts at ``live_migration_downtime`` divided by this number.
Overridable per audit (``deploy_overrides``).

Possible values:

* An integer of at least 3 (Nova's minimum).
"""),
    cfg.IntOpt(
        'live_migration_downtime_delay', default=75, min=10,
        help="""
Seconds per GiB of instance RAM (at least 2 GiB counted) between two
increases of the downtime limit, as Nova's ``[libvirt]
live_migration_downtime_delay``.

Overridable per audit (``deploy_overrides``).

Possible values:

* An integer of at least 10 (Nova's minimum) seconds.
"""),
    cfg.IntOpt(
        'live_migration_completion_timeout', default=800, min=0,
        help="""
Seconds per GiB of instance RAM (at least 2 GiB counted) after which Nova
ends a live migration that is still copying, as Nova's ``[libvirt]
live_migration_completion_timeout``; 0 disables the timeout.

A migration the model predicts not to converge in time is costed as Nova
will run it: aborted (the instance stays where it is, so the move is never
planned), or forced to complete by post-copy or by pausing the guest,
following ``live_migration_timeout_action``. Overridable per audit
(``deploy_overrides``).

Possible values:

* 0, or a positive number of seconds per GiB.

Related options:

* ``live_migration_timeout_action``
* ``max_precopy_rounds``
"""),
    cfg.StrOpt(
        'live_migration_timeout_action', default='abort',
        choices=[
            ('abort', 'Nova aborts the migration (Nova\'s default)'),
            ('force_complete', 'Nova completes it by post-copy when '
             '``live_migration_permit_post_copy``, else by pausing the '
             'guest'),
        ],
        help="""
What Nova does with a live migration still copying at the completion
timeout, as Nova's ``[libvirt] live_migration_timeout_action``.
Overridable per audit (``deploy_overrides``).
"""),
    cfg.BoolOpt(
        'live_migration_permit_auto_converge', default=False,
        help="""
Whether Nova lets QEMU throttle a guest whose dirtying outpaces its live
migration, as Nova's ``[libvirt] live_migration_permit_auto_converge``.

The model then slows the guest's dirtying as QEMU does (20 %, then 10
points more every second round that dirties over half of what it sent),
so such a migration converges, and the move's reason says it is
throttled. Not used when post-copy is permitted (as in Nova).
Overridable per audit (``deploy_overrides``).
"""),
    cfg.BoolOpt(
        'live_migration_permit_post_copy', default=False,
        help="""
Whether Nova may switch a live migration to post-copy, as Nova's
``[libvirt] live_migration_permit_post_copy``.

With ``live_migration_timeout_action = force_complete`` a migration still
copying at the completion timeout is then completed by post-copy (the
guest runs on the destination and fetches the rest) instead of pausing
it. Overridable per audit (``deploy_overrides``).
"""),
    cfg.IntOpt(
        'max_precopy_rounds', default=30, min=1,
        help="""
Number of pre-copy rounds after which the model forces stop-and-copy when
``live_migration_completion_timeout`` is 0.

QEMU never gives up on its own; with a completion timeout Nova ends the
migration and the model follows Nova (this cap is then not used).

Possible values:

* A positive integer.
"""),
    cfg.FloatOpt(
        'stop_copy_bandwidth', default=0.0, min=0.0,
        help="""
Rate of the final stop-and-copy phase, in MiB/s; 0 uses the audit's
``migration_bandwidth``.

QEMU 7.2 sends the last dirty pages unthrottled (at memory speed), so on
such hypervisors a higher value predicts downtime more accurately.

Possible values:

* 0, or a positive number of MiB/s.
"""),
    cfg.FloatOpt(
        'dirty_rate_when_unknown', default=0.0, min=0.0,
        help="""
Memory dirty rate, in MiB/s, assumed for an instance without a dirty-rate
metric.

Possible values:

* 0 or a positive number of MiB/s.
"""),
    cfg.FloatOpt(
        'cpu_heavy', default=0.25, min=0.0,
        help="""
CPU utilisation (fraction of the instance's vCPUs) from which an instance
counts as a CPU workload.
"""),
    cfg.FloatOpt(
        'disk_heavy', default=1.0, min=0.0,
        help="""
Disk read + write rate, in MiB/s, from which an instance counts as a disk-I/O
workload.
"""),
    cfg.FloatOpt(
        'network_heavy_share', default=0.05, min=0.0, max=1.0,
        help="""
Share of its host's NIC capacity (``host_network_capacity``) from which an
instance's network receive (or transmit) rate makes it a network-receive
(or web / network-transmit) workload.

What slows the live migrations sharing that link is the part of it an
instance takes, so the threshold follows the NIC: 0.05 is 62.5 MiB/s on
10 Gbit/s and 6 MiB/s on 1 Gbit/s.

Possible values:

* A fraction between 0 and 1.
"""),
    cfg.FloatOpt(
        'dirty_heavy', default=16.0, min=0.0,
        help="""
Memory dirty rate, in MiB/s, from which an instance counts as a
memory-dirtying workload.
"""),
    cfg.IntOpt(
        'metric_stale_after', default=900, min=1,
        help="""
Age, in seconds, after which an instance's newest sample is stale and the
metric is treated as missing.
"""),
    cfg.IntOpt(
        'cooldown_cap', default=86400, min=0,
        help="""
Longest rest, in seconds, imposed on an instance after repeated live
migrations.

The rest after a migration starts at the audit's ``cooldown`` and doubles
with each further migration of the same instance within
``history_window``; it never exceeds this value.

Possible values:

* 0 or a positive number of seconds.

Related options:

* ``history_window``
"""),
    cfg.IntOpt(
        'history_window', default=86400, min=0,
        help="""
How far back, in seconds, Watcher's records of executed migrate actions are
read to enforce cooldowns and to refuse moves that undo recent ones.

Possible values:

* 0 (no memory) or a positive number of seconds.

Related options:

* ``cooldown_cap``
"""),
    cfg.StrOpt(
        'metrics_store', default='auto',
        choices=[
            ('auto', 'the bulk reader of the store behind Watcher\'s '
             'datasource (Gnocchi, Prometheus, Aetos); Watcher\'s own '
             'per-instance calls for any other datasource'),
            ('datasource', 'Watcher\'s per-instance datasource calls (CPU '
             'and RAM only)'),
            ('gnocchi', 'Gnocchi, with Watcher\'s client configuration'),
            ('prometheus', 'Prometheus, from [prometheus_client]'),
            ('aetos', 'Aetos, from [aetos_client]'),
        ],
        help="""
Where the strategy reads instance metrics.

The Gnocchi, Prometheus and Aetos readers fetch each metric (CPU, memory
used, disk read/write, network receive/transmit) for all instances of the
audit in one query, from the meters Ceilometer publishes; Watcher's own
datasource calls make one query per instance and metric and only give CPU
and RAM, so the disk-I/O, network and web workload classes stay unknown.
If the store is down or refuses, the audit fails and the decision engine
logs the store and the reason at ERROR level.

Related options:

* ``dirty_rate_meter``
"""),
    cfg.StrOpt(
        'dirty_rate_meter', default='memory.dirty.rate',
        help="""
Name of the gauge, in MiB/s, holding each instance's memory dirty rate: a
metric of the Gnocchi ``instance`` resource, or, in Prometheus, a series
whose instance UUID label is the one Watcher uses (``resource`` by
default). A name with dots is a Ceilometer meter name, read in Prometheus
as ``ceilometer_<name with _ for .>``.

Ceilometer has no such meter; the default is the meter that the
compute-node agent ``watcher-informed-dirtyrate`` publishes. An instance
without it gets ``dirty_rate_when_unknown``. Empty: no dirty rate is read.

Related options:

* ``metrics_store``
* ``dirty_rate_when_unknown``
* ``working_set_meter``
"""),
    cfg.StrOpt(
        'working_set_meter', default='memory.dirty.working_set',
        help="""
Name of the gauge, in MiB, holding each instance's writable working set
(the memory it keeps rewriting), read like ``dirty_rate_meter``.

The default is the meter that ``watcher-informed-dirtyrate`` publishes.
An instance without it is modelled as rewriting all its used memory (the
pre-copy model's upper bound). Empty: no working set is read.

Related options:

* ``dirty_rate_meter``
"""),
    cfg.BoolOpt(
        'use_server_groups', default=True,
        help="""
Read Nova server groups (affinity, anti-affinity and the soft policies) and
honour them when placing instances.

Watcher's compute model has no server groups; with this option on, the
strategy lists them through the Nova API with Watcher's credentials.
"""),
]


def list_opts():
    return [(GROUP, OPTS)]
