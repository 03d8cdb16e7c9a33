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

import math

import hypothesis
import pytest

from tests.unit import builders as b
from tests.unit.core import strategies
from watcher_informed.core import classify
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap

P = params.Params()


@pytest.mark.parametrize('kind, values, expected', [
    ('cpu-bound', dict(b.IDLE, cpu=0.9), 'cpu'),
    ('dirtying', dict(b.IDLE, cpu=0.3, dirty_rate=64.0), 'memory'),
    ('disk', dict(b.IDLE, disk_read=3.0, disk_write=2.0), 'disk_io'),
    ('receiver', dict(b.IDLE, net_rx=5.0, net_tx=0.2), 'net_rx'),
    ('web server', dict(b.IDLE, net_rx=0.5, net_tx=8.0), 'web'),
    ('idle', dict(b.IDLE), 'idle'),
    ('light cpu', dict(b.IDLE, cpu=0.15), 'cpu'),
    # dirty 32/16 = 2x its threshold beats cpu 0.3/0.25 = 1.2x
    ('dirtying beats cpu', dict(b.IDLE, cpu=0.3, dirty_rate=32.0),
     'memory'),
    # cpu 1.0/0.25 = 4x beats disk 2/1 = 2x
    ('cpu beats disk', dict(b.IDLE, cpu=1.0, disk_read=2.0), 'cpu'),
])
def test_class_from_metrics(kind, values, expected):
    inst = b.vm('a', 'h')
    prof = classify.classify_instance(inst, snap.make_usage(values), P)
    assert prof.cls == expected, (kind, prof)
    assert prof.source == 'metrics'


@pytest.mark.parametrize('missing, expected', [
    ('cpu', 'unknown'),
    ('net_rx', 'idle'),       # net_tx still known: network is known
    ('dirty_rate', 'idle'),   # dirty rate is optional
])
def test_missing_metrics(missing, expected):
    values = dict(b.IDLE)
    values[missing] = None
    prof = classify.classify_instance(b.vm('a', 'h'),
                                      snap.make_usage(values), P)
    assert prof.cls == expected
    assert any(missing in line and 'missing' in line
               for line in prof.evidence), prof.evidence


def test_network_entirely_missing_is_unknown_with_reason():
    values = dict(b.IDLE, net_rx=None, net_tx=None)
    prof = classify.classify_instance(
        b.vm('a', 'h'), snap.make_usage(values, {'net_rx': 'store down'}),
        P)
    assert prof.cls == 'unknown'
    assert 'net' in prof.evidence[0]
    assert any('store down' in line for line in prof.evidence)


@pytest.mark.parametrize('bad', [float('nan'), -1.0, math.inf, 'x'])
def test_bad_values_become_missing(bad):
    usage = snap.make_usage(dict(b.IDLE, cpu=bad))
    assert usage.get('cpu') is None
    prof = classify.classify_instance(b.vm('a', 'h'), usage, P)
    assert prof.cls == 'unknown'


def test_heavy_class_found_even_with_other_metrics_missing():
    usage = snap.make_usage({'cpu': None, 'disk_read': 40.0})
    prof = classify.classify_instance(b.vm('a', 'h'), usage, P)
    assert prof.cls == 'disk_io'


@pytest.mark.parametrize('value, expected', [
    ('web', 'web'), ('  Disk_IO ', 'disk_io'), ('bogus', 'cpu'),
    ('unknown', 'cpu'),
])
def test_metadata_forces_class(value, expected):
    inst = b.vm('a', 'h', metadata={snap.CLASS_METADATA_KEY: value})
    prof = classify.classify_instance(inst, b.usage('cpu'), P)
    assert prof.cls == expected
    if expected == 'cpu':
        assert 'ignored metadata' in prof.evidence[0]
    else:
        assert prof.source == 'metadata'


def test_evidence_states_value_and_threshold():
    prof = classify.classify_instance(b.vm('a', 'h'), b.usage('cpu'), P)
    assert 'cpu=0.95 (heavy >= 0.25)' in prof.evidence


def test_classify_covers_every_instance():
    snapshot = b.cluster([b.host('h')], [b.vm('a', 'h'), b.vm('c', 'h')],
                         {'a': b.usage('web')})
    profiles = classify.classify(snapshot, P)
    classes = {k: v.cls for k, v in profiles.items()}
    assert classes == {'a': 'web', 'c': 'idle'}


@pytest.mark.parametrize('nic, per_host, expected', [
    (1250.0, {}, 'light'),           # 50 MiB/s is 4 % of 10 GbE: light
    (119.0, {}, 'web'),              # ... and 42 % of 1 GbE: a web server
    (1250.0, {'h': 119.0}, 'web'),   # the host's own NIC counts
    (119.0, {'h': 1250.0}, 'light'),
])
def test_network_thresholds_follow_the_nic(nic, per_host, expected):
    p = params.Params(host_network_capacity=nic,
                      host_network_capacities=per_host)
    inst = b.vm('a', 'h')
    usage = snap.make_usage({'cpu': 0.01, 'disk_read': 0.0,
                             'disk_write': 0.0, 'net_rx': 0.0,
                             'net_tx': 50.0})
    prof = classify.classify_instance(inst, usage, p)
    light = prof.cls == 'web' and prof.intensity < 1
    assert ('light' if light else prof.cls) == expected, prof
    assert any('heavy >= %.3g' % (0.05 * p.nic_mibps('h')) in e
               for e in prof.evidence)
@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(strategies.snapshots(), strategies.params())
def test_arrays_and_profiles_agree(snapshot, p):
    """The vectorised classification equals the per-instance rules."""
    profiles = classify.classify(snapshot, p)
    for inst in snapshot.instances:
        one = classify.classify_instance(inst, snapshot.usage_of(inst.uuid),
                                         p)
        assert profiles.class_of(inst.uuid) == one.cls, inst.uuid
        k = profiles.index[inst.uuid]
        assert profiles.intensity[k] == pytest.approx(one.intensity)
        assert profiles[inst.uuid] == one


def test_arrays_read_a_usage_table_like_a_mapping():
    from watcher_informed.core import usage
    snapshot = b.cluster(
        [b.host('h')], [b.vm(k, 'h') for k in b.WORKLOADS],
        {k: b.usage(k) for k in b.WORKLOADS})
    table = snap.Snapshot(snapshot.hosts, snapshot.instances,
                          usage.from_usages(snapshot.usage))
    assert [classify.classify(table, P).class_of(k) for k in b.WORKLOADS] \
        == list(b.WORKLOADS)
