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

"""Watcher compute model -> core snapshot values.

Contract: read a ``watcher.decision_engine.model.model_root.ModelRoot``
once and return frozen :mod:`watcher_informed.core.snapshot` values.  The
adapter never mutates the model and compares elements by uuid only (element
``==`` dumps whole objects).  Excluded (``watcher_exclude``), locked and
non-active instances are kept -- they still use room on their host -- and
flagged so the core never moves them; hosts that are not up and enabled
are kept as sources and never chosen as destinations.  The flavor's
extra specs and the pinned zone are read when Watcher's collector filled
them (``[compute_model] enable_extended_attributes``).
"""

from watcher_informed.core import snapshot as snap


def _metadata(instance, field='metadata'):
    meta = getattr(instance, field, None) or {}
    return {str(k): str(v) for k, v in dict(meta).items()}


def host_from_node(node, zones=None):
    """A core :class:`Host` from a Watcher ``ComputeNode``."""
    return snap.Host(
        name=node.hostname, uuid=node.uuid,
        vcpus=float(node.vcpus), ram_mb=float(node.memory),
        disk_gb=float(node.disk),
        vcpu_reserved=float(node.vcpu_reserved or 0),
        ram_reserved_mb=float(node.memory_mb_reserved or 0),
        disk_reserved_gb=float(node.disk_gb_reserved or 0),
        vcpu_ratio=float(node.vcpu_ratio or 1.0),
        ram_ratio=float(node.memory_ratio or 1.0),
        disk_ratio=float(node.disk_ratio or 1.0),
        up=node.state == 'up', enabled=node.status == 'enabled',
        az=(zones or {}).get(node.hostname))


def instance_from_element(instance, host_name):
    """A core :class:`Instance` from a Watcher ``Instance`` element."""
    return snap.Instance(
        uuid=instance.uuid, host=host_name, name=instance.name or '',
        vcpus=float(instance.vcpus), ram_mb=float(instance.memory),
        disk_gb=float(instance.disk or 0), state=instance.state,
        locked=bool(instance.locked),
        excluded=bool(getattr(instance, 'watcher_exclude', False)),
        metadata=_metadata(instance),
        pinned_az=getattr(instance, 'pinned_az', None) or None,
        extra_specs=_metadata(instance, 'flavor_extra_specs'),
        project_id=str(getattr(instance, 'project_id', '') or ''))


def read_model(model, zones=None):
    """``(hosts, instances, {uuid: watcher Instance element})``."""
    hosts, instances, elements = [], [], {}
    nodes = sorted(model.get_all_compute_nodes().values(),
                   key=lambda n: n.hostname)
    for node in nodes:
        hosts.append(host_from_node(node, zones))
        for inst in sorted(model.get_node_instances(node),
                           key=lambda i: i.uuid):
            instances.append(instance_from_element(inst, node.hostname))
            elements[inst.uuid] = inst
    return tuple(hosts), tuple(instances), elements


def build_snapshot(hosts, instances, usage, server_groups=(),
                   communication_groups=(), recent_moves=(), now=0.0,
                   aggregates=()):
    """Assemble the :class:`Snapshot` the core decides on."""
    present = {i.uuid for i in instances}
    groups = tuple(
        snap.ServerGroup(g.uuid, g.policy,
                         tuple(m for m in g.members if m in present),
                         g.name)
        for g in server_groups)
    comm = tuple(tuple(m for m in group if m in present)
                 for group in communication_groups)
    return snap.Snapshot(hosts, instances, usage, groups,
                         tuple(g for g in comm if len(g) > 1),
                         tuple(recent_moves), now,
                         aggregates=tuple(aggregates))
