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

"""Nova and Placement now -> the core's start-time re-check input.

Contract: :func:`read` returns the
:class:`~watcher_informed.core.recheck.Seen` of one move about to start,
from a handful of calls whatever the cloud's size: the server (status,
host, lock, flavor, server groups), the source's and destination's
hypervisors with the servers on them (service state and status), the
destination's resource-provider inventories and usages and the server's
allocations in Placement, and the server's groups.  ``compute`` is
openstacksdk's compute proxy, ``placement`` its placement proxy (the
clients Watcher's own helpers use).  A server Nova does not find is
``instance=None``; any other error raises :class:`Unavailable` naming the
call, so the action fails rather than start a move it could not check.
:func:`input_of` / :func:`assumed` translate the action's input.
"""

from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc

from watcher_informed.adapters import solution
from watcher_informed.core import recheck
from watcher_informed.core import snapshot as snap

FREED_BY = solution.FREED_BY
#: where a server-group mate is when it is on neither host of the move.
ELSEWHERE = '(another host)'
#: Placement resource class -> core Host fields (total, reserved, ratio).
_INVENTORY = {'VCPU': ('vcpus', 'vcpu_reserved', 'vcpu_ratio'),
              'MEMORY_MB': ('ram_mb', 'ram_reserved_mb', 'ram_ratio'),
              'DISK_GB': ('disk_gb', 'disk_reserved_gb', 'disk_ratio')}


class Unavailable(Exception):
    """Nova or Placement did not answer a re-check call."""


def assumed(params):
    """The :class:`~recheck.Assumed` move of an action's input."""
    return recheck.Assumed(
        params['resource_id'], params['source_node'],
        params.get('destination_node') or '',
        tuple(params.get(FREED_BY) or ()))


_ERRORS = (sdk_exc.SDKException, ksa_exc.ClientException)


def _call(what, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except _ERRORS as exc:
        raise Unavailable('%s: %s' % (what, exc)) from exc


def _json(placement, path):
    resp = _call('Placement GET %s' % path, placement.get, path)
    if resp.status_code != 200:
        raise Unavailable('Placement GET %s: HTTP %s' % (path,
                                                         resp.status_code))
    return resp.json()


def _server(compute, uuid):
    try:
        return compute.get_server(uuid)
    except sdk_exc.NotFoundException:
        return None
    except _ERRORS as exc:
        raise Unavailable('Nova GET server %s: %s' % (uuid, exc)) from exc


def _hypervisor(compute, host):
    """The hypervisor of compute service ``host``, or ``None``."""
    found = _call('Nova hypervisors of %s' % host, lambda: list(
        compute.hypervisors(details=True, hypervisor_hostname_pattern=host,
                            with_servers=True)))
    for hyp in found:
        service = getattr(hyp, 'service_details', None) or {}
        if service.get('host') == host:
            return hyp
    return None


def _resources(mapping):
    return snap.Resources(*(float(mapping.get(rc) or 0)
                            for rc in _INVENTORY))


def _host(name, hyp, inventories=None):
    """A core host: service state from Nova, sizes from Placement."""
    kw = {'up': getattr(hyp, 'state', None) == 'up',
          'enabled': getattr(hyp, 'status', None) == 'enabled'}
    for rc, (total, reserved, ratio) in _INVENTORY.items():
        inv = (inventories or {}).get(rc) or {}
        kw[total] = float(inv.get('total') or 0)
        kw[reserved] = float(inv.get('reserved') or 0)
        kw[ratio] = float(inv.get('allocation_ratio') or 1.0)
    return snap.Host(name, **kw)


def _state(server):
    status = (getattr(server, 'status', None) or '').upper()
    return 'active' if status == 'ACTIVE' else status.lower() or 'unknown'


def _size(placement, server, rp_of_source):
    """What the server holds in Placement (its flavor if nothing)."""
    allocs = _json(placement, '/allocations/%s' % server.id).get(
        'allocations') or {}
    mine = allocs.get(rp_of_source) if rp_of_source else None
    if mine is None and len(allocs) == 1:
        mine = next(iter(allocs.values()))
    if mine:
        return _resources(mine.get('resources') or {})
    flavor = getattr(server, 'flavor', None) or {}
    return snap.Resources(
        float(flavor.get('vcpus') or 0), float(flavor.get('ram') or 0),
        float((flavor.get('disk') or 0) + (flavor.get('ephemeral') or 0)))


def _groups(compute, server):
    ids = getattr(server, 'server_groups', None)
    if ids is None:         # before compute API 2.71: list them all
        found = _call('Nova server groups', lambda: list(
            compute.server_groups(all_projects=True)))
        found = [g for g in found
                 if server.id in (getattr(g, 'member_ids', None) or ())]
    else:
        found = [_call('Nova server group %s' % gid,
                       compute.get_server_group, gid) for gid in ids]
    out = []
    for g in found:
        policy = getattr(g, 'policy', None) or (
            (getattr(g, 'policies', None) or [None])[0])
        if policy in snap.POLICIES:
            out.append(snap.ServerGroup(
                g.id, policy, tuple(sorted(getattr(g, 'member_ids', None)
                                           or ())),
                getattr(g, 'name', '') or ''))
    return tuple(sorted(out, key=lambda g: g.uuid))


def _on(hyp):
    if hyp is None:
        return {}
    return {s.get('uuid'): s.get('name') or ''
            for s in (getattr(hyp, 'servers', None) or ())}


def read(compute, placement, move):
    """What Nova and Placement show for ``move`` (a ``recheck.Assumed``)."""
    server = _server(compute, move.uuid)
    if server is None:
        return recheck.Seen((), None, {}, {})
    where_now = getattr(server, 'compute_host', None) or ''
    src_hyp = _hypervisor(compute, move.source)
    hosts = [_host(move.source, src_hyp)] if src_hyp is not None else []
    used = {}
    dst_hyp = _hypervisor(compute, move.dest) if move.dest else None
    if dst_hyp is not None:
        base = '/resource_providers/%s' % dst_hyp.id
        hosts.append(_host(move.dest, dst_hyp, _json(
            placement, base + '/inventories').get('inventories') or {}))
        used[move.dest] = _resources(_json(placement, base + '/usages').get(
            'usages') or {})
    inst = snap.Instance(
        server.id, where_now, 0, 0, name=getattr(server, 'name', '') or '',
        state=_state(server),
        locked=bool(getattr(server, 'is_locked', False)))
    if where_now == move.source and dst_hyp is not None:
        size = _size(placement, server,
                     src_hyp.id if src_hyp is not None else None)
        inst = snap.Instance(inst.uuid, inst.host, size.vcpus, size.ram_mb,
                             size.disk_gb, name=inst.name, state=inst.state,
                             locked=inst.locked)
    groups = _groups(compute, server) if where_now == move.source else ()
    on_dest, on_source = _on(dst_hyp), _on(src_hyp)
    names = dict(on_source, **on_dest)
    where = {}
    for uuid in set(move.freed_by) | {m for g in groups for m in g.members}:
        if uuid == server.id:
            continue
        where[uuid] = move.dest if uuid in on_dest else \
            move.source if uuid in on_source else ELSEWHERE
    return recheck.Seen(tuple(hosts), inst, used, where, groups,
                        {u: n for u, n in names.items() if u in where})
