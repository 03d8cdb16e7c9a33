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

"""What Nova's scheduler would check, read in bulk, onto core values.

Contract: :func:`enrich` takes the core hosts and instances read from
Watcher's model and returns them with what ``core.scheduling`` needs --
each instance's flavor extra specs, project, pinned zone and SR-IOV/vDPA
vNICs, each host's traits and PCPUs -- plus Nova's host aggregates.  The
number of API calls does not grow with the instances: aggregates once,
servers once (paginated, only when the model lacks extra specs), ports
once, one Placement call per distinct trait the flavors or isolated
aggregates name, and PCPU inventories only of the hosts that have PCPUs
when some instance claims dedicated CPUs.
"""

import dataclasses
import logging

from watcher_informed.adapters import nova
from watcher_informed.adapters import placement
from watcher_informed.core import scheduling

LOG = logging.getLogger(__name__)


def _with_servers(instances, servers):
    out = []
    for inst in instances:
        facts = servers.get(inst.uuid)
        if facts is None:
            out.append(inst)
            continue
        out.append(dataclasses.replace(
            inst, extra_specs=facts['extra_specs'] or inst.extra_specs,
            project_id=facts['project_id'] or inst.project_id,
            pinned_az=facts['pinned_az'] or inst.pinned_az))
    return out


def enrich(connection, hosts, instances, servers=None):
    """``(hosts, instances, aggregates)`` with the scheduling facts.

    ``servers`` (``nova.server_facts``) overrides the instances' extra
    specs, project and pinned zone; ``None`` keeps what the model had.
    """
    instances = list(instances)
    if servers is not None:
        instances = _with_servers(instances, servers)
    ports = nova.device_ports(connection)
    if ports:
        instances = [dataclasses.replace(i, vnic_types=ports[i.uuid])
                     if i.uuid in ports else i for i in instances]
    aggregates = nova.aggregates(connection)
    traits, pinned = set(), False
    for inst in instances:
        if not inst.extra_specs:
            continue
        needs = scheduling.instance_needs(inst)
        traits |= needs.required | needs.forbidden
        pinned = pinned or bool(needs.pcpus)
    for agg in aggregates:
        traits |= scheduling.offer_of((), [agg.metadata]).isolating
    host_traits = placement.host_traits(connection, hosts, traits) \
        if traits else {}
    pcpus = placement.host_pcpus(connection, hosts) if pinned else {}
    if host_traits or pcpus:
        hosts = [dataclasses.replace(
            h, traits=host_traits.get(h.name, h.traits),
            pcpus=pcpus.get(h.name, h.pcpus)) for h in hosts]
    LOG.info('scheduling facts: %d aggregate(s), %d instance(s) with '
             'extra specs, %d with SR-IOV/vDPA ports, %d trait(s) asked '
             'of Placement, PCPUs of %d host(s)', len(aggregates),
             sum(1 for i in instances if i.extra_specs), len(ports),
             len(traits), len(pcpus))
    return tuple(hosts), tuple(instances), aggregates
