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

"""The DevStack plugin (devstack/), run with bash in a scratch directory.

DevStack is not installed here: ``fake-functions.sh`` stands in for its
``functions`` file.  Helpers that would touch the system only record their
call; ``iniset`` really writes the INI file, so the resulting watcher.conf
is parsed (with configparser and with oslo.config) and asserted on.

Each run is one bash process that, like stack.sh / unstack.sh / clean.sh,
sources the plugin's ``settings`` and then ``plugin.sh <mode> [phase]`` for
each requested phase, with ``errexit`` and ``nounset`` on and unknown
commands failing.
"""

import configparser
import os
import pathlib
import re
import shutil
import subprocess
import sys

from oslo_config import cfg
import pytest

from watcher_informed.conf import strategy as strategy_conf

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
PLUGIN_DIR = REPO / 'devstack'
FAKES = HERE / 'fake-functions.sh'
SECTION = 'watcher_strategies.informed_live_migration'
WATCHER_SERVICES = 'watcher-api,watcher-decision-engine,watcher-applier'
BASH = shutil.which('bash')

pytestmark = pytest.mark.skipif(BASH is None, reason='bash not found')

# What Watcher's own post-config leaves behind (abridged).
WATCHER_CONF = """\
[DEFAULT]
debug = True
control_exchange = watcher

[database]
connection = mysql+pymysql://root:secret@127.0.0.1/watcher?charset=utf8

[watcher_clients_auth]
auth_type = password
"""

DRIVER = r'''
set -o errexit
set -o nounset
function command_not_found_handle {
    printf 'command not found: %s\n' "$1" >&2
    return 127
}
source "$WI_TEST_FAKES"
source "$WI_TEST_PLUGIN_DIR/settings"
for call in "$@"; do
    read -r mode phase <<< "$call"
    if [[ "$mode" != "stack" ]]; then
        # Only stack.sh defines it.
        unset -f echo_summary
    fi
    source "$WI_TEST_PLUGIN_DIR/plugin.sh" $mode $phase
    echo "phase done: $call"
done
'''

PHASES = ('stack pre-install', 'stack install', 'stack post-config',
          'stack extra', 'stack test-config', 'unstack', 'clean')
STACK = PHASES[:5]

# Calls that stop, start or restart something, or install packages.
FORBIDDEN = ('run_process', 'stop_process', 'start_service', 'stop_service',
             'restart_service', 'restart_apache_server', 'install_package',
             'git_clone', 'pip_install')

SOME_OPTIONS = {
    'WATCHER_INFORMED_HOST_DISK_IO_CAPACITY': '750.5',
    'WATCHER_INFORMED_HOST_NETWORK_CAPACITY': '2500',
    'WATCHER_INFORMED_LIVE_MIGRATION_DOWNTIME': '300',
    'WATCHER_INFORMED_USE_SERVER_GROUPS': 'False',
}


def var_name(opt):
    return 'WATCHER_INFORMED_' + opt.upper()


