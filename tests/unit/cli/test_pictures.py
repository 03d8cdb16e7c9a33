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

"""The pictures show destinations, dependencies and every hot dimension."""

import pytest

from watcher_informed.cli import pictures

pytest.importorskip('matplotlib')


def action(step, uuid, name, lane, start, end, dest, parents=()):
    return {'step': step, 'action_uuid': uuid, 'name': name, 'lane': lane,
            'class': 'cpu', 'start_s': start, 'end_s': end,
            'downtime_s': 0.01, 'destination': dest,
            'parents': list(parents)}


def document():
    load = {'cpu': 0.2, 'ram': 0.3, 'disk_io': 0.1, 'net': 0.1}
    return {
        'parameters': {'cpu_threshold': 0.8, 'ram_threshold': 0.9,
                       'disk_io_threshold': 0.7, 'net_threshold': 0.7},
        'loads_before': {'h1': dict(load, disk_io=0.95),
                         'h2': dict(load, net=0.75, ram=0.92),
                         'h3': dict(load)},
        'loads_after': {'h1': dict(load), 'h2': dict(load),
                        'h3': dict(load, disk_io=0.5)},
        'efficacy': {'predicted_makespan': 9.0},
        'actions': [
            action(1, 'A', 'vm-a', 'h1', 0.0, 4.0, 'h3'),
            action(2, 'B', 'vm-b', 'h2', 4.0, 9.0, 'h1', parents=['A']),
        ],
    }


def test_every_overloaded_dimension_is_found():
    assert pictures.overloaded(document()) == {
        'disk_io': ['h1'], 'net': ['h2'], 'ram': ['h2']}


def test_dependencies_are_the_parents():
    doc = document()
    assert [(p['step'], c['step']) for p, c in
            pictures.dependencies(doc)] == [(1, 2)]


@pytest.mark.parametrize('step, label', [(0, '1 vm-a -> h3'),
                                         (1, '2 vm-b -> h1 (after 1)')])
def test_move_labels_name_destination_and_dependencies(step, label):
    assert pictures.move_label(document()['actions'][step],
                               {'A': 1, 'B': 2}) == label


def test_pictures_show_destinations_and_hot_dimensions(tmp_path):
    paths = pictures.write_all(document(), tmp_path)
    assert sorted(p.name for p in paths) == [
        'host-load.png', 'host-load.svg', 'plan-gantt.png',
        'plan-gantt.svg']
    gantt = (tmp_path / 'plan-gantt.svg').read_text()
    assert '1 vm-a -&gt; h3' in gantt and '2 vm-b -&gt; h1 (after 1)' in gantt
    load = (tmp_path / 'host-load.svg').read_text()
    for title in ('disk I/O (rate / host capacity): overloaded on h1',
                  'network (rate / host capacity): overloaded on h2',
                  'RAM (used / physical): overloaded on h2'):
        assert title in load
    assert 'CPU (busy cores / cores):' not in load
    assert 'overloaded: disk_io, net, ram' in load
