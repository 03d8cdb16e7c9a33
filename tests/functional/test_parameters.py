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

"""Audit parameters through Watcher's own validator, then into the core.

Watcher's API (``api/controllers/v1/audit.py``) and decision engine
(``strategy/context/default.py``) validate audit parameters with
``StrictDefaultValidatingDraft4Validator``, which fills defaults in place,
raises ``jsonschema.ValidationError`` for a bad value (the API returns
``'Invalid parameters for strategy: %s' % error``, i.e. ``str(error)``)
and ``AuditParameterNotAllowed`` for an unknown key.  What passes reaches
the strategy, whose ``to_params`` must catch the rest (NaN passes every
JSON-schema bound) and name the offending field.
"""

import ast
import json
import math

import jsonschema
from oslo_config import cfg
import pytest
from watcher import objects
from watcher.common import exception
from watcher.common import utils
from watcher.db import api as db_api
from watcher.decision_engine import sync
from watcher.decision_engine.loading import default as loading
from watcher.tests.unit.db import base as db_base
import yaml

from tests.functional import cluster as cl
from tests.functional import conftest
from watcher_informed.adapters import parameters
from watcher_informed.conf import strategy as strategy_conf
from watcher_informed.core import params as params_mod
from watcher_informed.core import paramtable

UUID_A = cl.uid('a')
UUID_B = cl.uid('b')
NAN = float('nan')


@pytest.fixture(scope='module')
def schema():
    return loading.DefaultStrategyLoader().load(cl.STRATEGY).get_schema()


def validate(schema, params):
    utils.StrictDefaultValidatingDraft4Validator(schema).validate(params)
    return params


def test_empty_parameters_are_accepted_and_every_default_filled(schema):
    params = validate(schema, {})
    expected = {k: v['default'] for k, v in schema['properties'].items()}
    assert params == expected
    # the filled defaults validate again unchanged (the API stores them and
    # the decision engine sees them as explicit values)
    assert validate(schema, dict(params)) == expected


def test_explicit_values_are_kept_and_others_defaulted(schema):
    params = validate(schema, {'cpu_threshold': 0.5, 'max_migrations': 3,
                               'communication_groups': [[UUID_A, UUID_B]]})
    assert params['cpu_threshold'] == 0.5
    assert params['max_migrations'] == 3
    assert params['communication_groups'] == [[UUID_A, UUID_B]]
    assert params['ram_threshold'] == 0.9


@pytest.mark.parametrize('params, field, words', [
    ({'cpu_threshold': 0}, 'cpu_threshold', 'minimum'),
    ({'cpu_threshold': 1.5}, 'cpu_threshold', 'maximum'),
    ({'cpu_threshold': 'high'}, 'cpu_threshold', 'number'),
    ({'cpu_threshold': True}, 'cpu_threshold', 'number'),
    ({'target_margin': 0.6}, 'target_margin', 'maximum'),
    ({'max_migrations': -1}, 'max_migrations', 'minimum'),
    ({'max_migrations': 2.5}, 'max_migrations', 'integer'),
    ({'max_concurrent_out': 0}, 'max_concurrent_out', 'minimum'),
    ({'max_concurrent_in': 17}, 'max_concurrent_in', 'maximum'),
    ({'period': 59}, 'period', 'minimum'),
    ({'migration_bandwidth': 0}, 'migration_bandwidth', 'minimum'),
    ({'communication_groups': [['not-a-uuid', 'x']]},
     'communication_groups', 'not-a-uuid'),
    ({'communication_groups': [[UUID_A]]}, 'communication_groups',
     'too short'),
    ({'communication_groups': UUID_A}, 'communication_groups', 'array'),
    ({'interference_overrides': {'disk_io+bogus': 0.5}},
     'interference_overrides', 'disk_io+bogus'),
    ({'interference_overrides': {'cpu+cpu': 2}}, 'interference_overrides',
     'maximum'),
    ({'interference_overrides': {'cpu+cpu': -0.1}},
     'interference_overrides', 'minimum'),
])
def test_watcher_validator_rejects_and_names_the_field(schema, params,
                                                       field, words):
    with pytest.raises(jsonschema.ValidationError) as info:
        validate(schema, dict(params))
    error = info.value
    assert list(error.absolute_path)[0] == field
    # str(error) is what Watcher's API returns to the operator
    assert field in str(error)
    assert words in str(error)


def test_unknown_top_level_key_is_refused_by_name(schema):
    with pytest.raises(exception.AuditParameterNotAllowed) as info:
        validate(schema, {'cpu_threshold': 0.5, 'foo': 1})
    assert info.value.kwargs['parameter'] == 'foo'
    assert 'foo' in str(info.value)


