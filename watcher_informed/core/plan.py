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

"""The plan as a value: ordered moves, their DAG and what was predicted.

Contract: :class:`Plan` is what the core returns and what adapters turn
into Watcher actions (one ``migrate`` per :class:`PlannedMove`, parents as
DAG edges) and efficacy indicators (:func:`efficacy`).  Nothing here
computes a decision.
"""

import dataclasses
import typing

MIB = 1024 * 1024

#: Why a host is left overloaded, as efficacy indicators: (kind, indicator
#: name, description).  A host counts under the first kind that applies,
#: in this order, so the counts add up to ``overloaded_hosts_after``.
LEFT_KINDS = (
    ('not_worth_it', 'overloaded_hosts_left_not_worth_it',
     'Overloaded hosts left because the cost-benefit gate judged their '
     'moves not worth it'),
    ('max_migrations', 'overloaded_hosts_left_max_migrations',
     'Overloaded hosts left because max_migrations was reached'),
    ('no_destination', 'overloaded_hosts_left_no_destination',
     'Overloaded hosts left because no destination had room or passed '
     'the rules, even after making room'),
    ('rule', 'overloaded_hosts_left_rules',
     'Overloaded hosts left because their instances may not move '
     '(excluded, locked, not active, server group, cooling down, or a '
     'live migration Nova would abort)'),
    ('other', 'overloaded_hosts_left_other',
     'Overloaded hosts left for another reason (not overloaded before '
     'the plan, or their movable instances cannot bring them under '
     'target)'),
)
LEFT_INDICATOR = {kind: name for kind, name, _ in LEFT_KINDS}


@dataclasses.dataclass(frozen=True)
class PlannedMove:
    """One live migration of the plan, in execution order."""

    step: int
    uuid: str
    name: str
    cls: str
    source: str
    dest: str
    parents: typing.Tuple[str, ...]
    lane: str
    start_s: float
    end_s: float
    downtime_s: float
    sent_mib: float
    converged: bool
    reason: str

    @property
    def time_s(self):
        return self.end_s - self.start_s


@dataclasses.dataclass(frozen=True)
class BalanceReport:
    """What the opt-in balance stage did (``balance``), for efficacy."""

    #: weighted load spread (the audit's ``metrics`` and ``weights``):
    #: before the plan, once the relief moves are done, after the plan.
    spread_before: float
    spread_after_relief: float
    spread_after: float
    #: uuids of the balance moves kept in the plan.
    moves: typing.Tuple[str, ...]
    #: what their tenants lose, core-seconds (``gate.move_cost``).
    tenant_cost: float
    stopped: str


@dataclasses.dataclass(frozen=True)
class Plan:
    """Result of one run of the core pipeline."""

    moves: typing.Tuple[PlannedMove, ...]
    profiles: typing.Mapping[str, object]
    hot_hosts: typing.Tuple[object, ...]
    not_moved: typing.Mapping[str, str]
    loads_before: typing.Mapping[str, typing.Mapping[str, float]]
    loads_after: typing.Mapping[str, typing.Mapping[str, float]]
    still_overloaded: typing.Tuple[str, ...]
    instances_count: int
    #: ``{host: why}`` for every host of :attr:`still_overloaded`.
    left: typing.Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: ``{host: kind}`` (:data:`LEFT_KINDS`) for the same hosts.
    left_kinds: typing.Mapping[str, str] = dataclasses.field(
        default_factory=dict)
    #: the balance stage's report; ``None`` when ``balance`` is off.
    balance: typing.Optional[BalanceReport] = None

    def final_placement(self, snapshot):
        placement = snapshot.placement()
        for move in self.moves:
            placement[move.uuid] = move.dest
        return placement

    @property
    def makespan_s(self):
        return max((m.end_s for m in self.moves), default=0.0)


def _sd(loads):
    values = [v['cpu'] for v in loads.values()]
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5


def left_hosts(plan, kind):
    """Hosts left overloaded whose reason is of ``kind``, sorted."""
    return sorted(h for h in plan.still_overloaded
                  if plan.left_kinds.get(h, 'other') == kind)


def left_summary(plan, limit=None):
    """One line naming every host left overloaded and why."""
    if not plan.still_overloaded:
        return 'relieves all %d overloaded host(s)' % len(plan.hot_hosts)
    text = '%d of %d overloaded host(s) left: %s' % (
        len(plan.still_overloaded), len(plan.hot_hosts), '; '.join(
            '%s (%s)' % (h, plan.left.get(h, 'unknown reason'))
            for h in plan.still_overloaded))
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + '\u2026'
    return text


def efficacy(plan):
    """Efficacy indicator values of ``plan`` (names match our goal).

    The ``balance_*`` indicators are there only when ``balance`` is on.
    """
    moves = plan.moves
    out = {name: len(left_hosts(plan, kind))
           for kind, name, _ in LEFT_KINDS}
    out.update({
        'instance_migrations_count': len(moves),
        'instances_count': plan.instances_count,
        'standard_deviation_before_audit': round(_sd(plan.loads_before), 6),
        'standard_deviation_after_audit': round(_sd(plan.loads_after), 6),
        'overloaded_hosts_before': len(plan.hot_hosts),
        'overloaded_hosts_after': len(plan.still_overloaded),
        'predicted_makespan': round(plan.makespan_s, 3),
        'predicted_migration_time_sum': round(
            sum(m.time_s for m in moves), 3),
        'predicted_total_downtime': round(
            sum(m.downtime_s for m in moves), 3),
        'predicted_transferred_data': round(
            sum(m.sent_mib for m in moves), 1),
    })
    report = plan.balance
    if report is not None:
        mine = set(report.moves)
        out.update({
            'balance_spread_before': round(report.spread_before, 6),
            'balance_spread_after_relief': round(
                report.spread_after_relief, 6),
            'balance_spread_after': round(report.spread_after, 6),
            'balance_migrations_count': len(report.moves),
            'balance_migration_time_sum': round(
                sum(m.time_s for m in moves if m.uuid in mine), 3),
            'balance_tenant_cost': round(report.tenant_cost, 3),
        })
    return out
