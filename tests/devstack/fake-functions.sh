#!/bin/bash
#
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
#
# Stand-ins for the DevStack helpers used by devstack/plugin.sh, sourced by
# tests/devstack/test_plugin.py instead of DevStack's "functions" file.
#
# Helpers that would touch the system (pip, git, packages, systemd) only
# append a line to $WI_TEST_CALLS.  iniset is a real, minimal INI writer
# (iniset.py adds or replaces "option = value" in a section, like
# DevStack's).
# The pure helpers the plugin relies on (is_service_enabled, enable_service,
# define_plugin, plugin_requires, die, echo_summary) behave like DevStack's
# for the cases the tests use.
#
# Needs: WI_TEST_CALLS (file), WI_TEST_PYTHON (interpreter for iniset),
# ENABLED_SERVICES (comma separated).

_WI_FAKE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

function _wi_record {
    printf '%s\n' "$*" >> "$WI_TEST_CALLS"
}

# -- pure helpers -----------------------------------------------------------

function define_plugin {
    _wi_record "define_plugin $*"
}

function plugin_requires {
    _wi_record "plugin_requires $*"
}

# True when any of the given services is in ENABLED_SERVICES.
function is_service_enabled {
    local service
    for service in "$@"; do
        if [[ ,${ENABLED_SERVICES:-}, == *,${service},* ]]; then
            return 0
        fi
    done
    return 1
}

function enable_service {
    local service
    for service in "$@"; do
        if [[ ,${DISABLED_SERVICES:-}, == *,${service},* ]]; then
            continue
        fi
        if ! is_service_enabled "$service"; then
            ENABLED_SERVICES="${ENABLED_SERVICES:-},$service"
            ENABLED_SERVICES=${ENABLED_SERVICES#,}
        fi
    done
}

# stack.sh defines echo_summary; unstack.sh and clean.sh do not (the test
# driver unsets it for those modes).
function echo_summary {
    echo "summary: $*"
}

function die {
    local line=$1
    shift
    echo "die (line $line): $*" >&2
    exit 1
}

# -- INI files ----------------------------------------------------------------

# iniset [-sudo] config-file section option value
function iniset {
    if [[ "$1" == "-sudo" ]]; then
        shift
    fi
    _wi_record "iniset $*"
    "$WI_TEST_PYTHON" -I -S "$_WI_FAKE_DIR/iniset.py" "$@"
}

# -- helpers that would touch the system: record only ------------------------

function setup_develop {
    _wi_record "setup_develop $*"
}

function setup_dev_lib {
    _wi_record "setup_dev_lib $*"
}

function pip_install {
    _wi_record "pip_install $*"
}

function pip_uninstall {
    _wi_record "pip_uninstall $* PIP_VIRTUAL_ENV=${PIP_VIRTUAL_ENV:-}"
}

function git_clone {
    _wi_record "git_clone $*"
}

function install_package {
    _wi_record "install_package $*"
}

function run_process {
    _wi_record "run_process $*"
}

function stop_process {
    _wi_record "stop_process $*"
}

function start_service {
    _wi_record "start_service $*"
}

function stop_service {
    _wi_record "stop_service $*"
}

function restart_service {
    _wi_record "restart_service $*"
}

function restart_apache_server {
    _wi_record "restart_apache_server $*"
}

# -- pure helpers used by the dirty-rate agent's service -----------------------

function get_python_exec_prefix {
    echo /usr/local/bin
}
