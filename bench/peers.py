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

"""Watcher's own balancing strategies as benchmark peers.

Runs python-watcher 17.0.0's *real* ``workload_stabilization`` and
``workload_balance`` strategy classes -- loaded by name through
``DefaultStrategyLoader`` exactly as the decision engine loads them, never
re-implemented -- on a cluster given as a core
:class:`~watcher_informed.core.snapshot.Snapshot`, and returns what they
plan as a :class:`PeerPlan`.

What is replaced, and why:

* Nova (the cluster data model collector) -- :func:`build_model` builds the
  real ``ModelRoot`` out of real ``ComputeNode`` / ``Instance`` elements
  with the attributes Watcher's Nova collector sets.
* The metrics backend -- :class:`SnapshotDatasource` is a real subclass of
  Watcher's ``DataSourceBase`` (so the strategies go through its real
  ``statistic_aggregation`` and per-audit metric cache) that serves the
  snapshot's usage in the units Watcher's datasources return (see the class
  docstring for the unit of each metric and where Watcher fixes it).
* The database -- planners are run through their real DAG-building code on
  ``objects.Action`` objects that are never ``create()``-d; see
  :func:`ws_planner_parents` and :func:`weight_planner_parents`.

Units served (snapshot -> Watcher; details in :class:`SnapshotDatasource`):

* ``instance_cpu_usage``: ``cpu`` (fraction of the instance's vCPUs) x 100,
  percent of the instance;
* ``instance_ram_usage``: ``ram`` MiB served as "MB" (Ceilometer's
  ``memory.resident`` is MiB);
* ``instance_ram_allocated`` / ``instance_root_disk_size``: the flavor's
  RAM (MB) / disk (GB) from the model;
* ``instance_l3_cache_usage``: ``l3_cache`` MiB -> bytes;
* ``host_cpu_usage``: sum(cpu x vCPUs of its instances) / node vCPUs x 100,
  percent of the host;
* ``host_ram_usage``: sum(ram of its instances) MiB x 1024, KiB.

Importing this module selects oslo.service's *threading* backend when no
backend is selected yet (Watcher 17's services and its test package do the
same; importing Watcher's model or planner modules first would otherwise
pick the deprecated eventlet default and make a later
``import watcher.tests.unit`` fail with ``BackendAlreadySelected``).
"""

from oslo_service import backend as oslo_backend
from watcher import eventlet as watcher_eventlet

if oslo_backend.get_backend_type() is None:
    oslo_backend.init_backend(
        oslo_backend.BackendType.EVENTLET if watcher_eventlet.is_patched()
        else oslo_backend.BackendType.THREADING)

import collections  # noqa: E402
import dataclasses  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
import typing  # noqa: E402
import uuid as uuid_mod  # noqa: E402

from watcher.common import context as watcher_context  # noqa: E402
from watcher.common import exception  # noqa: E402
from watcher.common import utils  # noqa: E402
from watcher.decision_engine.datasources import base as ds_base  # noqa: E402
from watcher.decision_engine.loading import default as loading  # noqa: E402
from watcher.decision_engine.planner import weight  # noqa: E402
import watcher.decision_engine.planner.workload_stabilization  # noqa: E402

from watcher_informed import harness  # noqa: E402
from watcher_informed.core import snapshot as snap  # noqa: E402

ws_planner = watcher.decision_engine.planner.workload_stabilization

#: Project id given to every instance (Watcher's field is a UUID field).
PROJECT = '22222222-2222-2222-2222-222222222222'
_NS = uuid_mod.UUID('0d8b1e86-6c2b-4f4e-9d8e-4b3f1c2a7e55')

WS = 'workload_stabilization'
WB = 'workload_balance'
WEIGHT = 'weight'
#: Planner name (as in Watcher's ``watcher_planners`` entry points) -> the
#: label used in :attr:`PeerPlan.name`.
PLANNER_LABELS = {WS: 'ws_planner', WEIGHT: 'weight_planner'}

KIB_PER_MIB = 1024.0
BYTES_PER_MIB = 1024.0 * 1024.0


@dataclasses.dataclass(frozen=True)
class PeerPlan:
    """What a Watcher strategy (+ planner) plans for a snapshot."""

    #: ``<strategy>+<planner label>``, e.g. 'workload_stabilization+ws_planner'
    name: str
    #: ``((instance_uuid, source_host, dest_host), ...)`` in solution order
    moves: tuple
    #: ``{instance_uuid: tuple(parent instance_uuids)}``: the action-plan DAG
    #: the planner would build (one key per moved instance)
    parents: dict
    #: wall time of ``strategy.execute()`` (+ planner DAG build), summed
    #: over audits; model building and parameter validation are excluded
    plan_time_s: float
    #: number of audits run (the loop counts its final, empty audit)
    audits: int
    #: the same as :attr:`plan_time_s` in CPU seconds of this process
    #: (``time.process_time``): less sensitive to a loaded machine
    plan_cpu_s: typing.Optional[float] = None


