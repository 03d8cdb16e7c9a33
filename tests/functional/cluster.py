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
``watcher.decision_engine.model.model_root.ModelRoot`` out of the real
``ComputeNode`` and ``Instance`` elements the off-cloud harness makes
(:mod:`watcher_informed.harness`), the metric values the strategy will read
(through the plugin's in-memory reader) and the Nova facts (server groups,
host availability zones).  :func:`run` runs the strategy through the
harness: Watcher's own loader and validator, those collaborators injected,
``execute()``.

Only Nova itself is replaced, by the harness's ``StaticNova``: real Nova
cannot run in this unit of testing (no Keystone, no nova-api, no
computes); the end-to-end suite covers the plugin against a real cloud.
"""

import uuid as uuid_mod

from watcher.decision_engine.model import model_root

from watcher_informed import harness
from watcher_informed.adapters.metrics import memory
from watcher_informed.core import snapshot as snap

STRATEGY = harness.STRATEGY
PROJECT = harness.PROJECT
_NS = uuid_mod.UUID('6f1a4a52-38a1-4c38-8f1e-3d0c5b7f2a10')
#: the harness's Nova stand-in, under the name the tests know.
FakeNova = harness.StaticNova


def uid(name):
    """Deterministic, schema-valid UUID of a test object name."""
    return str(uuid_mod.uuid5(_NS, name))


class Cluster:
    """A Watcher compute model plus the metrics and Nova facts of a test."""

    def __init__(self):
        self.model = model_root.ModelRoot()
        self.values = {}
        self.groups = []
        self.zones = {}
        self.names = {}
        self._nodes = {}

    def host(self, name, vcpus=8, memory=16384, disk=500, state='up',
             status='enabled'):
        node = harness.make_node(snap.Host(
            name=name, uuid=uid('node-' + name), vcpus=vcpus, ram_mb=memory,
            disk_gb=disk, up=state == 'up', enabled=status == 'enabled'))
        self.model.add_node(node)
        self._nodes[name] = node
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
        inst = harness.make_instance(snap.Instance(
            uuid=u, host=host, name=name, vcpus=vcpus, ram_mb=memory,
            disk_gb=disk, state=state, locked=locked, excluded=exclude,
            metadata=metadata or {}, pinned_az=pinned_az or None))
        self.model.add_instance(inst)
        self.model.map_instance(inst, self._nodes[host])
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

    def cloud(self, reader=None):
        """The cluster as the harness's :class:`~harness.Cloud`."""
        # no Watcher database here: the recent migrations come from the
        # cluster (test_history_db.py reads them from a real database)
        return harness.Cloud(
            model=self.model,
            reader=reader or memory.InMemoryMetrics.from_values(
                self.values),
            nova=harness.StaticNova(self.groups, self.zones),
            history=lambda now, window: tuple(
                getattr(self, 'recent', ())))


def audit_parameters(schema, **params):
    """Audit parameters as Watcher hands them to a strategy (harness)."""
    return harness.audit_parameters(schema, params)


def load_strategy():
    return harness.load_strategy()


def prepare(cluster, reader=None, **params):
    """A loaded strategy with the cluster's collaborators injected."""
    return harness.prepare(cluster.cloud(reader), params)


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
