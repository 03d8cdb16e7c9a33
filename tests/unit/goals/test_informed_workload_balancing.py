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

"""The goal's efficacy check: same verdicts as ``jsonschema.validate``."""

import jsonschema
import pytest

from watcher_informed.goals import informed_workload_balancing as goal

CASES = [
    ({'instance_migrations_count': 3, 'instances_count': 10}, None),
    ({'instance_migrations_count': 3, 'instances_count': 10,
      'predicted_makespan': 12.5}, None),
    ({'instance_migrations_count': -1, 'instances_count': 10}, 'minimum'),
    ({'instance_migrations_count': 1.5, 'instances_count': 10}, 'type'),
    ({'instances_count': 10}, 'required'),
    ({'instance_migrations_count': 0, 'instances_count': 0,
      'predicted_makespan': 'soon'}, 'type'),
    ({}, None),
]


@pytest.mark.parametrize('indicators,failing', CASES)
def test_validation_as_jsonschema(indicators, failing):
    for _ in range(2):  # the compiled validator is kept between calls
        spec = goal.InformedWorkloadBalancing.get_efficacy_specification()
        if failing is None:
            spec.validate_efficacy_indicators(indicators)
            continue
        with pytest.raises(jsonschema.ValidationError) as mine:
            spec.validate_efficacy_indicators(indicators)
        with pytest.raises(jsonschema.ValidationError) as theirs:
            jsonschema.validate(indicators, spec.schema)
        assert mine.value.validator == failing
        assert mine.value.message == theirs.value.message



def test_the_schema_is_valid_against_its_meta_schema():
    # what jsonschema.validate checks on every call; the schema only
    # depends on the module's constants, so the goal no longer does
    spec = goal.InformedWorkloadBalancing.get_efficacy_specification()
    schema = spec.schema
    jsonschema.validators.validator_for(schema).check_schema(schema)
    names = {i.name for i in spec.get_indicators_specifications()}
    assert 'instance_migrations_count' in names
    assert 'balance_spread_after' in names
    assert all(n in str(schema) for n in names)
