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

Invariants of the generated snapshots (what "valid input" means here):

* every instance fits its host's allocatable capacity (total - reserved)
  x ratio, unless ``allow_overcommit`` is set;
* members of a hard ``anti-affinity`` group are on distinct hosts, members
  of a hard ``affinity`` group on one host;
* an instance belongs to at most one server group (Nova's rule);
* sizes are whole numbers (or halves after a 1.5 ratio), so allocation
  sums are exact whatever order they are added in.
"""

import dataclasses

from hypothesis import strategies as st

from watcher_informed.core import params as params_mod
from watcher_informed.core import snapshot as snap

AZS = (None, 'az1', 'az2')
STATES = ('active',) * 6 + ('stopped', 'paused', 'error')
FLAVORS = (
    # vcpus, ram MiB, disk GiB
    (1, 512, 0), (1, 1024, 10), (2, 2048, 20), (2, 4096, 20),
    (4, 4096, 40), (4, 8192, 40), (8, 16384, 80), (1, 2048, 1),
)
BAD_VALUES = (None, float('nan'), -1.0, float('inf'), 'garbage')


@st.composite
def hosts(draw, min_hosts=2, max_hosts=8):
    count = draw(st.integers(min_hosts, max_hosts))
    result = []
    for i in range(count):
        vcpus = draw(st.sampled_from((4, 8, 16, 24, 32)))
        ram = draw(st.sampled_from((8192, 16384, 32768, 65536)))
        disk = draw(st.sampled_from((100, 200, 500, 1000)))
        result.append(snap.Host(
            name='h%d' % i,
            vcpus=vcpus, ram_mb=ram, disk_gb=disk,
            vcpu_reserved=draw(st.sampled_from((0, 0, 1, 2))),
            ram_reserved_mb=draw(st.sampled_from((0, 0, 512, 2048))),
            disk_reserved_gb=draw(st.sampled_from((0, 0, 10, 50))),
            vcpu_ratio=draw(st.sampled_from((1.0, 1.0, 1.5, 2.0, 4.0))),
            ram_ratio=draw(st.sampled_from((1.0, 1.0, 1.5))),
            disk_ratio=draw(st.sampled_from((1.0, 1.0, 1.5))),
            up=draw(st.sampled_from((True,) * 7 + (False,))),
            enabled=draw(st.sampled_from((True,) * 7 + (False,))),
            az=draw(st.sampled_from(AZS)),
            uuid='host-uuid-%d' % i))
    return result


#: Metric order for :func:`usage_for`'s "one bad metric" draw.
METRIC_ORDER = (snap.CPU, snap.RAM, snap.DISK_READ, snap.DISK_WRITE,
                snap.NET_RX, snap.NET_TX, snap.DIRTY_RATE, snap.WSS)
#: Workload shapes: (disk MiB/s, net rx, net tx, dirty rate) at heat 1.
SHAPES = (
    (0.0, 0.0, 0.0, 0.0),      # cpu-only / idle, depending on heat
    (40.0, 0.0, 0.0, 1.0),     # disk_io
    (0.5, 30.0, 0.5, 1.0),     # net_rx
    (0.5, 0.5, 30.0, 1.0),     # web
    (0.1, 0.05, 0.05, 300.0),  # memory dirtying
    (5.0, 5.0, 5.0, 20.0),     # mixed
)


@st.composite
def usage_for(draw, instance, heat):
    """Usage of ``instance`` on a host of the given ``heat`` (0-1.2).

    Few draws per instance (generation speed): a workload shape, a level,
    the RAM fraction used and at most one missing or bad metric.
    """
    shape = SHAPES[draw(st.integers(0, len(SHAPES) - 1))]
    level = draw(st.floats(0.0, 1.0)) * heat
    ram_used = draw(st.sampled_from((0.1, 0.5, 0.9, 1.0, 1.2)))
    disk, rx, tx, dirty = (v * level for v in shape)
    readings = {
        snap.CPU: min(1.2, level), snap.RAM: instance.ram_mb * ram_used,
        snap.DISK_READ: disk / 2, snap.DISK_WRITE: disk / 2,
        snap.NET_RX: rx, snap.NET_TX: tx, snap.DIRTY_RATE: dirty,
        snap.WSS: instance.ram_mb * ram_used / 4,
    }
    defect = draw(st.integers(0, 3 * len(METRIC_ORDER) * len(BAD_VALUES)))
    if defect < len(METRIC_ORDER) * len(BAD_VALUES):
        metric = METRIC_ORDER[defect % len(METRIC_ORDER)]
        bad = BAD_VALUES[defect // len(METRIC_ORDER)]
        if bad is None and defect % 2:
            del readings[metric]  # not reported at all
        else:
            readings[metric] = bad
    reasons = {}
    if snap.DIRTY_RATE not in readings:
        reasons[snap.DIRTY_RATE] = 'no libvirt dirty-rate support'
    return snap.make_usage(readings, reasons)


def _fits(alloc, inst, host):
    return (alloc[host.name] + inst.resources).fits_in(host.capacity)


def _groups(draw, instances):
    """Disjoint server groups consistent with the initial placement."""
    free = [i.uuid for i in instances]
    by_uuid = {i.uuid: i for i in instances}
    groups = []
    for g in range(draw(st.integers(0, 4))):
        policy = draw(st.sampled_from(snap.POLICIES))
        if not free:
            break
        picks = draw(st.lists(st.sampled_from(free), min_size=1,
                              max_size=5, unique=True))
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
        if draw(st.integers(0, 4)) == 0:
            # a deleted server still listed in the group
            members.append('ghost-%d' % g)
        groups.append(snap.ServerGroup('sg-%d' % g, policy,
                                       tuple(members),
                                       name='group-%d' % g))
    return tuple(groups)


@st.composite
def snapshots(draw, min_hosts=2, max_hosts=8, max_instances=30,
              allow_overcommit=False):
    """A valid :class:`Snapshot` (see the module docstring)."""
    host_list = draw(hosts(min_hosts, max_hosts))
    alloc = {h.name: snap.Resources() for h in host_list}
    instances = []
    for i in range(draw(st.integers(0, max_instances))):
        vcpus, ram, disk = draw(st.sampled_from(FLAVORS))
        start = draw(st.integers(0, len(host_list) - 1))
        state = draw(st.sampled_from(STATES))
        flags = draw(st.integers(0, 19))
        metadata = {}
        if draw(st.integers(0, 14)) == 0:
            metadata[snap.CLASS_METADATA_KEY] = draw(st.sampled_from(
                params_mod.CLASSES + ('Memory ', 'bogus')))
        inst = snap.Instance(
            uuid='i%02d' % i, host='', vcpus=vcpus, ram_mb=ram,
            disk_gb=disk, name=draw(st.sampled_from(('', 'vm-%d' % i))),
            state=state, locked=flags == 1, excluded=flags == 2,
            metadata=metadata)
        # first host from ``start`` (round robin) that has room
        for k in range(len(host_list)):
            host = host_list[(start + k) % len(host_list)]
            if allow_overcommit or _fits(alloc, inst, host):
                break
        else:
            continue
        alloc[host.name] = alloc[host.name] + inst.resources
        pin = draw(st.integers(0, 5))
        pinned = (host.az if pin == 1 else
                  draw(st.sampled_from(AZS + ('az3',))) if pin == 2 else
                  None)
        instances.append(dataclasses.replace(inst, host=host.name,
                                             pinned_az=pinned))
    usage = {}
    for inst in instances:
        if draw(st.integers(0, 14)) == 0:
            continue  # no usage at all for this instance
        usage[inst.uuid] = draw(usage_for(inst))
    groups = _groups(draw, instances)
    uuids = [i.uuid for i in instances]
    comm = ()
    if len(uuids) >= 2:
        comm = tuple(tuple(g) for g in draw(st.lists(
            st.lists(st.sampled_from(uuids + ['ghost-c']), min_size=2,
                     max_size=4, unique=True), max_size=3)))
    return snap.Snapshot(tuple(host_list), tuple(instances), usage,
                         groups, comm)


@st.composite
def params(draw):
    """A :class:`Params` that passes ``validate()``."""
    p = params_mod.Params(
        cpu_threshold=draw(st.sampled_from((0.5, 0.7, 0.8, 0.9, 1.0))),
        ram_threshold=draw(st.sampled_from((0.5, 0.7, 0.9, 1.0))),
        disk_io_threshold=draw(st.sampled_from((0.3, 0.8))),
        net_threshold=draw(st.sampled_from((0.3, 0.8))),
        target_margin=draw(st.sampled_from((0.0, 0.05, 0.1, 0.2, 0.5))),
        host_disk_io_mibps=draw(st.sampled_from((50.0, 100.0, 500.0))),
        host_net_mibps=draw(st.sampled_from((50.0, 100.0, 1250.0))),
        bandwidth_mibps=draw(st.sampled_from((10.0, 125.0, 1250.0))),
        downtime_limit_ms=draw(st.sampled_from((0.0, 100.0, 500.0))),
        max_rounds=draw(st.integers(1, 30)),
        assumed_dirty_mibps=draw(st.sampled_from((0.0, 0.0, 20.0))),
        max_migrations=draw(st.integers(0, 20)),
        max_out_per_host=draw(st.integers(1, 3)),
        max_in_per_host=draw(st.integers(1, 3)),
        max_parallel=draw(st.integers(0, 4)),
        exact_select_limit=draw(st.sampled_from((0, 4, 8, 12))),
        communication_bonus=draw(st.sampled_from((0.0, 1.0))),
        soft_anti_affinity_penalty=draw(st.sampled_from((0.0, 1.0))),
        headroom_weight=draw(st.sampled_from((0.0, 0.5))),
        seed=draw(st.integers(0, 3)))
    return p.validate()
