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
# Run the embedded demo scenario of watcher-informed.
#
#   bash tools/demo.sh [DEMO ARGS...]
#
# Bootstraps .venv like tools/test.sh, then runs
# "watcher-informed demo" with the given arguments.

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.sh"
cd "${WI_REPO_ROOT}"

wi_venv_bootstrap

wi_log "running: watcher-informed demo $*"
exec "${VENV}/bin/watcher-informed" demo "$@"
