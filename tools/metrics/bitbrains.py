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

"""Bitbrains traces replayed as Ceilometer would publish them (pure).

Contract: :func:`dataset` picks, with a seeded generator, ``vms`` windows
of 25 consecutive 5-minute rows of the Bitbrains GWA-T-12 Rnd traces
(VM on in every row), places them on four 16-core hosts so that the first
host is CPU-overloaded, re-times every window onto a 300 s grid ending at
``t_end`` (the last sample, a multiple of 300), and returns a JSON-able
dict with:

* ``instances``: uuid, name, host, flavor, its disks and NICs as Ceilometer
  names them (``<uuid>-vda``; ``instance-<hex>-<uuid>-tap<hex>``), each
  device with its share of the instance's traffic;
* ``samples``: what Ceilometer's compute agent polls at each grid point:
  cumulative ``cpu`` (ns, all vCPUs), ``memory.usage`` and
  ``memory.resident`` (MiB), and per device the cumulative
  ``disk.device.{read,write}.bytes`` / ``network.{incoming,outgoing}.bytes``.
  The trace has no resident size: ``memory.resident`` repeats the used
  memory, a lower bound (real Ceilometer reports the resident set of the
  guest's QEMU process, every page the guest touched plus QEMU's own
  memory: tests/ceilometer sees 187-251 MiB for guests using 22-88 MiB);
* ``truth``: the same traces in the core's units as ``{uuid: {metric:
  [[t, value], ...]}}`` -- rates stamped at the end of their 300 s
  interval, gauges at their sample -- which is what ``InMemoryMetrics``
  is given to compare with the stores;
* ``probes``: extra instances for the failure tests (a stale one whose
  samples stop 30 min early, one with a single sample, and plain ones the
  tests damage: NaN, negative value, deleted metric, counter reset).

Units of the trace (README of the data set): CPU in % of the provisioned
cores, memory in KB, disk and network in KB/s.  A counter starts at a
random offset, so that absolute values look like a running guest's.
"""

import hashlib
import pathlib
import random
import uuid as uuidlib

import numpy as np

from watcher_informed.adapters import bitbrains as reader

STEP = 300
ROWS = 25          # 24 rates (2 h) and the base sample before them
MIB = 1024.0 * 1024.0
HOST_CORES = 8
HOST_RAM_MB = 65536
VCPU_RATIO = 4.0
RAM_RATIO = 1.5
HOST_NAMES = ('cmp-1', 'cmp-2', 'cmp-3', 'cmp-4')
PROJECT = '5a8d1f9ea3c34d6fa7bb0b6c0f5e1b7a'
USER = '0d7b2ab9c54e4b6c8a1e52c55ad0e3f1'
COUNTER_METERS = ('cpu',)
DEVICE_METERS = {
    'disk': ('disk.device.read.bytes', 'disk.device.write.bytes'),
    'nic': ('network.incoming.bytes', 'network.outgoing.bytes'),
}
#: trace column of each device meter (KB/s).
COLUMN = {'disk.device.read.bytes': 7, 'disk.device.write.bytes': 8,
          'network.incoming.bytes': 9, 'network.outgoing.bytes': 10}
#: core metric of each device meter.
CORE = {'disk.device.read.bytes': 'disk_read',
        'disk.device.write.bytes': 'disk_write',
        'network.incoming.bytes': 'net_rx',
        'network.outgoing.bytes': 'net_tx'}
DEFAULT_TRACE_DIR = (pathlib.Path(__file__).resolve().parents[3] / 'shared'
                     / 'data' / 'bitbrains-gwa-t-12-rnd')


def load_traces(trace_dir, count=120):
    """The first ``count`` traces of the data set, ``{id: rows}``."""
    return reader.load_traces(trace_dir, count)


