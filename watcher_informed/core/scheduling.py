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

"""What Nova's scheduler checks before it accepts a live migration.

Contract: pure predicates over snapshot values, each returning ``None``
when Nova would accept and a human-readable reason when it would refuse.
They are not a paper rule: the paper assumes every host may receive every
VM, and a plan Nova refuses only surfaces as failed actions.  A live
migration to a named host still goes through Nova's scheduler
(``force=False``): Placement's prefilters and the host filters run on the
destination.  What they read:

* **traits** -- the flavor's ``trait:NAME=required`` / ``forbidden``
  extra specs against the traits of the destination's compute-node
  resource provider (Placement); hosts in a Nova aggregate whose metadata
  says ``trait:NAME=required`` take only instances that require ``NAME``
  (isolated aggregates, ``[scheduler] enable_isolated_aggregate_filtering``);
* **aggregate extra specs** -- ``aggregate_instance_extra_specs:KEY=VALUE``
  must match the metadata of one of the destination's aggregates
  (``AggregateInstanceExtraSpecsFilter``, with its operators ``<in>``,
  ``<or>``, ``s==``, ``>=``...);
* **tenant isolation** -- a host in an aggregate with ``filter_tenant_id``
  metadata takes only those projects (``AggregateMultiTenancyIsolation``),
  and a project named by such aggregates stays inside them
  (``[scheduler] limit_tenants_to_placement_aggregate``);
* **dedicated CPUs** -- ``hw:cpu_policy=dedicated`` (or ``mixed``, or
  ``resources:PCPU``) claims PCPU in Placement: only a host with enough
  free PCPU receives it (free = allocatable PCPU less the pinned vCPUs of
  its instances and of the plan's earlier moves into it);
* **devices and NUMA** -- PCI passthrough (``pci_passthrough:alias``),
  SR-IOV / vDPA ports, accelerators (``accel:device_profile``), resources
  of nested providers (``resourcesN:...``, ``resources:VGPU``...), guest
  NUMA layouts beyond one pinned cell (``hw:numa_nodes`` > 1,
  ``hw:mem_page_size``, ``hw:numa_cpus.N``, ``hw:cpu_realtime``): the
  destination's devices, huge pages and NUMA cells are not visible
  through Nova's API, so such an instance is not moved at all.

Every check is applied whether or not the cloud enables the matching
filter: a move refused here that Nova would have accepted costs one
candidate; the reverse costs a failed action.  The availability zone is
:func:`constraints.destination_reason`'s (``pinned_az``).  Image
properties (``hw_cpu_policy``, ``traits_required``) are not read.
"""

import dataclasses
import functools
import re
import typing

#: instances without extra specs, vNICs or a project need no check
_GRANULAR = re.compile(r'^(resources|trait)([A-Za-z0-9_-]+):')
#: resource classes the compute node itself provides (checked elsewhere)
NODE_RESOURCES = frozenset(('VCPU', 'MEMORY_MB', 'DISK_GB', 'PCPU'))
#: vNIC types Nova can only move to a host with the same devices.
DEVICE_VNICS = frozenset((
    'direct', 'direct-physical', 'vdpa', 'remote-managed',
    'accelerator-direct', 'accelerator-direct-physical'))
AGGREGATE_SCOPE = 'aggregate_instance_extra_specs:'
TENANT_KEY = 'filter_tenant_id'


@dataclasses.dataclass(frozen=True)
class Needs:
    """What one instance asks of its destination (from its flavor)."""

    required: typing.FrozenSet[str] = frozenset()
    forbidden: typing.FrozenSet[str] = frozenset()
    #: ``{aggregate metadata key: requested value}``
    aggregate: typing.Tuple[typing.Tuple[str, str], ...] = ()
    project: str = ''
    #: pinned (PCPU) vCPUs
    pcpus: float = 0.0
    #: why no destination can be verified (the instance does not move)
    pinned_reason: typing.Optional[str] = None

    @property
    def empty(self):
        return not (self.required or self.forbidden or self.aggregate or
                    self.pcpus or self.pinned_reason)


@dataclasses.dataclass(frozen=True)
class Offer:
    """What one host offers, from its traits and its Nova aggregates."""

    traits: typing.FrozenSet[str] = frozenset()
    #: ``{key: (value, ...)}`` over every aggregate of the host
    metadata: typing.Mapping[str, typing.Tuple[str, ...]] = \
        dataclasses.field(default_factory=dict)
    #: projects allowed by tenant-isolated aggregates (None: any)
    tenants: typing.Optional[typing.FrozenSet[str]] = None
    #: traits an instance must require to land here (isolated aggregates)
    isolating: typing.FrozenSet[str] = frozenset()
    #: allocatable PCPU (None: no PCPU inventory known)
    pcpus: typing.Optional[float] = None


def _int(text, default=0):
    try:
        return int(str(text).strip())
    except ValueError:
        return default


