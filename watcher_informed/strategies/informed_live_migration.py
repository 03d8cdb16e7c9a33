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

"""*Informed live migration* strategy.

Synopsis
--------

**display name**: ``Informed live migration``

**goal**: ``informed_workload_balancing``

Relieves overloaded compute hosts with the fewest, cheapest live
migrations, following Tan et al.'s informed live-migration rules: move the
instances whose pre-copy migration is cheap (small memory, small dirty set;
CPU and disk-I/O workloads preferred), place them where their workload
class does not contend with the neighbours (no two disk-I/O, no two
cache-polluting CPU workloads) and next to the instances they talk to, and
run memory-dirtying and web-server instances first, network-receiving ones
last, the rest shortest job first -- never letting a host be overcommitted
at any step.  The plan is a DAG scheduled by the
``informed_live_migration`` planner.

This class only wires adapters and the pure core together; the decisions
are in :mod:`watcher_informed.core`.
"""

import contextlib
import dataclasses
import gc
import logging
import threading
import time

from watcher._i18n import _
from watcher.common import exception
from watcher.decision_engine.strategy.strategies import base

from watcher_informed.adapters import history
from watcher_informed.adapters import nova as nova_adapter
from watcher_informed.adapters import parameters
from watcher_informed.adapters import scheduler
from watcher_informed.adapters import solution as solution_adapter
from watcher_informed.adapters import watcher_model
from watcher_informed.adapters.metrics import base as metrics_base
from watcher_informed.adapters.metrics import forecast as metrics_forecast
from watcher_informed.adapters.metrics import stores
from watcher_informed.conf import strategy as strategy_conf
from watcher_informed.core import kinds
from watcher_informed.core import overload
from watcher_informed.core import params as params_mod
from watcher_informed.core import pipeline

LOG = logging.getLogger(__name__)

NAME = 'informed_live_migration'


_PAUSES = {'audits': 0, 'enabled': False}
_PAUSE_LOCK = threading.Lock()


@contextlib.contextmanager
def _no_cycle_collection():
    """No cyclic garbage collection while the audit plans.

    The process's objects (Watcher's model, the service's state:
    hundreds of thousands at 10,000 instances) stay as they are while
    the audit plans, yet a full collection triggered by the audit's own
    allocations scanned every one of them again -- 0.15-0.3 s of the
    0.5-0.7 s a 500-host audit took (``python -m bench.run scale``);
    with them set aside (``gc.freeze``) the young collections of the
    audit's own objects still cost a tenth of it.  What the audit
    leaves is freed by reference counting; the collector is back on
    (if it was) when the last audit running in the process is done,
    and collects whatever cycles were left meanwhile, as the command
    line does (``cli.main``).
    """
    with _PAUSE_LOCK:
        if not _PAUSES['audits']:
            _PAUSES['enabled'] = gc.isenabled()
            gc.disable()
        _PAUSES['audits'] += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _PAUSES['audits'] -= 1
            if not _PAUSES['audits'] and _PAUSES['enabled']:
                gc.enable()


