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

Elements are oslo versioned objects, whose field descriptor costs about
2.5 us a read (measured: a third of ``read_model`` at 100,000 instances);
each element's stored field values (``_obj_<field>``) are read once as
plain attributes (:func:`_fields`), falling back to the descriptor for a
field that is not set, so the values are exactly what the descriptor
returns.  Never through ``vars(element)``: on Python 3.11+ an object's
attributes live inline until its ``__dict__`` is asked for, which then
builds a dictionary per element (twice the cost of the read, and 10,000
more objects for the cyclic collector at 500 hosts).
"""

import itertools
import operator

from watcher_informed.core import snapshot as snap

_UNSET = object()


def _fields(element):
    """``get(name, default)`` over an element's field values.

    Reads oslo.versionedobjects' storage (``_obj_<field>``) directly;
    a field that is not set goes through the descriptor, as before.
    """
    def get(name, default=None):
        value = getattr(element, '_obj_' + name, _UNSET)
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


#: the ``Instance`` element fields the core reads, in this order.
_INSTANCE_FIELDS = ('uuid', 'name', 'vcpus', 'memory', 'disk', 'state',
                    'locked', 'watcher_exclude', 'metadata', 'pinned_az')
_STORED = operator.attrgetter(*('_obj_' + f for f in _INSTANCE_FIELDS))


#: fields read when set (extended attributes), ``None`` otherwise.
_OPTIONAL_FIELDS = ('flavor_extra_specs', 'project_id')


_ALL_STORED = operator.attrgetter(*('_obj_' + f for f in
                                     _INSTANCE_FIELDS + _OPTIONAL_FIELDS))


def _instance_values(instance):
    """The :data:`_INSTANCE_FIELDS` of an element, in one lookup, then
    the :data:`_OPTIONAL_FIELDS`."""
    try:
        return _ALL_STORED(instance)
    except AttributeError:
        pass
    get = _fields(instance)
    try:
        values = _STORED(instance)
    except AttributeError:
        # a field not set: each through the descriptor, as before
        values = tuple(get(name) for name in _INSTANCE_FIELDS)
    return values + tuple(get(name) for name in _OPTIONAL_FIELDS)


def _instance(values, host_name):
    (uuid, name, vcpus, memory, disk, state, locked, exclude, metadata,
     pinned_az, extra_specs, project_id) = values
    # positional, in instance_of's order: uuid, host, vcpus, ram_mb,
    # disk_gb, name, state, locked, excluded, metadata, pinned_az,
    # extra_specs, project_id
    return snap.instance_of(
        uuid, host_name, float(vcpus), float(memory), float(disk or 0),
        name or '', state, bool(locked), bool(exclude),
        _metadata(metadata) if metadata else {}, pinned_az or None,
        _metadata(extra_specs) if extra_specs else {},
        str(project_id or ''))


def instance_from_element(instance, host_name):
    """A core :class:`Instance` from a Watcher ``Instance`` element."""
    return _instance(_instance_values(instance), host_name)


_UUID = operator.itemgetter(0)


def _uuid_of_row(row):
    return row[0][0]


def _node_instances(model):
    """``{node uuid: [Instance element, ...]}`` in one pass over the graph.

    What ``get_node_instances`` answers for every node (an instance
    element is mapped to its node by one edge, instance -> node), without
    its lock, node check and two lookups per instance: a tenth of the
    model read at 500 hosts.
    """
    from watcher.decision_engine.model import element
    elements = dict(model.nodes(data='attr'))
    placed = {}
    for source, target in model.edges():
        found = elements[source]
        if isinstance(found, element.Instance):
            placed.setdefault(target, []).append(found)
    return placed


def read_model(model, zones=None, nodes=None):
    """``(hosts, instances, {uuid: watcher Instance element})``.

    ``nodes``: the model's ``get_all_compute_nodes()``, if known.
    """
    hosts, instances, elements = [], [], {}
    if nodes is None:
        nodes = model.get_all_compute_nodes()
    nodes = sorted(nodes.values(), key=lambda n: _fields(n)('hostname'))
    placed = _node_instances(model)
    for node in nodes:
        host = host_from_node(node, zones)
        hosts.append(host)
        name = host.name
        # by uuid (unique in the model, so no tie compares further)
        found = placed.get(node.uuid, ())
        rows = sorted(zip(map(_instance_values, found), found),
                      key=_uuid_of_row)
        if rows:
            values, found = zip(*rows)
            instances.extend(map(_instance, values, itertools.repeat(name)))
            elements.update(zip(map(_UUID, values), found))
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