def pinned_vcpus(spec, vcpus):
    """PCPUs an instance of ``vcpus`` with extra specs ``spec`` claims."""
    if 'resources:PCPU' in spec:
        return float(_int(spec['resources:PCPU']))
    policy = spec.get('hw:cpu_policy', 'shared')
    if policy in ('dedicated', 'mixed'):
        return float(vcpus)
    return 0.0


def _device_reason(spec, vnic_types):
    if spec.get('pci_passthrough:alias'):
        return ('PCI passthrough (pci_passthrough:alias=%s): the '
                "destination's free devices are not visible through "
                "Nova's API" % spec['pci_passthrough:alias'])
    direct = sorted(set(vnic_types) & DEVICE_VNICS)
    if direct:
        return ('port(s) of vnic_type %s (SR-IOV/vDPA): the destination '
                'needs the same free devices' % ', '.join(direct))
    if spec.get('accel:device_profile'):
        return ('accelerator device profile %s' %
                spec['accel:device_profile'])
    for key in sorted(spec):
        if _GRANULAR.match(key) and key.startswith('resources'):
            return ('requests %s=%s from a nested resource provider'
                    % (key, spec[key]))
        if key.startswith('resources:') and \
                key[len('resources:'):] not in NODE_RESOURCES:
            return 'requests %s=%s from Placement' % (key, spec[key])
    return None


def _numa_reason(spec, pcpus):
    nodes = _int(spec.get('hw:numa_nodes', 0))
    if nodes > 1:
        return ('NUMA topology over %d cells (hw:numa_nodes): the '
                "destination's NUMA cells are not visible through Nova's "
                'API' % nodes)
    if spec.get('hw:mem_page_size') not in (None, 'small'):
        return ('huge pages (hw:mem_page_size=%s): the destination\'s '
                'free pages are not visible through Nova\'s API'
                % spec['hw:mem_page_size'])
    for key in sorted(spec):
        if key.startswith(('hw:numa_cpus.', 'hw:numa_mem.')) or \
                key == 'hw:cpu_realtime':
            return ('guest NUMA layout (%s): the destination\'s NUMA cells '
                    'are not visible through Nova\'s API' % key)
    if nodes == 1 and not pcpus:
        return ('NUMA topology (hw:numa_nodes=1) without dedicated CPUs: '
                "the destination's NUMA cells are not visible through "
                "Nova's API")
    return None


def needs_of(spec, vcpus=0.0, project='', vnic_types=()):
    """The :class:`Needs` of an instance's flavor extra specs ``spec``."""
    required, forbidden, aggregate = set(), set(), []
    for key, value in spec.items():
        value = str(value).strip()
        if key.startswith('trait:'):
            trait = key[len('trait:'):]
            if value == 'required':
                required.add(trait)
            elif value == 'forbidden':
                forbidden.add(trait)
        elif key.startswith(AGGREGATE_SCOPE):
            aggregate.append((key[len(AGGREGATE_SCOPE):], value))
    pcpus = pinned_vcpus(spec, vcpus)
    reason = _device_reason(spec, vnic_types) or _numa_reason(spec, pcpus)
    return Needs(frozenset(required), frozenset(forbidden),
                 tuple(sorted(aggregate)), project or '', pcpus, reason)


def offer_of(traits=(), aggregates=(), pcpus=None):
    """The :class:`Offer` of a host in ``aggregates`` (their metadata)."""
    metadata = {}
    tenants = None
    isolating = set()
    for meta in aggregates:
        for key, value in meta.items():
            value = str(value)
            metadata.setdefault(key, []).append(value)
            if key.startswith(TENANT_KEY):
                found = {t.strip() for t in value.split(',') if t.strip()}
                tenants = (tenants or frozenset()) | found
            elif key.startswith('trait:') and value.strip() == 'required':
                isolating.add(key[len('trait:'):])
    return Offer(frozenset(traits),
                 {k: tuple(v) for k, v in sorted(metadata.items())},
                 tenants, frozenset(isolating), pcpus)


_OPS = ('s==', 's!=', 's>=', 's<=', 's<', 's>', '<in>', '<all-in>',
        '<or>', '==', '!=', '>=', '<=', '=')


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


def matches(value, req):
    """Nova's ``extra_specs_ops.match``: does ``value`` satisfy ``req``?"""
    words = req.split()
    if not words or words[0] not in _OPS:
        return value == req
    op, args = words[0], words[1:]
    if op == '<or>':
        return value in [a for a in args if a != '<or>']
    if not args:
        return False
    arg = ' '.join(args)
    if op == '<in>':
        return arg in value
    if op == '<all-in>':
        return all(a in value for a in args)
    if op.startswith('s'):
        return {'s==': value == arg, 's!=': value != arg,
                's>=': value >= arg, 's<=': value <= arg,
                's<': value < arg, 's>': value > arg}[op]
    a, b = _number(value), _number(arg)
    if a is None or b is None:
        return False
    return {'==': a == b, '!=': a != b, '>=': a >= b, '<=': a <= b,
            '=': a >= b}[op]


