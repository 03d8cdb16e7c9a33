# shellcheck shell=bash
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
# The runner of the hypervisor suites (tools/qemu/test.sh,
# tools/libvirt/test.sh, tools/ceilometer/test.sh), sourced after
# tools/lib/venv.sh:
#
#   wi_guest_suite SETUP REQUIRED_VAR COMMAND...
#
# bootstraps .venv, runs the idempotent SETUP script (apt, guest kernel
# and initramfs; needs root), puts Debian's python3-libvirt (linked by
# tools/libvirt/setup.sh into the guest cache) on PYTHONPATH, and runs
# COMMAND -- "wi_pytest ARGS..." (tools/lib/venv.sh: no test collected is
# a failure too) or a stack runner around pytest -- with REQUIRED_VAR=1,
# so that a missing piece fails the suite instead of skipping it.

wi_guest_suite() {
    local setup="$1" required="$2" cache
    shift 2
    cd "${WI_REPO_ROOT}"
    wi_venv_bootstrap
    wi_log "preparing the guests: ${setup}"
    bash "${setup}"
    cache="${WI_QEMU_CACHE:-/var/tmp/watcher-informed-qemu}"
    export PYTHONPATH="${cache}/python-libvirt${PYTHONPATH:+:${PYTHONPATH}}"
    export "${required}=1"
    wi_log "running: $*"
    "$@"
}
