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
# Prepare the real dirty-rate agent tests (tests/libvirt).
#
#   bash tools/libvirt/setup.sh
#
# Idempotent.  Needs root (apt-get, useradd).  On top of what
# tools/qemu/setup.sh prepares (QEMU, the guest kernel, the dirtying
# guest's initramfs), installs from Debian, only when missing:
#
#   libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
#   python3-libvirt prometheus
#
# and creates the unprivileged system user "wi-libvirt" (WI_LIBVIRT_USER)
# that runs the tests' own libvirtd.  The tests run libvirtd in *session*
# mode as that user, with every socket, state and log file in a temporary
# directory: it never touches /run/libvirt, /etc/libvirt or a system
# libvirtd (e.g. DevStack's nova-compute) running on the same machine, and
# it needs neither virtlogd (stdio_handler = "file") nor the libvirt-qemu
# user of the system daemon.
#
# Debian's python3-libvirt is built for the system Python 3.11; the
# project venv gets it through a directory of symbolic links,
# $WI_QEMU_CACHE/python-libvirt, that tools/libvirt/test.sh puts on
# PYTHONPATH (no compiler or libvirt-dev needed, unlike pip's
# libvirt-python).

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${WI_QEMU_CACHE:-/var/tmp/watcher-informed-qemu}"
USER_NAME="${WI_LIBVIRT_USER:-wi-libvirt}"
PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
    python3-libvirt prometheus)
DIST=/usr/lib/python3/dist-packages

# shellcheck source=tools/lib/venv.sh
source "${HERE}/../lib/venv.sh"

make_user() {
    if id "${USER_NAME}" >/dev/null 2>&1; then
        return
    fi
    wi_log "creating system user ${USER_NAME}"
    wi_as_root useradd --system --user-group --home-dir /nonexistent \
        --shell /usr/sbin/nologin "${USER_NAME}"
}

link_python_libvirt() {
    local dir="${CACHE}/python-libvirt" f
    mkdir -p "${dir}"
    for f in "${DIST}"/libvirt.py "${DIST}"/libvirtmod.cpython-*.so; do
        [ -e "$f" ] || wi_die "python3-libvirt file missing: $f"
        ln -sf "$f" "${dir}/"
    done
    wi_log "python-libvirt for the venv: ${dir}"
}

main() {
    bash "${HERE}/../qemu/setup.sh"
    wi_apt_ensure "${PACKAGES[@]}"
    make_user
    link_python_libvirt
    # the unprivileged libvirtd's QEMU reads the guest kernel and initrd
    chmod a+rx "${CACHE}"
    chmod a+r "${CACHE}/vmlinuz" "${CACHE}/initrd.gz"
}

main "$@"