# --------------------------------------------------------------------------
# Watcher configuration


ensure_watcher = harness.ensure_watcher
host_uuid = harness.host_uuid


# --------------------------------------------------------------------------
# Compute model


def build_model(snapshot):
    """A real Watcher ``ModelRoot`` holding the snapshot's cluster."""
    return harness.build_model(snapshot.hosts, snapshot.instances,
                               project=PROJECT)


# --------------------------------------------------------------------------
# Datasource


class SnapshotDatasource(ds_base.DataSourceBase):
    """A Watcher datasource serving a snapshot's measured usage.

    A real ``DataSourceBase`` subclass: strategies reach it through the
    base class' ``statistic_aggregation`` (per-audit metric cache included)
    which calls :meth:`_statistic_aggregation`.  ``period``,
    ``aggregate`` and ``granularity`` are accepted and ignored: a snapshot
    is already aggregated over its audit window.

    Units are the ones ``DataSourceBase`` documents for its getters
    (watcher/decision_engine/datasources/base.py:290-396) and the
    strategies read:

    * ``instance_cpu_usage``: percent (0-100) of the instance's vCPUs
      (base.py:347-356).  workload_stabilization divides it by 100
      (workload_stabilization.py:305-306); workload_balance turns it into
      busy cores with ``util * vcpus / 100`` (workload_balance.py:340-341).
      Values above 100 (snapshot ``cpu`` > 1.0) are passed through
      unclamped, as Gnocchi does (Prometheus clamps to 100).
    * ``instance_ram_usage``: MB (base.py:358-366).  Both strategies add
      it to / compare it with the node's ``memory`` (MB):
      workload_stabilization.py:318-326 and 436-437,
      workload_balance.py:343 and 352.  Snapshot MiB are served 1:1 (the
      "MB" of Ceilometer's ``memory.resident`` is MiB).
    * ``host_cpu_usage``: percent of the host (base.py:290-299);
      workload_stabilization divides by 100 (workload_stabilization.py:
      367-368) and moves instances with ``instance% * vcpus / host_vcpus``
      (269-279), so the host value is the sum of its instances' busy cores
      over the node's ``vcpus`` x 100.
    * ``host_ram_usage``: KiB (base.py:301-309, "kibibytes"; Prometheus
      divides bytes by 1024, prometheus_base.py:304-311).
      workload_stabilization divides it by ``oslo_utils.units.Ki``
      (workload_stabilization.py:365-366) to get MB before adding instance
      MB to it and normalising by ``node.memory``.  workload_balance does
      not read host metrics at all.  Served as the sum of the host's
      instances' RAM MiB x 1024.

    Missing values: an instance metric that is ``None`` in its ``Usage``
    (or an instance without usage) is served as ``None``, like a real
    datasource with no samples.  A host metric is the sum over the host's
    instances that have the value; it is ``None`` when the host has
    instances and none of them has it (nothing to derive it from); an
    empty host reports 0.0.  Host metrics are fixed at construction from
    the snapshot's placement, as measured metrics would be: moves the
    strategy simulates in its model do not change them.
    """

    NAME = 'snapshot'
    METRIC_MAP = dict(
        host_cpu_usage='host_cpu_usage',
        host_ram_usage='host_ram_usage',
        host_outlet_temp=None,
        host_inlet_temp=None,
        host_airflow=None,
        host_power=None,
        instance_cpu_usage='instance_cpu_usage',
        instance_ram_usage='instance_ram_usage',
        instance_ram_allocated='instance_ram_allocated',
        instance_l3_cache_usage='instance_l3_cache_usage',
        instance_root_disk_size='instance_root_disk_size',
    )

    def __init__(self, snapshot):
        super().__init__()
        self.snapshot = snapshot
        self.queries = 0
        self._usage = dict(snapshot.usage)
        self._host_cores = collections.defaultdict(float)
        self._host_ram = collections.defaultdict(float)
        self._host_count = collections.Counter()
        self._host_cpu_known = collections.Counter()
        self._host_ram_known = collections.Counter()
        for inst in snapshot.instances:
            self._host_count[inst.host] += 1
            usage = snapshot.usage_of(inst.uuid)
            cpu = usage.get(snap.CPU)
            if cpu is not None:
                self._host_cores[inst.host] += cpu * inst.vcpus
                self._host_cpu_known[inst.host] += 1
            ram = usage.get(snap.RAM)
            if ram is not None:
                self._host_ram[inst.host] += ram
                self._host_ram_known[inst.host] += 1

    # -- DataSourceBase abstract methods ----------------------------------

    def query_retry_reset(self, exception_instance):
        """Nothing to reset: the snapshot cannot fail."""

    def list_metrics(self):
        return {v for v in self.METRIC_MAP.values() if v}

    def check_availability(self):
        return 'available'

    def _statistic_aggregation(self, resource=None, resource_type=None,
                               meter_name=None, period=300, aggregate='mean',
                               granularity=300):
        meter = self._get_meter(meter_name)  # MetricNotAvailable if unknown
        self.queries += 1
        if resource_type == 'instance':
            return self._instance_value(resource, meter)
        if resource_type == 'compute_node':
            return self._host_value(resource, meter)
        raise exception.InvalidParameter(
            message='resource_type %r is not served by the snapshot'
            % (resource_type,))

    def _instance_value(self, resource, meter):
        if meter == 'instance_ram_allocated':
            return float(resource.memory)
        if meter == 'instance_root_disk_size':
            return float(resource.disk)
        usage = self._usage.get(resource.uuid)
        if usage is None:
            return None
        if meter == 'instance_cpu_usage':
            value = usage.get(snap.CPU)
            return None if value is None else value * 100.0
        if meter == 'instance_ram_usage':
            return usage.get(snap.RAM)
        if meter == 'instance_l3_cache_usage':
            value = usage.get(snap.L3_CACHE)
            return None if value is None else value * BYTES_PER_MIB
        raise exception.MetricNotAvailable(metric=meter)

    def _host_value(self, resource, meter):
        name = resource.hostname
        count = self._host_count[name]
        if meter == 'host_cpu_usage':
            if count and not self._host_cpu_known[name]:
                return None
            # The node's vcpus, as the strategy's own transform uses
            # (workload_stabilization.py:277-279).
            vcpus = float(resource.vcpus)
            if not vcpus:
                return None
            return self._host_cores[name] / vcpus * 100.0
        if meter == 'host_ram_usage':
            if count and not self._host_ram_known[name]:
                return None
            return self._host_ram[name] * KIB_PER_MIB
        raise exception.MetricNotAvailable(metric=meter)

    def statistic_series(self, resource=None, resource_type=None,
                         meter_name=None, start_time=None, end_time=None,
                         granularity=300):
        raise NotImplementedError(
            'a snapshot holds aggregates, not time series')

    # -- getters (Watcher's signatures, Gnocchi's way) ---------------------

    def _node(self, meter, resource, period, aggregate, granularity):
        return self.statistic_aggregation(
            resource, 'compute_node', meter, period, aggregate,
            granularity or 300)

    def _inst(self, meter, resource, period, aggregate, granularity):
        return self.statistic_aggregation(
            resource, 'instance', meter, period, aggregate,
            granularity or 300)

    def get_host_cpu_usage(self, resource, period, aggregate,
                           granularity=None):
        return self._node('host_cpu_usage', resource, period, aggregate,
                          granularity)

    def get_host_ram_usage(self, resource, period, aggregate,
                           granularity=None):
        return self._node('host_ram_usage', resource, period, aggregate,
                          granularity)

    def get_host_outlet_temp(self, resource, period, aggregate,
                             granularity=None):
        return self._node('host_outlet_temp', resource, period, aggregate,
                          granularity)

    def get_host_inlet_temp(self, resource, period, aggregate,
                            granularity=None):
        return self._node('host_inlet_temp', resource, period, aggregate,
                          granularity)

    def get_host_airflow(self, resource, period, aggregate,
                         granularity=None):
        return self._node('host_airflow', resource, period, aggregate,
                          granularity)

    def get_host_power(self, resource, period, aggregate, granularity=None):
        return self._node('host_power', resource, period, aggregate,
                          granularity)

    def get_instance_cpu_usage(self, resource, period, aggregate,
                               granularity=None):
        return self._inst('instance_cpu_usage', resource, period, aggregate,
                          granularity)

    def get_instance_ram_usage(self, resource, period, aggregate,
                               granularity=None):
        return self._inst('instance_ram_usage', resource, period, aggregate,
                          granularity)

    def get_instance_ram_allocated(self, resource, period, aggregate,
                                   granularity=None):
        return self._inst('instance_ram_allocated', resource, period,
                          aggregate, granularity)

    def get_instance_l3_cache_usage(self, resource, period, aggregate,
                                    granularity=None):
        return self._inst('instance_l3_cache_usage', resource, period,
                          aggregate, granularity)

    def get_instance_root_disk_size(self, resource, period, aggregate,
                                    granularity=None):
        return self._inst('instance_root_disk_size', resource, period,
                          aggregate, granularity)


