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
# The real pre-copy migration tests (issue 7): the cost model against
# QEMU live migrations on this host.
#
#   bash tools/qemu/test.sh [PYTEST ARGS...]
#
# The runner of tools/lib/suite.sh: bootstraps .venv, prepares QEMU, the
# guest kernel and the guest initramfs (tools/qemu/setup.sh, idempotent),
# then runs pytest on tests/hypervisor with WI_QEMU_REQUIRED=1, so that a
# missing QEMU fails instead of skipping.  The grid takes about 10
# minutes on 2 cores, after waiting (at most 10 minutes) for a 1-minute
# load average below 1.5.  Results: bench/out/qemu_precopy.json, rendered by
# "python -m bench.qemu_precopy".

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/venv.sh"
# shellcheck source=tools/lib/suite.sh
source "${WI_REPO_ROOT}/tools/lib/suite.sh"

wi_guest_suite tools/qemu/setup.sh WI_QEMU_REQUIRED \
    wi_pytest -q tests/hypervisor "$@"
"${VENV}/bin/python" -m bench.qemu_precopy
wi_log "hypervisor tests passed"
