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
# Horizon 27 with watcher-dashboard 16 on the running end-to-end stack
# (tools/stack/stack.sh), and the browser tests that drive it with
# Debian's headless Chromium through Playwright (tests/browser).
# Horizon runs under gunicorn on 127.0.0.1 only, against the stack's
# Keystone, with an in-memory cache and signed-cookie sessions; its PID
# is in RUN/pids/horizon and its output in RUN/logs/horizon.out, like
# every service of the stack; its settings and static files live in
# RUN/horizon.  Nothing is written into the venv's site-packages.
#
#   bash tools/stack/horizon.sh install  chromium (apt-get, if missing);
#        horizon, watcher-dashboard and playwright into the stack venv,
#        pinned by constraints/horizon-2026.2.txt
#   bash tools/stack/horizon.sh up       settings, collectstatic and
#        compress, then gunicorn; returns once the login page answers
#   bash tools/stack/horizon.sh down     stop Horizon, remove RUN/horizon
#   bash tools/stack/horizon.sh test [PYTEST ARGS]  tests/browser
#   bash tools/stack/horizon.sh shots    the browser tests, also writing
#        the documentation's screenshots (doc/source/images/horizon-*.png)
#   bash tools/stack/horizon.sh ci [PYTEST ARGS]  install, up, test, then
#        down -- also on failure or interruption; exits with the tests'
#        status.  Meant for: stack.sh run bash tools/stack/horizon.sh ci
#   bash tools/stack/horizon.sh status
#
# Environment (defaults in brackets):
#   WI_STACK_RUN     state directory of the stack [/tmp/wi-stack.current]
#   WI_STACK_VENV    venv of the stack [from RUN/env, else <repo>/.tox/stack]
#   WI_HORIZON_PORT  [8080]
#   WI_BROWSER_ARTIFACTS  screenshots and page texts of the browser tests
#                    [RUN/browser-artifacts; for ci, which outlives RUN:
#                    <repo>/.tox/browser-artifacts]
#   WI_DOC_IMAGES    where `shots` writes the documentation's PNGs
#                    [<repo>/doc/source/images]
#   WI_STACK_SKIP_INSTALL=1  no apt-get / pip

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/venv.sh"
HERE="${WI_REPO_ROOT}/tools/stack"
# shellcheck source=tools/lib/procs.sh
source "${WI_REPO_ROOT}/tools/lib/procs.sh"
CURRENT_LINK=/tmp/wi-stack.current
STACK_LOCK="${WI_REPO_ROOT}/constraints/openstack-2026.2-services.txt"
LOCK="${WI_REPO_ROOT}/constraints/horizon-2026.2.txt"
PORT="${WI_HORIZON_PORT:-8080}"
URL="http://127.0.0.1:${PORT}"
CHROMIUM=/usr/bin/chromium
CI_ARTIFACTS="${WI_REPO_ROOT}/.tox/browser-artifacts"


login_ok() {
    curl -s --max-time 5 -o /dev/null -w '%{http_code}' \
        "${URL}/auth/login/" | grep -qx 200
}

# resolve: RUN (the stack's state directory), its env, and SVENV.
resolve() {
    if [ -n "${WI_STACK_RUN:-}" ]; then
        RUN="${WI_STACK_RUN}"
    elif [ -L "${CURRENT_LINK}" ]; then
        RUN="$(readlink "${CURRENT_LINK}")"
    else
        wi_die "no running stack (WI_STACK_RUN unset, ${CURRENT_LINK}" \
            "missing); start it with tools/stack/stack.sh up"
    fi
    [ -f "${RUN}/env" ] || wi_die "${RUN}/env missing: is the stack up?"
    local venv="${WI_STACK_VENV:-}"
    # shellcheck disable=SC1091
    source "${RUN}/env"
    SVENV="${venv:-${WI_STACK_VENV:-${WI_REPO_ROOT}/.tox/stack}}"
    export WI_STACK_RUN="${RUN}" WI_STACK_VENV="${SVENV}"
    STATE="${RUN}/horizon"
}

cmd_install() {
    if [ "${WI_STACK_SKIP_INSTALL:-0}" = 1 ]; then
        return 0
    fi
    local t0
    t0="$(ts)"
    SVENV="${WI_STACK_VENV:-${SVENV:-${WI_REPO_ROOT}/.tox/stack}}"
    [ -x "${SVENV}/bin/python" ] ||
        wi_die "no stack venv ${SVENV}: run tools/stack/stack.sh install"
    wi_apt_ensure chromium
    local stamp="${SVENV}/.wi-horizon-stamp" want
    want="$(cat "${STACK_LOCK}" "${LOCK}" | sha256sum | cut -c1-16)"
    if [ "$(cat "${stamp}" 2>/dev/null)" != "${want}" ]; then
        wi_log "installing Horizon, watcher-dashboard and Playwright into" \
            "${SVENV} (pinned by ${LOCK#"${WI_REPO_ROOT}"/})"
        timeout 900 "${SVENV}/bin/python" -m pip install -q --no-input \
            -c "${STACK_LOCK}" -c "${LOCK}" \
            horizon watcher-dashboard playwright
        timeout 120 "${SVENV}/bin/python" -m pip check ||
            wi_log "WARNING: pip check reported problems (see above)"
        echo "${want}" > "${stamp}"
    fi
    wi_log "Horizon install done after $(since "$t0") s"
}

write_settings() {
    rm -rf "${STATE}"
    mkdir -p "${STATE}/local" "${RUN}/logs" "${RUN}/pids"
    : > "${STATE}/local/__init__.py"
    cp "${HERE}/horizon_local_settings.py" \
        "${STATE}/local/local_settings.py"
}

