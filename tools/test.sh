#!/usr/bin/env bash
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
# THE test command of watcher-informed.
#
#   bash tools/test.sh [PYTEST ARGS...]
#
# Bootstraps .venv (see tools/lib/venv.sh; python3-venv is apt-installed
# when missing), then runs pytest on tests/unit, tests/functional and
# tests/devstack (the DevStack plugin, run with bash against stand-ins).
# Extra arguments are passed to pytest.  Exits non-zero on any failure,
# including "no tests collected".

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.sh"
cd "${WI_REPO_ROOT}"

wi_venv_bootstrap

wi_log "running pytest: tests/unit tests/functional tests/devstack $*"
wi_pytest -q tests/unit tests/functional \
    tests/devstack "$@"
wi_log "tests passed"