def test_nan_passes_watcher_validator(schema):
    # NaN compares false with every bound, so the JSON schema cannot stop
    # it (Python's json module parses a bare NaN): to_params must.
    params = validate(schema, {'cpu_threshold': NAN})
    assert math.isnan(params['cpu_threshold'])


# -- to_params: validated audit parameters + deploy options -> core Params --

def test_to_params_turns_defaults_into_params(schema):
    audit = validate(schema, {})
    p, comm = parameters.to_params(audit, utils.Struct())
    assert isinstance(p, params_mod.Params)
    assert comm == ()
    expected = {
        'cpu_threshold': 0.8, 'ram_threshold': 0.9,
        'disk_io_threshold': 0.8, 'net_threshold': 0.8,
        'target_margin': 0.1, 'max_migrations': 50,
        'migration_bandwidth': 1250, 'max_concurrent_out': 1,
        'max_concurrent_in': 1, 'max_parallel': 0, 'seed': 0,
        # deploy-time options at their defaults
        'host_disk_io_capacity': 500.0, 'host_network_capacity': 1250.0,
        'live_migration_downtime': 500, 'max_precopy_rounds': 30,
    }
    for name, value in expected.items():
        assert getattr(p, name) == value, name
    assert dict(p.interference) == dict(params_mod.DEFAULT_INTERFERENCE)


def test_to_params_uses_the_loaded_strategy_config(schema):
    strategy = loading.DefaultStrategyLoader().load(cl.STRATEGY)
    config = utils.Struct(dict(strategy.config))
    config['host_disk_io_capacity'] = 250.0
    config['live_migration_downtime'] = 300
    audit = validate(schema, {
        'migration_bandwidth': 100, 'max_concurrent_out': 2,
        'interference_overrides': {'disk_io+disk_io': 0.9},
        'communication_groups': [[UUID_A, UUID_B]]})
    p, comm = parameters.to_params(audit, config)
    assert p.host_disk_io_capacity == 250.0
    assert p.live_migration_downtime == 300
    assert p.migration_bandwidth == 100
    assert p.max_concurrent_out == 2
    assert p.pair_penalty('disk_io', 'disk_io') == 0.9
    assert p.pair_penalty('cpu', 'cpu') == 0.25
    assert comm == ((UUID_A, UUID_B),)


NOVA_OPTIONS = {
    'host_network_capacity': 1250.0, 'live_migration_downtime': 500,
    'live_migration_downtime_steps': 10, 'live_migration_downtime_delay': 75,
    'live_migration_completion_timeout': 800,
    'live_migration_timeout_action': 'abort',
    'live_migration_permit_auto_converge': False,
    'live_migration_permit_post_copy': False}
NOVA_OVERRIDES = {
    'host_network_capacity': 119, 'live_migration_downtime': 300,
    'live_migration_downtime_steps': 3, 'live_migration_downtime_delay': 3,
    'live_migration_completion_timeout': 0,
    'live_migration_timeout_action': 'force_complete',
    'live_migration_permit_auto_converge': True,
    'live_migration_permit_post_copy': True}


def test_deploy_overrides_win_for_this_audit_only(schema):
    # the deploy options of the compute nodes (Nova's [libvirt] settings
    # and the NIC), overridden by one audit; Nova's own minimums accepted
    assert set(NOVA_OVERRIDES) == set(
        paramtable.BY_NAME['deploy_overrides'].schema['properties'])
    config = utils.Struct(dict(NOVA_OPTIONS))
    audit = validate(schema, {'deploy_overrides': dict(NOVA_OVERRIDES)})
    p, _ = parameters.to_params(audit, config)
    for name, value in NOVA_OVERRIDES.items():
        assert getattr(p, name) == value, name
    # the next audit without them sees the options again
    p, _ = parameters.to_params(validate(schema, {}), config)
    for name, value in NOVA_OPTIONS.items():
        assert getattr(p, name) == value, name


@pytest.mark.parametrize('overrides, words', [
    ({'max_migrations': 3}, 'max_migrations'),
    ({'live_migration_downtime': 50}, 'minimum'),
    ({'live_migration_downtime_delay': 2}, 'minimum'),
    ({'live_migration_timeout_action': 'pause'}, 'pause'),
    ({'live_migration_permit_post_copy': 'yes'}, 'boolean'),
])
def test_watcher_refuses_a_bad_override_naming_it(schema, overrides, words):
    with pytest.raises(jsonschema.ValidationError) as info:
        validate(schema, {'deploy_overrides': overrides})
    assert list(info.value.absolute_path)[0] == 'deploy_overrides'
    assert words in str(info.value)


