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
# Real metric stores for the integration tests and the reader benchmark:
# PostgreSQL + Gnocchi 4.7.1 (API + metricd) and Prometheus (Debian),
# every server on 127.0.0.1 only, all state in one temporary directory.
#
#   bash tools/metrics/stack.sh run [CMD ...]   install, start, load the
#        Bitbrains traces, run CMD (default: the integration tests) with
#        the stack's variables exported, then stop everything -- also when
#        CMD fails or the script is interrupted.  Exits with CMD's status.
#   bash tools/metrics/stack.sh install         apt/pip installs only
#   bash tools/metrics/stack.sh start           start + load (keeps running)
#   bash tools/metrics/stack.sh stop            stop everything, remove dir
#   bash tools/metrics/stack.sh status
#   bash tools/metrics/stack.sh stop-service gnocchi-api|prometheus
#   bash tools/metrics/stack.sh start-service gnocchi-api|prometheus
#
# What "load" does: tools/metrics/load.py replays a seeded selection of
# Bitbrains VMs (shared/data/bitbrains-gwa-t-12-rnd) as Ceilometer 27
# publishes them: Ceilometer's archive policies and resource types in
# Gnocchi, instance / instance_disk / instance_network_interface resources,
# cumulative cpu (ns) and disk / network byte counters, memory.usage
# gauges; the same series as OpenMetrics (ceilometer_* names and labels of
# Ceilometer's Prometheus exporter), turned into TSDB blocks with
# "promtool tsdb create-blocks-from openmetrics" before Prometheus starts.
#
# Environment (defaults in brackets):
#   WI_METRICS_RUN     state directory [a new mktemp -d for run/start,
#                      /tmp/wi-metrics.current for the other commands]
#   WI_PG_PORT [25432] WI_GNOCCHI_PORT [28041] WI_PROMETHEUS_PORT [29090]
#   WI_PROBE_PORT [29191]  port of the tests' live exporter (scraped 1/s)
#   WI_GNOCCHI_VENV    [<repo>/.tox/metrics-gnocchi] Gnocchi server venv
#   VENV               [<repo>/.venv] project venv (tools/lib/venv.sh)
#   WI_METRICS_PYTHON  a python with watcher-informed[watcher] installed;
#                      when set, the project venv is not bootstrapped
#   WI_METRICS_VMS     [32] traced VMs loaded for the plan comparison
#   WI_METRICS_KEEP=1  keep the state directory after stop (logs)
#   WI_METRICS_LOAD=0  start empty stores: no traces loaded (the real
#                      Ceilometer suite, tools/ceilometer/test.sh)
#   WI_PROMETHEUS_SCRAPE  a file of further Prometheus scrape_configs
#                      entries (YAML list items), appended to prometheus.yml
#   WI_METRICS_SKIP_INSTALL=1  do not apt-get / pip install

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/venv.sh"
HERE="${WI_REPO_ROOT}/tools/metrics"
# shellcheck source=tools/lib/procs.sh
source "${WI_REPO_ROOT}/tools/lib/procs.sh"
WAIT_STEP=0.2
STOP_WAIT_S=20
CURRENT_LINK=/tmp/wi-metrics.current

PG_PORT="${WI_PG_PORT:-25432}"
GNOCCHI_PORT="${WI_GNOCCHI_PORT:-28041}"
PROM_PORT="${WI_PROMETHEUS_PORT:-29090}"
PROBE_PORT="${WI_PROBE_PORT:-29191}"
GVENV="${WI_GNOCCHI_VENV:-${WI_REPO_ROOT}/.tox/metrics-gnocchi}"
GNOCCHI_SPEC="gnocchi[postgresql]==4.7.1"
PY="${WI_METRICS_PYTHON:-${VENV}/bin/python}"

pg_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    return 1
}

# Run a command as the postgres user when we are root (PostgreSQL refuses
# to run as root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

http_ok() { curl -sf --max-time 2 -o /dev/null "$@"; }

