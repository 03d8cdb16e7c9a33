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

"""Nova server groups, zones, aggregates and flavors -> core values.

Contract: Watcher's compute model has neither server groups nor host
availability zones, so the strategy asks Nova (through openstacksdk, the
client Watcher itself uses).  :func:`server_groups` returns core
:class:`~watcher_informed.core.snapshot.ServerGroup` values;
:func:`host_zones` maps compute hosts to their availability zone;
:func:`aggregates` reads Nova's host aggregates with their metadata (one
call), :func:`server_facts` each server's flavor extra specs, project and
pinned zone (one paginated call, when Watcher's model lacks them) and
:func:`device_ports` the servers' SR-IOV/vDPA ports (one Neutron call).
All accept any object with openstacksdk's ``compute`` (and ``network``)
proxy API.
"""

import logging

from watcher_informed.core import snapshot as snap

LOG = logging.getLogger(__name__)


def _policy(group):
    policy = getattr(group, 'policy', None)
    if not policy:
        policies = getattr(group, 'policies', None) or []
        policy = policies[0] if policies else None
    return policy


def server_groups(connection):
    """All server groups visible to the admin, as core values."""
    result = []
    for group in connection.compute.server_groups(all_projects=True):
        policy = _policy(group)
        if policy not in snap.POLICIES:
            LOG.warning('server group %s has unknown policy %r; ignored',
                        group.id, policy)
            continue
        members = tuple(sorted(getattr(group, 'member_ids', None) or ()))
        result.append(snap.ServerGroup(group.id, policy, members,
                                       getattr(group, 'name', '') or ''))
    return tuple(sorted(result, key=lambda g: g.uuid))


def host_zones(connection):
    """``{host: availability zone}`` from nova-compute services."""
    zones = {}
    for service in connection.compute.services(binary='nova-compute'):
        zone = getattr(service, 'availability_zone', None) or \
            getattr(service, 'zone', None)
        if service.host and zone:
            zones[service.host] = zone
    return zones


def _value(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    value = getattr(obj, name, default)
    return default if value is None else value


def aggregates(connection):
    """Nova's host aggregates (``GET /os-aggregates``, one call)."""
    result = []
    for agg in connection.compute.aggregates():
        metadata = {str(k): str(v) for k, v in
                    dict(_value(agg, 'metadata') or {}).items()}
        zone = _value(agg, 'availability_zone')
        if zone and 'availability_zone' not in metadata:
            metadata['availability_zone'] = str(zone)
        result.append(snap.Aggregate(
            name=str(_value(agg, 'name', '') or ''),
            hosts=tuple(sorted(str(h) for h in
                               (_value(agg, 'hosts') or ()))),
            metadata=metadata,
            uuid=str(_value(agg, 'uuid', '') or _value(agg, 'id', '') or
                     '')))
    return tuple(sorted(result, key=lambda a: (a.name, a.uuid)))


def extra_specs_of(server):
    """The flavor extra specs Nova embeds in a server (>= 2.47)."""
    flavor = _value(server, 'flavor') or {}
    specs = _value(flavor, 'extra_specs') or {}
    return {str(k): str(v) for k, v in dict(specs).items()}


def server_facts(connection):
    """``{uuid: {'extra_specs', 'project_id', 'pinned_az'}}`` of every
    server, from one paginated ``GET /servers/detail`` (openstacksdk
    negotiates the microversion: the flavor with its extra specs is
    embedded from 2.47, ``pinned_availability_zone`` from 2.96)."""
    out = {}
    for server in connection.compute.servers(details=True,
                                             all_projects=True):
        out[server.id] = {
            'extra_specs': extra_specs_of(server),
            'project_id': str(_value(server, 'project_id', '') or ''),
            'pinned_az': _value(server, 'pinned_availability_zone')}
    return out


def device_ports(connection):
    """``{server uuid: (vnic_type, ...)}`` of its SR-IOV/vDPA ports.

    One Neutron call (``GET /v2.0/ports?binding:vnic_type=...``); a
    cloud without Neutron has none.
    """
    from watcher_informed.core import scheduling
    network = getattr(connection, 'network', None)
    if network is None:
        return {}
    found = {}
    try:
        ports = list(network.ports(**{
            'binding:vnic_type': sorted(scheduling.DEVICE_VNICS)}))
    except Exception as exc:  # noqa: BLE001 - a cloud without Neutron
        if type(exc).__name__ in ('EndpointNotFound',
                                  'ServiceDisabledException',
                                  'NotFoundException'):
            LOG.info('no Neutron to ask for SR-IOV ports: %s', exc)
            return {}
        raise
    for port in ports:
        vnic = _value(port, 'binding_vnic_type') or \
            _value(port, 'binding:vnic_type')
        device = _value(port, 'device_id')
        if device and vnic in scheduling.DEVICE_VNICS:
            found.setdefault(str(device), set()).add(str(vnic))
    return {k: tuple(sorted(v)) for k, v in found.items()}