def test_host_network_capacities_give_each_host_its_nic(schema):
    audit = validate(schema, {
        'deploy_overrides': {'host_network_capacity': 119},
        'host_network_capacities': {'compute-3': 1250, 'compute-4': 12.5}})
    p, _ = parameters.to_params(audit, utils.Struct())
    assert p.nic_mibps('compute-3') == 1250.0
    assert p.nic_mibps('compute-4') == 12.5
    assert p.nic_mibps('compute-1') == 119.0
    with pytest.raises(jsonschema.ValidationError) as info:
        validate(schema, {'host_network_capacities': {'compute-3': 0}})
    assert list(info.value.absolute_path)[0] == 'host_network_capacities'


@pytest.mark.parametrize('audit, field', [
    ({'cpu_threshold': NAN}, 'cpu_threshold'),
    ({'target_margin': NAN}, 'target_margin'),
    ({'interference_overrides': {'cpu+cpu': NAN}},
     'interference_overrides'),
    ({'interference_overrides': {'bogus': 0.5}}, 'interference_overrides'),
    ({'interference_overrides': ['cpu+cpu']}, 'interference_overrides'),
    ({'communication_groups': 'abc'}, 'communication_groups'),
    ({'communication_groups': [[1, 2]]}, 'communication_groups'),
    ({'max_migrations': 2.5}, 'max_migrations'),
    ({'foo': 1}, 'foo'),
    # the core calls these migration_bandwidth, max_concurrent_out and
    # max_concurrent_in; the operator must see the audit parameter's name
    ({'migration_bandwidth': NAN}, 'migration_bandwidth'),
    ({'max_concurrent_out': 0}, 'max_concurrent_out'),
    ({'max_concurrent_in': 0}, 'max_concurrent_in'),
])
def test_to_params_names_the_field_of_a_semantic_error(audit, field):
    with pytest.raises(params_mod.ParamError) as info:
        parameters.to_params(audit, utils.Struct())
    assert info.value.field == field
    assert field in str(info.value)


@pytest.fixture
def watcher_conf_file(tmp_path):
    """Re-parse Watcher's CONF with a config file; restore it afterwards."""
    def use(text):
        path = tmp_path / 'watcher.conf'
        path.write_text(text)
        cfg.CONF(args=['--config-file', str(path)], project='watcher')
    yield use
    cfg.CONF(args=[], project='watcher')


NAN_OPTIONS = ['host_disk_io_capacity', 'host_network_capacity',
               'stop_copy_bandwidth']


def _run_with_nan_option(watcher_conf_file, option):
    # oslo.config's FloatOpt min= bound does not stop "nan" (NaN < min is
    # false), so it reaches the loaded strategy's config.
    watcher_conf_file('[watcher_strategies.informed_live_migration]\n'
                      '%s = nan\n' % option)
    k = cl.Cluster()
    k.host('h0')
    k.vm('v0', 'h0')
    strategy = cl.prepare(k)
    assert math.isnan(strategy.config[option])
    with pytest.raises(exception.InvalidParameter) as info:
        strategy.execute()
    assert strategy.solution.actions == []
    return info.value


@pytest.mark.parametrize('option', NAN_OPTIONS)
def test_nan_deploy_option_fails_the_audit(watcher_conf_file, option):
    _run_with_nan_option(watcher_conf_file, option)


@pytest.mark.parametrize('option', NAN_OPTIONS)
def test_nan_deploy_option_is_reported_by_its_name(
        watcher_conf_file, option):
    # not the core Params field (host_disk_io_capacity, host_network_capacity,
    # stop_copy_bandwidth), which the operator cannot find anywhere
    error = _run_with_nan_option(watcher_conf_file, option)
    assert option in str(error)
    assert '_mibps' not in str(error)


@pytest.mark.parametrize('form', [str, str.upper,
                                  lambda u: u.replace('-', '')])
def test_to_params_normalises_communication_group_uuids(schema, form):
    # the schema pattern accepts upper case and missing hyphens; Nova's
    # instance UUIDs are lower case and hyphenated
    audit = validate(schema, {
        'communication_groups': [[form(UUID_A), form(UUID_B)]]})
    p, comm = parameters.to_params(audit, utils.Struct())
    assert comm == ((UUID_A, UUID_B),)


def test_strategy_turns_a_param_error_into_invalid_parameter():
    k = cl.Cluster()
    k.host('h0')
    k.vm('v0', 'h0')
    strategy = cl.prepare(k, cpu_threshold=NAN)
    with pytest.raises(exception.InvalidParameter) as info:
        strategy.execute()
    assert 'cpu_threshold' in str(info.value)
    assert strategy.solution.actions == []


