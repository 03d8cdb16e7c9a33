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

"""The one reader of the Bitbrains GWA-T-12 trace files.

Contract: a trace file (``<vm id>.csv`` or ``.csv.gz``) is a header line,
then one row per sample of eleven ``;``-separated columns (tabs after the
separators), in the order of :data:`COLUMNS`; :func:`read_trace` returns
them as a float ``array(n, 11)`` and raises :class:`TraceError` naming the
file and the first bad line.  The timestamp column is in seconds despite
its ``[ms]`` header; CPU is in % of the provisioned cores, memory in KB,
disk and network in KB/s (README of the data set).  :func:`load_traces`
reads a month's directory, :func:`core_series` turns rows into the core's
metric series (VM-off rows, 0 cores, dropped).  Used by the CLI's scenario
files, the benchmark, the metric-store test data and the demo generator.
Data: GWA-T-12 Bitbrains, provided by Bitbrains IT Services Inc., published
by the Grid Workloads Archive, TU Delft (Shen, van Beek, Iosup, CCGrid
2015).
"""

import gzip
import pathlib

import numpy as np

COLUMNS = ('timestamp_s', 'cpu_cores', 'cpu_capacity_mhz', 'cpu_usage_mhz',
           'cpu_usage_pct', 'memory_capacity_kb', 'memory_usage_kb',
           'disk_read_kbps', 'disk_write_kbps', 'net_rx_kbps',
           'net_tx_kbps')
TIME, CORES, CPU_PCT, MEMORY_KB, MEMORY_USED_KB = 0, 1, 4, 5, 6
DISK_READ, DISK_WRITE, NET_RX, NET_TX = 7, 8, 9, 10

#: the month of the shared subset (``<trace dir>/2013-7/<id>.csv.gz``).
MONTH = '2013-7'

#: column -> (core metric, factor to core units: fraction, MiB, MiB/s).
CORE_COLUMNS = {CPU_PCT: ('cpu', 0.01), MEMORY_USED_KB: ('ram', 1 / 1024.0),
                DISK_READ: ('disk_read', 1 / 1024.0),
                DISK_WRITE: ('disk_write', 1 / 1024.0),
                NET_RX: ('net_rx', 1 / 1024.0),
                NET_TX: ('net_tx', 1 / 1024.0)}


class TraceError(ValueError):
    """A trace file that is not in the GWA-T-12 format."""


def _open(path):
    opener = gzip.open if str(path).endswith('.gz') else open
    return opener(path, 'rt')


def read_trace(path):
    """``array(n, 11)`` of the rows of one trace file (.csv or .csv.gz)."""
    with _open(path) as f:
        f.readline()
        text = f.read()
    try:
        values = np.array(text.replace('\t', '').replace(';', ' ').split(),
                          dtype=float)
        return values.reshape(-1, len(COLUMNS))
    except ValueError:
        raise TraceError(_first_problem(path, text)) from None


def _first_problem(path, text):
    for number, line in enumerate(text.splitlines(), start=2):
        if not line.strip():
            continue
        cells = line.replace('\t', '').split(';')
        if len(cells) != len(COLUMNS):
            return '%s: line %d: %d columns, expected %d' % (
                path, number, len(cells), len(COLUMNS))
        for name, cell in zip(COLUMNS, cells):
            try:
                float(cell)
            except ValueError:
                return '%s: line %d: %s is not a number' % (
                    path, number, name)     # the cell is not echoed
    return '%s: not a GWA-T-12 trace' % (path,)


def trace_files(trace_dir, month=MONTH):
    """``[(vm id, path)]`` of a month's trace files, by vm id."""
    paths = pathlib.Path(trace_dir, month).glob('*.csv.gz')
    return sorted((int(p.name.split('.')[0]), p) for p in paths)


def load_traces(trace_dir, count=None, month=MONTH):
    """``{vm id: rows}`` of the first ``count`` (all) traces, by vm id."""
    files = trace_files(trace_dir, month)[:count]
    if not files:
        raise FileNotFoundError('no Bitbrains traces in %s'
                                % pathlib.Path(trace_dir, month))
    return {vm_id: read_trace(path) for vm_id, path in files}


def core_series(rows):
    """``{metric: [(t, value)]}`` in core units; VM-off rows dropped."""
    out = {metric: [] for metric, _ in CORE_COLUMNS.values()}
    for cols in np.asarray(rows).tolist():
        if cols[CORES] <= 0:
            continue
        for col, (metric, factor) in CORE_COLUMNS.items():
            out[metric].append((cols[TIME], cols[col] * factor))
    return out
