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
# Build the documentation of watcher-informed.
#
#   bash tools/docs.sh
#
# Bootstraps .venv like tools/test.sh, adds doc/requirements.txt to it
# (pinned by the same constraints file), then
#
#   1. builds doc/source into doc/build/html        (sphinx-build -W)
#   2. builds the release notes into releasenotes/build/html (reno; needs
#      the git history, skipped with a warning outside a git checkout)
#   3. generates the sample configuration file with oslo-config-generator
#      into a temporary directory and checks that it has the
#      [watcher_strategies.informed_live_migration] section and every
#      option of the plugin (generated samples are not committed).
#
# Any Sphinx warning fails the build.

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.sh"
cd "${WI_REPO_ROOT}"

WI_DOCS_STAMP_NAME=".watcher-informed-docs-stamp"
WI_CONF_SECTION="watcher_strategies.informed_live_migration"

# Install doc/requirements.txt into $VENV unless it already matches.
wi_docs_deps() {
    local want have=""
    want="$(cat doc/requirements.txt "${WI_CONSTRAINTS}" |
        sha256sum | cut -d' ' -f1)"
    if [ -f "${VENV}/${WI_DOCS_STAMP_NAME}" ]; then
        have="$(cat "${VENV}/${WI_DOCS_STAMP_NAME}")"
    fi
    if [ "$want" = "$have" ]; then
        wi_log "documentation requirements already installed"
        return 0
    fi
    wi_log "installing doc/requirements.txt" \
        "(constraints: ${WI_CONSTRAINTS#"${WI_REPO_ROOT}"/})"
    "${VENV}/bin/python" -m pip install -q --no-input \
        -c "${WI_CONSTRAINTS}" -r doc/requirements.txt
    if ! "${VENV}/bin/python" -m pip check; then
        wi_log "WARNING: pip check reported problems (see above)"
    fi
    printf '%s\n' "$want" > "${VENV}/${WI_DOCS_STAMP_NAME}"
}

wi_venv_bootstrap
wi_docs_deps

wi_log "sphinx-build doc/source -> doc/build/html"
rm -rf doc/build/html doc/build/doctrees
"${VENV}/bin/sphinx-build" -q -W --keep-going -d doc/build/doctrees \
    -b html doc/source doc/build/html

if git rev-parse -q --verify HEAD >/dev/null 2>&1; then
    wi_log "sphinx-build releasenotes/source -> releasenotes/build/html"
    rm -rf releasenotes/build
    "${VENV}/bin/sphinx-build" -q -a -E -W --keep-going \
        -d releasenotes/build/doctrees \
        -b html releasenotes/source releasenotes/build/html
else
    wi_log "WARNING: not a git checkout; release notes (reno) skipped"
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
sample="$scratch/watcher-informed.conf.sample"
wi_log "oslo-config-generator -> $sample"
"${VENV}/bin/oslo-config-generator" --config-file \
    etc/watcher-informed/oslo-config-generator/watcher-informed.conf \
    --output-file "$sample"
grep -qxF "[${WI_CONF_SECTION}]" "$sample" ||
    wi_die "sample configuration has no [${WI_CONF_SECTION}] section"
missing="$("${VENV}/bin/python" - "$sample" <<'PY'
import sys

from watcher_informed.conf import strategy

text = open(sys.argv[1]).read()
print(' '.join(o.name for o in strategy.OPTS
               if '#%s =' % o.name not in text))
PY
)"
if [ -n "$missing" ]; then
    wi_die "sample configuration lacks options: $missing"
fi

wi_log "docs built: doc/build/html, releasenotes/build/html"
