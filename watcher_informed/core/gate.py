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

"""Cost-benefit gate: move only when the benefit outweighs the cost.

Contract: :func:`judge` prices a host's selected moves and says whether
they are worth it.  Both sides are in *core-seconds* (one busy CPU core for
one second):

* benefit -- the overload the moves remove from their source host, summed
  over the dimensions above threshold (each as a fraction of the host,
  weighted by the host's cores), held for the audit's ``horizon``;
* cost -- what the tenants lose: during its migration a workload runs
  slower by its class's Table 1 overhead (SPEC-CPU 3 %, IOZONE 8 %,
  WEBBENCH 29 %, OLTP 33 %), and during the downtime it does not run at
  all; both are weighted by the instance's busy cores (at least a tenth
  of its vCPUs, so idle VMs are not free to move).

The moves are kept when ``benefit >= margin x cost``, where the margin
comes from one knob, ``aggressiveness`` 1-5, in the spirit of VMware DRS's
migration threshold: 1 moves only for an overwhelming benefit (margin 8),
3 is the default (2), 5 moves as soon as the benefit exceeds half the cost.
"""

import dataclasses

from watcher_informed.core import kinds
from watcher_informed.core import overload
from watcher_informed.core import paper
from watcher_informed.core import snapshot as snap

MARGINS = {1: 8.0, 2: 4.0, 3: 2.0, 4: 1.0, 5: 0.5}


@dataclasses.dataclass(frozen=True)
class Verdict:
    keep: bool
    benefit: float
    cost: float
    margin: float

    @property
    def why(self):
        return ('benefit %.0f core-s %s %.1f x cost %.0f core-s'
                % (self.benefit, '>=' if self.keep else '<', self.margin,
                   self.cost))


def busy_cores(instance, usage):
    cpu = usage.get(snap.CPU)
    return max((cpu or 0.0) * instance.vcpus, 0.1 * instance.vcpus)


def move_cost(instance, usage, cls, migration):
    """Core-seconds the tenant loses to one live migration."""
    busy = busy_cores(instance, usage)
    overhead = paper.TABLE1_OVERHEAD.get(
        cls, paper.TABLE1_OVERHEAD[kinds.UNKNOWN])
    return busy * (migration.time_s * overhead + migration.downtime_s)


def relief(host, load_before, removed, p):
    """Overload removed from ``host`` (in cores) by taking ``removed``."""
    thresholds = p.thresholds()
    scale = overload.host_scale(host, p)
    total = 0.0
    for dim, before in load_before.items():
        after = before - removed.get(dim, 0.0) / scale[dim]
        over_before = max(0.0, before - thresholds[dim])
        over_after = max(0.0, after - thresholds[dim])
        total += (over_before - over_after) * host.vcpus
    return total


def judge(host, load_before, demands, costs, p, horizon, aggressiveness):
    """Verdict on moving instances with ``demands`` (absolute) off a host.

    ``costs`` are the moves' core-second costs (see :func:`move_cost`).
    """
    removed = {}
    for demand in demands:
        for dim, value in demand.items():
            removed[dim] = removed.get(dim, 0.0) + value
    benefit = relief(host, load_before, removed, p) * horizon
    cost = sum(costs)
    margin = MARGINS[aggressiveness]
    return Verdict(benefit >= margin * cost, benefit, cost, margin)
