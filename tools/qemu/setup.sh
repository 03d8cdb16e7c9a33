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
# Prepare the real pre-copy migration tests (tests/hypervisor).
#
#   bash tools/qemu/setup.sh
#
# Idempotent.  Installs QEMU, busybox-static, gcc and cpio from Debian
# (only the missing ones), downloads the Debian guest kernel with
# "apt-get download linux-image-<version>-amd64" and keeps only its
# vmlinuz, and builds the guest initramfs: busybox, tools/qemu/guest/init
# and the static dirtying program tools/qemu/guest/dirty.c.  Everything
# goes to a cache directory, with a manifest (assets.json) that the tests
# read:
#
#   WI_QEMU_CACHE           cache directory
#                           (default: /var/tmp/watcher-informed-qemu)
#   WI_QEMU_KERNEL_PACKAGE  kernel package to use, e.g.
#                           linux-image-6.1.0-56-amd64 (default: the
#                           package that linux-image-amd64 depends on,
#                           or the one already in the cache)
#
# Needs root (or sudo) for apt-get.

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${WI_QEMU_CACHE:-/var/tmp/watcher-informed-qemu}"
PACKAGES=(qemu-system-x86 busybox-static gcc libc6-dev cpio)

# logging and root helpers shared with the venv bootstrap
# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/venv.sh"

log() {
    wi_log "$@"
}

die() {
    wi_die "$@"
}

as_root() {
    wi_as_root "$@"
}

apt_updated=0
apt_update() {
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        as_root apt-get update -qq
        apt_updated=1
    fi
}

kernel_package() {
    local pkg="${WI_QEMU_KERNEL_PACKAGE:-}"
    if [ -z "$pkg" ] && [ -s "$CACHE/kernel-package" ] \
            && [ -s "$CACHE/vmlinuz" ]; then
        pkg="$(cat "$CACHE/kernel-package")"
    fi
    if [ -z "$pkg" ]; then
        pkg="$(resolve_kernel || true)"
        if [ -z "$pkg" ]; then
            apt_update
            pkg="$(resolve_kernel || true)"
        fi
    fi
    [ -n "$pkg" ] \
        || die "cannot resolve the kernel package of linux-image-amd64"
    printf '%s\n' "$pkg"
}

resolve_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' \
        | head -n 1 | grep .
}

fetch_kernel() {
    local pkg="$1" work deb
    if [ -s "$CACHE/vmlinuz" ] \
            && [ "$(cat "$CACHE/kernel-package" 2>/dev/null)" = "$pkg" ]; then
        log "kernel already in cache: $pkg"
        return
    fi
    work="$(mktemp -d "$CACHE/kernel.XXXXXX")"
    log "apt-get download $pkg"
    if ! (cd "$work" && apt-get download -q "$pkg"); then
        apt_update
        (cd "$work" && apt-get download -q "$pkg")
    fi
    deb="$(find "$work" -maxdepth 1 -name '*.deb' | head -n 1)"
    [ -n "$deb" ] || die "apt-get download $pkg gave no .deb"
    # Only the kernel image: the modules are not needed (serial 8250 and
    # devtmpfs are built in) and would take hundreds of MiB.
    dpkg-deb --fsys-tarfile "$deb" \
        | tar -xf - -C "$work" --wildcards './boot/vmlinuz-*'
    cp "$(find "$work/boot" -name 'vmlinuz-*' | head -n 1)" \
        "$CACHE/vmlinuz.tmp"
    mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
    printf '%s\n' "$pkg" >"$CACHE/kernel-package"
    rm -rf "$work"
}

build_initrd() {
    local stamp want root
    want="$(cat "$HERE/guest/dirty.c" "$HERE/guest/init" /bin/busybox \
        | sha256sum | cut -c1-16)"
    stamp="$(cat "$CACHE/initrd.stamp" 2>/dev/null || true)"
    if [ -s "$CACHE/initrd.gz" ] && [ "$stamp" = "$want" ]; then
        log "initramfs up to date ($want)"
        return
    fi
    log "building the initramfs"
    root="$(mktemp -d "$CACHE/initrd.XXXXXX")"
    mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for applet in sh cat mount sleep; do
        ln -s busybox "$root/bin/$applet"
    done
    gcc -O2 -static -Wall -Wextra -Werror -o "$root/dirty" \
        "$HERE/guest/dirty.c"
    strip "$root/dirty"
    install -m 0755 "$HERE/guest/init" "$root/init"
    (cd "$root" && find . -print0 \
        | cpio --null -o -H newc --quiet --owner 0:0) \
        | gzip -1 >"$CACHE/initrd.gz.tmp"
    mv "$CACHE/initrd.gz.tmp" "$CACHE/initrd.gz"
    printf '%s\n' "$want" >"$CACHE/initrd.stamp"
    rm -rf "$root"
}

write_manifest() {
    local qemu version
    qemu="$(command -v qemu-system-x86_64)" \
        || die "qemu-system-x86_64 not found after install"
    version="$("$qemu" --version | head -n 1)"
    cat >"$CACHE/assets.json.tmp" <<EOF
{
  "qemu": "$qemu",
  "qemu_version": "$version",
  "kernel": "$CACHE/vmlinuz",
  "kernel_package": "$(cat "$CACHE/kernel-package")",
  "initrd": "$CACHE/initrd.gz",
  "initrd_stamp": "$(cat "$CACHE/initrd.stamp")"
}
EOF
    mv "$CACHE/assets.json.tmp" "$CACHE/assets.json"
    log "assets: $CACHE/assets.json ($version)"
}

main() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock -w 900 9 || die "another setup.sh holds $CACHE/.lock"
    wi_apt_ensure "${PACKAGES[@]}"
    fetch_kernel "$(kernel_package)"
    build_initrd
    write_manifest
}

main "$@"
