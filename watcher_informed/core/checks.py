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

"""The plan checker: every hard rule's checker, run on every plan.

Contract: :func:`verify` runs the ``check`` of every rule registered in
``rules.RULES`` on a plan and raises :class:`PlanViolation` listing every
violation: a violation is a bug in the search, never an emitted plan.
Checkers are independent of the search (BtrPlace style) and reason about
every state reachable by executing the DAG in any order its edges allow
(``proofs``).  The ``check_*`` names are the rules' checkers, for callers
that want one.
"""

from watcher_informed.core import proofs
from watcher_informed.core import rules


class PlanViolation(Exception):
    """A plan broke a hard rule; ``violations`` lists how."""

    def __init__(self, violations):
        super().__init__('plan breaks hard rules: ' + '; '.join(violations))
        self.violations = list(violations)


Facts = proofs.Facts
_BY_NAME = {r.name: r for r in rules.RULES}
check_moves_once = _BY_NAME['moves-once'].check
check_dag = _BY_NAME['dag'].check
check_movable = _BY_NAME['movable'].check
check_destinations = _BY_NAME['destination'].check
check_no_ping_pong = _BY_NAME['no-ping-pong'].check
check_capacity = _BY_NAME['capacity'].check
check_anti_affinity = _BY_NAME['anti-affinity'].check
check_affinity = _BY_NAME['affinity'].check
check_target_load = _BY_NAME['target-load'].check
check_room_first = _BY_NAME['room-first'].check
check_limits = _BY_NAME['limits'].check


def violations(snapshot, plan, p, ledger=None):
    """Every violation of every hard rule (empty list: the plan is safe).

    ``ledger`` (the state before the plan) supplies facts only; the
    proofs do not depend on how the search used it.
    """
    facts = proofs.Facts(snapshot, plan, ledger)
    found = []
    for rule in rules.RULES:
        found += rule.check(snapshot, plan, p, facts)
    return found


def verify(snapshot, plan, p, ledger=None):
    """Raise :class:`PlanViolation` unless ``plan`` keeps every rule."""
    found = violations(snapshot, plan, p, ledger)
    if found:
        raise PlanViolation(found)
    return plan
