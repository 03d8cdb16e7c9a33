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

"""The contenders of the benchmark, each returning a plan to simulate.

``informed`` runs our ``informed_live_migration`` strategy through its
real class (Watcher's loader, a real ``ModelRoot``, our in-memory metric
reader serving the scenario's *seen* metrics).  The ablations keep its
selection and placement and change one rule: random order, largest-first
order, or everything in parallel.  Watcher's own strategies are run by
:mod:`bench.peers` through their real classes.
"""

import random
import time

from bench import peers
from watcher_informed import harness
from watcher_informed.adapters.metrics import memory
from watcher_informed.core import schedule as schedule_mod
from watcher_informed.core import sequence


def informed(snapshot, history=(), now=0.0, **params):
    """Our strategy on the snapshot; returns a PeerPlan plus the core plan."""
    from watcher.common import utils
    cloud = harness.Cloud(
        model=peers.build_model(snapshot),
        reader=memory.InMemoryMetrics.from_values(
            {u: dict(usage.values) for u, usage in snapshot.usage.items()}),
        history=lambda now, window: tuple(history), now=now)
    strategy = harness.prepare(cloud, params)
    start, cpu = time.perf_counter(), time.process_time()
    strategy.execute()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    plan = strategy.informed_plan
    moves = tuple((m.uuid, m.source, m.dest) for m in plan.moves)
    parents = {m.uuid: m.parents for m in plan.moves}
    result = peers.PeerPlan('informed', moves, parents, elapsed, 1, cpu)
    return result, plan, strategy, utils


def _core_moves(snapshot, plan):
    insts = snapshot.instance_by_uuid
    return [sequence.Move(m.uuid, m.source, m.dest, m.cls, m.time_s,
                          insts[m.uuid].resources) for m in plan.moves]


def reorder(snapshot, plan, p, key, name):
    """Same moves, another order (capacity dependencies still honoured)."""
    moves = _core_moves(snapshot, plan)
    ordering = sequence.order_moves(snapshot, moves, key=key)
    slots = schedule_mod.schedule(ordering, snapshot, plan.profiles, p)
    return peers.PeerPlan(name, tuple((m.uuid, m.source, m.dest)
                                      for m in ordering.order),
                          {u: s.parents for u, s in slots.items()}, 0.0, 1)


def ablations(snapshot, plan, p, seed=0):
    """Random order, largest first, all in parallel."""
    rng = random.Random(seed)  # noqa: S311 - seeded ablation
    shuffled = {m.uuid: rng.random() for m in plan.moves}
    return [
        reorder(snapshot, plan, p, lambda m: (shuffled[m.uuid], m.uuid),
                'informed-random-order'),
        reorder(snapshot, plan, p, lambda m: (-m.time_s, m.uuid),
                'informed-largest-first'),
        peers.PeerPlan('informed-all-parallel',
                       tuple((m.uuid, m.source, m.dest)
                             for m in plan.moves), {}, 0.0, 1),
    ]
