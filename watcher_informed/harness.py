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

"""One off-cloud harness: the real strategy and planner on given values.

Contract: everything the command line (scenario files), the benchmark and
the functional tests need to run the ``informed_live_migration`` strategy
*without a cloud*, written once:

* :func:`ensure_watcher` parses Watcher's (empty) configuration once and
  registers its versioned objects;
* :func:`build_model` turns core :class:`~watcher_informed.core.snapshot.
  Host` / ``Instance`` values into a real Watcher ``ModelRoot`` made of the
  elements Nova's collector creates, in time linear in hosts + instances;
* :class:`StaticNova` answers the Nova, Neutron and Placement calls the
  strategy makes (server groups, compute services' availability zones,
  aggregates, SR-IOV ports, traits, PCPUs) from values -- the only
  stand-in, because real Nova cannot run off-cloud;
* :func:`prepare` loads the strategy through Watcher's own loader,
  validates the audit parameters with Watcher's own validator and injects
  the model, the metric reader, Nova, the migration history and the
  clock; :func:`run` also executes it and builds the planner's DAG.

It imports Watcher, so it is wiring, not core; nothing here decides.
"""

import copy
import dataclasses
import types
import typing
import uuid as uuid_mod

STRATEGY = 'informed_live_migration'
#: project of the instances of an off-cloud model (Watcher needs one).
PROJECT = '11111111-1111-1111-1111-111111111111'
_NS = uuid_mod.UUID('0d8b1e86-6c2b-4f4e-9d8e-4b3f1c2a7e55')
_READY = []


def ensure_watcher():
    """Parse Watcher's (empty) configuration once; register its objects."""
    if _READY:
        return
    from oslo_config import cfg
    from watcher import objects
    try:
        cfg.CONF.config_file
    except cfg.NoSuchOptError:
        cfg.CONF(args=[], project='watcher')
    objects.register_all()
    _READY.append(True)


def host_uuid(host):
    """The node uuid of a core host (derived from its name if unset)."""
    return host.uuid or str(uuid_mod.uuid5(_NS, 'host:' + host.name))


def _int(value):
    # Watcher's element fields are NonNegativeIntegerFields (Nova reports
    # integers); core sizes are floats.
    return int(round(value))


def make_node(host):
    """A real ``ComputeNode`` with the attributes Nova's collector sets."""
    from watcher.decision_engine.model import element
    return element.ComputeNode(
        uuid=host_uuid(host), hostname=host.name,
        vcpus=_int(host.vcpus), memory=_int(host.ram_mb),
        disk=_int(host.disk_gb), vcpu_reserved=_int(host.vcpu_reserved),
        memory_mb_reserved=_int(host.ram_reserved_mb),
        disk_gb_reserved=_int(host.disk_reserved_gb),
        vcpu_ratio=float(host.vcpu_ratio),
        memory_ratio=float(host.ram_ratio),
        disk_ratio=float(host.disk_ratio),
        state=(element.ServiceState.ONLINE.value if host.up
               else element.ServiceState.OFFLINE.value),
        status=(element.ServiceState.ENABLED.value if host.enabled
                else element.ServiceState.DISABLED.value),
        disabled_reason=None)


def make_instance(inst, project=PROJECT):
    """A real ``Instance`` with the attributes Nova's collector sets."""
    from watcher.decision_engine.model import element
    return element.Instance(
        uuid=inst.uuid, name=inst.name or inst.uuid,
        vcpus=_int(inst.vcpus), memory=_int(inst.ram_mb),
        disk=_int(inst.disk_gb), state=inst.state,
        metadata=dict(inst.metadata), project_id=project,
        locked=bool(inst.locked), watcher_exclude=bool(inst.excluded),
        host=inst.host, hypervisor_hostname=inst.host,
        flavor_extra_specs=dict(inst.extra_specs),
        pinned_az=inst.pinned_az or '')


