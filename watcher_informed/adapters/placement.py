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

"""Placement -> the traits and PCPUs of the compute hosts, in bulk.

Contract: Nova's scheduler asks Placement for the flavor's required and
forbidden traits and for dedicated CPUs (PCPU).  :func:`host_traits`
asks only about the traits the audit's flavors and isolated aggregates
name, with one ``GET /resource_providers?required=TRAIT`` per distinct
trait (never one call per host or per instance); :func:`host_pcpus` asks
``GET /resource_providers?resources=PCPU:1`` once and reads the PCPU
inventory of only those providers (Placement has no bulk inventory
read), and only when an instance claims dedicated CPUs.  A provider is
matched to its host by the compute node's UUID (Watcher's node UUID),
else by name.  Both accept openstacksdk's ``placement`` proxy.
"""

import logging

LOG = logging.getLogger(__name__)


def _value(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    value = getattr(obj, name, default)
    return default if value is None else value


class _Matcher:
    def __init__(self, hosts):
        self.by_uuid = {h.uuid: h.name for h in hosts if h.uuid}
        self.by_name = {h.name: h.name for h in hosts}

    def host(self, provider):
        name = self.by_uuid.get(str(_value(provider, 'id', '')))
        if name is None:
            name = self.by_name.get(str(_value(provider, 'name', '')))
        return name


def host_traits(connection, hosts, traits):
    """``{host name: frozenset(traits)}`` restricted to ``traits``."""
    match = _Matcher(hosts)
    found = {h.name: set() for h in hosts}
    for trait in sorted(set(traits)):
        for provider in connection.placement.resource_providers(
                required=trait):
            name = match.host(provider)
            if name is not None:
                found[name].add(trait)
    LOG.debug('placement: %d trait(s) asked, one call each: %s',
              len(set(traits)), ', '.join(sorted(set(traits))))
    return {k: frozenset(v) for k, v in found.items()}


def host_pcpus(connection, hosts):
    """``{host name: allocatable PCPU}`` of the hosts that have PCPUs."""
    match = _Matcher(hosts)
    out = {}
    for provider in connection.placement.resource_providers(
            resources='PCPU:1'):
        name = match.host(provider)
        if name is None:
            continue
        for inv in connection.placement.resource_provider_inventories(
                provider):
            if _value(inv, 'resource_class') != 'PCPU':
                continue
            total = float(_value(inv, 'total', 0))
            reserved = float(_value(inv, 'reserved', 0))
            ratio = float(_value(inv, 'allocation_ratio', 1.0))
            out[name] = max(0.0, (total - reserved) * ratio)
    return out
