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

import dataclasses

import pytest

from watcher_informed.core import overload
from watcher_informed.core import select


def cand(uuid, cpu, cost, ram=0.0):
    return select.Candidate(uuid, 'A', 'cpu',
                            {'cpu': cpu, 'ram': ram, 'disk_io': 0.0,
                             'net': 0.0}, cost, cost)


HOT = overload.HotHost('A', {'cpu': 1.0}, {'cpu': 2.0})


@pytest.mark.parametrize('name, cands, expected', [
    # neither the biggest (c) nor the smallest (a) alone: the cheapest
    # relieving set
    ('cheapest cover', [cand('a', 0.5, 1), cand('b', 2.0, 5),
                        cand('c', 4.0, 50), cand('d', 1.5, 2)],
     {'a', 'd'}),
    ('single cheap big one', [cand('a', 1.0, 10), cand('b', 1.0, 10),
                              cand('c', 2.0, 3)], {'c'}),
    ('tie broken by fewer moves', [cand('a', 1.0, 2), cand('b', 1.0, 2),
                                   cand('c', 2.0, 4)], {'c'}),
])
def test_exact_selection(name, cands, expected):
    sel = select.choose_for_host(HOT, cands, budget=10, exact_limit=12)
    assert {c.uuid for c in sel.chosen} == expected, name
    assert sel.relieved


def test_budget_limits_the_set_and_flags_partial():
    cands = [cand('a', 1.0, 1), cand('b', 1.0, 1)]
    sel = select.choose_for_host(HOT, cands, budget=1, exact_limit=12)
    assert len(sel.chosen) == 1 and not sel.relieved


def test_greedy_path_covers_and_prunes():
    cands = [cand('c%02d' % i, 0.2, 1.0 + i / 10.0) for i in range(20)]
    sel = select.choose_for_host(HOT, cands, budget=50, exact_limit=0)
    assert sel.relieved
    assert sum(c.demand['cpu'] for c in sel.chosen) >= 2.0 - 1e-9
    # pruning: dropping any chosen candidate breaks the cover
    for c in sel.chosen:
        rest = [x for x in sel.chosen if x is not c]
        assert sum(x.demand['cpu'] for x in rest) < 2.0 - 1e-9


def test_seed_is_deterministic():
    cands = [cand('c%02d' % i, 0.1 * (i % 7 + 1), 1.0 + (i * 37 % 11))
             for i in range(30)]
    runs = [select.choose_for_host(HOT, cands, 50, 0, seed=s).chosen
            for s in (1, 1, 2)]
    assert runs[0] == runs[1]
    cost = [sum(c.cost for c in r) for r in runs]
    greedy = select._greedy(sorted(cands, key=lambda c: (c.cost, c.uuid)),
                            HOT.excess, 50)
    assert min(cost) <= sum(c.cost for c in greedy) + 1e-9


def test_nothing_to_choose():
    assert select.choose_for_host(HOT, [], 5, 12).chosen == ()


def _reference_exact(cands, excess, budget, set_cost):
    """The cheapest cover by plain enumeration of every subset."""
    import itertools
    best = None
    for size in range(1, min(budget, len(cands)) + 1):
        for combo in itertools.combinations(cands, size):
            if not select.covers(combo, excess):
                continue
            key = select._key(combo, set_cost)
            if best is None or key < best[0]:
                best = (key, combo)
    return None if best is None else best[1]


@pytest.mark.parametrize('seed', range(40))
def test_exact_search_equals_plain_enumeration(seed):
    """The vectorised, pruned search finds what enumeration finds."""
    import random
    rng = random.Random(seed)
    cands = sorted((select.Candidate(
        'u%02d' % k, 'A', 'cpu',
        {'cpu': rng.choice([0.5, 1.0, rng.uniform(0, 3)]),
         'ram': rng.uniform(0, 500), 'disk_io': 0.0, 'net': 0.0},
        0.0, rng.choice([1.0, 2.0, rng.uniform(0.5, 20)]))
        for k in range(rng.randint(1, 10))), key=lambda c: (c.cost, c.uuid))
    excess = {'cpu': rng.uniform(0.5, 6)}
    if seed % 2:
        excess['ram'] = rng.uniform(10, 900)

    def set_cost(chosen):
        # never below the additive cost, as the pipeline's
        return sum(c.cost * (1.0 + 0.1 * len(chosen)) for c in chosen)
    for cost in (select.additive_cost, set_cost):
        budget = rng.randint(1, 10)
        assert select._exact(cands, excess, budget, cost) == \
            _reference_exact(cands, excess, budget, cost)


@pytest.mark.parametrize('values', [
    ('a', 'h1', 'cpu', {'cpu': 1.0}, 2.5, 3.0),
    ('b', 'h2', 'idle', {}, 0.0, 0.0),
])
def test_candidate_equals_the_constructors(values):
    fast = select.candidate(*values)
    slow = select.Candidate(*values)
    assert fast == slow and vars(fast) == vars(slow)
    assert type(fast) is select.Candidate
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.cost = 1.0
