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

"""Small clusters in Watcher's real compute model, for functional tests.

:class:`Cluster` builds a real
``watcher.decision_engine.model.model_root.ModelRoot`` out of real
``ComputeNode`` and ``Instance`` elements, the metric values the strategy
will read (through the plugin's in-memory reader) and the Nova facts
(server groups, host availability zones).  :func:`run` loads the strategy
through Watcher's own loader, validates the audit parameters with Watcher's
own validator, injects those collaborators and calls ``execute()``.

Only Nova itself is replaced, by :class:`FakeNova`: real Nova cannot run
in this unit of testing (no Keystone, no nova-api, no computes); the
end-to-end issue covers the plugin against a real cloud.
"""

import types
import uuid as uuid_mod

from watcher.common import utils
from watcher.decision_engine.loading import default as loading
from watcher.decision_engine.model import element
from watcher.decision_engine.model import model_root

from watcher_informed.adapters.metrics import memory

STRATEGY = 'informed_live_migration'
PROJECT = '11111111-1111-1111-1111-111111111111'
_NS = uuid_mod.UUID('6f1a4a52-38a1-4c38-8f1e-3d0c5b7f2a10')


def uid(name):
    """Deterministic, schema-valid UUID of a test object name."""
    return str(uuid_mod.uuid5(_NS, name))


class FakeNova:
    """Duck-typed stand-in for an openstacksdk ``Connection``.

    Real Nova cannot run in this unit of testing; the end-to-end issue
    covers the real client.  Only the two ``compute`` proxy calls the
    plugin makes exist, with openstacksdk's argument and attribute names
    (``server_groups(all_projects=True)`` -> ``id``, ``name``, ``policy``,
    ``member_ids``; ``services(binary=...)`` -> ``host``,
    ``availability_zone``).  Calls are recorded in :attr:`calls`.
    """

    def __init__(self, groups=(), zones=None):
        self.calls = []
        self._groups = [types.SimpleNamespace(**g) for g in groups]
        self._services = [
            types.SimpleNamespace(host=h, availability_zone=z,
                                  binary='nova-compute')
            for h, z in sorted((zones or {}).items())]
        self.compute = types.SimpleNamespace(
            server_groups=self._server_groups, services=self._list_services)

    def _server_groups(self, all_projects=False):
        self.calls.append(('server_groups', all_projects))
        assert all_projects is True, 'the admin must see every project'
        return list(self._groups)

    def _list_services(self, binary=None):
        self.calls.append(('services', binary))
        return [s for s in self._services
                if binary is None or s.binary == binary]


class Cluster:
    """A Watcher compute model plus the metrics and Nova facts of a test."""

    def __init__(self):
        self.model = model_root.ModelRoot()
        self.values = {}
        self.groups = []
        self.zones = {}
        self.names = {}

    def host(self, name, vcpus=8, memory=16384, disk=500, state='up',
             status='enabled', **extra):
        node = element.ComputeNode(
            uuid=uid('node-' + name), hostname=name, vcpus=vcpus,
            memory=memory, disk=disk, vcpu_reserved=0,
            memory_mb_reserved=0, disk_gb_reserved=0, vcpu_ratio=1.0,
            memory_ratio=1.0, disk_ratio=1.0, state=state, status=status,
            **extra)
        self.model.add_node(node)
        return node

    def vm(self, name, host, vcpus=2, memory=2048, disk=10, state='active',
           locked=False, exclude=False, metadata=None, pinned_az='',
           metrics=None, **usage):
        """Add an instance on ``host``.

        ``usage`` gives metric values (``cpu``, ``ram``, ``disk_read``,
        ``disk_write``, ``net_rx``, ``net_tx``, ``dirty_rate``); unset ones
        default to an idle, fully measured instance.  ``metrics`` replaces
        the whole per-instance mapping (to leave metrics out).
        """
        u = uid(name)
        inst = element.Instance(
            uuid=u, name=name, vcpus=vcpus, memory=memory, disk=disk,
            state=state, metadata=metadata or {}, project_id=PROJECT,
            locked=locked, watcher_exclude=exclude, pinned_az=pinned_az)
        self.model.add_instance(inst)
        self.model.map_instance(inst, self.model.get_node_by_name(host))
        if metrics is None:
            metrics = {'cpu': 0.01, 'ram': memory / 2.0, 'disk_read': 0.0,
                       'disk_write': 0.0, 'net_rx': 0.0, 'net_tx': 0.0}
            metrics.update(usage)
        self.values[u] = metrics
        self.names[u] = name
        return u

    def group(self, name, policy, *members):
        self.groups.append({'id': uid('group-' + name), 'name': name,
                            'policy': policy,
                            'member_ids': [uid(m) for m in members]})

    def host_of(self, name):
        """Current host of instance ``name`` in the (mutated) model."""
        node = self.model.get_node_by_instance_uuid(uid(name))
        return node.hostname

    def placement(self):
        return {self.names[u]: self.model.get_node_by_instance_uuid(
            u).hostname for u in self.names}


def audit_parameters(schema, **params):
    """Audit parameters as Watcher hands them to a strategy.

    Validated and default-filled by Watcher's own
    ``StrictDefaultValidatingDraft4Validator`` against ``schema``, like the
    API and the decision engine do.
    """
    params = dict(params)
    utils.StrictDefaultValidatingDraft4Validator(schema).validate(params)
    return params


def load_strategy():
    return loading.DefaultStrategyLoader().load(STRATEGY)


def prepare(cluster, reader=None, **params):
    """A loaded strategy with the cluster's collaborators injected."""
    strategy = load_strategy()
    strategy._compute_model = cluster.model
    strategy.metrics_reader = reader or memory.InMemoryMetrics.from_values(
        cluster.values)
    strategy.nova_connection = FakeNova(cluster.groups, cluster.zones)
    # no Watcher database here: the recent migrations come from the
    # cluster (test_history_db.py reads them from a real database)
    strategy.history_source = lambda now, window: tuple(
        getattr(cluster, 'recent', ()))
    strategy.input_parameters = utils.Struct(
        audit_parameters(strategy.get_schema(), **params))
    return strategy


def run(cluster, reader=None, **params):
    """Execute the strategy on ``cluster``: ``(strategy, solution)``."""
    strategy = prepare(cluster, reader, **params)
    solution = strategy.execute()
    return strategy, solution


def moves(solution):
    """``[(resource_id, source, destination)]`` of a solution's actions."""
    return [(a['input_parameters']['resource_id'],
             a['input_parameters']['source_node'],
             a['input_parameters']['destination_node'])
            for a in solution.actions]