# -- settings parsed once: Params, groups, window, options --

def test_read_gives_the_window_and_options_parsed_once(schema):
    audit = validate(schema, {'period': 7200, 'granularity': 60})
    config = utils.Struct(metric_stale_after=120, metrics_store='gnocchi')
    settings = parameters.read(audit, config)
    assert (settings.window.period_s, settings.window.granularity_s,
            settings.window.stale_after_s) == (7200, 60, 120)
    assert settings.options['metrics_store'] == 'gnocchi'
    # an option the config lacks takes its declared default
    assert settings.options['dirty_rate_meter'] == 'memory.dirty.rate'
    assert set(settings.options) == {o.name for o in strategy_conf.OPTS}


def test_every_core_knob_at_its_default_gives_default_params(schema):
    # parameters and options feed the Params field of the same name
    p, _ = parameters.to_params(validate(schema, {}), utils.Struct())
    assert p == params_mod.Params()


@pytest.mark.parametrize('row', [
    r for r in paramtable.TABLE
    if r.feeds == paramtable.CORE and r.when != paramtable.INTERNAL
    and r.minimum is not None], ids=lambda r: r.name)
def test_each_knob_reaches_its_params_field(schema, row):
    value = row.minimum + (1 if row.type == 'integer' else 0.5)
    if row.maximum is not None:
        value = min(value, row.maximum)
    assert value != row.default
    if row.when == paramtable.AUDIT:
        audit, config = validate(schema, {row.name: value}), utils.Struct()
    else:
        audit, config = {}, utils.Struct({row.name: value})
    p, _ = parameters.to_params(audit, config)
    assert getattr(p, row.name) == value


class SchemaDbTest(db_base.DbTestCase):
    """The schema as Watcher stores it, serves it and Horizon shows it.

    The decision engine's ``Syncer`` stores ``str(get_schema())`` in the
    strategies table and, at each start, compares the stored spec with
    ``ast.literal_eval`` of the discovered one: a schema that did not
    survive the trip would make Watcher replace the strategy (and re-map
    every audit template) at each restart.
    """

    def setUp(self):
        self.addCleanup(conftest.ensure_watcher_conf)
        super().setUp()
        sync.Syncer().sync()

    def stored(self):
        return objects.Strategy.get_by_name(self.context, cl.STRATEGY)

    def test_stored_spec_is_the_generated_schema(self):
        generated = parameters.schema()
        self.assertEqual(generated, self.stored().parameters_spec)
        # the DB row itself (JSONEncodedDict), not only the object
        row = db_api.get_instance().get_strategy_by_name(self.context,
                                                         cl.STRATEGY)
        self.assertEqual(generated, row.parameters_spec)
        self.assertEqual(list(generated['properties']),
                         list(row.parameters_spec['properties']))

    def test_restart_finds_the_strategy_unchanged(self):
        before = self.stored()
        sync.Syncer().sync()
        after = self.stored()
        self.assertEqual((before.id, before.uuid), (after.id, after.uuid))
        self.assertEqual(ast.literal_eval(str(parameters.schema())),
                         after.parameters_spec)

    def test_api_and_horizon_show_the_generated_properties(self):
        spec = self.stored().parameters_spec
        # the API serves the spec as JSON ...
        served = json.loads(json.dumps(spec))
        self.assertEqual(parameters.schema(), served)
        # ... and watcher-dashboard shows its properties as YAML
        shown = yaml.safe_load(yaml.safe_dump(served['properties'],
                                              sort_keys=False))
        self.assertEqual(parameters.schema()['properties'], shown)
        for row in paramtable.rows(when=paramtable.AUDIT):
            self.assertEqual(row.description(),
                             shown[row.name]['description'])
            self.assertEqual(row.default, shown[row.name]['default'])

    def test_stored_spec_validates_audits_like_the_generated_one(self):
        # the API and the decision engine validate with the stored spec
        filled = validate(self.stored().parameters_spec, {})
        self.assertEqual(parameters.defaults(), filled)
        with pytest.raises(jsonschema.ValidationError):
            validate(self.stored().parameters_spec, {'period': 59})


def test_filled_defaults_are_not_the_tables_objects(schema):
    # the validator fills defaults in place: a caller that extends its
    # communication_groups must not change the next audit's default
    filled = validate(parameters.schema(), {})
    filled['communication_groups'].append([UUID_A, UUID_B])
    filled['interference_overrides']['cpu+cpu'] = 1
    assert parameters.schema()['properties']['communication_groups'][
        'default'] == []
    assert parameters.defaults()['interference_overrides'] == {}
    assert paramtable.BY_NAME['communication_groups'].default == []
