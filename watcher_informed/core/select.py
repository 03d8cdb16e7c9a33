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

"""Which instances leave an overloaded host (paper sections 3.1 and 3.4).

Contract: :func:`choose_for_host` returns the subset of a hot host's
movable instances that relieves every overloaded dimension (brings it to
the target) at the least predicted cost, where an instance's cost is its
predicted migration time (pre-copy model: small memory and small dirty set
are cheap) times its class weight (CPU and disk-I/O workloads preferred,
section 3.4).  Small candidate sets are solved exactly; larger ones by a
greedy cover followed by removal of redundant picks, plus seeded
randomised restarts (the audit's ``seed``) keeping the cheapest cover.
When no subset relieves the host, the one relieving the most is returned,
flagged partial.
"""

import dataclasses
import functools
import itertools
import random
import typing
import zlib

import numpy as np


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A movable instance on a hot host with its predicted cost."""

    uuid: str
    host: str
    cls: str
    demand: typing.Mapping[str, float]
    time_s: float
    cost: float


def candidate(uuid, host, cls, demand, time_s, cost):
    """``Candidate(...)`` of these values, built faster.

    Equal to the constructor's object; only the frozen dataclass's
    field-by-field ``object.__setattr__`` is skipped (every movable
    instance of every hot host is a candidate, again in each round).
    """
    c = object.__new__(Candidate)
    object.__setattr__(c, '__dict__', {
        'uuid': uuid, 'host': host, 'cls': cls, 'demand': demand,
        'time_s': time_s, 'cost': cost})
    return c


@dataclasses.dataclass(frozen=True)
class Selection:
    host: str
    chosen: typing.Tuple[Candidate, ...]
    relieved: bool


def covers(chosen, excess):
    """Whether ``chosen`` together shed every dimension of ``excess``."""
    return _covers(chosen, excess)


def _covers(chosen, excess):
    return all(sum(c.demand[d] for c in chosen) >= need - 1e-9
               for d, need in excess.items())


def additive_cost(chosen):
    """Default set cost: the sum of the candidates' own costs."""
    return sum(c.cost for c in chosen)


def _key(chosen, set_cost):
    return (set_cost(chosen), len(chosen),
            tuple(sorted(c.uuid for c in chosen)))


def _exact(cands, excess, budget, set_cost):
    """Cheapest cover by enumeration, pruned by the additive lower bound.

    ``set_cost`` is never below the additive cost (interference only
    slows moves down), so a subset whose additive cost already exceeds
    the best set cost found cannot win.
    """
    best = best_key = None
    costs = np.array([c.cost for c in cands], dtype=float)
    needs = [(np.array([c.demand[d] for c in cands], dtype=float),
              need - 1e-9) for d, need in excess.items()]
    # candidates come cheapest first: the first combination of a size is
    # its cheapest (float sums are monotonic), and with no negative cost
    # no larger size is cheaper
    growing = bool(len(costs)) and costs.min() >= 0 and \
        bool(np.all(costs[1:] >= costs[:-1]))
    for size in range(1, min(budget, len(cands)) + 1):
        if growing and best is not None and \
                sum(costs[:size].tolist()) > best_key[0] + 1e-12:
            break
        # every combination of this size at once, in itertools' order;
        # sums are added left to right like ``sum`` over a combination
        idx = combination_rows(len(cands), size)
        additive = row_sums(costs, idx)
        ok = np.ones(len(idx), dtype=bool)
        for values, floor in needs:
            ok &= row_sums(values, idx) >= floor
        if best is not None:
            ok &= ~(additive > best_key[0] + 1e-12)
        for j in np.flatnonzero(ok).tolist():
            # the bound tightens as better sets are found
            if best is not None and additive[j] > best_key[0] + 1e-12:
                continue
            combo = tuple(cands[i] for i in idx[j])
            key = _key(combo, set_cost)
            if best is None or key < best_key:
                best, best_key = combo, key
    return best


@functools.lru_cache(maxsize=256)
def combination_rows(n, size):
    """``itertools.combinations(range(n), size)`` as an index array."""
    return np.array(list(itertools.combinations(range(n), size)),
                    dtype=np.intp).reshape(-1, size)


def row_sums(values, idx):
    """Per row of ``idx``, ``sum(values[i] for i in row)`` (same order)."""
    total = values[idx[:, 0]].copy()
    for j in range(1, idx.shape[1]):
        total += values[idx[:, j]]
    return total


def _greedy(cands, excess, budget, noise=None):
    chosen = []
    remaining = dict(excess)
    pool = list(cands)
    dims = list(excess)
    # each candidate's demand and (noisy) cost, read once
    demand = {c.uuid: [c.demand[d] for d in dims] for c in pool}
    cost_of = {c.uuid: max(c.cost * (noise[c.uuid] if noise else 1.0),
                           1e-9) for c in pool}
    while pool and len(chosen) < budget and \
            any(v > 1e-9 for v in remaining.values()):
        # the dimensions still short, in ``excess`` order (the sum's)
        short = [(k, need, excess[d])
                 for k, (d, need) in enumerate(remaining.items())
                 if need > 1e-9]

        def gain(c):
            row = demand[c.uuid]
            g = sum(min(row[k], need) / ex for k, need, ex in short)
            return (g / cost_of[c.uuid], -c.cost, c.uuid)
        pick = max(pool, key=gain)
        if gain(pick)[0] <= 0:
            break
        pool.remove(pick)
        chosen.append(pick)
        for d in remaining:
            remaining[d] -= pick.demand[d]
    if _covers(chosen, excess):
        for c in sorted(chosen, key=lambda c: (-c.cost, c.uuid)):
            rest = [x for x in chosen if x is not c]
            if rest and _covers(rest, excess):
                chosen = rest
    return chosen


#: randomised greedy restarts tried when the exact search is too large.
RESTARTS = 8


def _randomised(cands, excess, budget, seed, host, set_cost):
    """Greedy, then seeded restarts with perturbed costs; best cover."""
    best = _greedy(cands, excess, budget)
    # a seeded search, not cryptography
    rng = random.Random(  # noqa: S311
        seed * 1000003 + zlib.crc32(host.encode()))
    for _ in range(RESTARTS):
        noise = {c.uuid: rng.uniform(1.0, 1.5) for c in cands}
        trial = _greedy(cands, excess, budget, noise)
        if _covers(trial, excess) and (
                not _covers(best, excess) or
                _key(trial, set_cost) < _key(best, set_cost)):
            best = trial
    return best


def choose_for_host(hot, cands, budget, exact_limit, seed=0,
                    set_cost=additive_cost):
    """Pick the cheapest relieving subset of ``cands`` for ``hot``.

    ``set_cost`` prices a whole subset (default: additive); the pipeline
    passes one that also charges the slowdown that instances left on the
    host inflict on the moves (section 3.3).
    """
    cands = sorted(cands, key=lambda c: (c.cost, c.uuid))
    if budget <= 0 or not cands:
        return Selection(hot.name, (), False)
    best = None
    if len(cands) <= exact_limit:
        best = _exact(cands, hot.excess, budget, set_cost)
    if best is None:
        best = _randomised(cands, hot.excess, budget, seed, hot.name,
                           set_cost)
    best = tuple(sorted(best, key=lambda c: c.uuid))
    return Selection(hot.name, best, _covers(best, hot.excess))
