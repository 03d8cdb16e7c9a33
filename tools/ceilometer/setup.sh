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
# Prepare the real-Ceilometer suite (tests/ceilometer).
#
#   bash tools/ceilometer/setup.sh
#
# Idempotent; needs root.  On top of tools/libvirt/setup.sh (QEMU,
# libvirt, the guest kernel, the wi-libvirt user, python3-libvirt for the
# venv):
#
# * Debian packages, only when missing: rabbitmq-server (the message bus
#   between ceilometer-polling and ceilometer-agent-notification),
#   prometheus-pushgateway (the route of Ceilometer's prometheus://
#   publisher), iproute2;
# * the Ceilometer venv $WI_CEILOMETER_VENV [<repo>/.tox/ceilometer]:
#   ceilometer (pinned in constraints/ceilometer-27.txt, with every
#   dependency) and the project's python3-libvirt link directory on its
#   path -- pip's libvirt-python would need a compiler and libvirt-dev;
# * the guest's virtio modules (virtio_pci, virtio_blk, virtio_net,
#   virtio_balloon and what they need), taken from the same Debian kernel
#   package as the guest kernel, and the guest initramfs
#   $WI_QEMU_CACHE/initrd-ceilometer.gz: busybox, the modules,
#   tools/ceilometer/guest/{init,load.c} and tools/qemu/guest/dirty.c.

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib/venv.sh
source "${HERE}/../lib/venv.sh"
CACHE="${WI_QEMU_CACHE:-/var/tmp/watcher-informed-qemu}"
CVENV="${WI_CEILOMETER_VENV:-${WI_REPO_ROOT}/.tox/ceilometer}"
CONSTRAINTS="${WI_REPO_ROOT}/constraints/ceilometer-27.txt"
PACKAGES=(rabbitmq-server prometheus-pushgateway iproute2)
# load order (each needs the ones before it)
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
    virtio_pci virtio_blk failover net_failover virtio_net virtio_balloon)

ceilometer_venv() {
    local stamp want polling="${CVENV}/bin/ceilometer-polling"
    want="$(sha256sum < "${CONSTRAINTS}" | cut -c1-16)"
    stamp="$(cat "${CVENV}/.wi-stamp" 2>/dev/null || true)"
    if [ "${stamp}" = "${want}" ] && [ -x "${polling}" ]; then
        wi_log "Ceilometer venv up to date: ${CVENV}"
        return
    fi
    wi_log "creating the Ceilometer venv ${CVENV}"
    rm -rf "${CVENV}"
    "${PYTHON}" -m venv "${CVENV}"
    timeout 900 "${CVENV}/bin/python" -m pip install -q --no-input \
        -c "${CONSTRAINTS}" ceilometer
    printf '%s\n' "${want}" > "${CVENV}/.wi-stamp"
}

link_libvirt() {
    local site
    site="$("${CVENV}/bin/python" -c \
        'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    printf '%s\n' "${CACHE}/python-libvirt" > "${site}/wi-python-libvirt.pth"
}

fetch_modules() {
    local pkg work deb m path
    pkg="$(cat "${CACHE}/kernel-package")"
    if [ "$(cat "${CACHE}/modules/package" 2>/dev/null)" = "${pkg}" ]; then
        wi_log "guest modules already in cache: ${pkg}"
        return
    fi
    work="$(mktemp -d "${CACHE}/modules.XXXXXX")"
    wi_log "apt-get download ${pkg} (virtio modules)"
    if ! (cd "${work}" && apt-get download -q "${pkg}"); then
        wi_as_root apt-get update -qq
        (cd "${work}" && apt-get download -q "${pkg}")
    fi
    deb="$(find "${work}" -maxdepth 1 -name '*.deb' | head -n 1)"
    [ -n "${deb}" ] || wi_die "apt-get download ${pkg} gave no .deb"
    dpkg-deb --fsys-tarfile "${deb}" | tar -xf - -C "${work}" \
        --wildcards './lib/modules/*/kernel/drivers/virtio/*' \
        './lib/modules/*/kernel/drivers/block/virtio_blk.ko' \
        './lib/modules/*/kernel/drivers/net/virtio_net.ko' \
        './lib/modules/*/kernel/drivers/net/net_failover.ko' \
        './lib/modules/*/kernel/net/core/failover.ko'
    rm -rf "${CACHE}/modules"
    mkdir -p "${CACHE}/modules"
    for m in "${MODULES[@]}"; do
        path="$(find "${work}/lib/modules" -name "${m}.ko" | head -n 1)"
        [ -n "${path}" ] || wi_die "module ${m}.ko not in ${pkg}"
        cp "${path}" "${CACHE}/modules/"
    done
    printf '%s\n' "${MODULES[@]}" > "${CACHE}/modules/order"
    printf '%s\n' "${pkg}" > "${CACHE}/modules/package"
    rm -rf "${work}"
}

build_initrd() {
    local want stamp root applet out="${CACHE}/initrd-ceilometer.gz"
    want="$(cat "${HERE}/guest/init" "${HERE}/guest/load.c" \
        "${HERE}/../qemu/guest/dirty.c" /bin/busybox \
        "${CACHE}/modules/package" | sha256sum | cut -c1-16)"
    stamp="$(cat "${CACHE}/initrd-ceilometer.stamp" 2>/dev/null || true)"
    if [ -s "${out}" ] && [ "${stamp}" = "${want}" ]; then
        wi_log "Ceilometer guest initramfs up to date (${want})"
        return
    fi
    wi_log "building the Ceilometer guest initramfs"
    root="$(mktemp -d "${CACHE}/initrd-ceilometer.XXXXXX")"
    mkdir -p "${root}/bin" "${root}/dev" "${root}/proc" "${root}/sys" \
        "${root}/tmp" "${root}/modules"
    cp /bin/busybox "${root}/bin/busybox"
    for applet in sh cat mount sleep; do
        ln -s busybox "${root}/bin/${applet}"
    done
    cp "${CACHE}"/modules/*.ko "${CACHE}/modules/order" "${root}/modules/"
    gcc -O2 -static -Wall -Wextra -Werror -o "${root}/dirty" \
        "${HERE}/../qemu/guest/dirty.c"
    gcc -O2 -static -Wall -Wextra -Werror -o "${root}/load" \
        "${HERE}/guest/load.c"
    strip "${root}/dirty" "${root}/load"
    install -m 0755 "${HERE}/guest/init" "${root}/init"
    (cd "${root}" && find . -print0 |
        cpio --null -o -H newc --quiet --owner 0:0) |
        gzip -1 > "${CACHE}/initrd-ceilometer.gz.tmp"
    mv "${CACHE}/initrd-ceilometer.gz.tmp" "${CACHE}/initrd-ceilometer.gz"
    chmod a+r "${CACHE}/initrd-ceilometer.gz"
    printf '%s\n' "${want}" > "${CACHE}/initrd-ceilometer.stamp"
    rm -rf "${root}"
}

main() {
    bash "${HERE}/../libvirt/setup.sh"
    wi_apt_ensure "${PACKAGES[@]}"
    exec 9> "${CACHE}/.lock-ceilometer"
    flock -w 900 9 || wi_die "another setup.sh holds ${CACHE}/.lock-ceilometer"
    fetch_modules
    build_initrd
    ceilometer_venv
    link_libvirt
}

main "$@"
