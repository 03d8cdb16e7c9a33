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
are kept as sources and never chosen as destinations.

Elements are oslo versioned objects, whose field descriptor costs about
2.5 us a read (measured: a third of ``read_model`` at 100,000 instances);
each element's stored field values are read once from its instance
dictionary (:func:`_fields`), falling back to the descriptor for a field
that is not set, so the values are exactly what the descriptor returns.
"""

from watcher_informed.core import snapshot as snap

_UNSET = object()


def _fields(element):
    """``get(name, default)`` over an element's field values.

    Reads oslo.versionedobjects' storage (``_obj_<field>``) directly;
    a field that is not set goes through the descriptor, as before.
    """
    stored = vars(element)

    def get(name, default=None):
        value = stored.get('_obj_' + name, _UNSET)
        if value is _UNSET:
            return getattr(element, name, default)
        return value
    return get


def _metadata(meta):
    if not meta:
        return {}
    return {str(k): str(v) for k, v in dict(meta).items()}


def host_from_node(node, zones=None):
    """A core :class:`Host` from a Watcher ``ComputeNode``."""
    get = _fields(node)
    return snap.Host(
        name=get('hostname'), uuid=get('uuid'),
        vcpus=float(get('vcpus')), ram_mb=float(get('memory')),
        disk_gb=float(get('disk')),
        vcpu_reserved=float(get('vcpu_reserved') or 0),
        ram_reserved_mb=float(get('memory_mb_reserved') or 0),
        disk_reserved_gb=float(get('disk_gb_reserved') or 0),
        vcpu_ratio=float(get('vcpu_ratio') or 1.0),
        ram_ratio=float(get('memory_ratio') or 1.0),
        disk_ratio=float(get('disk_ratio') or 1.0),
        up=get('state') == 'up', enabled=get('status') == 'enabled',
        az=(zones or {}).get(get('hostname')))


def instance_from_element(instance, host_name):
    """A core :class:`Instance` from a Watcher ``Instance`` element."""
    get = _fields(instance)
    return snap.Instance(
        uuid=get('uuid'), host=host_name, name=get('name') or '',
        vcpus=float(get('vcpus')), ram_mb=float(get('memory')),
        disk_gb=float(get('disk') or 0), state=get('state'),
        locked=bool(get('locked')),
        excluded=bool(get('watcher_exclude', False)),
        metadata=_metadata(get('metadata', None)),
        pinned_az=get('pinned_az', None) or None)


def read_model(model, zones=None):
    """``(hosts, instances, {uuid: watcher Instance element})``."""
    hosts, instances, elements = [], [], {}
    nodes = sorted(model.get_all_compute_nodes().values(),
                   key=lambda n: n.hostname)
    for node in nodes:
        host = host_from_node(node, zones)
        hosts.append(host)
        for inst in sorted(model.get_node_instances(node),
                           key=lambda i: _fields(i)('uuid')):
            core = instance_from_element(inst, host.name)
            instances.append(core)
            elements[core.uuid] = inst
    return tuple(hosts), tuple(instances), elements


def build_snapshot(hosts, instances, usage, server_groups=(),
                   communication_groups=(), recent_moves=(), now=0.0):
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
                         tuple(recent_moves), now)
