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

import gzip

import numpy as np
import pytest

from watcher_informed.adapters import bitbrains

HEADER = ('Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\t'
          'CPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned '
          '[KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk '
          'write throughput [KB/s];\tNetwork received throughput [KB/s];\t'
          'Network transmitted throughput [KB/s]\n')
ROWS = [
    # t, cores, MHz cap, MHz used, CPU %, mem cap KB, mem used KB,
    # disk r/w KB/s, net rx/tx KB/s
    [1000, 2, 5200.0, 93.6, 50.0, 8388608, 1048576, 1024, 2048, 512, 256],
    [1300, 0, 5200.0, 0.0, 0.0, 8388608, 0, 0, 0, 0, 0],    # VM off
    [1600, 2, 5200.0, 114.4, 25.0, 8388608, 2097152, 0, 0, 0, 10.24],
]


def write(path, rows=ROWS, blank_line=False, extra=''):
    opener = gzip.open if path.suffix == '.gz' else open
    with opener(path, 'wt') as f:
        f.write(HEADER)
        for row in rows:
            f.write(';\t'.join(repr(v) for v in row) + '\n')
            if blank_line:
                f.write('\n')
        f.write(extra)
    return path


@pytest.mark.parametrize('name', ['7.csv.gz', '7.csv'])
def test_read_trace_gives_every_row_as_floats(tmp_path, name):
    rows = bitbrains.read_trace(write(tmp_path / name, blank_line=True))
    assert rows.shape == (3, len(bitbrains.COLUMNS))
    assert rows.dtype == float
    assert np.array_equal(rows, np.array(ROWS, dtype=float))


@pytest.mark.parametrize('extra, words', [
    ('1900;\t2;\t1\n', 'line 5: 3 columns, expected 11'),
    ('1900;\t2;\tx;\t1;\t1;\t1;\t1;\t1;\t1;\t1;\t1\n',
     'line 5: cpu_capacity_mhz is not a number'),
])
def test_a_bad_line_is_named(tmp_path, extra, words):
    path = write(tmp_path / '7.csv.gz', extra=extra)
    with pytest.raises(bitbrains.TraceError) as info:
        bitbrains.read_trace(path)
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_core_series_converts_units_and_drops_vm_off_rows():
    series = bitbrains.core_series(np.array(ROWS, dtype=float))
    assert series['cpu'] == [(1000.0, 0.5), (1600.0, 0.25)]
    assert series['ram'] == [(1000.0, 1024.0), (1600.0, 2048.0)]
    assert series['disk_read'] == [(1000.0, 1.0), (1600.0, 0.0)]
    assert series['disk_write'] == [(1000.0, 2.0), (1600.0, 0.0)]
    assert series['net_rx'] == [(1000.0, 0.5), (1600.0, 0.0)]
    assert series['net_tx'] == [(1000.0, 0.25), (1600.0, 0.01)]
    assert all(type(v) is float for s in series.values() for _, v in s)


def test_load_traces_orders_by_vm_id_and_counts(tmp_path):
    month = tmp_path / bitbrains.MONTH
    month.mkdir()
    for vm_id in (100, 2, 10):
        write(month / ('%d.csv.gz' % vm_id), rows=ROWS[:vm_id % 3 + 1])
    assert [i for i, _ in bitbrains.trace_files(tmp_path)] == [2, 10, 100]
    traces = bitbrains.load_traces(tmp_path, count=2)
    assert list(traces) == [2, 10]
    assert traces[2].shape == (3, 11) and traces[10].shape == (2, 11)
    assert list(bitbrains.load_traces(tmp_path)) == [2, 10, 100]


def test_load_traces_refuses_an_empty_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        bitbrains.load_traces(tmp_path)
    assert bitbrains.MONTH in str(info.value)
