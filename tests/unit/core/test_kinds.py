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

"""The core's vocabularies print, compare and serialise as their values."""

import json

import pytest

from watcher_informed.core import kinds


@pytest.mark.parametrize('member,value', [
    (kinds.WorkloadClass.CPU, 'cpu'),
    (kinds.WorkloadClass.NET_RX, 'net_rx'),
    (kinds.Metric.CPU, 'cpu'),
    (kinds.Metric.DIRTY_RATE, 'dirty_rate'),
    (kinds.Dim.DISK_IO, 'disk_io'),
])
def test_member_behaves_as_its_value(member, value):
    assert member == value and hash(member) == hash(value)
    assert str(member) == '%s' % member == f'{member}' == value
    assert json.dumps({member: member}) == json.dumps({value: value})
    assert {value: 1}[member] == 1


def test_a_class_and_a_metric_are_different_things():
    assert kinds.WorkloadClass.CPU is not kinds.Metric.CPU
    assert type(kinds.WorkloadClass.CPU) is not type(kinds.Metric.CPU)


def test_every_metric_has_a_unit():
    assert set(kinds.UNITS) == set(kinds.Metric)
