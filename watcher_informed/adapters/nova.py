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

"""Nova server groups and availability zones -> core values.

Contract: Watcher's compute model has neither server groups nor host
availability zones, so the strategy asks Nova (through openstacksdk, the
client Watcher itself uses).  :func:`server_groups` returns core
:class:`~watcher_informed.core.snapshot.ServerGroup` values;
:func:`host_zones` maps compute hosts to their availability zone.  Both
accept any object with openstacksdk's ``compute`` proxy API.
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