def trait_reason(needs, offer):
    """Why the host's traits refuse ``needs`` (Placement), or ``None``."""
    missing = needs.required - offer.traits
    if missing:
        return 'lacks required trait(s) %s' % ', '.join(sorted(missing))
    bad = needs.forbidden & offer.traits
    if bad:
        return 'has forbidden trait(s) %s' % ', '.join(sorted(bad))
    isolated = offer.isolating - needs.required
    if isolated:
        return ('is in an aggregate isolated to trait(s) %s (the flavor '
                'does not require them)' % ', '.join(sorted(isolated)))
    return None


def aggregate_reason(needs, offer, tenant_homes=frozenset()):
    """Why the host's aggregates refuse ``needs``, or ``None``.

    ``tenant_homes`` are the projects some tenant-isolated aggregate
    names: such a project goes only to hosts of those aggregates.
    """
    for key, req in needs.aggregate:
        values = offer.metadata.get(key, ())
        if not any(matches(v, req) for v in values):
            return ('no aggregate with %s%s=%s (AggregateInstance'
                    'ExtraSpecsFilter)' % (AGGREGATE_SCOPE, key, req))
    if offer.tenants is not None and needs.project not in offer.tenants:
        return ('is in a tenant-isolated aggregate (filter_tenant_id) '
                'without project %s' % (needs.project or '(none)'))
    if needs.project and needs.project in tenant_homes and \
            offer.tenants is None:
        return ('is outside the tenant-isolated aggregates of project %s'
                % needs.project)
    return None


def pcpu_reason(needs, offer, used):
    """Why the host has no room for the pinned vCPUs, or ``None``.

    ``used``: PCPUs already claimed there (its instances' and the
    plan's earlier moves').
    """
    if not needs.pcpus:
        return None
    if offer.pcpus is None:
        return 'has no PCPU inventory (dedicated CPUs)'
    if used + needs.pcpus > offer.pcpus + 1e-9:
        return ('not enough free PCPU for %g dedicated vCPUs (%g of %g '
                'claimed)' % (needs.pcpus, used, offer.pcpus))
    return None


@functools.lru_cache(maxsize=4096)
def _cached_needs(items, vcpus, project, vnic_types):
    return needs_of(dict(items), vcpus, project, vnic_types)


def instance_needs(inst):
    """The :class:`Needs` of a core ``Instance`` (memoised by value)."""
    if not inst.extra_specs and not inst.vnic_types and \
            not inst.project_id:
        return _NONE
    return _cached_needs(tuple(sorted(inst.extra_specs.items())),
                         float(inst.vcpus), inst.project_id,
                         tuple(sorted(inst.vnic_types)))


_NONE = Needs()


class Index:
    """The scheduling facts of one snapshot, derived once.

    ``offers`` by host name, the projects of tenant-isolated aggregates,
    each host's PCPUs claimed by its instances, and :attr:`active`:
    ``False`` when nothing in the snapshot restricts a move (no extra
    specs, vNICs or restricting aggregates), so every rule answers at
    once and a cluster without constraints is planned as before.
    """

    def __init__(self, snapshot):
        members = {}
        for agg in sorted(snapshot.aggregates,
                          key=lambda a: (a.name, a.uuid)):
            for host in agg.hosts:
                members.setdefault(host, []).append(agg.metadata)
        self.offers = {h.name: offer_of(h.traits, members.get(h.name, ()),
                                        h.pcpus)
                       for h in snapshot.hosts}
        homes = set()
        for offer in self.offers.values():
            homes |= offer.tenants or frozenset()
        self.tenant_homes = frozenset(homes)
        self._needs = {}
        self.active = bool(homes) or any(
            o.isolating for o in self.offers.values()) or any(
            i.extra_specs or i.vnic_types for i in snapshot.instances)
        #: instances claiming PCPUs, and the PCPUs claimed on each host
        self.pinned = {}
        self.claimed = {}
        if self.active:
            for inst in snapshot.instances:
                need = self.needs(inst).pcpus
                if need:
                    self.pinned[inst.uuid] = (inst.host, need)
                    self.claimed[inst.host] = \
                        self.claimed.get(inst.host, 0.0) + need

    def needs(self, inst):
        found = self._needs.get(inst.uuid)
        if found is None:
            found = self._needs[inst.uuid] = instance_needs(inst)
        return found

    def claimed_with(self, host, present):
        """PCPUs claimed on ``host`` with the instances ``present`` there.

        ``present``: uuids on the host in the state asked about (the
        ledger's residents, or the plan's arrivals); departures are not
        counted, Nova frees the PCPUs only when a move completes.
        """
        used = self.claimed.get(host, 0.0)
        for uuid in present:
            found = self.pinned.get(uuid)
            if found is not None and found[0] != host:
                used += found[1]
        return used