def windows(traces, rng, ram_cap_mb=16384, vcpu_cap=8):
    """One random on-window ``(trace id, start row, rows)`` per trace."""
    out = []
    for tid in sorted(traces):
        rows = traces[tid]
        if len(rows) < ROWS + 1:
            continue
        for _ in range(50):
            start = rng.randrange(0, len(rows) - ROWS)
            w = rows[start:start + ROWS]
            if np.any(w[:, 1] <= 0) or np.any(w[:, 5] <= 0) or \
                    len(set(w[:, 1])) > 1:
                continue
            if w[-1, 5] / 1024.0 > ram_cap_mb or w[-1, 1] > vcpu_cap:
                continue
            out.append((tid, start, w))
            break
    return out


def _uuid(rng):
    return '%08x-%04x-4%03x-8%03x-%012x' % (
        rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
        rng.getrandbits(12), rng.getrandbits(48))


def host_id(host):
    """Nova's ``hostId`` of a host for our project (the vm_instance label)."""
    return hashlib.sha224((PROJECT + host).encode()).hexdigest()


def _busy(w):
    return float(np.mean(w[1:, 4])) / 100.0 * w[-1, 1]


def _devices(kind, uuid, index, rng):
    if kind == 'disk':
        names = ['vda', 'vdb'] if index % 3 == 0 else ['vda']
        shares = [0.7, 0.3] if len(names) == 2 else [1.0]
        return [{'id': '%s-%s' % (uuid, n), 'name': n, 'share': s}
                for n, s in zip(names, shares)]
    names = ['tap%011x' % rng.getrandbits(44) for _ in
             range(2 if index % 4 == 0 else 1)]
    shares = [0.6, 0.4] if len(names) == 2 else [1.0]
    inst_name = 'instance-%08x' % (index + 1)
    return [{'id': '%s-%s-%s' % (inst_name, uuid, n), 'name': n, 'share': s}
            for n, s in zip(names, shares)]


def _instance(uuid, name, host, index, tid, start, w, rng):
    vcpus = int(w[-1, 1])
    flavor = 'bb.%dc%dg' % (vcpus, max(1, int(w[-1, 5] / 1048576.0)))
    return {
        'uuid': uuid, 'name': name, 'host': host, 'vcpus': vcpus,
        'ram_mb': int(w[-1, 5] / 1024.0), 'disk_gb': 20,
        'trace': tid, 'row': start, 'index': index,
        'instance_name': 'instance-%08x' % (index + 1),
        'disks': _devices('disk', uuid, index, rng),
        'nics': _devices('nic', uuid, index, rng),
        'flavor_name': flavor,
        # Nova's flavor id (a UUID here), as Ceilometer reads it from the
        # domain's metadata
        'flavor_id': str(uuidlib.uuid5(uuidlib.NAMESPACE_URL,
                                       'flavor:' + flavor)),
    }


def series(inst, w, times, rng):
    """``(samples, truth)`` of one instance from its trace window."""
    vcpus = inst['vcpus']
    samples = {}
    truth = {}
    # cpu: cumulative ns over all vCPUs.
    value = float(rng.randrange(10 ** 10, 10 ** 12))
    cpu = [value]
    for k in range(1, len(times)):
        value += w[k, 4] / 100.0 * vcpus * 1e9 * STEP
        cpu.append(value)
    samples[inst['uuid']] = {
        'cpu': list(zip(times, cpu)),
        'memory.usage': [(t, w[k, 6] / 1024.0) for k, t in enumerate(times)],
        'memory.resident': [(t, w[k, 6] / 1024.0)
                            for k, t in enumerate(times)],
    }
    truth['cpu'] = [(times[k], w[k, 4] / 100.0)
                    for k in range(1, len(times))]
    truth['ram'] = [(t, w[k, 6] / 1024.0) for k, t in enumerate(times)]
    # the host-side resident size is published equal to the guest's use
    truth['ram_resident'] = list(truth['ram'])
    for kind in ('disk', 'nic'):
        devices = inst['disks' if kind == 'disk' else 'nics']
        for meter in DEVICE_METERS[kind]:
            col = COLUMN[meter]
            for dev in devices:
                value = float(rng.randrange(10 ** 6, 10 ** 9))
                points = [(times[0], value)]
                for k in range(1, len(times)):
                    value += w[k, col] * 1024.0 * STEP * dev['share']
                    points.append((times[k], value))
                samples.setdefault(dev['id'], {})[meter] = points
            truth[CORE[meter]] = [(times[k], w[k, col] / 1024.0)
                                  for k in range(1, len(times))]
    return samples, truth