def build_model(hosts, instances, projects=None, project=PROJECT):
    """A real Watcher ``ModelRoot`` holding ``hosts`` and ``instances``.

    ``projects`` maps an instance uuid to its project (default
    ``project``).  Nodes are looked up in a dict built here, never
    with ``ModelRoot.get_node_by_name`` (a scan of every node per call).
    """
    projects = projects or {}
    from watcher.decision_engine.model import model_root
    model = model_root.ModelRoot()
    nodes = {}
    for host in hosts:
        node = make_node(host)
        model.add_node(node)
        nodes[host.name] = node
    for inst in instances:
        element = make_instance(inst, projects.get(inst.uuid, project))
        model.add_instance(element)
        model.map_instance(element, nodes[inst.host])
    return model


class StaticNova:
    """Duck-typed stand-in for an openstacksdk ``Connection``.

    Real Nova, Neutron and Placement cannot run off-cloud (the end-to-end
    suite covers the real ones).  Only the proxy calls the plugin makes
    exist, with openstacksdk's argument and attribute names:
    ``compute.server_groups(all_projects=True)`` -> ``id``, ``name``,
    ``policy``, ``member_ids``; ``compute.services(binary=...)`` ->
    ``host``, ``availability_zone``; ``compute.aggregates()`` -> ``name``,
    ``uuid``, ``hosts``, ``metadata``; ``compute.servers(details=True,
    all_projects=True)`` -> ``id``, ``project_id``, ``flavor`` with
    ``extra_specs``, ``pinned_availability_zone``;
    ``network.ports(**{'binding:vnic_type': [...]})`` -> ``device_id``,
    ``binding_vnic_type``; ``placement.resource_providers(required=T |
    resources='PCPU:1')`` -> ``id``, ``name``;
    ``placement.resource_provider_inventories(rp)``.  Calls are recorded
    in :attr:`calls`.

    ``groups`` are core :class:`~watcher_informed.core.snapshot.
    ServerGroup` values or dicts with openstacksdk's keys; ``zones`` maps
    a host name to its availability zone; ``aggregates`` are core
    ``Aggregate`` values; ``traits`` and ``pcpus`` map host names to
    their traits and allocatable PCPUs; ``servers`` are core
    ``Instance`` values (their extra specs, project, zone and vNICs).
    """

    def __init__(self, groups=(), zones=None, aggregates=(), traits=None,
                 pcpus=None, servers=()):
        self.calls = []
        self._groups = [self._group(g) for g in groups]
        self._services = [
            types.SimpleNamespace(host=h, availability_zone=z,
                                  binary='nova-compute')
            for h, z in sorted((zones or {}).items())]
        self._aggregates = [
            types.SimpleNamespace(name=a.name, uuid=a.uuid, id=a.uuid,
                                  hosts=list(a.hosts),
                                  metadata=dict(a.metadata),
                                  availability_zone=None)
            for a in aggregates]
        self._traits = {h: frozenset(t) for h, t in (traits or {}).items()}
        self._pcpus = dict(pcpus or {})
        self._servers = list(servers)
        self.compute = types.SimpleNamespace(
            server_groups=self._server_groups, services=self._list_services,
            aggregates=self._list_aggregates, servers=self._list_servers)
        self.network = types.SimpleNamespace(ports=self._ports)
        self.placement = types.SimpleNamespace(
            resource_providers=self._providers,
            resource_provider_inventories=self._inventories)

    @staticmethod
    def _group(group):
        if isinstance(group, dict):
            return types.SimpleNamespace(**group)
        return types.SimpleNamespace(id=group.uuid, name=group.name,
                                     policy=group.policy,
                                     member_ids=list(group.members))

    def _server_groups(self, all_projects=False):
        self.calls.append(('server_groups', all_projects))
        if all_projects is not True:
            raise AssertionError('the admin must see every project')
        return list(self._groups)

    def _list_services(self, binary=None):
        self.calls.append(('services', binary))
        return [s for s in self._services
                if binary is None or s.binary == binary]

    def _list_aggregates(self):
        self.calls.append(('aggregates',))
        return list(self._aggregates)

    def _list_servers(self, details=False, all_projects=False):
        self.calls.append(('servers', details, all_projects))
        if details is not True or all_projects is not True:
            raise AssertionError('the admin must see every server detailed')
        return [types.SimpleNamespace(
            id=i.uuid, project_id=i.project_id,
            flavor={'extra_specs': dict(i.extra_specs)},
            pinned_availability_zone=i.pinned_az)
            for i in self._servers]

    def _ports(self, **query):
        wanted = query.get('binding:vnic_type')
        self.calls.append(('ports', tuple(wanted or ())))
        return [types.SimpleNamespace(device_id=i.uuid, binding_vnic_type=v)
                for i in self._servers for v in i.vnic_types
                if wanted is None or v in wanted]

    def _providers(self, required=None, resources=None):
        self.calls.append(('resource_providers', required or resources))
        if required is not None:
            names = [h for h, t in sorted(self._traits.items())
                     if required in t]
        elif resources == 'PCPU:1':
            names = [h for h, n in sorted(self._pcpus.items()) if n >= 1]
        else:
            raise AssertionError('unexpected query %r' % resources)
        return [types.SimpleNamespace(id='', name=h) for h in names]

    def _inventories(self, provider):
        self.calls.append(('inventories', provider.name))
        return [types.SimpleNamespace(
            resource_class='PCPU', total=self._pcpus[provider.name],
            reserved=0, allocation_ratio=1.0)]


