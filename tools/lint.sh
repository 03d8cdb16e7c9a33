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
# Lint watcher-informed.
#
#   bash tools/lint.sh
#
# Bootstraps .venv like tools/test.sh, then runs ruff (pycodestyle,
# pyflakes, isort and bandit rules; see pyproject.toml) on the Python
# code and bashate on the shell scripts: tools/*.sh, .ci/run, the DevStack
# plugin (devstack/plugin.sh, devstack/settings, devstack/lib/*) and the
# DevStack stand-ins of its tests (tests/devstack/*.sh).

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.sh"
cd "${WI_REPO_ROOT}"

wi_venv_bootstrap

paths=()
for d in watcher_informed tests bench tools; do
    if [ -e "$d" ]; then
        paths+=("$d")
    fi
done

wi_log "ruff check ${paths[*]}"
"${VENV}/bin/ruff" check "${paths[@]}"

wi_log "bashate tools .ci/run devstack tests/devstack"
{
    find tools tests/devstack -name '*.sh' -print0
    find devstack -type f \( -name plugin.sh -o -name settings \
        -o -path 'devstack/lib/*' \) -print0
} | xargs -0 "${VENV}/bin/bashate" .ci/run

wi_log "lint passed"