# --------------------------------------------------------------------------
# Strategy and planners


def audit_parameters(schema, params):
    """Validate and default-fill ``params`` as Watcher does (a copy)."""
    return utils.Struct(harness.audit_parameters(schema, params))


def prepare(name, snapshot, params, model=None):
    """Load strategy ``name`` and inject the snapshot's collaborators."""
    ensure_watcher()
    strategy = loading.DefaultStrategyLoader().load(name)
    strategy._compute_model = model if model is not None else build_model(
        snapshot)
    strategy._datasource_backend = SnapshotDatasource(snapshot)
    strategy.input_parameters = audit_parameters(strategy.get_schema(),
                                                 params)
    return strategy


def solution_moves(solution):
    """``((uuid, source, destination), ...)`` of a solution's migrations."""
    out = []
    for action in solution.actions:
        if action['action_type'] != 'migrate':
            raise ValueError('unexpected action %r' % (action,))
        p = action['input_parameters']
        out.append((p['resource_id'], p['source_node'],
                    p['destination_node']))
    return tuple(out)


def _uuid_parents(actions, parent_uuids):
    """Map action-uuid parents to instance-uuid parents, keyed by VM."""
    by_action = {a['uuid']: a['input_parameters']['resource_id']
                 for a in actions}
    parents = {}
    for a in actions:
        vm = by_action[a['uuid']]
        ps = tuple(by_action[p] for p in parent_uuids[a['uuid']])
        # A VM moved twice in one plan would share its key: merge.
        parents[vm] = tuple(dict.fromkeys(parents.get(vm, ()) + ps))
    return parents


