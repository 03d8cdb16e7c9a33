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
# Shared virtualenv bootstrap, sourced by tools/test.sh, tools/demo.sh and
# tools/lint.sh.  Call wi_venv_bootstrap; afterwards $VENV holds an
# environment with watcher-informed installed in editable mode with the
# "watcher" extra plus test-requirements.txt, all pinned by
# $WI_CONSTRAINTS.
#
# Works on a fresh Debian 12 machine that has only python3 and root: when
# the venv module (ensurepip) is missing, python3-venv is installed with
# apt-get.
#
# Environment overrides:
#   VENV            venv directory (default: <repo>/.venv)
#   PYTHON          interpreter used to create it (default: python3)
#   WI_CONSTRAINTS  pip constraints file
#                   (default: <repo>/constraints/py311-watcher-17.txt)
#
# The venv is reused while its stamp file matches a hash of setup.cfg,
# setup.py, pyproject.toml, the requirements files, the constraints file
# and the interpreter version; otherwise it is rebuilt from scratch.

WI_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-${WI_REPO_ROOT}/.venv}"
PYTHON="${PYTHON:-python3}"
WI_DEFAULT_CONSTRAINTS="${WI_REPO_ROOT}/constraints/py311-watcher-17.txt"
WI_CONSTRAINTS="${WI_CONSTRAINTS:-${WI_DEFAULT_CONSTRAINTS}}"
WI_STAMP_NAME=".watcher-informed-stamp"

wi_log() {
    printf '==> %s\n' "$*"
}

wi_die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

# Run a command as root (directly, or through sudo when available).
wi_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        wi_die "need root to run: $*"
    fi
}

wi_apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        wi_die "apt-get not found; install $* by hand"
    wi_log "apt-get update"
    wi_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    wi_log "apt-get install $*"
    wi_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@"
}

# wi_apt_ensure PKG...: apt-get install those of PKG not installed yet.
wi_apt_ensure() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        wi_log "packages already installed: $*"
        return 0
    fi
    wi_apt_install "${missing[@]}"
}

# wi_pytest ARGS...: pytest in $VENV; no test collected is a failure too.
wi_pytest() {
    local rc=0
    "${VENV}/bin/python" -m pytest "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then
        printf 'ERROR: pytest collected no tests (exit 5); failing.\n' >&2
        return 1
    fi
    if [ "$rc" -ne 0 ]; then
        printf 'ERROR: pytest failed (exit %s).\n' "$rc" >&2
    fi
    return "$rc"
}

# Make sure "$PYTHON -m venv" can create a venv with pip in it.
wi_ensure_python_venv() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        if [ "$PYTHON" = python3 ]; then
            wi_apt_install python3
        else
            wi_die "interpreter not found: $PYTHON"
        fi
    fi
    # Debian splits ensurepip (needed by venv) into python3-venv.
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        wi_log "python venv support missing; installing python3-venv"
        wi_apt_install python3-venv
        "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 ||
            wi_die "$PYTHON still cannot create venvs"
    fi
}

# Hash of everything that decides what the venv contains.
wi_venv_hash() {
    local f
    {
        "$PYTHON" -c 'import sys; print(sys.version)'
        for f in setup.cfg setup.py pyproject.toml requirements.txt \
                test-requirements.txt; do
            printf '%s\n' "--- $f"
            if [ -f "${WI_REPO_ROOT}/$f" ]; then
                cat "${WI_REPO_ROOT}/$f"
            fi
        done
        printf '%s\n' "--- constraints"
        cat "${WI_CONSTRAINTS}"
    } | sha256sum | cut -d' ' -f1
}

# pbr takes the version from git; without git or without a commit (for
# example an unpacked tarball) give it one so the install still works.
wi_pbr_version_fallback() {
    if [ -n "${PBR_VERSION:-}" ]; then
        return 0
    fi
    if command -v git >/dev/null 2>&1; then
        if git -C "${WI_REPO_ROOT}" rev-parse -q --verify HEAD >/dev/null 2>&1
        then
            return 0
        fi
    fi
    wi_log "no git history found; using PBR_VERSION=0.0.1.dev0"
    export PBR_VERSION=0.0.1.dev0
}

wi_venv_bootstrap() {
    local want have=""
    [ -f "${WI_CONSTRAINTS}" ] ||
        wi_die "constraints file not found: ${WI_CONSTRAINTS}"
    wi_ensure_python_venv
    want="$(wi_venv_hash)"
    if [ -f "${VENV}/${WI_STAMP_NAME}" ]; then
        have="$(cat "${VENV}/${WI_STAMP_NAME}")"
    fi
    if [ "$want" = "$have" ]; then
        if "${VENV}/bin/python" -c 'import sys' >/dev/null 2>&1; then
            wi_log "reusing venv ${VENV} (stamp ${want:0:12})"
            return 0
        fi
    fi

    if [ -e "${VENV}" ]; then
        # Only ever delete something that is a venv.
        if [ -f "${VENV}/pyvenv.cfg" ]; then
            wi_log "venv ${VENV} is stale; rebuilding it"
            rm -rf "${VENV}"
        else
            wi_die "${VENV} exists but is not a venv; remove it by hand"
        fi
    fi

    wi_log "creating venv ${VENV} with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "${VENV}"
    wi_pbr_version_fallback
    wi_log "installing watcher-informed[watcher] and test requirements" \
        "(constraints: ${WI_CONSTRAINTS#"${WI_REPO_ROOT}"/})"
    "${VENV}/bin/python" -m pip install -q --no-input \
        -c "${WI_CONSTRAINTS}" \
        -e "${WI_REPO_ROOT}[watcher]" \
        -r "${WI_REPO_ROOT}/test-requirements.txt"
    if ! "${VENV}/bin/python" -m pip check; then
        wi_log "WARNING: pip check reported problems (see above)"
    fi
    printf '%s\n' "$want" > "${VENV}/${WI_STAMP_NAME}"
    wi_log "venv ready: ${VENV}"
}
