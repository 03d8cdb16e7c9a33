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

"""Hypothesis strategies for random, valid core snapshots and params.

The clusters are small (2-8 hosts, 0-30 instances) so a whole
``pipeline.build_plan`` takes milliseconds, but varied enough to reach
every stage: overloaded hosts in every dimension, hosts down, disabled or
in another availability zone, immovable instances, missing and bad
metrics, server groups of every policy and communication groups.

``snapshots(tight=True)`` fills every host so that destinations are
scarce; :func:`sequencing_cases` feeds the sequencer directly with moves
that are feasible one after the other.

Invariants of the generated snapshots (what "valid input" means here):

* every instance fits its host's allocatable capacity (total - reserved)
  x ratio, unless ``allow_overcommit`` is set;
* members of a hard ``anti-affinity`` group are on distinct hosts, members
  of a hard ``affinity`` group on one host;
* an instance belongs to at most one server group (Nova's rule);
* sizes are whole numbers, so allocation sums are exact whatever order
  they are added in.

Choices are drawn as a few small integers decoded into several options
(see :func:`_choices`): Hypothesis' per-draw overhead otherwise dominates,
and the whole property suite must stay well under 30 s.
"""

import dataclasses
import functools

from hypothesis import strategies as st

from watcher_informed.core import params as params_mod
from watcher_informed.core import snapshot as snap

AZS = (None, 'az1', 'az2')
FLAVORS = (
    # vcpus, ram MiB, disk GiB
    (1, 512, 0), (1, 1024, 10), (2, 2048, 20), (2, 4096, 20),
    (4, 4096, 40), (4, 8192, 40), (8, 16384, 80), (1, 2048, 1),
)
BAD_VALUES = (None, float('nan'), -1.0, float('inf'), 'garbage')


# Strategy objects are cached: building a fresh one per draw costs more
# than the draw itself and would make generation the slow part of a run.
@functools.lru_cache(maxsize=None)
def _int(low, high):
    return st.integers(low, high)


@functools.lru_cache(maxsize=None)
def _pick(values):
    return st.sampled_from(values)


#: Largest range drawn at once: Hypothesis draws wider integer ranges
#: mostly from their low end, which would pin the high digits to 0.
_CHUNK = 1 << 8


def _choices(draw, *options):
    """Draws decoded (mixed radix) into one element per option list.

    A few draws per host or instance instead of a dozen keeps generation
    cheap (Hypothesis' per-draw overhead dominated the run time); the first
    element of every list is the simplest, so shrinking the drawn integers
    towards 0 simplifies the choices.
    """
    result = []
    i = 0
    while i < len(options):
        size, j = 1, i
        while j < len(options) and size * len(options[j]) <= _CHUNK:
            size *= len(options[j])
            j += 1
        value = draw(_int(0, size - 1))
        for opts in options[i:j]:
            value, k = divmod(value, len(opts))
            result.append(opts[k])
        i = j
    return result


def _subset(draw, values, min_size, max_size):
    """Distinct elements of ``values`` (order of first draw)."""
    chosen = []
    for _ in range(draw(_int(min_size, max_size))):
        value = values[draw(_int(0, len(values) - 1))]
        if value not in chosen:
            chosen.append(value)
    return chosen


HOST_OPTIONS = (
    (8, 4, 16, 24, 32),                      # vcpus
    (16384, 8192, 32768, 65536),             # ram_mb
    (200, 100, 500, 1000),                   # disk_gb
    (0, 0, 1, 2),                            # vcpu_reserved
    (0, 0, 512, 2048),                       # ram_reserved_mb
    (0, 0, 10, 50),                          # disk_reserved_gb
    (1.0, 1.0, 1.5, 2.0, 4.0),               # vcpu_ratio
    (1.0, 1.0, 1.5),                         # ram_ratio
    (1.0, 1.0, 1.5),                         # disk_ratio
    (True,) * 7 + (False,),                  # up
    (True,) * 7 + (False,),                  # enabled
    AZS,                                     # az
    ((0.0, 0.2, None), (0.2, 0.6, None)),    # heat of a non-hot host
)
#: heat = (VM CPU load range, forced RAM used / flavor RAM or None)
HOT = (0.8, 1.2, None)
#: CPU-idle VMs using all their RAM (hot in RAM when the host is full)
RAM_HOT = (0.0, 0.2, 1.0)


