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

"""A live cloud -> a version-1 scenario (what an audit would decide on).

Contract: :func:`read_cluster` reads, through an openstacksdk connection,
what Watcher's compute collector (``NovaModelBuilder``) puts into the
compute model -- hypervisors (not ironic) named by their compute service
host, with state and status; totals, reserved amounts and allocation
ratios from their Placement inventories (the hypervisor's totals and
ratio 1.0 when Placement has none); servers of every project with their
flavor's vCPUs and RAM and their local disk (root unless booted from a
volume, plus ephemeral and swap rounded up to GiB), ``vm_state``, lock and
metadata -- plus what the strategy asks Nova itself (server groups, the
compute services' zones; :mod:`.nova`) and what Nova's scheduler checks
(:func:`read_scheduling`: the flavors' extra specs, projects and pinned
zones, PCPU inventories, host aggregates, SR-IOV ports and the traits the
flavors name).  :func:`read_metrics` reads the
audit's metric window with the strategy's reader (``metrics.base``) and
keeps each instance's value, so the scenario's in-memory store answers
exactly what the store answered.  :func:`recent_moves` lists the migrate
actions Watcher executed within the history window, from Watcher's API
(``adapters.history`` reads the same rows from the database).
:func:`scenario` assembles the file ``watcher-informed plan --scenario``
reads; :func:`anonymize` replaces names and ids consistently.  Nothing is
written to any service.
"""

import datetime
import hashlib
import math
import types
import uuid as uuid_mod

from watcher_informed.adapters import nova as nova_adapter
from watcher_informed.adapters import placement as placement_adapter
from watcher_informed.adapters import solution
from watcher_informed.adapters.metrics import base as metrics_base
from watcher_informed.core import scheduling

VERSION = 1
RESOURCE_CLASSES = (('VCPU', 'vcpus', 'vcpu_reserved', 'vcpu_ratio'),
                    ('MEMORY_MB', 'ram_mb', 'ram_reserved_mb', 'ram_ratio'),
                    ('DISK_GB', 'disk_gb', 'disk_reserved_gb',
                     'disk_ratio'))
#: fallback totals of a hypervisor without inventories (Watcher's too).
HYPERVISOR_TOTALS = {'vcpus': 'vcpus', 'ram_mb': 'memory_size',
                     'disk_gb': 'local_disk_size'}


