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

import pytest

from tests.unit import builders as b
from watcher_informed.core import overload
from watcher_informed.core import params
from watcher_informed.core import snapshot as snap

P = params.Params()


def two_hosts(cpu_a, vms_a=4):
    vms = [b.vm('a%d' % i, 'A') for i in range(vms_a)] + [b.vm('b0', 'B')]
    usages = {v.uuid: b.usage('idle', cpu=cpu_a) for v in vms[:-1]}
    return b.cluster([b.host('A'), b.host('B')], vms, usages)


@pytest.mark.parametrize('cpu, hot', [(0.5, False), (0.8, False),
                                      (0.85, True), (1.0, True)])
def test_cpu_threshold(cpu, hot):
    # 4 VMs x 2 vCPU x cpu on 8 cores = cpu
    found = overload.find_overloaded(two_hosts(cpu), P)
    assert [h.name for h in found] == (['A'] if hot else [])


def test_excess_is_what_brings_host_to_target():
    found = overload.find_overloaded(two_hosts(1.0), P)
    # load 8 cores, target 0.7 x 8 = 5.6 -> shed 2.4 cores
    assert found[0].excess == {'cpu': pytest.approx(2.4)}


def test_ram_falls_back_to_flavor_when_usage_missing():
    vms = [b.vm('a%d' % i, 'A', ram_mb=4096) for i in range(4)]
    usages = {v.uuid: snap.make_usage({'cpu': 0.0}) for v in vms}
    snapshot = b.cluster([b.host('A'), b.host('B')], vms, usages)
    loads = overload.host_loads(snapshot, P)
    assert loads['A']['ram'] == pytest.approx(1.0)
    assert [h.name for h in overload.find_overloaded(snapshot, P)] == ['A']


@pytest.mark.parametrize('dim, values', [
    ('disk_io', {'disk_read': 300.0, 'disk_write': 150.0}),
    ('net', {'net_rx': 600.0, 'net_tx': 500.0}),
])
def test_io_dimensions(dim, values):
    vm = b.vm('a', 'A')
    snapshot = b.cluster([b.host('A'), b.host('B')], [vm],
                         {'a': b.usage('idle', **values)})
    hot = overload.find_overloaded(snapshot, P)
    assert hot and dim in hot[0].excess


def test_worst_first_then_name():
    vms = [b.vm('%s%d' % (h, i), h) for h in 'ABC' for i in range(4)]
    cpu = {'A': 0.9, 'B': 1.0, 'C': 0.9}
    usages = {v.uuid: b.usage('idle', cpu=cpu[v.host]) for v in vms}
    snapshot = b.cluster([b.host(n) for n in 'CBA'], vms, usages)
    assert [h.name for h in overload.find_overloaded(snapshot, P)] == \
        ['B', 'A', 'C']


def test_sd_and_overload_amount():
    loads = {'A': {'cpu': 1.0, 'ram': 0.1, 'disk_io': 0, 'net': 0},
             'B': {'cpu': 0.0, 'ram': 0.1, 'disk_io': 0, 'net': 0}}
    assert overload.load_sd(loads) == pytest.approx(0.5)
    assert overload.overload_amount(loads, P) == pytest.approx(0.2)