def audit_parameters(schema, params):
    """Validate and default-fill ``params`` as Watcher does (a copy).

    Watcher's own ``StrictDefaultValidatingDraft4Validator``, like its
    API and decision engine; raises ``jsonschema.ValidationError``.
    """
    from watcher.common import utils
    params = copy.deepcopy(dict(params))
    utils.StrictDefaultValidatingDraft4Validator(schema).validate(params)
    return params


def load_strategy(name=STRATEGY):
    """The strategy, loaded by Watcher's own loader (one entry point)."""
    ensure_watcher()
    from watcher.decision_engine.loading import default as loading
    return loading.DefaultStrategyLoader().load(name)


@dataclasses.dataclass
class Cloud:
    """What an audit reads, as values: the off-cloud stand-in of a cloud.

    ``history(now, window_s)`` returns recent migrations
    (:class:`~watcher_informed.core.snapshot.RecentMove`); ``now`` is the
    audit's clock (``None``: the strategy's own).
    """

    model: object
    reader: object
    nova: object = dataclasses.field(default_factory=StaticNova)
    history: typing.Callable = lambda now, window_s: ()
    now: typing.Optional[float] = None


def prepare(cloud, params, strategy=None):
    """A loaded strategy with ``cloud``'s collaborators injected."""
    from watcher.common import utils
    strategy = strategy or load_strategy()
    strategy._compute_model = cloud.model
    strategy.metrics_reader = cloud.reader
    strategy.nova_connection = cloud.nova
    strategy.history_source = cloud.history
    # build_model fills the flavor extra specs and pinned zones, as
    # Watcher's collector does with enable_extended_attributes
    strategy.extended_attributes = True
    if cloud.now is not None:
        strategy.clock = lambda: cloud.now
    strategy.input_parameters = utils.Struct(
        audit_parameters(strategy.get_schema(), params))
    return strategy


def run(cloud, params):
    """Execute the strategy on ``cloud``.

    Returns ``(strategy, solution, rows)`` where ``rows`` are the planner's
    ``(action, uuid, parent uuids)`` -- the DAG the applier would run.
    """
    from watcher_informed.planners import informed_live_migration as planner
    strategy = prepare(cloud, params)
    solution = strategy.execute()
    rows = planner.action_parents(solution.actions, strategy.informed_plan)
    return strategy, solution, rows
