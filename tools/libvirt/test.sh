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
# The real dirty-rate agent tests (issue 9): watcher-informed-dirtyrate
# against a libvirtd and QEMU TCG guests writing at known rates over known
# working sets, scraped by a real Prometheus and read back through the
# strategy's Prometheus reader.
#
#   bash tools/libvirt/test.sh [PYTEST ARGS...]
#
# The runner of tools/lib/suite.sh: bootstraps .venv, prepares libvirt,
# QEMU and the guest (tools/libvirt/setup.sh, idempotent, needs root),
# then runs pytest on tests/libvirt with WI_LIBVIRT_REQUIRED=1 so that a
# missing piece fails instead of skipping.  Everything the tests start
# (libvirtd, the guests, the agent, Prometheus) listens on 127.0.0.1 or on
# sockets in a temporary directory and is stopped at the end, also on
# failure.
# About 3 minutes on 2 cores.

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/venv.sh"
# shellcheck source=tools/lib/suite.sh
source "${WI_REPO_ROOT}/tools/lib/suite.sh"

wi_guest_suite tools/libvirt/setup.sh WI_LIBVIRT_REQUIRED \
    wi_pytest -q -rA tests/libvirt "$@"
wi_log "libvirt dirty-rate tests passed"