# django COMMAND [ARGS]: manage.py with the stack's Horizon settings.
django() {
    (cd "${STATE}" && PYTHONPATH="${STATE}:${HERE}" \
        DJANGO_SETTINGS_MODULE=horizon_settings PYTHONWARNINGS=ignore \
        timeout 300 "${SVENV}/bin/python" -m django "$@")
}



cmd_up() {
    local t0 t
    t0="$(ts)"
    resolve
    [ -x "${SVENV}/bin/gunicorn" ] || wi_die "no gunicorn in ${SVENV}"
    "${SVENV}/bin/python" -c 'import openstack_dashboard, watcher_dashboard' \
        2>/dev/null || wi_die "Horizon not installed: run $0 install"
    local pidfile="${RUN}/pids/horizon"
    if [ -f "${pidfile}" ] && kill -0 "$(cat "${pidfile}")" 2>/dev/null; then
        wi_die "Horizon already runs (pid $(cat "${pidfile}"))"
    fi
    port_busy "${PORT}" && wi_die "port ${PORT} is in use"
    write_settings
    t="$(ts)"
    django collectstatic --noinput -v 0 > "${RUN}/logs/horizon-static.out" \
        2>&1 || wi_die "collectstatic failed (logs/horizon-static.out)"
    django compress --force -v 0 >> "${RUN}/logs/horizon-static.out" 2>&1 ||
        wi_die "compress failed (logs/horizon-static.out)"
    wi_log "Horizon static files collected and compressed in" \
        "$(since "$t") s"
    t="$(ts)"
    START_DIR="${STATE}" start horizon env PYTHONPATH="${STATE}:${HERE}" \
        DJANGO_SETTINGS_MODULE=horizon_settings \
        "${SVENV}/bin/gunicorn" -b "127.0.0.1:${PORT}" -w 1 --threads 4 \
        --timeout 120 --graceful-timeout 5 --no-control-socket \
        horizon_app:application
    if ! wait_for horizon 90 login_ok; then
        tail -n 30 "${RUN}/logs/horizon.out" >&2 || true
        stop_pid horizon
        return 1
    fi
    wi_log "Horizon answers on ${URL} after $(since "$t") s" \
        "(up in $(since "$t0") s; PSS $(pss_mib horizon) MiB)"
}

cmd_down() {
    resolve
    stop_pid horizon
    rm -rf "${STATE}"
    wi_log "Horizon stopped"
}


cmd_status() {
    resolve
    local f="${RUN}/pids/horizon"
    if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
        printf 'horizon running (pid %s) on %s, PSS %s MiB\n' \
            "$(cat "$f")" "${URL}" "$(pss_mib horizon)"
    else
        printf 'horizon stopped\n'
        return 1
    fi
}

cmd_test() {
    resolve
    login_ok || wi_die "Horizon does not answer on ${URL}: run $0 up"
    export WI_HORIZON_URL="${URL}"
    WI_BROWSER_ARTIFACTS="${WI_BROWSER_ARTIFACTS:-${RUN}/browser-artifacts}"
    export WI_BROWSER_ARTIFACTS
    export WI_CHROMIUM="${CHROMIUM}"
    mkdir -p "${WI_BROWSER_ARTIFACTS}"
    local t0 rc=0
    t0="$(ts)"
    timeout 1200 "${SVENV}/bin/python" -m pytest -q -p no:cacheprovider \
        -rfE --disable-warnings "${WI_REPO_ROOT}/tests/browser" "$@" ||
        rc=$?
    wi_log "browser tests exited ${rc} after $(since "$t0") s;" \
        "screenshots in ${WI_BROWSER_ARTIFACTS}"
    return "${rc}"
}

cmd_shots() {
    export WI_DOC_IMAGES="${WI_DOC_IMAGES:-${WI_REPO_ROOT}/doc/source/images}"
    mkdir -p "${WI_DOC_IMAGES}"
    cmd_test "$@"
    wi_log "documentation screenshots written to ${WI_DOC_IMAGES}"
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    local log="${RUN:-/nonexistent}/logs/horizon.out"
    if [ "${rc}" -ne 0 ] && [ -f "${log}" ]; then
        printf '\n---- last lines of %s ----\n' "${RUN}/logs/horizon.out" >&2
        tail -n 20 "${RUN}/logs/horizon.out" | cut -c1-300 >&2 || true
    fi
    cmd_down || true
    exit "${rc}"
}

cmd_ci() {
    local t0 rc=0
    t0="$(ts)"
    resolve
    # stack.sh run removes RUN afterwards: keep the screenshots elsewhere.
    export WI_BROWSER_ARTIFACTS="${WI_BROWSER_ARTIFACTS:-${CI_ARTIFACTS}}"
    cmd_install
    trap on_exit EXIT
    trap 'exit 130' INT TERM
    cmd_up
    cmd_test "$@" || rc=$?
    wi_log "Horizon CI done after $(since "$t0") s"
    return "${rc}"
}

main() {
    local cmd="${1:-}"
    shift || true
    cd "${WI_REPO_ROOT}"
    case "${cmd}" in
        install)
            if [ -L "${CURRENT_LINK}" ] || [ -n "${WI_STACK_RUN:-}" ]; then
                resolve
            fi
            cmd_install ;;
        up) cmd_up ;;
        down) cmd_down ;;
        test) cmd_test "$@" ;;
        shots) cmd_shots "$@" ;;
        ci) cmd_ci "$@" ;;
        status) cmd_status ;;
        *) wi_die "usage: $0 install|up|down|test|shots|ci|status" ;;
    esac
}

main "$@"
