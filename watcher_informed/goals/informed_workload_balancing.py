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

"""Goal ``informed_workload_balancing``: balance load, report migration cost.

Watcher's ``workload_balancing`` goal only knows four indicators and
rejects unknown ones, so the strategy declares this goal, whose efficacy
specification adds the predicted cost of the plan (makespan, summed
migration time, downtime, data sent), the overloaded host counts, and how
many hosts are left overloaded for each kind of reason
(``core.plan.LEFT_KINDS``; our planner names the hosts in each of those
indicators' description).
Names, descriptions and units are written for Horizon's action-plan page,
which shows each indicator's name, description, unit and value (a unit of
``None`` as ``-``): every quantity names its unit, and no text holds an
HTML-significant character (watcher-dashboard does not escape them).
"""

import jsonschema
from watcher._i18n import _
from watcher.decision_engine.goal import base
from watcher.decision_engine.goal.efficacy import base as efficacy_base
from watcher.decision_engine.goal.efficacy import indicators
from watcher.decision_engine.solution import efficacy

from watcher_informed.core import plan as plan_mod

#: (name, description, unit, schema type, required)
INDICATORS = (
    ('instance_migrations_count', 'Live migrations planned', None,
     'integer', True),
    ('instances_count', 'Instances audited', None, 'integer', True),
    ('standard_deviation_before_audit',
     'Standard deviation of host CPU load before the plan, as a fraction '
     'of host capacity (0 to 1)', None, 'number', False),
    ('standard_deviation_after_audit',
     'Standard deviation of host CPU load after the plan, as a fraction '
     'of host capacity (0 to 1)', None, 'number', False),
    ('overloaded_hosts_before', 'Overloaded hosts before the plan', None,
     'integer', False),
    ('overloaded_hosts_after', 'Overloaded hosts after the plan', None,
     'integer', False),
    ('predicted_makespan', 'Predicted time to run the whole plan', 's',
     'number', False),
    ('predicted_migration_time_sum',
     'Predicted sum of all live migration times', 's', 'number', False),
    ('predicted_total_downtime',
     'Predicted sum of instance downtimes', 's', 'number', False),
    ('predicted_transferred_data',
     'Predicted memory data sent by all migrations', 'MiB', 'number',
     False),
) + tuple((name, description, None, 'integer', False)
          for _, name, description in plan_mod.LEFT_KINDS)


#: only with the audit parameter ``balance`` (see ``core.plan.efficacy``).
BALANCE_INDICATORS = (
    ('balance_spread_before',
     'Load spread before the plan: the weighted standard deviation of '
     'host loads over the audit metrics, as a fraction of host capacity',
     None, 'number', False),
    ('balance_spread_after_relief',
     'Load spread once the moves relieving overloaded hosts are done, as '
     'a fraction of host capacity', None, 'number', False),
    ('balance_spread_after',
     'Load spread after the plan, as a fraction of host capacity', None,
     'number', False),
    ('balance_migrations_count',
     'Live migrations planned to balance the load, after the relief',
     None, 'integer', False),
    ('balance_migration_time_sum',
     'Predicted sum of the balance live migration times', 's', 'number',
     False),
    ('balance_tenant_cost',
     'What the tenants of the balance migrations lose: busy cores times '
     'seconds of slowdown and downtime, as the cost-benefit gate prices '
     'it', 'core-s', 'number', False),
)


class _Indicator(indicators.IndicatorSpecification):
    def __init__(self, name, description, unit, kind, required):
        super().__init__(name=name, description=description, unit=unit,
                         required=required)
        self._schema = {'type': kind, 'minimum': 0}

    @property
    def schema(self):
        return self._schema


class InformedWorkloadBalancingSpec(efficacy_base.EfficacySpecification):

    #: the schema's validator, checked against its meta-schema once.
    _validator = None

    def get_indicators_specifications(self):
        return [_Indicator(*spec)
                for spec in INDICATORS + BALANCE_INDICATORS]

    def validate_efficacy_indicators(self, indicators_map):
        """Watcher's validation, the schema compiled once.

        ``jsonschema.validate`` checks the schema against its meta-schema
        on every call (a tenth of a 500-host audit's CPU time, and still
        5 % of the first audit of a process when done once); the schema
        is built from this module's constants alone, so that check is a
        unit test (``tests/unit/goals``), not a step of each process's
        first audit, and the errors are the same.
        """
        if not indicators_map:
            return
        cls = type(self)
        if cls._validator is None:
            schema = self.schema
            cls._validator = jsonschema.validators.validator_for(schema)(
                schema)
        error = jsonschema.exceptions.best_match(
            cls._validator.iter_errors(indicators_map))
        if error is not None:
            raise error

    def get_global_efficacy_indicator(self, indicators_map=None):
        ratio = 0.0
        if indicators_map and indicators_map.instances_count:
            ratio = (indicators_map.instance_migrations_count /
                     float(indicators_map.instances_count) * 100)
        relieved = 100.0
        if indicators_map and indicators_map.get('overloaded_hosts_before'):
            before = indicators_map.overloaded_hosts_before
            after = indicators_map.get('overloaded_hosts_after') or 0
            relieved = (before - after) / float(before) * 100
        return [
            efficacy.Indicator(
                name='live_migrations_count',
                description=_('Ratio of migrated instances to audited '
                              'instances'),
                unit='%', value=ratio),
            efficacy.Indicator(
                name='overloaded_hosts_relieved',
                description=_('Share of overloaded hosts the plan relieves'),
                unit='%', value=relieved),
        ]


class InformedWorkloadBalancing(base.Goal):
    """Balance host load with informed, cost-aware live migration."""

    @classmethod
    def get_name(cls):
        return 'informed_workload_balancing'

    @classmethod
    def get_display_name(cls):
        return _('Informed workload balancing')

    @classmethod
    def get_translatable_display_name(cls):
        return 'Informed workload balancing'

    @classmethod
    def get_efficacy_specification(cls):
        return InformedWorkloadBalancingSpec()
