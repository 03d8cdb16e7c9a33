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

"""The end-to-end stack's exporter publishes what the readers expect.

``tools/stack/exporter.py`` stands in for Ceilometer's Prometheus
exporter; its text is parsed here with the same naming rules the
Prometheus reader applies (resource ids of instances, disks and vNICs),
and its counters must grow at the scenario's rates.
"""

import importlib.util
import pathlib

import pytest

from watcher_informed.adapters.metrics import prometheus

PATH = pathlib.Path(__file__).parents[3] / 'tools' / 'stack' / 'exporter.py'
SPEC = importlib.util.spec_from_file_location('wi_stack_exporter', PATH)
exporter = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(exporter)

UUID = '6f1d3c1e-6c7a-4e0b-9a51-2c0d6d3b7e10'
INSTANCE = {'uuid': UUID, 'name': 'vm', 'vcpus': 2}
METRICS = {UUID: {'cpu': 0.5, 'ram': 700, 'disk_read': 2.0,
                  'disk_write': 1.0, 'net_rx': 3.0, 'net_tx': 4.0,
                  'dirty_rate': 40.0}}


def parse(text):
    """``{(name, resource): value}`` of an exposition text."""
    out = {}
    for line in text.splitlines():
        if line.startswith('#') or not line:
            continue
        head, value = line.rsplit(' ', 1)
        name, labels = head.split('{', 1)
        pairs = dict(p.split('=', 1) for p in labels.rstrip('}').split(','))
        out[(name, pairs['resource'].strip('"'))] = float(value)
    return out


@pytest.mark.parametrize('name,metric,scale', [
    ('ceilometer_cpu', 'cpu', 2 * 1e9),
    ('ceilometer_disk_device_read_bytes', 'disk_read', exporter.MIB),
    ('ceilometer_disk_device_write_bytes', 'disk_write', exporter.MIB),
    ('ceilometer_network_incoming_bytes', 'net_rx', exporter.MIB),
    ('ceilometer_network_outgoing_bytes', 'net_tx', exporter.MIB),
])
def test_counters_grow_at_the_scenario_rate(name, metric, scale):
    at = {t: parse(exporter.render([INSTANCE], METRICS, {UUID: 100.0},
                                   100.0 + t)) for t in (10, 70)}
    (key,) = [k for k in at[10] if k[0] == name]
    rate = (at[70][key] - at[10][key]) / 60.0
    assert rate == pytest.approx(METRICS[UUID][metric] * scale)


@pytest.mark.parametrize('name,metric', [
    ('ceilometer_memory_usage', 'ram'),
    ('ceilometer_memory_dirty_rate', 'dirty_rate'),
])
def test_gauges_are_the_scenario_values(name, metric):
    values = parse(exporter.render([INSTANCE], METRICS, {UUID: 0.0}, 5.0))
    assert values[(name, UUID)] == METRICS[UUID][metric]


def test_resource_ids_map_back_to_the_instance():
    values = parse(exporter.render([INSTANCE], METRICS, {UUID: 0.0}, 5.0))
    for (name, rid) in values:
        assert prometheus.owner(rid, {UUID}) == UUID, (name, rid)
    kinds = {rid.replace(UUID, '<uuid>') for _, rid in values}
    assert kinds == {'<uuid>', '<uuid>-vda', 'instance-00000001-<uuid>-tap0'}


def test_an_instance_without_metrics_reports_zeros():
    values = parse(exporter.render([INSTANCE], {}, {UUID: 0.0}, 50.0))
    assert set(values.values()) == {0.0}


@pytest.mark.parametrize('metrics,published', [
    ({UUID: dict(METRICS[UUID], wss=256.0)}, {UUID: 256.0}),
    (METRICS, {}),
])
def test_working_set_only_where_the_scenario_gives_one(metrics, published):
    values = parse(exporter.render([INSTANCE], metrics, {UUID: 0.0}, 5.0))
    found = {rid: v for (name, rid), v in values.items()
             if name == 'ceilometer_memory_dirty_working_set'}
    assert found == published
