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

import pytest

from watcher_informed.core import params


def test_defaults_are_valid():
    assert params.Params().validate()


@pytest.mark.parametrize('field, value', [
    ('cpu_threshold', 0.0), ('cpu_threshold', 1.5), ('cpu_threshold', 'x'),
    ('ram_threshold', float('nan')), ('target_margin', 0.9),
    ('migration_bandwidth', 0), ('max_precopy_rounds', 0),
    ('max_migrations', -1),
    ('max_concurrent_out', 0), ('max_parallel', 1.5),
    ('dirty_on_source_time', 0.5), ('cpu_heavy', True),
])
def test_invalid_field_is_named(field, value):
    p = params.Params(**{field: value})
    with pytest.raises(params.ParamError) as err:
        p.validate()
    assert err.value.field == field
    assert field in str(err.value)


@pytest.mark.parametrize('key', ['cpu', 'cpu+gpu', 'a+b+c'])
def test_bad_interference_key(key):
    with pytest.raises(params.ParamError) as err:
        params.Params().with_interference({key: 0.5})
    assert err.value.field == 'interference_overrides'


def test_interference_override_is_symmetric():
    p = params.Params().with_interference({'web+cpu': 0.7})
    assert p.pair_penalty('cpu', 'web') == p.pair_penalty('web', 'cpu') \
        == 0.7
    assert params.Params().pair_penalty('cpu', 'web') == 0.0


def test_targets_are_threshold_minus_margin():
    p = params.Params(cpu_threshold=0.8, target_margin=0.2)
    assert p.targets()['cpu'] == pytest.approx(0.6)


def _out_of_range(row):
    """Values just outside the declared range of ``row``."""
    step = 1 if row.type == 'integer' else 0.001
    if row.minimum is not None:
        yield row.minimum if row.exclusive_minimum else row.minimum - step
    if row.maximum is not None:
        yield row.maximum + step
    if row.type == 'integer':
        yield float(row.default)
    yield float('nan') if row.type == 'number' else 'x'


@pytest.mark.parametrize('row, value', [
    (row, value) for row in params.FIELDS for value in _out_of_range(row)],
    ids=str)
def test_validate_enforces_the_declared_range_and_type(row, value):
    p = params.Params(**{row.name: value})
    with pytest.raises(params.ParamError) as err:
        p.validate()
    assert err.value.field == row.name


@pytest.mark.parametrize('row', [r for r in params.FIELDS
                                 if r.minimum is not None],
                         ids=lambda r: r.name)
def test_validate_accepts_the_bounds_themselves(row):
    values = {row.name: row.minimum}
    if row.exclusive_minimum:
        values[row.name] = row.maximum
    params.Params(**values).validate()
    if row.maximum is not None:
        params.Params(**{row.name: row.maximum}).validate()


@pytest.mark.parametrize('values, dim, target', [
    # the whole margin where the threshold is 4x the margin or more
    ({}, 'cpu', 0.7),
    ({}, 'ram', 0.8),
    ({'cpu_threshold': 0.4}, 'cpu', 0.3),
    # a quarter of the threshold below that (the paper's 10 %)
    ({'ram_threshold': 0.1}, 'ram', 0.075),
    ({'net_threshold': 0.05}, 'net', 0.0375),
    ({'ram_threshold': 0.3, 'target_margin': 0.3}, 'ram', 0.225),
    ({'cpu_threshold': 0.1, 'target_margin': 0.01}, 'cpu', 0.09),
    ({'cpu_threshold': 0.5, 'target_margin': 0.0}, 'cpu', 0.5),
])
def test_margin_never_takes_more_than_a_quarter_of_a_threshold(
        values, dim, target):
    p = params.Params(**values)
    assert p.validate() is p
    assert p.targets()[dim] == pytest.approx(target)
    assert all(0 < t <= getattr(p, '%s_threshold' % d)
               for d, t in p.targets().items())


@pytest.mark.parametrize('value, ok', [
    ('last', True), ('trend', True), ('median', False), (1, False)])
def test_demand_estimator_is_one_of_the_choices(value, ok):
    p = params.Params(demand_estimator=value)
    if ok:
        assert p.validate() is p
    else:
        with pytest.raises(params.ParamError, match='demand_estimator'):
            p.validate()
