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

"""The paper's numbers cover every class and agree with Table 1."""

import pytest

from watcher_informed.core import kinds
from watcher_informed.core import paper


def test_every_class_has_an_overhead_and_a_weight():
    assert set(paper.TABLE1_OVERHEAD) == set(kinds.CLASSES)
    assert set(paper.CLASS_WEIGHT) == set(kinds.CLASSES)


@pytest.mark.parametrize('cls,workload', [
    (kinds.CPU, 'SPEC-CPU'), (kinds.DISK_IO, 'IOZONE'),
    (kinds.WEB, 'WEBBENCH'), (kinds.MEMORY, 'OLTP')])
def test_overhead_is_table1s(cls, workload):
    assert paper.TABLE1_OVERHEAD[cls] == paper.TABLE1[workload][2]


def test_interference_pairs_are_classes_in_range():
    for (a, b), value in paper.INTERFERENCE.items():
        assert a in kinds.CLASSES and b in kinds.CLASSES
        assert a <= b, 'keys are order-independent (sorted)'
        assert 0.0 <= value <= 1.0


def test_first_and_last_are_disjoint():
    assert not set(paper.FIRST) & set(paper.LAST)