def ws_planner_parents(solution):
    """Parents the ``workload_stabilization`` planner gives the actions.

    ``WorkloadStabilizationPlanner.schedule`` writes the action plan,
    efficacy indicators and every action into the database, so it is not
    called.  Its DB-free parts are, in its own order: ``create_action``
    per solution action, the descending-weight sort, ``load_child_class``
    and the action validator's ``validate_parents``; parents are kept only
    when the validator returns some, as ``schedule`` does
    (planner/workload_stabilization.py:95-191).  For ``migrate`` the
    validator (``MigrationActionValidator``, :272-283) only records the
    action in the resource map and returns ``None``: migrations get no
    parents, i.e. all run in parallel.  The ``turn_host_to_acpi_s3_state``
    branch reads parents back from the DB; neither strategy emits it.
    """
    planner = ws_planner.WorkloadStabilizationPlanner(utils.Struct(
        weights=dict(ws_planner.WorkloadStabilizationPlanner.weights_dict)))
    weights = planner.config.weights
    to_schedule = []
    for action in solution.actions:
        json_action = planner.create_action(
            action_plan_id=0, action_type=action.get('action_type'),
            input_parameters=action.get('input_parameters'))
        to_schedule.append((weights[action.get('action_type')],
                            json_action))
    scheduled = [x[1] for x in sorted(to_schedule, key=lambda w: w[0],
                                      reverse=True)]
    resource_action_map = {}
    parent_uuids = {}
    for action in scheduled:
        if action['action_type'] == 'turn_host_to_acpi_s3_state':
            raise NotImplementedError('acpi_s3 parents need the database')
        plugin_action = planner.load_child_class(action['action_type'])
        if not plugin_action:
            raise exception.UnsupportedActionType(
                action_type=action['action_type'])
        parents = plugin_action.validate_parents(resource_action_map,
                                                 action)
        parent_uuids[action['uuid']] = list(parents) if parents else []
    return _uuid_parents(scheduled, parent_uuids)


