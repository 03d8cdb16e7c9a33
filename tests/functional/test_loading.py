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

"""The plugin as Watcher's own loaders find it (entry points + oslo.config).

Watcher loads strategies, planners and goals by entry-point name with
stevedore, registers each strategy's ``get_config_opts()`` under
``[watcher_strategies.<name>]``, stores the parameter schema with ``str()``
and reads it back with ``ast.literal_eval``; Horizon renders each
property's type, default and description.  These tests go through exactly
those paths.
"""

import ast
import json

from oslo_config import cfg
import pytest
from watcher.common import utils as watcher_utils
from watcher.decision_engine.goal import base as goal_base
from watcher.decision_engine.loading import default as loading
from watcher.decision_engine.planner import base as planner_base
from watcher.decision_engine.strategy.strategies import base as strategy_base

from watcher_informed.planners import informed_live_migration as planner_mod

STRATEGY = 'informed_live_migration'
PLANNER = 'informed_live_migration'
GOAL = 'informed_workload_balancing'
GROUP = 'watcher_strategies.' + STRATEGY

#: our deploy-time options and their documented defaults.
OUR_OPTS = {
    'host_disk_io_capacity': 500.0,
    'host_network_capacity': 1250.0,
    'live_migration_downtime': 500,
    'max_precopy_rounds': 30,
    'stop_copy_bandwidth': 0.0,
    'dirty_rate_when_unknown': 0.0,
    'cpu_heavy': 0.25,
    'disk_heavy': 1.0,
    'network_heavy_share': 0.05,
    'live_migration_downtime_steps': 10,
    'live_migration_downtime_delay': 75,
    'live_migration_completion_timeout': 800,
    'live_migration_timeout_action': 'abort',
    'live_migration_permit_auto_converge': False,
    'live_migration_permit_post_copy': False,
    'dirty_heavy': 16.0,
    'metric_stale_after': 900,
    'use_server_groups': True,
    'dirty_rate_meter': 'memory.dirty.rate',
    'working_set_meter': 'memory.dirty.working_set',
}

HTML_SIGNIFICANT = ('<', '>', '&')


@pytest.fixture(scope='module')
def strategy():
    return loading.DefaultStrategyLoader().load(STRATEGY)


@pytest.fixture(scope='module')
def schema(strategy):
    return strategy.get_schema()