check_ports() {
    local p
    for p in "${PG_PORT}" "${GNOCCHI_PORT}" "${PROM_PORT}"; do
        if port_busy "$p"; then
            wi_die "port 127.0.0.1:$p is in use; stop what listens there" \
                "or set WI_PG_PORT / WI_GNOCCHI_PORT / WI_PROMETHEUS_PORT"
        fi
    done
}

cmd_install() {
    if [ "${WI_METRICS_SKIP_INSTALL:-0}" = 1 ]; then
        return 0
    fi
    local pkgs=()
    command -v prometheus >/dev/null 2>&1 || pkgs+=(prometheus)
    command -v promtool >/dev/null 2>&1 || pkgs+=(prometheus)
    pg_bin >/dev/null || pkgs+=(postgresql)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    if [ "${#pkgs[@]}" -gt 0 ]; then
        # shellcheck disable=SC2207
        pkgs=($(printf '%s\n' "${pkgs[@]}" | sort -u))
        wi_apt_install "${pkgs[@]}"
    fi
    if [ ! -x "${GVENV}/bin/gnocchi-upgrade" ]; then
        wi_log "creating the Gnocchi server venv ${GVENV}"
        rm -rf "${GVENV}"
        "${PYTHON}" -m venv "${GVENV}"
        timeout 900 "${GVENV}/bin/python" -m pip install -q \
            -c "${HERE}/gnocchi-constraints.txt" "${GNOCCHI_SPEC}"
    fi
    if [ -z "${WI_METRICS_PYTHON:-}" ]; then
        wi_venv_bootstrap
    fi
}

write_env() {
    cat > "${RUN}/env" <<EOF
export WI_METRICS_RUN=${RUN}
export WI_METRICS_STACK=${HERE}/stack.sh
export WI_GNOCCHI_URL=http://127.0.0.1:${GNOCCHI_PORT}
export WI_PROMETHEUS_URL=http://127.0.0.1:${PROM_PORT}
export WI_PROBE_PORT=${PROBE_PORT}
export WI_PG_PORT=${PG_PORT}
export WI_GNOCCHI_PORT=${GNOCCHI_PORT}
export WI_PROMETHEUS_PORT=${PROM_PORT}
export WI_METRICS_PYTHON=${PY}
EOF
}

start_pg() {
    local bin
    bin="$(pg_bin)" || wi_die "PostgreSQL not installed (run install)"
    mkdir -p "${RUN}/pg"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "${RUN}/pg"
    fi
    if [ ! -f "${RUN}/pg/data/PG_VERSION" ]; then
        as_pg "'${bin}/initdb' -D '${RUN}/pg/data' -A trust -U postgres" \
            > "${RUN}/logs/initdb.log" 2>&1
    fi
    as_pg "'${bin}/pg_ctl' -D '${RUN}/pg/data' -l '${RUN}/pg/pg.log' -w \
        -t 60 -o \"-c listen_addresses=127.0.0.1 -p ${PG_PORT} \
        -k '${RUN}/pg' -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off\" start" > "${RUN}/logs/pg_ctl.log" 2>&1
    wait_for postgresql 30 "${bin}/pg_isready" -h 127.0.0.1 -p "${PG_PORT}"
    if ! "${bin}/psql" -h 127.0.0.1 -p "${PG_PORT}" -U postgres -tAc \
            "select 1 from pg_database where datname='gnocchi'" |
            grep -q 1; then
        "${bin}/createdb" -h 127.0.0.1 -p "${PG_PORT}" -U postgres gnocchi
    fi
}

write_gnocchi_conf() {
    cat > "${RUN}/gnocchi.conf" <<EOF
[DEFAULT]
log_dir = ${RUN}/logs
[api]
auth_mode = basic
host = 127.0.0.1
port = ${GNOCCHI_PORT}
[indexer]
url = postgresql+psycopg2://postgres@127.0.0.1:${PG_PORT}/gnocchi
[storage]
driver = file
file_basepath = ${RUN}/gnocchi-data
[incoming]
driver = file
file_basepath = ${RUN}/gnocchi-data
[metricd]
workers = 1
metric_processing_delay = 1
metric_reporting_delay = 10
EOF
}

