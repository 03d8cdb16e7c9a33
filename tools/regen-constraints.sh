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
# Regenerate constraints/py311-watcher-17.txt.
#
#   bash tools/regen-constraints.sh
#   SEED=constraints/py311-watcher-17.txt bash tools/regen-constraints.sh
#
# Creates a scratch venv, installs python-watcher==$WATCHER_VERSION plus
# requirements.txt, test-requirements.txt and doc/requirements.txt into it
# (constrained by $SEED when given, so existing pins are kept and only new
# packages are resolved), and writes "pip freeze --all" of it, without
# pip, wheel and watcher-informed itself, to the constraints file.
# Review the diff before committing it.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
WATCHER_VERSION="${WATCHER_VERSION:-17.0.0}"
OUT="${OUT:-constraints/py311-watcher-17.txt}"
SEED="${SEED:-}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

seed_args=()
if [ -n "$SEED" ]; then
    # Copy first: SEED may be the file that is about to be overwritten.
    cp "$SEED" "$scratch/seed.txt"
    seed_args=(-c "$scratch/seed.txt")
fi

echo "==> creating scratch venv with $("$PYTHON" -V 2>&1)"
"$PYTHON" -m venv "$scratch/venv"
echo "==> resolving python-watcher==${WATCHER_VERSION} and project deps"
"$scratch/venv/bin/python" -m pip install -q --no-input \
    "${seed_args[@]}" \
    "python-watcher==${WATCHER_VERSION}" \
    -r requirements.txt \
    -r test-requirements.txt \
    -r doc/requirements.txt
"$scratch/venv/bin/python" -m pip check

py_ver="$("$scratch/venv/bin/python" -c \
    'import sys; print("%d.%d" % sys.version_info[:2])')"
{
    cat <<HEADER
# pip constraints for watcher-informed: Python ${py_ver} + python-watcher
# ${WATCHER_VERSION}.
#
# Pins python-watcher==${WATCHER_VERSION}, every one of its dependencies,
# and every runtime, test, lint and documentation package the project uses
# (requirements.txt, test-requirements.txt, doc/requirements.txt).  It is
# the equivalent of OpenStack's upper-constraints for this project and is
# used by tools/test.sh, tools/demo.sh, tools/lint.sh and tox.ini:
#
#   pip install -c ${OUT} -e .[watcher] \\
#       -r test-requirements.txt
#
# setuptools is pinned because pbr, pecan and Paste need it at run time
# (and its pkg_resources); pip, wheel and watcher-informed itself are
# deliberately not pinned.
#
# To regenerate (resolves again from PyPI in a scratch venv):
#
#   bash tools/regen-constraints.sh            # newest allowed versions
#   SEED=${OUT} \\
#       bash tools/regen-constraints.sh        # keep pins, add new pkgs
#
HEADER
    "$scratch/venv/bin/python" -m pip freeze --all |
        grep -v -i -E '^(pip|wheel|watcher[-_]informed)==' |
        grep -v -E '^-e |@ file:' |
        LC_ALL=C sort -f
} > "$scratch/out.txt"
mv "$scratch/out.txt" "$OUT"
echo "==> wrote $OUT ($(grep -c '==' "$OUT") pins)"