def weight_planner_parents(solution):
    """Parents the ``weight`` planner gives the actions (no database).

    Real ``WeightPlanner.get_sorted_actions_by_weight`` (builds
    ``objects.Action(context, uuid=..., parents=[], action_plan_id=0,
    **action)``, never ``create()``-d) and ``compute_action_graph``, with
    Watcher's default weights and parallelization (migrate: 2).
    """
    planner = weight.WeightPlanner(utils.Struct(
        weights=dict(weight.WeightPlanner.action_weights),
        parallelization=dict(weight.WeightPlanner.parallelization)))
    ctx = watcher_context.make_context()
    sorted_weighted = planner.get_sorted_actions_by_weight(
        ctx, types.SimpleNamespace(id=0), solution)
    graph = planner.compute_action_graph(sorted_weighted)
    actions = [{'uuid': a.uuid, 'input_parameters': a.input_parameters}
               for a in graph.nodes()]
    parent_uuids = {a.uuid: list(a.parents) for a in graph.nodes()}
    return _uuid_parents(actions, parent_uuids)


PLANNERS = {WS: ws_planner_parents, WEIGHT: weight_planner_parents}


def _planner(planner):
    if planner not in PLANNERS:
        raise ValueError('planner must be one of %s, not %r'
                         % (sorted(PLANNERS), planner))
    return PLANNERS[planner]


def run_audit(name, snapshot, planner, params):
    """One audit: ``(moves, parents, seconds, CPU seconds, strategy)``.

    Timed: ``strategy.execute()`` and the planner's DAG build.  Not timed:
    building the model (the collector's job) and validating parameters.
    """
    plan = _planner(planner)
    strategy = prepare(name, snapshot, params)
    start, cpu = time.perf_counter(), time.process_time()
    solution = strategy.execute()
    parents = plan(solution) if solution.actions else {}
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return solution_moves(solution), parents, elapsed, cpu, strategy


# --------------------------------------------------------------------------
# Public API


def workload_stabilization(snapshot, planner=WS, seed=0, **params):
    """Watcher's ``workload_stabilization`` on ``snapshot`` (one audit).

    ``params`` are audit parameters; unset ones take the strategy's schema
    defaults (17.0.0: ``metrics=['instance_cpu_usage']``, thresholds 0.1,
    ``host_choice='retry'``, ``retry_count=1``, ...).  The strategy draws
    destinations from Python's global, unseeded ``random``
    (workload_stabilization.py:461-463); it is seeded with ``seed`` for the
    run and its previous state is restored afterwards.

    Watcher 17.0.0 behaviours this runs into, unchanged (they are the peer):

    * it checks no vCPU/RAM capacity of the destination, only
      ``instance.disk > dst_node.disk`` (total disk,
      workload_stabilization.py:605), so plans can overcommit hosts;
    * it stops at the first candidate after which *any* metric's standard
      deviation is below its threshold (:632-643): with both metrics and
      default thresholds an already balanced RAM stops it after one move;
    * ``host_choice='fullsearch'`` or ``retry_count > 1`` put the same
      instance in the candidate list more than once; the second migration
      of it from its original source raises ``NetworkXError`` in
      ``ModelRoot.migrate_instance`` (:625 -> model_root.py:241);
    * a host whose host metric is ``None`` is dropped from ``hosts_load``
      (:356-363) but still used as source/destination, which raises
      ``KeyError`` in ``calculate_migration_case`` (:425-426).
    """
    state = random.getstate()
    random.seed(seed)
    try:
        moves, parents, elapsed, cpu, _ = run_audit(WS, snapshot, planner,
                                                    params)
    finally:
        random.setstate(state)
    return PeerPlan(name='%s+%s' % (WS, PLANNER_LABELS[planner]),
                    moves=moves, parents=parents, plan_time_s=elapsed,
                    audits=1, plan_cpu_s=cpu)