start_gnocchi_api() {
    start gnocchi-api "${GVENV}/bin/python" "${HERE}/gnocchi_api.py" \
        --config-file "${RUN}/gnocchi.conf"
    wait_for gnocchi-api 60 http_ok -u admin: \
        "http://127.0.0.1:${GNOCCHI_PORT}/v1/status"
}

start_metricd() {
    start gnocchi-metricd "${GVENV}/bin/gnocchi-metricd" \
        --config-file "${RUN}/gnocchi.conf"
}

write_prometheus_conf() {
    cat > "${RUN}/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1m
scrape_configs:
  # The integration tests' live exporter (NaN, counter resets, ...),
  # standing in for ceilometer-polling's Prometheus exporter.
  - job_name: ceilometer
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:${PROBE_PORT}']
EOF
    if [ -n "${WI_PROMETHEUS_SCRAPE:-}" ]; then
        cat "${WI_PROMETHEUS_SCRAPE}" >> "${RUN}/prometheus.yml"
    fi
}

start_prometheus() {
    start prometheus prometheus \
        --config.file="${RUN}/prometheus.yml" \
        --storage.tsdb.path="${RUN}/prom-data" \
        --storage.tsdb.retention.time=30d \
        --web.listen-address="127.0.0.1:${PROM_PORT}" \
        --web.enable-admin-api
    wait_for prometheus 60 http_ok "http://127.0.0.1:${PROM_PORT}/-/ready"
}

stop_pg() {
    local bin pid
    [ -f "${RUN}/pg/data/postmaster.pid" ] || return 0
    bin="$(pg_bin)" || return 0
    as_pg "'${bin}/pg_ctl' -D '${RUN}/pg/data' -m fast -w -t 30 stop" \
        >> "${RUN}/logs/pg_ctl.log" 2>&1 && return 0
    pid="$(head -1 "${RUN}/pg/data/postmaster.pid" 2>/dev/null || true)"
    if [ -n "${pid}" ]; then
        printf 'WARNING: pg_ctl stop failed; killing postmaster %s\n' \
            "${pid}" >&2
        kill -KILL "${pid}" 2>/dev/null || true
    fi
}

resolve_run() {
    if [ -n "${WI_METRICS_RUN:-}" ]; then
        RUN="${WI_METRICS_RUN}"
    elif [ -L "${CURRENT_LINK}" ]; then
        RUN="$(readlink "${CURRENT_LINK}")"
    else
        wi_die "no running stack (WI_METRICS_RUN unset, ${CURRENT_LINK}" \
            "missing)"
    fi
}

cmd_start() {
    local t0
    t0="$(ts)"
    check_ports
    RUN="${WI_METRICS_RUN:-$(mktemp -d /tmp/wi-metrics.XXXXXX)}"
    mkdir -p "${RUN}/logs" "${RUN}/pids"
    chmod 755 "${RUN}"
    ln -sfn "${RUN}" "${CURRENT_LINK}"
    write_env
    wi_log "metric stores in ${RUN}"
    start_pg
    write_gnocchi_conf
    timeout 300 "${GVENV}/bin/gnocchi-upgrade" \
        --config-file "${RUN}/gnocchi.conf" > "${RUN}/logs/upgrade.log" 2>&1
    start_gnocchi_api
    start_metricd
    if [ "${WI_METRICS_LOAD:-1}" = 1 ]; then
        wi_log "gnocchi up after $(since "$t0") s; loading traces"
        timeout 300 "${PY}" "${HERE}/load.py" \
            --run "${RUN}" --gnocchi "http://127.0.0.1:${GNOCCHI_PORT}" \
            --vms "${WI_METRICS_VMS:-32}" --openmetrics "${RUN}/history.om"
        timeout 300 promtool tsdb create-blocks-from openmetrics \
            "${RUN}/history.om" "${RUN}/prom-data" \
            > "${RUN}/logs/promtool.log"
    fi
    write_prometheus_conf
    start_prometheus
    wi_log "stack ready after $(since "$t0") s" \
        "(gnocchi :${GNOCCHI_PORT}, prometheus :${PROM_PORT})"
}