def _get(obj, name, default=None):
    """Attribute or mapping key ``name`` of an openstacksdk resource."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    value = getattr(obj, name, default)
    return default if value is None else value


def _inventories(conn, provider):
    try:
        found = conn.placement.resource_provider_inventories(provider)
        return {_get(inv, 'resource_class'): inv for inv in found}
    except Exception as exc:  # noqa: BLE001 - Watcher falls back too
        if type(exc).__name__ in ('NotFoundException', 'ResourceNotFound'):
            return {}
        raise


def _host(conn, hypervisor, zones):
    service = _get(hypervisor, 'service_details') or {}
    name = _get(service, 'host') or _get(hypervisor, 'name')
    host = {'name': name, 'uuid': _get(hypervisor, 'id')}
    inventories = _inventories(conn, host['uuid'])
    for rc, total, reserved, ratio in RESOURCE_CLASSES:
        inv = inventories.get(rc)
        if inv is not None:
            host[total] = _get(inv, 'total')
            host[reserved] = _get(inv, 'reserved', 0)
            host[ratio] = float(_get(inv, 'allocation_ratio', 1.0))
        else:
            host[total] = _get(hypervisor, HYPERVISOR_TOTALS[total], 0)
            host[reserved] = 0
            host[ratio] = 1.0
    pcpu = inventories.get('PCPU')
    if pcpu is not None:
        host['pcpus'] = max(0.0, (float(_get(pcpu, 'total', 0)) -
                                  float(_get(pcpu, 'reserved', 0))) *
                            float(_get(pcpu, 'allocation_ratio', 1.0)))
    host['state'] = _get(hypervisor, 'state', 'up')
    host['status'] = _get(hypervisor, 'status', 'enabled')
    if zones.get(name):
        host['az'] = zones[name]
    return host


def _local_disk_gb(server, flavor):
    image = _get(server, 'image')
    image_id = _get(image, 'id') if image else None
    root = 0 if not image_id else int(_get(flavor, 'disk', 0))
    swap = _get(flavor, 'swap', 0) or 0
    return root + int(_get(flavor, 'ephemeral', 0) or 0) + \
        int(math.ceil(float(swap) / 1024))


def _instance(server):
    flavor = _get(server, 'flavor') or {}
    out = {
        'uuid': _get(server, 'id'), 'name': _get(server, 'name', ''),
        'host': _get(server, 'compute_host'),
        'vcpus': int(_get(flavor, 'vcpus', 0)),
        'ram_mb': int(_get(flavor, 'ram', 0)),
        'disk_gb': _local_disk_gb(server, flavor),
        'state': _get(server, 'vm_state', 'active'),
        'locked': bool(_get(server, 'is_locked', False)),
        'metadata': {str(k): str(v) for k, v in
                     dict(_get(server, 'metadata') or {}).items()},
    }
    extra = {'extra_specs': nova_adapter.extra_specs_of(server),
             'project_id': str(_get(server, 'project_id', '') or ''),
             'pinned_az': _get(server, 'pinned_availability_zone')}
    out.update({k: v for k, v in extra.items() if v})
    return out


def read_cluster(conn):
    """``(hosts, instances, server_groups)`` as scenario dicts."""
    zones = nova_adapter.host_zones(conn)
    hosts = []
    for hv in conn.compute.hypervisors(details=True):
        if _get(hv, 'hypervisor_type') == 'ironic':
            continue
        hosts.append(_host(conn, hv, zones))
    hosts.sort(key=lambda h: h['name'])
    names = {h['name'] for h in hosts}
    instances = []
    for server in conn.compute.servers(details=True, all_projects=True):
        inst = _instance(server)
        if inst['state'] == 'deleted' or inst['host'] not in names:
            continue
        instances.append(inst)
    instances.sort(key=lambda i: i['uuid'])
    present = {i['uuid'] for i in instances}
    groups = [{'uuid': g.uuid, 'name': g.name, 'policy': g.policy,
               'members': [m for m in g.members if m in present]}
              for g in nova_adapter.server_groups(conn)]
    return hosts, instances, groups


def read_scheduling(conn, hosts, instances):
    """Nova's scheduling facts onto the scenario dicts; the aggregates.

    Adds each instance's SR-IOV/vDPA ``vnic_types`` and each host's
    ``traits`` (only those the flavors or isolated aggregates name, one
    Placement call per trait); returns Nova's aggregates (one call) as
    scenario dicts restricted to the exported hosts.
    """
    names = {h['name'] for h in hosts}
    ports = nova_adapter.device_ports(conn)
    for inst in instances:
        if inst['uuid'] in ports:
            inst['vnic_types'] = list(ports[inst['uuid']])
    aggregates = [a for a in nova_adapter.aggregates(conn)
                  if set(a.hosts) & names]
    traits = set()
    for inst in instances:
        needs = scheduling.needs_of(inst.get('extra_specs') or {})
        traits |= needs.required | needs.forbidden
    for agg in aggregates:
        traits |= scheduling.offer_of((), [agg.metadata]).isolating
    if traits:
        found = placement_adapter.host_traits(
            conn, [types.SimpleNamespace(name=h['name'],
                                         uuid=h.get('uuid') or '')
                   for h in hosts], traits)
        for h in hosts:
            if found.get(h['name']):
                h['traits'] = sorted(found[h['name']])
    return [{'name': a.name, 'uuid': a.uuid,
             'hosts': [x for x in a.hosts if x in names],
             'metadata': dict(a.metadata)} for a in aggregates]


def read_metrics(reader, instances, window):
    """``{uuid: {metric: value}}`` of the window; missing ones left out."""
    elements = [types.SimpleNamespace(uuid=i['uuid'], vcpus=i['vcpus'],
                                      name=i.get('name', ''))
                for i in instances]
    usage = metrics_base.read_usage(reader, elements, window)
    out = {}
    columns = getattr(usage, 'columns', None)
    if columns is None:         # a plain {uuid: Usage} mapping
        for uuid in usage:
            out[uuid] = dict(usage[uuid].values)
    else:                       # core.usage.UsageTable: read the arrays
        out = {u: {} for u in usage.uuids}
        for metric, col in sorted(columns.items()):
            for uuid, value in zip(usage.uuids, col.tolist()):
                if value == value:      # NaN: missing
                    out[uuid][metric] = value
    return {u: dict(sorted(m.items())) for u, m in sorted(out.items())
            if m}


def _epoch(text):
    if not text:
        return None
    stamp = datetime.datetime.fromisoformat(str(text).replace('Z', ''))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


def recent_moves(actions, now, window_s):
    """Succeeded migrate (or informed_migrate) actions within the window.

    ``actions`` are the API's action dicts (``GET /v1/actions/detail``);
    the finishing time is ``updated_at``, as in ``adapters.history``.
    """
    out = []
    for action in actions:
        if action.get('action_type') not in solution.MOVE_ACTIONS or \
                action.get('state') != 'SUCCEEDED':
            continue
        params = action.get('input_parameters') or {}
        finished = _epoch(action.get('updated_at') or
                          action.get('created_at'))
        if finished is None or not 0 <= now - finished <= window_s:
            continue
        if not params.get('resource_id') or not params.get('source_node'):
            continue
        out.append({'uuid': params['resource_id'],
                    'source': params['source_node'],
                    'dest': params.get('destination_node') or '',
                    'finished_at': round(finished, 3)})
    return sorted(out, key=lambda m: (m['finished_at'], m['uuid']))


def scenario(hosts, instances, groups, metrics, parameters, now,
             moves=(), description='', aggregates=()):
    """The version-1 scenario document of a live read."""
    known = {i['uuid'] for i in instances}
    data = {'version': VERSION,
            'description': description,
            'now': now,
            'parameters': dict(parameters),
            'hosts': hosts, 'instances': instances,
            'server_groups': groups,
            'metrics': {u: m for u, m in metrics.items() if u in known},
            'recent_moves': [m for m in moves if m['uuid'] in known]}
    if aggregates:
        data['aggregates'] = list(aggregates)
    return data


class _Renamer:
    """Consistent, order-preserving replacements.

    The plan breaks ties by UUID and host name, so replacements keep the
    originals' sort order: a UUID's first 8 digits are its rank among the
    file's UUIDs, the rest a salted hash; names are numbered in sorted
    order.
    """

    def __init__(self, salt, uuids, names):
        self.salt = salt
        self.rank = {u: n for n, u in enumerate(sorted(set(uuids)))}
        self.names = {}
        for kind, values in names.items():
            self.names[kind] = {v: '%s-%04d' % (kind, n + 1) for n, v in
                                enumerate(sorted(set(values)))}

    def uuid(self, value):
        if not value:
            return value
        digest = hashlib.sha256(
            (self.salt + ':' + value).encode()).hexdigest()
        return str(uuid_mod.UUID('%08x' % self.rank[value] + digest[8:32],
                                 version=4))

    def name(self, kind, value):
        return self.names[kind].get(value, value) if value else value


def _ids(data):
    uuids = [h.get('uuid') for h in data['hosts'] if h.get('uuid')]
    uuids += [i['uuid'] for i in data['instances']]
    uuids += [g['uuid'] for g in data.get('server_groups', [])]
    uuids += [m for g in data.get('server_groups', []) for m in g['members']]
    uuids += list(data.get('metrics', {}))
    uuids += [m['uuid'] for m in data.get('recent_moves', [])]
    uuids += [m for g in data.get('parameters', {}).get(
        'communication_groups', []) for m in g]
    zones = [h['az'] for h in data['hosts'] if h.get('az')]
    zones += [i['pinned_az'] for i in data['instances']
              if i.get('pinned_az')]
    aggs = data.get('aggregates', [])
    zones += [a['metadata']['availability_zone'] for a in aggs
              if a.get('metadata', {}).get('availability_zone')]
    projects = [i['project_id'] for i in data['instances']
                if i.get('project_id')]
    for agg in aggs:
        for key, value in agg.get('metadata', {}).items():
            if key.startswith(scheduling.TENANT_KEY):
                projects += [t.strip() for t in value.split(',')
                             if t.strip()]
    return uuids, {
        'host': [h['name'] for h in data['hosts']],
        'vm': [i.get('name') or i['uuid'] for i in data['instances']],
        'group': [g.get('name') or g['uuid']
                  for g in data.get('server_groups', [])],
        'az': zones, 'project': projects,
        'aggregate': [a['name'] for a in aggs]}


def _anonymous_aggregate(agg, r):
    meta = {}
    for key, value in agg.get('metadata', {}).items():
        if key == 'availability_zone':
            value = r.name('az', value)
        elif key.startswith(scheduling.TENANT_KEY):
            value = ','.join(r.name('project', t.strip())
                             for t in value.split(',') if t.strip())
        meta[key] = value
    out = dict(agg, name=r.name('aggregate', agg['name']),
               hosts=[r.name('host', h) for h in agg['hosts']],
               metadata=meta)
    out.pop('uuid', None)
    return out


def anonymize(data, salt=None):
    """A copy of ``data`` with names and ids replaced consistently.

    Host, instance, server-group, zone, aggregate and project names
    become ``host-0001``, ``vm-0001``, ``group-0001``, ``az-0001``,
    ``aggregate-0001``, ``project-0001`` (also inside aggregate
    metadata); UUIDs are replaced (see :class:`_Renamer`; one random
    salt per call unless given); instance
    metadata keeps only the plugin's own keys (``informed:``).  Sizes,
    states, metrics, groups, communication groups and recent moves are
    kept, renamed alike and in the same order, so the plan is the same
    move for move.
    """
    uuids, names = _ids(data)
    r = _Renamer(salt if salt is not None else uuid_mod.uuid4().hex,
                 uuids, names)
    out = dict(data)
    out['description'] = 'anonymized export'
    out['hosts'] = []
    for h in data['hosts']:
        h = dict(h, name=r.name('host', h['name']))
        if h.get('uuid'):
            h['uuid'] = r.uuid(h['uuid'])
        if h.get('az'):
            h['az'] = r.name('az', h['az'])
        out['hosts'].append(h)
    out['instances'] = []
    for i in data['instances']:
        i = dict(i, uuid=r.uuid(i['uuid']),
                 name=r.name('vm', i.get('name') or i['uuid']),
                 host=r.name('host', i['host']),
                 metadata={k: v for k, v in i.get('metadata', {}).items()
                           if k.startswith('informed:')})
        if i.get('pinned_az'):
            i['pinned_az'] = r.name('az', i['pinned_az'])
        if i.get('project_id'):
            i['project_id'] = r.name('project', i['project_id'])
        out['instances'].append(i)
    if 'aggregates' in data:
        out['aggregates'] = [_anonymous_aggregate(a, r)
                             for a in data['aggregates']]
    out['server_groups'] = [
        dict(g, uuid=r.uuid(g['uuid']),
             name=r.name('group', g.get('name') or g['uuid']),
             members=[r.uuid(m) for m in g['members']])
        for g in data.get('server_groups', [])]
    out['metrics'] = {r.uuid(u): m for u, m in
                      data.get('metrics', {}).items()}
    out['recent_moves'] = [
        dict(m, uuid=r.uuid(m['uuid']), source=r.name('host', m['source']),
             dest=r.name('host', m.get('dest', '')))
        for m in data.get('recent_moves', [])]
    params = dict(data.get('parameters', {}))
    if 'communication_groups' in params:
        params['communication_groups'] = [
            [r.uuid(m) for m in group]
            for group in params['communication_groups']]
    out['parameters'] = params
    return out