def dataset(t_end, vms=32, seed=5, trace_dir=DEFAULT_TRACE_DIR, traces=None):
    """The loadable scenario (see the module documentation)."""
    if t_end % STEP:
        raise ValueError('t_end must be a multiple of %d' % STEP)
    traces = traces if traces is not None else load_traces(trace_dir)
    rng = random.Random(seed)  # noqa: S311 - seeded scenario
    pool = windows(traces, rng)
    rng.shuffle(pool)
    busy = sorted((w for w in pool if _busy(w[2]) >= 0.5),
                  key=lambda w: -_busy(w[2]))
    rest = [w for w in pool if _busy(w[2]) < 0.5]
    chosen = []          # (host, window)
    load = dict.fromkeys(HOST_NAMES, 0.0)
    alloc = {h: [0.0, 0.0] for h in HOST_NAMES}

    def fits(host, w):
        return (alloc[host][0] + w[-1, 1] <= HOST_CORES * VCPU_RATIO and
                alloc[host][1] + w[-1, 5] / 1024.0 <=
                HOST_RAM_MB * RAM_RATIO)

    def add(host, window):
        chosen.append((host, window))
        load[host] += _busy(window[2])
        alloc[host][0] += window[2][-1, 1]
        alloc[host][1] += window[2][-1, 5] / 1024.0

    for window in busy:
        if load['cmp-1'] >= 0.95 * HOST_CORES:
            break
        if fits('cmp-1', window[2]):
            add('cmp-1', window)
    others = HOST_NAMES[1:]
    for window in rest + [b for b in busy if b not in
                          [c[1] for c in chosen]]:
        if len(chosen) >= vms:
            break
        host = min(others, key=lambda h: (load[h], h))
        if load[host] + _busy(window[2]) > 0.4 * HOST_CORES or \
                not fits(host, window[2]):
            continue
        add(host, window)
    times = [t_end - (ROWS - 1 - k) * STEP for k in range(ROWS)]
    instances, samples, truth = [], {}, {}
    for index, (host, (tid, start, w)) in enumerate(chosen):
        uuid = _uuid(rng)
        inst = _instance(uuid, 'bb-%02d' % index, host, index, tid, start, w,
                         rng)
        s, tr = series(inst, w, times, rng)
        instances.append(inst)
        samples.update(s)
        truth[uuid] = tr
    probes = {}
    spare = [w for w in rest if w not in [c[1] for c in chosen]]
    for n, role in enumerate(('nan', 'negative', 'deleted', 'reset',
                              'stale', 'few')):
        tid, start, w = spare[n]
        uuid = _uuid(rng)
        index = len(instances) + n
        inst = _instance(uuid, 'probe-%s' % role, 'cmp-4', index, tid, start,
                         w, rng)
        ptimes = times
        if role == 'stale':
            ptimes = [t - 6 * STEP for t in times]
        s, tr = series(inst, w, ptimes, rng)
        if role == 'few':
            s = {rid: {m: pts[-1:] for m, pts in per.items()}
                 for rid, per in s.items()}
            tr = {m: (pts[-1:] if m == 'ram' else [])
                  for m, pts in tr.items()}
        inst['role'] = role
        probes[role] = inst
        samples.update(s)
        truth[uuid] = tr
    return {
        't_end': t_end, 'step': STEP, 'rows': ROWS, 'seed': seed,
        'project': PROJECT, 'user': USER,
        'hosts': [{'name': h, 'vcpus': HOST_CORES, 'ram_mb': HOST_RAM_MB,
                   'disk_gb': 2000, 'vcpu_ratio': VCPU_RATIO,
                   'ram_ratio': RAM_RATIO}
                  for h in HOST_NAMES],
        'instances': instances, 'probes': probes,
        'samples': samples, 'truth': truth,
    }


def all_instances(data):
    """Scenario instances followed by the probes."""
    return list(data['instances']) + list(data['probes'].values())