cmd_stop() {
    resolve_run
    [ -d "${RUN}" ] || return 0
    stop_pid prometheus
    stop_pid gnocchi-metricd
    stop_pid gnocchi-api
    stop_pg
    if [ "$(readlink "${CURRENT_LINK}" 2>/dev/null)" = "${RUN}" ]; then
        rm -f "${CURRENT_LINK}"
    fi
    if [ "${WI_METRICS_KEEP:-0}" = 1 ]; then
        wi_log "stack stopped; state kept in ${RUN}"
    else
        rm -rf "${RUN}"
        wi_log "stack stopped and ${RUN} removed"
    fi
}

cmd_status() {
    resolve_run
    local name pid
    for name in gnocchi-api gnocchi-metricd prometheus; do
        pid="$(cat "${RUN}/pids/${name}" 2>/dev/null || true)"
        if [ -n "${pid}" ] && kill -0 "${pid}" 2>/dev/null; then
            printf '%-16s running (pid %s)\n' "${name}" "${pid}"
        else
            printf '%-16s stopped\n' "${name}"
        fi
    done
    if [ -f "${RUN}/pg/data/postmaster.pid" ]; then
        printf '%-16s running (pid %s)\n' postgresql \
            "$(head -1 "${RUN}/pg/data/postmaster.pid")"
    else
        printf '%-16s stopped\n' postgresql
    fi
}

cmd_service() {
    local action="$1" name="$2"
    resolve_run
    case "${action}:${name}" in
        stop:gnocchi-api|stop:prometheus) stop_pid "${name}" ;;
        start:gnocchi-api) start_gnocchi_api ;;
        start:prometheus) start_prometheus ;;
        *) wi_die "unknown service ${name}" ;;
    esac
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "${RUN:-}" ] && [ -d "${RUN}" ]; then
        if [ "${rc}" -ne 0 ] && [ -d "${RUN}/logs" ]; then
            printf '\n---- last lines of the stack logs (%s) ----\n' \
                "${RUN}/logs" >&2
            tail -n 15 "${RUN}"/logs/*.log "${RUN}"/logs/*.out 2>/dev/null |
                cut -c1-300 >&2 || true
        fi
        WI_METRICS_RUN="${RUN}" cmd_stop || true
    fi
    exit "${rc}"
}

cmd_run() {
    local rc=0 t0
    t0="$(ts)"
    cmd_install
    trap on_exit EXIT
    trap 'exit 130' INT TERM
    cmd_start
    # shellcheck disable=SC1091
    source "${RUN}/env"
    if [ "$#" -eq 0 ]; then
        set -- "${PY}" -m pytest -q tests/integration
    fi
    wi_log "running: $*"
    # In the background, so that a TERM (timeout, CI) runs the traps at
    # once -- stopping the command, then every server -- instead of after
    # the command ends.
    "$@" &
    CHILD=$!
    trap 'kill -TERM "${CHILD}" 2>/dev/null; exit 143' INT TERM
    wait "${CHILD}" || rc=$?
    wi_log "command exited ${rc}; total $(since "$t0") s"
    return "${rc}"
}

main() {
    local cmd="${1:-run}"
    shift || true
    cd "${WI_REPO_ROOT}"
    case "${cmd}" in
        install) cmd_install ;;
        start) cmd_install; cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        stop-service) cmd_service stop "$1" ;;
        start-service) cmd_service start "$1" ;;
        run) cmd_run "$@" ;;
        *)
            wi_die "usage: $0 run [CMD...]|install|start|stop|status|" \
                "stop-service NAME|start-service NAME"
            ;;
    esac
}

main "$@"
