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

"""The vocabularies of the core: workload classes, metrics, load dimensions.

Contract: three string enums whose members compare and hash equal to
their values (``WorkloadClass.CPU == 'cpu'``), print as their values and
serialise to JSON as plain strings, so they can key the same mappings as
the operator-facing names.  A workload *class* (``cpu``: a CPU-bound
instance, section 3.1), a *metric* (``cpu``: CPU utilisation of an
instance) and a load *dimension* (``cpu``: busy cores of a host) share a
spelling but are different things; code says which one it means.
"""

import enum


class _Name(str, enum.Enum):
    """A string enum that prints and formats as its value."""

    def __str__(self):
        return self.value

    def __format__(self, spec):
        return format(self.value, spec)

    def __repr__(self):
        return repr(self.value)


class WorkloadClass(_Name):
    """Workload classes of the paper (sections 3.1-3.3)."""

    CPU = 'cpu'
    MEMORY = 'memory'
    DISK_IO = 'disk_io'
    NET_RX = 'net_rx'
    WEB = 'web'
    IDLE = 'idle'
    UNKNOWN = 'unknown'


class Metric(_Name):
    """Instance metrics the core understands (units in :data:`UNITS`)."""

    CPU = 'cpu'
    RAM = 'ram'
    RAM_RESIDENT = 'ram_resident'
    DISK_READ = 'disk_read'
    DISK_WRITE = 'disk_write'
    NET_RX = 'net_rx'
    NET_TX = 'net_tx'
    DIRTY_RATE = 'dirty_rate'
    WSS = 'wss'
    L3_CACHE = 'l3_cache'


class Dim(_Name):
    """Load dimensions of a host (section 2, "overloaded host")."""

    CPU = 'cpu'
    RAM = 'ram'
    DISK_IO = 'disk_io'
    NET = 'net'


CPU, MEMORY, DISK_IO, NET_RX, WEB, IDLE, UNKNOWN = tuple(WorkloadClass)
#: every workload class, in declaration order.
CLASSES = tuple(WorkloadClass)
#: the load dimensions, in the order of every per-host array.
DIMS = tuple(Dim)

#: unit of each metric.
UNITS = {
    Metric.CPU: 'fraction of the instance vCPUs',
    Metric.RAM: 'MiB used',
    Metric.RAM_RESIDENT: 'MiB resident on the host (QEMU process)',
    Metric.DISK_READ: 'MiB/s',
    Metric.DISK_WRITE: 'MiB/s',
    Metric.NET_RX: 'MiB/s',
    Metric.NET_TX: 'MiB/s',
    Metric.DIRTY_RATE: 'MiB/s',
    Metric.WSS: 'MiB (writable working set)',
    Metric.L3_CACHE: 'MiB',
}