def workload_balance_loop(snapshot, planner=WEIGHT, max_audits=100,
                          **params):
    """Watcher's ``workload_balance`` audited until it proposes nothing.

    workload_balance plans at most one migration per audit by design, so
    it is re-audited (like a CONTINUOUS audit whose plans are applied) on
    the cluster with the previous audit's moves applied -- instances take
    their usage with them -- until an audit proposes nothing or
    ``max_audits`` audits have run.  Each audit's plan starts after the
    previous audit's plan has finished: its root actions get the previous
    plan's last actions (sinks) as parents; inside an audit ``planner``
    decides.  ``params``: audit parameters (defaults: ``metrics=
    'instance_cpu_usage'``, ``threshold=25.0`` percent, ...).

    Note: Watcher itself hands workload_balance's solutions to the
    ``workload_stabilization`` planner (``WorkloadStabilizationBaseStrategy``
    sets ``_planner``, strategies/base.py:559-562); with one move per audit
    both planners give it no parents.
    """
    if max_audits < 1:
        raise ValueError('max_audits must be at least 1')
    _planner(planner)  # refuse an unknown planner before any audit
    current = snapshot
    moves = []
    parents = {}
    previous_sinks = ()
    total = total_cpu = 0.0
    audits = 0
    while audits < max_audits:
        audit_moves, audit_parents, elapsed, cpu, _ = run_audit(
            WB, current, planner, params)
        audits += 1
        total += elapsed
        total_cpu += cpu
        if not audit_moves:
            break
        for vm, _src, _dst in audit_moves:
            own = audit_parents.get(vm, ())
            chained = own if own else tuple(previous_sinks)
            parents[vm] = tuple(dict.fromkeys(parents.get(vm, ()) + chained))
        referenced = {p for ps in audit_parents.values() for p in ps}
        previous_sinks = tuple(dict.fromkeys(
            vm for vm, _s, _d in audit_moves if vm not in referenced))
        moves.extend(audit_moves)
        current = snapshot_after(current, audit_moves)
    return PeerPlan(name='%s_loop+%s' % (WB, PLANNER_LABELS[planner]),
                    moves=tuple(moves), parents=parents, plan_time_s=total,
                    audits=audits, plan_cpu_s=total_cpu)


def snapshot_after(snapshot, moves):
    """A new :class:`Snapshot` with ``moves`` applied in order.

    Usage is keyed by instance uuid, so it moves with the instance.
    Raises ``ValueError`` when a move's source is not the instance's
    current host or its destination is unknown.
    """
    placement = snapshot.placement()
    known = {h.name for h in snapshot.hosts}
    for vm, src, dst in moves:
        if vm not in placement:
            raise ValueError('unknown instance %s' % vm)
        if placement[vm] != src:
            raise ValueError('instance %s is on %s, not %s'
                             % (vm, placement[vm], src))
        if dst not in known:
            raise ValueError('unknown destination host %s' % dst)
        placement[vm] = dst
    instances = tuple(
        inst if inst.host == placement[inst.uuid]
        else dataclasses.replace(inst, host=placement[inst.uuid])
        for inst in snapshot.instances)
    return dataclasses.replace(snapshot, instances=instances)


# --------------------------------------------------------------------------
# Synthetic clusters, self-check and CLI smoke


def random_snapshot(n_hosts, n_vms, seed=0, hot_fraction=0.3,
                    host_vcpus=None, host_ram_mb=None, host_disk_gb=4000):
    """A random cluster where ``hot_fraction`` of the hosts are CPU-hot.

    Flavors 1/2/4 vCPUs with 2/4/8 GiB and 20/40/80 GB; RAM use 30-90 % of
    the flavor.  Hot hosts are drawn twice as often as the others and hold
    busy instances (cpu 0.6-1.0); the others hold idle-ish ones (cpu
    0.02-0.3).  Hosts are sized (unless given) so that the flavors fill
    about two thirds of the cluster's vCPUs, with 4 GiB RAM per vCPU.
    Placement never exceeds a host's capacity (``ValueError`` if it must).
    """
    rng = random.Random(seed)
    if host_vcpus is None:
        per_host = n_vms / float(n_hosts) * (7.0 / 3.0) * 1.5
        host_vcpus = max(8, 8 * int(math.ceil(per_host / 8.0)))
    if host_ram_mb is None:
        host_ram_mb = host_vcpus * 4096
    hosts = tuple(
        snap.Host(name='h%04d' % i, vcpus=host_vcpus, ram_mb=host_ram_mb,
                  disk_gb=host_disk_gb,
                  uuid=str(uuid_mod.uuid5(_NS, 'rnd-host-%d' % i)))
        for i in range(n_hosts))
    n_hot = max(1, int(round(n_hosts * hot_fraction)))
    weights = [2.0 if i < n_hot else 1.0 for i in range(n_hosts)]
    used = [[0.0, 0.0, 0.0] for _ in range(n_hosts)]
    instances = []
    usage = {}
    flavors = ((1, 2048, 20), (2, 4096, 40), (4, 8192, 80))

    def fits(h, flavor):
        return (used[h][0] + flavor[0] <= host_vcpus
                and used[h][1] + flavor[1] <= host_ram_mb
                and used[h][2] + flavor[2] <= host_disk_gb)

    for j in range(n_vms):
        flavor = rng.choice(flavors)
        for _ in range(100):
            h = rng.choices(range(n_hosts), weights)[0]
            if fits(h, flavor):
                break
        else:
            room = [i for i in range(n_hosts) if fits(i, flavor)]
            if not room:
                raise ValueError('%d VMs do not fit on %d hosts'
                                 % (n_vms, n_hosts))
            h = min(room, key=lambda i: used[i][0])
        for d in range(3):
            used[h][d] += flavor[d]
        u = str(uuid_mod.uuid5(_NS, 'rnd-vm-%d-%d' % (seed, j)))
        instances.append(snap.Instance(
            uuid=u, host=hosts[h].name, vcpus=flavor[0], ram_mb=flavor[1],
            disk_gb=flavor[2], name='vm%05d' % j))
        cpu = (rng.uniform(0.6, 1.0) if h < n_hot
               else rng.uniform(0.02, 0.3))
        usage[u] = snap.make_usage(
            {snap.CPU: cpu, snap.RAM: flavor[1] * rng.uniform(0.3, 0.9)})
    return snap.Snapshot(hosts=hosts, instances=tuple(instances),
                         usage=usage)


