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

"""The strategy plans on the next hour and on the hosts' own meters.

Issue 18, through Watcher's loader and real compute model (see
:mod:`tests.functional.cluster`): the in-memory reader serves a history
of samples (``read_series``, one query per metric) and the hosts' meters
(``read_hosts``).
"""

import logging

import pytest

from tests.functional import cluster as cl
from watcher_informed.adapters.metrics import memory

NOW = 1_000_000.0
STEP = 300.0


def history(per_hour):
    """12 samples per hour, the last hour ending at NOW."""
    n = 12 * len(per_hour)
    return [(NOW - STEP / 2 - STEP * (n - 1 - k), value)
            for k, value in enumerate(v for hour in per_hour
                                      for v in hour)]


def flat(value, hours):
    return [[value] * 12 for _ in range(hours)]


def ramp(start, stop):
    return [[start + (stop - start) * (k + 1) / 12.0 for k in range(12)]]


def hot_host_cluster():
    """A: four 2-vCPU VMs on 8 cores; B, C: empty."""
    c = cl.Cluster()
    for name in ('A', 'B', 'C'):
        c.host(name, vcpus=8, memory=65536)
    for i in range(4):
        c.vm('a%d' % i, 'A', vcpus=2, memory=2048)
    return c


def reader_for(c, cpu_history, hosts=None):
    series = {}
    for uuid, values in c.values.items():
        for metric, value in values.items():
            samples = cpu_history if (metric == 'cpu' and
                                      c.names[uuid].startswith('a')) \
                else history(flat(value, 2))
            series.setdefault(metric, {})[uuid] = samples
    return memory.InMemoryMetrics(series, NOW, hosts=hosts)


@pytest.mark.parametrize('estimator, moved', [
    # the last hour averages 0.7 (host at 70 %, under 80 %): no move
    ('last', False),
    # but it climbs from 0.5 to 0.9 within the hour: the trend sees it
    ('trend', True),
    # and so does the default, from the last sample (0.9)
    (None, True),
])
def test_a_rising_host_is_relieved_before_it_is_hot(estimator, moved):
    c = hot_host_cluster()
    reader = reader_for(c, history(flat(0.5, 11) + ramp(0.5, 0.9)))
    params = {'demand_estimator': estimator} if estimator else {}
    strategy, solution = cl.run(c, reader, demand_history=12 * 3600,
                                **params)
    sources = {s for _, s, _ in cl.moves(solution)}
    assert (sources == {'A'}) if moved else (sources == set())
    # one history query per load metric, besides the window reads
    assert reader.queries >= 6


@pytest.mark.parametrize('host_cpu, moved', [
    (None, False),     # the VMs alone: 4 cores of 8
    (0.95, True),      # the host's own meter: 7.6 of 8 busy
])
def test_the_host_meter_counts_what_the_vms_do_not_explain(host_cpu, moved):
    c = hot_host_cluster()
    hosts = {'cpu': {'A': [(NOW - 60, host_cpu)]}} if host_cpu else None
    reader = reader_for(c, history(flat(0.5, 2)), hosts)
    strategy, solution = cl.run(c, reader)
    moves = cl.moves(solution)
    assert bool(moves) == moved
    plan = strategy.informed_plan
    if moved:
        # the unexplained 3.6 cores stay: A ends at target (0.7) or below
        # only by moving at least two 1-core VMs
        assert len(moves) >= 2
        assert plan.loads_after['A']['cpu'] <= 0.7 + 1e-9


def test_a_vm_without_cpu_is_reported_and_not_counted_idle(caplog):
    c = cl.Cluster()
    for name in ('A', 'B'):
        c.host(name, vcpus=8, memory=65536)
    c.vm('busy0', 'A', vcpus=2, cpu=0.9)
    c.vm('busy1', 'A', vcpus=2, cpu=0.9)
    blind = c.vm('blind', 'A', vcpus=4, metrics={'ram': 512.0})
    with caplog.at_level(logging.WARNING):
        strategy, _ = cl.run(c)
    text = caplog.text
    assert 'without a CPU metric' in text and blind in text
    # counted at the measured instances' 90th percentile: 0.9 x 4 cores
    assert strategy.informed_plan.loads_before['A']['cpu'] == \
        pytest.approx((0.9 * 2 + 0.9 * 2 + 0.9 * 4) / 8)
