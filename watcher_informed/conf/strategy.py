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
Network throughput of one compute host, in MiB/s (1250 = 10 Gbit/s).

Host network load is the sum of its instances' receive and transmit rates
divided by this value; the audit's ``net_threshold`` applies to it.

Possible values:

* A positive number of MiB/s.
"""),
    cfg.IntOpt(
        'live_migration_downtime', default=500, min=1,
        help="""
Maximum downtime of a live migration, in milliseconds.

The cost model stops pre-copy rounds once the remaining dirty memory can be
sent within this time. Set it to Nova's ``[libvirt]
live_migration_downtime`` (default 500 ms).

Possible values:

* A positive number of milliseconds.

Related options:

* ``max_precopy_rounds``
"""),
    cfg.IntOpt(
        'max_precopy_rounds', default=30, min=1,
        help="""
Number of pre-copy rounds after which the model forces stop-and-copy.

QEMU never gives up on its own. Nova raises the allowed downtime in
``[libvirt] live_migration_downtime_steps`` steps, which lets most
migrations converge, and aborts one that is still running after
``[libvirt] live_migration_completion_timeout`` seconds per GiB. The
model's cap stands for that end; 30 matches Xen's historical cap.

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
        'network_heavy', default=0.1, min=0.0,
        help="""
Network receive (or transmit) rate, in MiB/s, from which an instance counts
as a network-receive (or web / network-transmit) workload.
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