def _hosts(draw, min_hosts, max_hosts, tight=False):
    """``(hosts, heat)``; the first 1-2 (``tight``: half) hosts are hot."""
    count = draw(_int(min_hosts, max_hosts))
    if tight:
        n_hot = max(1, count // 2)
    else:
        n_hot = draw(_int(1, 2)) if count > 3 else 1
    result, heat = [], []
    for i in range(count):
        (vcpus, ram, disk, vres, rres, dres, vratio, rratio, dratio, up,
         enabled, az, warm) = _choices(draw, *HOST_OPTIONS)
        result.append(snap.Host(
            'h%d' % i, vcpus, ram, disk, vres, rres, dres, vratio, rratio,
            dratio, up, enabled, az, uuid='host-uuid-%d' % i))
        if i >= n_hot:
            heat.append(warm)
        else:
            heat.append(draw(_pick((HOT, RAM_HOT))) if tight else HOT)
    return result, heat


@st.composite
def hosts(draw, min_hosts=2, max_hosts=8):
    return _hosts(draw, min_hosts, max_hosts)[0]


#: Metric order for the "one bad metric" choice of :func:`_usage`.
METRIC_ORDER = (snap.CPU, snap.RAM, snap.DISK_READ, snap.DISK_WRITE,
                snap.NET_RX, snap.NET_TX, snap.DIRTY_RATE, snap.WSS)
#: Workload shapes: (disk MiB/s, net rx, net tx, dirty rate) at level 1.
SHAPES = (
    (0.0, 0.0, 0.0, 0.0),      # cpu-only / idle, depending on the level
    (0.0, 0.0, 0.0, 0.0),
    (0.0, 0.0, 0.0, 0.0),
    (40.0, 0.0, 0.0, 1.0),     # disk_io
    (0.5, 30.0, 0.5, 1.0),     # net_rx
    (0.5, 0.5, 30.0, 1.0),     # web
    (0.1, 0.05, 0.05, 300.0),  # memory dirtying
    (5.0, 5.0, 5.0, 20.0),     # mixed
)
#: (metric, bad value) pairs, ``None`` (all fine) being most likely.
DEFECTS = (None,) * 80 + tuple(
    (m, v) for v in BAD_VALUES for m in METRIC_ORDER)
USAGE_OPTIONS = (
    (True,) * 14 + (False,),                 # has usage at all
    tuple(range(len(SHAPES))),               # workload shape
    tuple(k / 20.0 for k in range(21)),      # level within the heat range
    (0.5, 0.1, 0.9, 1.0, 1.2),               # RAM used / flavor RAM
    DEFECTS,                                 # one missing / bad metric
)


def _usage(draw, instance, heat):
    """Usage of ``instance`` on a host of ``heat`` (see HOT), or None."""
    present, shape, level, ram_used, defect = _choices(draw,
                                                       *USAGE_OPTIONS)
    if not present:
        return None
    low, high, forced_ram = heat
    ram_used = forced_ram or ram_used
    level = low + (high - low) * level
    disk, rx, tx, dirty = (v * level for v in SHAPES[shape])
    readings = {
        snap.CPU: min(1.2, level), snap.RAM: instance.ram_mb * ram_used,
        snap.DISK_READ: disk / 2, snap.DISK_WRITE: disk / 2,
        snap.NET_RX: rx, snap.NET_TX: tx, snap.DIRTY_RATE: dirty,
        snap.WSS: instance.ram_mb * ram_used / 4,
    }
    if defect is not None:
        metric, bad = defect
        if bad is None and metric in (snap.DIRTY_RATE, snap.WSS):
            del readings[metric]  # not reported at all
        else:
            readings[metric] = bad
    reasons = {}
    if snap.DIRTY_RATE not in readings:
        reasons[snap.DIRTY_RATE] = 'no libvirt dirty-rate support'
    return snap.make_usage(readings, reasons)


def _fits(alloc, inst, host):
    return (alloc[host.name] + inst.resources).fits_in(host.capacity)


def _groups(draw, instances, tight=False):
    """Disjoint server groups consistent with the initial placement."""
    policies = snap.POLICIES + (snap.ANTI_AFFINITY,) * (3 if tight else 0)
    free = [i.uuid for i in instances]
    by_uuid = {i.uuid: i for i in instances}
    groups = []
    for g in range(draw(_int(0, 4))):
        policy, ghost = _choices(draw, policies, (False,) * 4 + (True,))
        if not free:
            break
        picks = _subset(draw, free, 1, 5)
        if policy == snap.ANTI_AFFINITY:
            seen, members = set(), []
            for u in picks:
                if by_uuid[u].host not in seen:
                    seen.add(by_uuid[u].host)
                    members.append(u)
        elif policy == snap.AFFINITY:
            host = by_uuid[picks[0]].host
            members = [u for u in picks if by_uuid[u].host == host]
        else:
            members = list(picks)
        for u in members:
            free.remove(u)
        if ghost:
            # a deleted server still listed in the group
            members.append('ghost-%d' % g)
        groups.append(snap.ServerGroup('sg-%d' % g, policy,
                                       tuple(members),
                                       name='group-%d' % g))
    return tuple(groups)


#: flags -> (state, locked, excluded); active and movable most of the time.
FLAGS = ((('active', False, False),) * 20 +
         (('stopped', False, False), ('paused', False, False),
          ('error', False, False), ('active', True, False),
          ('active', False, True)))
METADATA = (None,) * 40 + params_mod.CLASSES + ('Memory ', 'bogus')
PINS = (None,) * 7 + ('same', 'az1', 'az3')
TIGHT_FLAGS = ((('active', False, False),) * 12 +
               (('stopped', False, False), ('active', False, True)))


def _instance(draw, i, flag_options, pin_options):
    """An unplaced instance and its pin choice."""
    flavor, flags, meta, pin = _choices(
        draw, FLAVORS, flag_options, METADATA, pin_options)
    vcpus, ram, disk = flavor
    state, locked, excluded = flags
    inst = snap.Instance(
        uuid='i%02d' % i, host='', vcpus=vcpus, ram_mb=ram,
        disk_gb=disk, name='' if i % 3 else 'vm-%d' % i,
        state=state, locked=locked, excluded=excluded,
        metadata={} if meta is None else {snap.CLASS_METADATA_KEY: meta})
    return inst, pin


def _place(inst, host, pin, alloc, instances):
    alloc[host.name] = alloc[host.name] + inst.resources
    pinned = host.az if pin == 'same' else pin
    instances.append(dataclasses.replace(inst, host=host.name,
                                         pinned_az=pinned))


def _spread(draw, host_list, heat, max_instances, allow_overcommit):
    """Instances on random start hosts, half of them on the hot ones."""
    n_hosts = len(host_list)
    starts = tuple(range(n_hosts)) + (0,) * n_hosts
    alloc = {h.name: snap.Resources() for h in host_list}
    instances = []
    # instance count, biased to the upper half (many get no room)
    counts = tuple(range(max_instances + 1))
    for i in range(draw(_pick(counts + counts[max_instances // 2:]))):
        inst, pin = _instance(draw, i, FLAGS, PINS)
        start = draw(_pick(starts))
        if start == 0 and heat[1] == HOT and i % 2:
            start = 1
        # first host from ``start`` (round robin) that has room; most
        # instances only try their start host so that cold hosts keep room
        for k in range(n_hosts if i % 4 == 0 else 1):
            host = host_list[(start + k) % n_hosts]
            if allow_overcommit or _fits(alloc, inst, host):
                _place(inst, host, pin, alloc, instances)
                break
    return instances


def _fill(draw, host_list, heat, max_instances):
    """Each host filled to a drawn share of its allocatable capacity.

    Hot hosts are filled completely (they are hot because they are full
    of busy instances); each host gets at most its share of
    ``max_instances``, so big hosts stay roomy destinations.
    """
    alloc = {h.name: snap.Resources() for h in host_list}
    instances = []
    per_host = max(2, max_instances // len(host_list))
    for host, mood in zip(host_list, heat):
        share = 1.0 if mood in (HOT, RAM_HOT) else draw(_pick((0.5, 1.0)))
        cap = host.capacity
        room = snap.Resources(cap.vcpus * share, cap.ram_mb * share,
                              cap.disk_gb)
        misses = placed = 0
        while misses < 3 and placed < per_host:
            inst, pin = _instance(draw, len(instances), TIGHT_FLAGS,
                                  (None,))
            if (alloc[host.name] + inst.resources).fits_in(room):
                _place(inst, host, pin, alloc, instances)
                placed += 1
            else:
                misses += 1
    return instances


@st.composite
def snapshots(draw, min_hosts=2, max_hosts=8, max_instances=30,
              allow_overcommit=False, tight=False):
    """A valid :class:`Snapshot` (see the module docstring).

    ``tight``: half the hosts hot, every host filled to 50-100 % of its
    allocatable capacity, few immovable instances and more anti-affinity
    -- destinations are scarce, so relieved hot hosts receive and the
    sequencer has room dependencies to resolve.
    """
    host_list, heat = _hosts(draw, min_hosts, max_hosts, tight)
    if tight:
        instances = _fill(draw, host_list, heat, max_instances)
    else:
        instances = _spread(draw, host_list, heat, max_instances,
                            allow_overcommit)
    usage = {}
    index = {h.name: k for k, h in enumerate(host_list)}
    for inst in instances:
        u = _usage(draw, inst, heat[index[inst.host]])
        if u is not None:
            usage[inst.uuid] = u
    groups = _groups(draw, instances, tight)
    uuids = [i.uuid for i in instances]
    comm = ()
    if len(uuids) >= 2:
        comm = tuple(tuple(_subset(draw, uuids + ['ghost-c'], 2, 4))
                     for _ in range(draw(_int(0, 3))))
    return snap.Snapshot(tuple(host_list), tuple(instances), usage,
                         groups, comm)


PARAM_OPTIONS = (
    ('cpu_threshold', (0.8, 0.5, 0.7, 0.9, 1.0)),
    ('ram_threshold', (0.9, 0.5, 0.7, 1.0)),
    ('disk_io_threshold', (0.8, 0.3)),
    ('net_threshold', (0.8, 0.3)),
    # below the lowest threshold drawn (0.3): a margin at or above a
    # threshold is refused by validate()
    ('target_margin', (0.1, 0.0, 0.05, 0.2, 0.29)),
    ('host_disk_io_capacity', (500.0, 500.0, 100.0)),
    ('host_network_capacity', (1250.0, 1250.0, 100.0)),
    ('migration_bandwidth', (1250.0, 10.0, 125.0)),
    ('live_migration_downtime', (500, 1, 100)),
    ('max_precopy_rounds', (30, 1, 2, 5)),
    ('dirty_rate_when_unknown', (0.0, 0.0, 20.0)),
    ('max_migrations', tuple(range(21))),
    ('max_concurrent_out', (1, 2, 3)),
    ('max_concurrent_in', (1, 2, 3)),
    ('max_parallel', (0, 1, 2, 3, 4)),
    ('exact_select_limit', (12, 0, 4, 8)),
    ('communication_bonus', (1.0, 0.0)),
    ('soft_anti_affinity_penalty', (1.0, 0.0)),
    ('headroom_weight', (0.5, 0.0)),
    ('seed', (0, 1, 2, 3)),
)


@st.composite
def params(draw):
    """A :class:`Params` that passes ``validate()``."""
    values = _choices(draw, *(opts for _, opts in PARAM_OPTIONS))
    return params_mod.Params(**{name: value for (name, _), value
                                in zip(PARAM_OPTIONS, values)}).validate()


@st.composite
def sequencing_cases(draw, max_moves=7):
    """``(snapshot, [(uuid, dest)])``: moves a sequencer must order.

    Small, nearly full hosts and anti-affinity groups; the moves are
    proposed at random and kept only when they are feasible applied one
    after the other (the contract ``place`` gives the sequencer: some
    sequential order is safe), so destinations are often full until
    another move leaves them, and chains, rotations and mates that must
    leave first are common.
    """
    n_hosts = draw(_int(2, 4))
    host_list = [snap.Host('h%d' % i, draw(_pick((4, 2, 8))),
                           draw(_pick((8192, 4096, 16384))), 100)
                 for i in range(n_hosts)]
    alloc = {h.name: snap.Resources() for h in host_list}
    instances = []
    for i in range(draw(_int(2, 10))):
        vcpus, ram = draw(_pick(((1, 1024), (2, 2048), (1, 4096),
                                 (2, 1024), (4, 4096))))
        inst = snap.Instance('i%02d' % i, '', vcpus, ram, 10)
        start = draw(_int(0, n_hosts - 1))
        for k in range(n_hosts):
            host = host_list[(start + k) % n_hosts]
            if _fits(alloc, inst, host):
                _place(inst, host, None, alloc, instances)
                break
    groups = _groups(draw, instances, tight=True)
    mates = {}
    for g in groups:
        if g.policy == snap.ANTI_AFFINITY:
            for u in g.members:
                mates[u] = set(g.members) - {u}
    where = {i.uuid: i.host for i in instances}
    by_uuid = {i.uuid: i for i in instances}
    moves = []
    moved = set()
    for _ in range(draw(_int(1, 4 * max_moves))):
        if not instances or len(moves) >= max_moves:
            break
        inst = instances[draw(_int(0, len(instances) - 1))]
        dest = host_list[draw(_int(0, n_hosts - 1))]
        src = where[inst.uuid]
        if inst.uuid in moved or dest.name == src:
            continue
        if not _fits(alloc, inst, dest):
            continue
        if any(where.get(m) == dest.name for m in mates.get(inst.uuid, ())):
            continue
        alloc[src] = alloc[src] - inst.resources
        alloc[dest.name] = alloc[dest.name] + inst.resources
        where[inst.uuid] = dest.name
        moved.add(inst.uuid)
        moves.append((inst.uuid, dest.name))
    usage = {u: _usage(draw, by_uuid[u], HOT) for u in by_uuid}
    usage = {u: v for u, v in usage.items() if v is not None}
    return snap.Snapshot(tuple(host_list), tuple(instances), usage,
                         groups), moves


#: Nova scheduling constraints drawn onto a snapshot (issue 20).
TRAITS = ('CUSTOM_A', 'CUSTOM_B', 'CUSTOM_GPU')
SPEC_OPTIONS = (
    ({},) * 6 + (
        {'trait:CUSTOM_A': 'required'},
        {'trait:CUSTOM_B': 'forbidden'},
        {'trait:CUSTOM_A': 'required', 'trait:CUSTOM_B': 'forbidden'},
        {'trait:CUSTOM_GPU': 'required'},
        {'aggregate_instance_extra_specs:ssd': 'true'},
        {'hw:cpu_policy': 'dedicated'},
        {'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '1'},
        {'hw:mem_page_size': 'large'},
        {'pci_passthrough:alias': 'gpu:1'},
    ),
    ('p1', 'p1', 'p2', 'p3'),                  # project
    ((), (), (), ('direct',)),                 # vNICs
)
HOST_CONSTRAINTS = (
    ((), ('CUSTOM_A',), ('CUSTOM_B',), ('CUSTOM_A', 'CUSTOM_GPU')),
    (None, None, 2.0, 4.0, 16.0),              # PCPUs
    # aggregate membership: none, ssd, gpu-isolated, tenant p2
    (None, None, 'ssd', 'gpu', 'tenant'),
)
AGGREGATE_METADATA = {
    'ssd': {'ssd': 'true'},
    'gpu': {'trait:CUSTOM_GPU': 'required'},
    'tenant': {'filter_tenant_id': 'p2'},
}


@st.composite
def constrained(draw, snapshots_strategy):
    """A snapshot with Nova's scheduling constraints drawn onto it.

    Traits, PCPUs and aggregates on the hosts of ``snapshots_strategy``'s
    snapshot, extra specs, projects and vNICs on its instances (some
    instances cannot move, some hosts take few).
    """
    snapshot = draw(snapshots_strategy)
    hosts, members = [], {}
    for h in snapshot.hosts:
        traits, pcpus, agg = _choices(draw, *HOST_CONSTRAINTS)
        hosts.append(dataclasses.replace(h, traits=frozenset(traits),
                                         pcpus=pcpus))
        if agg:
            members.setdefault(agg, []).append(h.name)
    instances = []
    for inst in snapshot.instances:
        spec, project, vnics = _choices(draw, *SPEC_OPTIONS)
        instances.append(dataclasses.replace(
            inst, extra_specs=dict(spec), project_id=project,
            vnic_types=vnics))
    aggregates = tuple(snap.Aggregate(name, tuple(sorted(names)),
                                      AGGREGATE_METADATA[name])
                       for name, names in sorted(members.items()))
    return dataclasses.replace(snapshot, hosts=tuple(hosts),
                               instances=tuple(instances),
                               aggregates=aggregates)