def _descriptions(node, path='schema'):
    """Every ``description`` string anywhere in a schema, with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'description' and isinstance(value, str):
                yield path, value
            else:
                yield from _descriptions(value, '%s.%s' % (path, key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _descriptions(value, '%s[%d]' % (path, i))


@pytest.mark.parametrize('loader_cls, name, base_cls', [
    (loading.DefaultStrategyLoader, STRATEGY, strategy_base.BaseStrategy),
    (loading.DefaultGoalLoader, GOAL, goal_base.Goal),
])
def test_entry_point_loads_under_its_name(loader_cls, name, base_cls):
    loaded = loader_cls().load(name)
    assert isinstance(loaded, base_cls)
    assert loaded.get_name() == name
    assert name in loader_cls().list_available()


def test_planner_entry_point_loads_our_planner():
    # Watcher's planners have no get_name() (BasePlanner does not declare
    # one; the audit handler loads them by entry-point name only), so the
    # name is checked through the loader's own listing.
    loaded = loading.DefaultPlannerLoader().load(PLANNER)
    assert isinstance(loaded, planner_base.BasePlanner)
    assert type(loaded) is planner_mod.InformedLiveMigrationPlanner
    assert PLANNER in loading.DefaultPlannerLoader().list_available()


def test_strategy_uses_our_planner_and_goal(strategy):
    assert strategy.planner == PLANNER
    assert strategy.get_goal_name() == GOAL
    assert strategy.goal.name == GOAL
    assert strategy.goal.get_name() == GOAL
    # the planner Watcher's audit handler would load for this strategy
    planner = loading.DefaultPlannerLoader().load(strategy.planner)
    assert type(planner) is planner_mod.InformedLiveMigrationPlanner


def test_strategy_config_has_watcher_and_our_options(strategy):
    # Watcher's own option, inherited from BaseStrategy.get_config_opts().
    assert 'datasources' in strategy.config
    assert strategy.config.datasources is None
    for name, default in OUR_OPTS.items():
        assert name in strategy.config, name
        assert strategy.config[name] == default, name
    # ... and every one is registered with oslo.config under the group
    # Watcher's loader derives from the entry point.
    group = cfg.CONF.get(GROUP)
    for name in ['datasources'] + sorted(OUR_OPTS):
        assert name in group, name
        assert getattr(group, name) == strategy.config[name]


def test_config_override_reaches_the_strategy():
    cfg.CONF.set_override('host_disk_io_capacity', 123.0, group=GROUP)
    try:
        strategy = loading.DefaultStrategyLoader().load(STRATEGY)
    finally:
        cfg.CONF.clear_override('host_disk_io_capacity', group=GROUP)
    assert strategy.config.host_disk_io_capacity == 123.0


def test_goal_efficacy_specification_is_serialisable():
    goal = loading.DefaultGoalLoader().load(GOAL)
    spec = goal.efficacy_specification
    # what Watcher's syncer stores in the goals table
    dicts = spec.get_indicators_specs_dicts()
    names = [d['name'] for d in dicts]
    assert len(names) == len(set(names))
    assert {'instance_migrations_count', 'instances_count',
            'predicted_makespan', 'predicted_total_downtime'} <= set(names)
    assert spec.serialize_indicators_specs()
    for d in dicts:
        assert d['description']


def test_schema_round_trips_through_literal_eval(schema):
    assert ast.literal_eval(str(schema)) == schema


def test_schema_descriptions_have_no_html_significant_characters(schema):
    found = list(_descriptions(schema))
    assert found
    bad = [(path, ch) for path, text in found for ch in HTML_SIGNIFICANT
           if ch in text]
    assert bad == []


def test_schema_text_has_no_html_significant_characters(schema):
    # watcher-dashboard pastes the whole ``properties`` mapping (as YAML,
    # keys, patterns and defaults included) into the strategy page
    # without escaping; any of these would be read as HTML.
    text = json.dumps(schema['properties'])
    assert [ch for ch in HTML_SIGNIFICANT if ch in text] == []


def _indicator_texts():
    """(where, text) of every efficacy indicator text Horizon shows."""
    goal = loading.DefaultGoalLoader().load(GOAL)
    spec = goal.efficacy_specification
    for d in spec.get_indicators_specs_dicts():
        for key in ('name', 'description', 'unit'):
            yield '%s.%s' % (d['name'], key), str(d.get(key) or '')
    values = watcher_utils.Struct(
        instance_migrations_count=3, instances_count=15,
        overloaded_hosts_before=2, overloaded_hosts_after=0)
    for ind in spec.get_global_efficacy_indicator(values):
        for key in ('name', 'description', 'unit'):
            yield 'global %s.%s' % (ind.name, key), str(
                getattr(ind, key) or '')


def test_indicator_texts_have_no_html_significant_characters():
    found = list(_indicator_texts())
    assert len(found) > 30
    bad = [(where, ch) for where, text in found for ch in HTML_SIGNIFICANT
           if ch in text]
    assert bad == []


def test_every_indicator_is_described_and_quantities_name_a_unit():
    goal = loading.DefaultGoalLoader().load(GOAL)
    for d in goal.efficacy_specification.get_indicators_specs_dicts():
        assert d['description'].strip(), d['name']
        # counts have no unit (Horizon shows "-"); any other quantity
        # names its unit, in the unit column or in the description.
        if json.loads(d['schema']).get('type') == 'number':
            assert d.get('unit') or 'fraction' in d['description'], d


def _number(value):
    return json.dumps(value)


def test_descriptions_state_every_bound_and_the_default(schema):
    # Horizon's Create Audit panel shows type, default and description
    # only: a bound or an enum not in the description is invisible.
    for name, spec in schema['properties'].items():
        words = {w.rstrip('.;') for w in
                 spec['description'].replace(',', ' ').split()}
        assert spec['description'].endswith(
            'Default %s.' % _number(spec['default'])), name
        for key in ('minimum', 'maximum'):
            if key in spec:
                assert _number(spec[key]) in words, (name, key)
        for value in spec.get('enum', ()):
            assert str(value) in words, (name, value)


def test_every_top_level_property_has_type_default_description(schema):
    props = schema['properties']
    assert props
    for name, spec in props.items():
        for key in ('type', 'default', 'description'):
            assert key in spec, '%s lacks %s' % (name, key)
        assert spec['description'].strip(), name


def test_schema_defaults_satisfy_their_own_bounds(schema):
    for name, spec in schema['properties'].items():
        default = spec['default']
        if 'minimum' in spec:
            if spec.get('exclusiveMinimum'):
                assert default > spec['minimum'], name
            else:
                assert default >= spec['minimum'], name
        if 'maximum' in spec:
            assert default <= spec['maximum'], name


def test_every_option_help_is_nova_style(strategy):
    # summary, blank line, details, "Possible values:" and, when it has
    # any, "Related options:" naming options or audit parameters we have
    ours = [o for o in strategy.get_config_opts() if o.name != 'datasources']
    assert {o.name for o in ours} >= set(OUR_OPTS)
    names = set(strategy.get_schema()['properties']) | {
        o.name for o in ours}
    for opt in ours:
        text = opt.help.strip()
        assert text.split('\n')[1] == '', opt.name
        assert '\nPossible values:\n\n* ' in text, opt.name
        if 'Related options:' in text:
            related = text.split('Related options:')[1]
            for line in related.strip().splitlines():
                name = line.split('``')[1]
                assert name in names, (opt.name, name)