class FakeDevstack:
    """A throw-away DEST, /etc/watcher and call log under tmp_path."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.dest = tmp_path / 'opt' / 'stack'
        self.src = self.dest / 'watcher-informed'
        (self.src / 'watcher_informed.egg-info').mkdir(parents=True)
        (self.src / 'setup.cfg').write_text('[metadata]\n')
        self.conf = tmp_path / 'etc' / 'watcher' / 'watcher.conf'
        self.conf.parent.mkdir(parents=True)
        self.conf.write_text(WATCHER_CONF)
        self.calls_file = tmp_path / 'calls.log'
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': str(tmp_path),
            'LC_ALL': 'C',
            'WI_TEST_FAKES': str(FAKES),
            'WI_TEST_PLUGIN_DIR': str(PLUGIN_DIR),
            'WI_TEST_CALLS': str(self.calls_file),
            'WI_TEST_PYTHON': sys.executable,
            'DEST': str(self.dest),
            'WATCHER_CONF': str(self.conf),
            'ENABLED_SERVICES': 'mysql,rabbit,key,' + WATCHER_SERVICES,
            'DEVSTACK_PLUGINS': ',watcher,watcher-informed',
        }

    def run(self, *calls, **env):
        full_env = dict(self.env)
        full_env.update(env)
        return subprocess.run(
            [BASH, '-c', DRIVER, 'driver'] + list(calls),
            cwd=self.root, env=full_env, capture_output=True, text=True,
            timeout=30)

    def calls(self):
        if not self.calls_file.exists():
            return []
        # settings always declares the plugin; keep the interesting calls.
        return [c for c in self.calls_file.read_text().splitlines()
                if not c.startswith(('define_plugin', 'plugin_requires'))]

    def parsed_conf(self):
        # [DEFAULT] as a plain section: its options must not show up in
        # every other section.
        parser = configparser.ConfigParser(interpolation=None,
                                           default_section='\0')
        parser.read_string(self.conf.read_text())
        return parser


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def devstack(tmp_path):
    return FakeDevstack(tmp_path)


def plugin_options():
    """WATCHER_INFORMED_OPTIONS as the plugin's lib defines it."""
    proc = subprocess.run(
        [BASH, '-c', 'set -o nounset; source "$1"; source "$2"; '
         'echo $WATCHER_INFORMED_OPTIONS',
         'x', str(FAKES), str(PLUGIN_DIR / 'lib' / 'watcher-informed')],
        env={'PATH': os.environ.get('PATH', ''), 'DEST': '/opt/stack'},
        capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


# -- every phase ---------------------------------------------------------


@pytest.mark.parametrize('phase', PHASES)
def test_each_phase_exits_zero_and_touches_no_service(devstack, phase):
    proc = ok(devstack.run(phase, **SOME_OPTIONS))
    assert 'phase done: %s' % phase in proc.stdout
    assert not [c for c in devstack.calls() if c.startswith(FORBIDDEN)]


def test_whole_stack_unstack_clean_sequence(devstack):
    ok(devstack.run(*STACK, **SOME_OPTIONS))
    assert devstack.calls()[0] == 'setup_develop %s' % devstack.src
    assert devstack.parsed_conf()[SECTION]['host_network_capacity'] == '2500'
    ok(devstack.run('unstack'))
    ok(devstack.run('clean'))
    assert devstack.calls()[-1].startswith('pip_uninstall watcher-informed')
    assert not [c for c in devstack.calls() if c.startswith(FORBIDDEN)]


@pytest.mark.parametrize('xtrace', ['-o', '+o'])
def test_xtrace_setting_is_restored(devstack, xtrace):
    script = ('set %s xtrace; source "$WI_TEST_FAKES"; '
              'source "$WI_TEST_PLUGIN_DIR/settings"; '
              'source "$WI_TEST_PLUGIN_DIR/plugin.sh" stack post-config; '
              'set +o | grep xtrace' % xtrace)
    proc = subprocess.run([BASH, '-c', script], cwd=devstack.root,
                          env=devstack.env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == 'set %s xtrace' % xtrace


# -- settings ------------------------------------------------------------


def test_settings_declare_plugin_and_dependency(devstack):
    ok(devstack.run())
    recorded = devstack.calls_file.read_text().splitlines()
    assert 'define_plugin watcher-informed' in recorded
    assert 'plugin_requires watcher-informed watcher' in recorded


def test_settings_text_is_what_zuul_reads():
    # Zuul's write-devstack-local-conf orders enable_plugin lines with
    # these regular expressions over the settings file.
    text = (PLUGIN_DIR / 'settings').read_text()
    assert re.search(r'^define_plugin\s+watcher-informed\s*$', text, re.M)
    assert re.search(r'^plugin_requires\s+watcher-informed\s+watcher\s*$',
                     text, re.M)


# -- stack pre-install: plugin order -------------------------------------


@pytest.mark.parametrize('plugins', [',watcher,watcher-informed',
                                     ',ceilometer,watcher,foo,'
                                     'watcher-informed,bar',
                                     ''])
def test_plugin_order_accepted(devstack, plugins):
    ok(devstack.run('stack pre-install', DEVSTACK_PLUGINS=plugins))


@pytest.mark.parametrize('plugins', [',watcher-informed,watcher',
                                     ',watcher-informed',
                                     ',watcher-foo,watcher-informed'])
def test_plugin_order_rejected(devstack, plugins):
    proc = devstack.run('stack pre-install', DEVSTACK_PLUGINS=plugins)
    assert proc.returncode != 0
    assert 'BEFORE' in proc.stderr


# -- stack install -------------------------------------------------------


def test_install_uses_setup_develop_on_default_dir(devstack):
    ok(devstack.run('stack install'))
    assert devstack.calls() == ['setup_develop %s' % devstack.src]


def test_install_respects_watcher_informed_dir(devstack, tmp_path):
    other = tmp_path / 'src' / 'wi'
    other.mkdir(parents=True)
    ok(devstack.run('stack install', WATCHER_INFORMED_DIR=str(other)))
    assert devstack.calls() == ['setup_develop %s' % other]


def test_install_fails_without_source_dir(devstack, tmp_path):
    proc = devstack.run('stack install',
                        WATCHER_INFORMED_DIR=str(tmp_path / 'missing'))
    assert proc.returncode != 0
    assert 'is not a directory' in proc.stderr
    assert devstack.calls() == []


# -- stack post-config ---------------------------------------------------


def test_post_config_writes_set_options(devstack):
    ok(devstack.run('stack post-config', **SOME_OPTIONS))
    conf = devstack.parsed_conf()
    assert dict(conf[SECTION]) == {
        'host_disk_io_capacity': '750.5',
        'host_network_capacity': '2500',
        'live_migration_downtime': '300',
        'use_server_groups': 'False',
    }
    # Watcher's own settings are left alone.
    assert conf['DEFAULT']['debug'] == 'True'
    assert conf['database']['connection'].startswith('mysql+pymysql://')
    assert conf['watcher_clients_auth']['auth_type'] == 'password'


def test_post_config_result_loads_in_oslo_config(devstack):
    ok(devstack.run('stack post-config', **SOME_OPTIONS))
    conf = cfg.ConfigOpts()
    conf.register_opts(strategy_conf.OPTS, group=SECTION)
    conf(['--config-file', str(devstack.conf)], project='watcher',
         default_config_files=[], default_config_dirs=[])
    group = conf[SECTION]
    assert group.host_disk_io_capacity == 750.5
    assert group.host_network_capacity == 2500.0
    assert group.live_migration_downtime == 300
    assert group.use_server_groups is False
    assert group.max_precopy_rounds == 30     # unset: default


@pytest.mark.parametrize('value', [None, ''])
def test_post_config_unset_variables_write_nothing(devstack, value):
    env = {}
    if value is not None:
        env = {var_name(opt): value for opt in plugin_options()}
    ok(devstack.run('stack post-config', **env))
    assert devstack.conf.read_text() == WATCHER_CONF
    assert devstack.calls() == []


def test_post_config_every_option(devstack):
    opts = plugin_options()
    env = {var_name(opt): str(i + 1) for i, opt in enumerate(opts)}
    ok(devstack.run('stack post-config', **env))
    section = devstack.parsed_conf()[SECTION]
    assert dict(section) == {opt: str(i + 1) for i, opt in enumerate(opts)}


def test_post_config_again_replaces_values(devstack):
    ok(devstack.run('stack post-config',
                    WATCHER_INFORMED_MAX_PRECOPY_ROUNDS='10'))
    ok(devstack.run('stack post-config',
                    WATCHER_INFORMED_MAX_PRECOPY_ROUNDS='20'))
    text = devstack.conf.read_text()
    assert text.count('max_precopy_rounds') == 1
    assert devstack.parsed_conf()[SECTION]['max_precopy_rounds'] == '20'


def test_plugin_options_are_the_strategy_options():
    assert sorted(plugin_options()) == sorted(
        opt.name for opt in strategy_conf.OPTS)


def test_every_variable_is_documented_with_its_default():
    readme = (PLUGIN_DIR / 'README.rst').read_text()
    settings = (PLUGIN_DIR / 'settings').read_text()
    sample = (PLUGIN_DIR / 'local.conf.sample').read_text()
    for opt in strategy_conf.OPTS:
        var = var_name(opt.name)
        row = re.search(r'^``%s``\s+(\S+)' % var, readme, re.M)
        assert row, '%s missing from devstack/README.rst' % var
        assert row.group(1) == (str(opt.default) or '(empty)'), var
        assert re.search(r'^#\s+%s\s+%s$' % (var, opt.name), settings,
                         re.M), '%s missing from devstack/settings' % var
        assert '#%s=' % var in sample, var


# -- unstack and clean ---------------------------------------------------


@pytest.mark.parametrize('phase', ['stack extra', 'stack test-config',
                                   'unstack'])
def test_phases_without_work(devstack, phase):
    ok(devstack.run(phase, **SOME_OPTIONS))
    assert devstack.calls() == []
    assert devstack.conf.read_text() == WATCHER_CONF


def test_clean_uninstalls_and_removes_egg_info(devstack):
    ok(devstack.run('clean'))
    assert devstack.calls() == [
        'pip_uninstall watcher-informed PIP_VIRTUAL_ENV=']
    assert not (devstack.src / 'watcher_informed.egg-info').exists()
    assert (devstack.src / 'setup.cfg').exists()


def test_clean_uses_global_venv(devstack, tmp_path):
    venv = tmp_path / 'data' / 'venv'
    ok(devstack.run('clean', GLOBAL_VENV='True', DEVSTACK_VENV=str(venv)))
    assert devstack.calls() == [
        'pip_uninstall watcher-informed PIP_VIRTUAL_ENV=%s' % venv]


def test_clean_keeps_explicit_pip_virtual_env(devstack):
    ok(devstack.run('clean', GLOBAL_VENV='True', DEVSTACK_VENV='/a',
                    PIP_VIRTUAL_ENV='/b'))
    assert devstack.calls() == [
        'pip_uninstall watcher-informed PIP_VIRTUAL_ENV=/b']


# -- disabled ------------------------------------------------------------


@pytest.mark.parametrize('env', [
    # "disable_service watcher-informed" in local.conf
    {'DISABLED_SERVICES': 'watcher-informed'},
    # a node without any Watcher service (e.g. a compute node)
    {'ENABLED_SERVICES': 'n-cpu,q-agt'},
], ids=['plugin-disabled', 'no-watcher-service'])
def test_disabled_does_nothing(devstack, env):
    ok(devstack.run(*PHASES, DEVSTACK_PLUGINS=',watcher-informed',
                    **SOME_OPTIONS, **env))
    assert devstack.calls() == []
    assert devstack.conf.read_text() == WATCHER_CONF
    assert (devstack.src / 'watcher_informed.egg-info').exists()


# -- the dirty-rate agent on compute nodes -------------------------------

COMPUTE = {'ENABLED_SERVICES': 'n-cpu,q-agt', 'HOST_IP': '192.0.2.7',
           'WATCHER_INFORMED_DIRTYRATE': 'True'}
AGENT_CMD = ('run_process watcher-informed-dirtyrate '
             '/usr/local/bin/watcher-informed-dirtyrate '
             '--uri qemu:///system --listen 192.0.2.7:9187')

DIRTYRATE_NODES = [
    # (extra environment, calls of stack install .. clean)
    ({}, ['setup_develop {src}', AGENT_CMD,
          'stop_process watcher-informed-dirtyrate',
          'pip_uninstall watcher-informed PIP_VIRTUAL_ENV=']),
    ({'WATCHER_INFORMED_DIRTYRATE_ARGS': '--windows 2,10',
      'WATCHER_INFORMED_DIRTYRATE_URI': 'qemu+tcp://h/system',
      'GLOBAL_VENV': 'True', 'DEVSTACK_VENV': '/opt/venv'},
     ['setup_develop {src}',
      'run_process watcher-informed-dirtyrate '
      '/opt/venv/bin/watcher-informed-dirtyrate --uri qemu+tcp://h/system '
      '--listen 192.0.2.7:9187 --windows 2,10',
      'stop_process watcher-informed-dirtyrate',
      'pip_uninstall watcher-informed PIP_VIRTUAL_ENV=/opt/venv']),
    # a node with Watcher too: installed (and removed) once
    ({'ENABLED_SERVICES': 'n-cpu,' + WATCHER_SERVICES},
     ['setup_develop {src}', AGENT_CMD,
      'stop_process watcher-informed-dirtyrate',
      'pip_uninstall watcher-informed PIP_VIRTUAL_ENV=']),
]


@pytest.mark.parametrize('env,want', DIRTYRATE_NODES,
                         ids=['compute', 'options', 'with-watcher'])
def test_dirtyrate_agent_service(devstack, env, want):
    ok(devstack.run('stack install', 'stack extra', 'unstack', 'clean',
                    **dict(COMPUTE, **env)))
    calls = [c for c in devstack.calls() if not c.startswith('iniset')]
    assert calls == [c.format(src=devstack.src) for c in want]


@pytest.mark.parametrize('value', ['', 'False', 'yes'])
def test_dirtyrate_agent_is_opt_in(devstack, value):
    ok(devstack.run(*PHASES, **dict(COMPUTE,
                                    WATCHER_INFORMED_DIRTYRATE=value)))
    assert devstack.calls() == []
