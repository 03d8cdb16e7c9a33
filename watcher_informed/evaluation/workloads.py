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

"""The paper's Table 1 workloads as simulator parameters.

Contract: :data:`PAPER` maps each workload of Table 1 to the class it
belongs to and to the true parameters the simulator needs (memory sent in
the first round, dirty rate, writable working set, network traffic), on
the paper's testbed: 2 GiB guests on 1 GbE (119 MiB/s) with Xen's 29
pre-copy iterations.  The numbers are ours -- the paper reports only
outcomes -- chosen from what each benchmark does (IOZONE dirties the page
cache as fast as it writes, OLTP rewrites a buffer pool faster than 1 GbE
can copy it, WEBBENCH saturates half the link with responses, SPEC-jbb
churns a young generation, SPEC-CPU barely writes) so that the simulator
keeps Table 1's ranking of migration time (IOZONE > OLTP > WEBBENCH >
SPEC-jbb > SPEC-CPU) and of downtime (IOZONE > OLTP > SPEC-jbb > WEBBENCH
> SPEC-CPU).  :func:`paper_params` gives the matching cost-model params.
"""

import dataclasses

from watcher_informed.core import paper
from watcher_informed.core import params as params_mod
from watcher_informed.evaluation import simulate

GIB = 2048.0
LINK_1GBE = 119.0

PAPER = {
    'IOZONE': simulate.Truth('disk_io', GIB, 150.0, 160.0),
    'OLTP': simulate.Truth('memory', GIB, 150.0, 128.0),
    'WEBBENCH': simulate.Truth('web', GIB, 8.0, 64.0, net_tx_mibps=60.0,
                               net_rx_mibps=2.0),
    'SPEC-jbb': simulate.Truth('memory', GIB, 40.0, 64.0),
    'SPEC-CPU': simulate.Truth('cpu', GIB, 1.0, 16.0),
}

#: Table 1 as published: migration time (s), downtime (ms), overhead.
TABLE1 = paper.TABLE1


def paper_params(**over):
    """Cost-model params of the paper's testbed (1 GbE, Xen's 29 rounds).

    Xen, not Nova, ran its migrations: a constant 300 ms downtime limit
    (no steps) and no completion timeout, only the round cap.
    """
    values = dict(migration_bandwidth=LINK_1GBE, live_migration_downtime=300,
                  max_precopy_rounds=29, fixed_downtime_ms=10.0,
                  live_migration_downtime_steps=0,
                  live_migration_completion_timeout=0,
                  host_network_capacity=LINK_1GBE)
    values.update(over)
    return dataclasses.replace(params_mod.Params(), **values)