class InformedLiveMigration(base.BaseStrategy):
    """Informed live migration: cost-, affinity- and order-aware balancing.

    See the module documentation for the synopsis.
    """

    DATASOURCE_METRICS = ['instance_cpu_usage', 'instance_ram_usage']

    def __init__(self, config, osc=None):
        super().__init__(config, osc)
        self.planner = NAME
        #: the last core plan, read by our planner to build the DAG.
        self.informed_plan = None
        #: injectable collaborators (tests, the CLI, other stores).
        self.metrics_reader = None
        self.nova_connection = None
        #: callable(now, window_s) -> RecentMove tuple; default: Watcher DB
        self.history_source = None
        self.clock = time.time
        #: whether the model carries flavor extra specs and pinned zones
        #: (None: Watcher's ``[compute_model] enable_extended_attributes``)
        self.extended_attributes = None

    @classmethod
    def get_name(cls):
        return NAME

    @classmethod
    def get_display_name(cls):
        return _('Informed live migration')

    @classmethod
    def get_translatable_display_name(cls):
        return 'Informed live migration'

    @classmethod
    def get_goal_name(cls):
        return 'informed_workload_balancing'

    @classmethod
    def get_schema(cls):
        return parameters.schema()

    @classmethod
    def get_config_opts(cls):
        return super().get_config_opts() + list(strategy_conf.OPTS)

    def _reader(self, options):
        if self.metrics_reader is None:
            self.metrics_reader = stores.reader_for(
                options['metrics_store'],
                lambda: self.datasource_backend,
                options['dirty_rate_meter'] or None,
                options['working_set_meter'] or None)
        return self.metrics_reader

    def _connection(self):
        if self.nova_connection is None:
            from watcher.common import nova_helper
            self.nova_connection = nova_helper.NovaHelper().connection
        return self.nova_connection

    def _nova_facts(self, instances, options):
        use_groups = options['use_server_groups']
        needs_zones = any(i.pinned_az for i in instances)
        if not use_groups and not needs_zones:
            return (), {}
        conn = self._connection()
        groups = nova_adapter.server_groups(conn) if use_groups else ()
        zones = nova_adapter.host_zones(conn) if needs_zones else {}
        return groups, zones

    def _extended(self):
        if self.extended_attributes is not None:
            return self.extended_attributes
        from oslo_config import cfg
        try:
            return bool(cfg.CONF.compute_model.enable_extended_attributes)
        except (cfg.NoSuchOptError, AttributeError):
            return False

    def _scheduling_facts(self, hosts, instances, options):
        """Hosts and instances with what Nova's scheduler checks."""
        if not options['use_scheduler_constraints']:
            return hosts, instances, ()
        conn = self._connection()
        servers = None if self._extended() else \
            nova_adapter.server_facts(conn)
        return scheduler.enrich(conn, hosts, instances, servers)

    def pre_execute(self):
        LOG.info('Initializing %s', NAME)
        if not self.compute_model:
            raise exception.ClusterStateNotDefined()

    def do_execute(self, audit=None):
        with _no_cycle_collection():
            self._plan()

    def _plan(self):
        try:
            settings = parameters.read(dict(self.input_parameters),
                                       self.config)
        except params_mod.ParamError as exc:
            LOG.error('%s: invalid parameter %s', NAME, exc)
            raise exception.InvalidParameter(message=str(exc))
        p, comm = settings.params, settings.communication_groups
        # the model's compute nodes, found once (a walk of every element)
        nodes = self.compute_model.get_all_compute_nodes()
        hosts, instances, elements = watcher_model.read_model(
            self.compute_model, nodes=nodes)
        hosts, instances, aggregates = self._scheduling_facts(
            hosts, instances, settings.options)
        groups, zones = self._nova_facts(instances, settings.options)
        if zones:
            hosts = tuple(dataclasses.replace(h, az=zones.get(h.name))
                          for h in hosts)
        try:
            reader = self._reader(settings.options)
            # Watcher's elements only for a reader that needs them
            subjects = list(elements.values()) \
                if getattr(reader, 'needs_elements', True) \
                else list(instances)
            usage = metrics_base.read_usage(reader, subjects,
                                            settings.window)
        except metrics_base.MetricsUnavailable as exc:
            LOG.error('%s: cannot read metrics: %s', NAME, exc)
            raise
        forecast, host_usage = self._next_hour(
            p, hosts, subjects, settings, usage)
        now = self.clock()
        source = self.history_source or (
            lambda at, window: history.recent_moves(self.ctx, at, window))
        recent = source(now, p.history_window)
        snapshot = watcher_model.build_snapshot(hosts, instances, usage,
                                                groups, comm, recent, now,
                                                aggregates)
        if forecast or host_usage:
            snapshot = dataclasses.replace(snapshot, forecast=forecast,
                                           host_usage=host_usage)
        self._report_unmeasured(snapshot)
        plan = pipeline.build_plan(snapshot, p)
        unknown = plan.profiles.of_class(kinds.UNKNOWN)
        if unknown:
            LOG.warning('%s: %d of %d instances have an unknown workload '
                        'class (missing metrics), e.g. %s: %s', NAME,
                        len(unknown), len(plan.profiles), unknown[0],
                        plan.profiles[unknown[0]].evidence[0])
        if LOG.isEnabledFor(logging.DEBUG):
            for uuid, profile in sorted(plan.profiles.items()):
                LOG.debug('%s: %s is %s (%s)', NAME, uuid, profile.cls,
                          '; '.join(profile.evidence))
        for host in plan.still_overloaded:
            LOG.warning('%s: host %s stays overloaded: %s', NAME, host,
                        plan.left.get(host, 'unknown reason'))
        self._report_constrained(snapshot, plan)
        for move in plan.moves:
            LOG.info('%s: step %d %s %s -> %s: %s', NAME, move.step,
                     move.uuid, move.source, move.dest, move.reason)
        self.informed_plan = plan
        solution_adapter.emit(self.solution, plan, self.compute_model,
                              settings.options['migration_action'],
                              nodes=nodes)

    def _next_hour(self, p, hosts, subjects, settings, usage):
        """Next-hour estimates and the hosts' own meters (issue 18)."""
        reader = self._reader(settings.options)
        window = settings.window
        try:
            forecast = metrics_forecast.read_forecast(
                reader, subjects, window, p.demand_history,
                p.demand_estimator, usage)
            host_usage = metrics_forecast.read_host_usage(
                reader, [h.name for h in hosts], window)
        except metrics_base.MetricsUnavailable as exc:
            LOG.error('%s: cannot read metrics: %s', NAME, exc)
            raise
        LOG.info('%s: next-hour estimate (%s over %d s) for %d of %d '
                 'instances; own meters of %d of %d hosts', NAME,
                 p.demand_estimator, p.demand_history, len(forecast),
                 len(subjects), len(host_usage), len(hosts))
        return forecast, host_usage

    @staticmethod
    def _report_constrained(snapshot, plan):
        """Why instances Nova's scheduling constraints apply to stay."""
        index = snapshot.scheduling
        if not index.active:
            return
        insts = snapshot.instance_by_uuid
        held = [(u, why) for u, why in sorted(plan.not_moved.items())
                if u in insts and (insts[u].extra_specs or
                                   insts[u].vnic_types)]
        for uuid, why in held[:20]:
            LOG.info('%s: %s (flavor extra specs or devices) not moved: %s',
                     NAME, uuid, why)
        if len(held) > 20:
            LOG.info('%s: ... and %d more instance(s) with constraints not '
                     'moved', NAME, len(held) - 20)

    @staticmethod
    def _report_unmeasured(snapshot):
        missing = overload.unmeasured(snapshot)
        if not missing:
            return
        demand = overload.demands(snapshot)
        LOG.warning('%s: %d instance(s) without a CPU metric count at a '
                    'conservative estimate, never zero: %s', NAME,
                    len(missing), ', '.join(
                        '%s (%.2f cores)' % (u, demand[u]['cpu'])
                        for u in missing[:20]))

    def post_execute(self):
        self.solution.model = self.compute_model