def over_capacity(snapshot):
    """Names of hosts whose instances' flavors exceed their capacity."""
    load = collections.defaultdict(lambda: snap.Resources())
    for inst in snapshot.instances:
        load[inst.host] = load[inst.host] + inst.resources
    return tuple(h.name for h in snapshot.hosts
                 if not load[h.name].fits_in(h.capacity))


def host_cpu_percent(snapshot):
    """``{host: busy cores / vCPUs x 100}`` (what the datasource serves)."""
    ds = SnapshotDatasource(snapshot)
    return {h.name: ds._host_value(types.SimpleNamespace(
        hostname=h.name, vcpus=h.vcpus), 'host_cpu_usage')
        for h in snapshot.hosts}


def _check_dag(plan):
    moved = {m[0] for m in plan.moves}
    assert set(plan.parents) == moved, plan
    for vm, ps in plan.parents.items():
        assert vm not in ps and set(ps) <= moved, (vm, ps)


def _selfcheck():
    """Quick checks of units, planners, determinism and the loop."""
    ensure_watcher()
    # Units served by the datasource.
    k = snap.Snapshot(
        hosts=(snap.Host('a', vcpus=8, ram_mb=16384, disk_gb=100),
               snap.Host('b', vcpus=8, ram_mb=16384, disk_gb=100),
               snap.Host('c', vcpus=8, ram_mb=16384, disk_gb=100)),
        instances=(snap.Instance('11111111-0000-0000-0000-000000000001', 'a',
                                 vcpus=2, ram_mb=4096, disk_gb=10),
                   snap.Instance('11111111-0000-0000-0000-000000000002', 'a',
                                 vcpus=4, ram_mb=4096, disk_gb=10),
                   snap.Instance('11111111-0000-0000-0000-000000000003', 'b',
                                 vcpus=2, ram_mb=2048, disk_gb=10)),
        usage={'11111111-0000-0000-0000-000000000001': snap.make_usage(
                   {snap.CPU: 0.5, snap.RAM: 1000.0, snap.L3_CACHE: 2.0}),
               '11111111-0000-0000-0000-000000000002': snap.make_usage(
                   {snap.CPU: 1.0, snap.RAM: None}),
               '11111111-0000-0000-0000-000000000003': snap.make_usage(
                   {snap.CPU: None, snap.RAM: None})})
    model = build_model(k)
    ds = SnapshotDatasource(k)
    i1 = model.get_instance_by_uuid('11111111-0000-0000-0000-000000000001')
    i2 = model.get_instance_by_uuid('11111111-0000-0000-0000-000000000002')
    na, nb, nc = (model.get_node_by_name(n) for n in 'abc')
    assert ds.get_instance_cpu_usage(i1, 300, 'mean') == 50.0
    assert ds.get_instance_ram_usage(i1, 300, 'mean') == 1000.0
    assert ds.get_instance_ram_usage(i2, 300, 'mean') is None
    assert ds.get_instance_ram_allocated(i1, 300, 'mean') == 4096.0
    assert ds.get_instance_root_disk_size(i1, 300, 'mean') == 10.0
    assert ds.get_instance_l3_cache_usage(i1, 300, 'mean') == 2 * 2 ** 20
    # a: (0.5*2 + 1.0*4) cores / 8 = 62.5 %; RAM only i1 known: 1000 MiB.
    assert ds.get_host_cpu_usage(na, 300, 'mean') == 62.5
    assert ds.get_host_ram_usage(na, 300, 'mean') == 1000.0 * 1024
    assert ds.get_host_cpu_usage(nb, 300, 'mean') is None
    assert ds.get_host_cpu_usage(nc, 300, 'mean') == 0.0
    try:
        ds.get_host_power(na, 300, 'mean')
    except exception.MetricNotAvailable:
        pass
    else:
        raise AssertionError('host_power must not be available')
    # Through the base class cache: second call is not a new query.
    q = ds.queries
    for _ in range(2):
        assert ds.statistic_aggregation(i1, 'instance', 'instance_cpu_usage',
                                        600, 'mean', 300) == 50.0
    assert ds.queries == q + 1

    # workload_stabilization: proposes, is seeded, restores random.
    rnd = random_snapshot(10, 80, seed=1)
    random.seed(12345)
    state = random.getstate()
    p1 = workload_stabilization(rnd, seed=3)
    assert random.getstate() == state
    p2 = workload_stabilization(rnd, seed=3)
    assert p1.moves == p2.moves and p1.moves, p1
    assert all(ps == () for ps in p1.parents.values())
    _check_dag(p1)
    hosts = {h.name for h in rnd.hosts}
    for vm, src, dst in p1.moves:
        assert rnd.instance_by_uuid[vm].host == src and dst in hosts
    # Same solution through the weight planner: chunks of 2, each chunk
    # depending on the previous one.
    p3 = workload_stabilization(rnd, planner=WEIGHT, seed=3)
    assert p3.moves == p1.moves
    _check_dag(p3)
    vms = [m[0] for m in p3.moves]
    for i, vm in enumerate(vms):
        expect = () if i < 2 else tuple(vms[(i // 2 - 1) * 2:(i // 2) * 2])
        assert set(p3.parents[vm]) == set(expect), (i, p3.parents[vm])
    # Both metrics.
    p4 = workload_stabilization(
        rnd, seed=3, metrics=['instance_cpu_usage', 'instance_ram_usage'])
    _check_dag(p4)

    # workload_balance loop: one move per audit, chained, converges.
    wb = workload_balance_loop(rnd)
    assert wb.audits == len(wb.moves) + 1, wb
    _check_dag(wb)
    vms = [m[0] for m in wb.moves]
    assert len(set(vms)) == len(vms)
    for i, vm in enumerate(vms):
        assert wb.parents[vm] == (() if i == 0 else (vms[i - 1],))
    after = snapshot_after(rnd, wb.moves)
    cpu = host_cpu_percent(after)
    # Converged: re-auditing plans nothing more.
    assert workload_balance_loop(after).moves == ()
    wbw = workload_balance_loop(rnd, planner=WS)
    assert wbw.moves == wb.moves and wbw.parents == wb.parents

    # snapshot_after moves instances and their usage.
    vm, src, dst = wb.moves[0]
    moved = snapshot_after(rnd, wb.moves[:1])
    assert moved.instance_by_uuid[vm].host == dst
    assert moved.usage_of(vm) is rnd.usage_of(vm)
    try:
        snapshot_after(moved, wb.moves[:1])
    except ValueError:
        pass
    else:
        raise AssertionError('stale source must be refused')
    return {'ws_moves': len(p1.moves), 'ws_weight_moves': len(p3.moves),
            'ws_cpu_ram_moves': len(p4.moves), 'wb_moves': len(wb.moves),
            'wb_audits': wb.audits,
            'max_host_cpu_after_wb': max(v for v in cpu.values()
                                         if v is not None)}


def _describe(plan, before):
    moved = snapshot_after(before, plan.moves)
    after = host_cpu_percent(moved)
    cpu0 = host_cpu_percent(before)
    return ('%-40s moves=%5d audits=%3d plan_time=%8.3fs '
            'max host cpu %5.1f%% -> %5.1f%%, hosts over capacity %d -> %d'
            % (plan.name, len(plan.moves), plan.audits, plan.plan_time_s,
               max(cpu0.values()), max(after.values()),
               len(over_capacity(before)), len(over_capacity(moved))))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--selfcheck':
        print('selfcheck ok: %s' % (_selfcheck(),))
        return 0
    n_hosts, n_vms = 10, 80
    if len(argv) >= 2:
        n_hosts, n_vms = int(argv[0]), int(argv[1])
    ensure_watcher()
    k = random_snapshot(n_hosts, n_vms, seed=0)
    print('%d hosts x %d VMs' % (n_hosts, n_vms))
    print(_describe(workload_stabilization(k), k))
    print(_describe(workload_stabilization(k, planner=WEIGHT), k))
    print(_describe(workload_balance_loop(k), k))
    return 0


if __name__ == '__main__':
    sys.exit(main())
