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
# A real OpenStack on this machine, for the end-to-end tests: Keystone 30,
# Glance 33 (file store), Placement 16, Nova 34 (API, conductor,
# scheduler, four nova-compute with fake.MediumFakeDriver and different
# reserved sizes), Watcher 17 (API, decision engine, applier) with this
# plugin installed, RabbitMQ and MariaDB (Debian), Prometheus (Debian)
# scraping an exporter that publishes Ceilometer's meters for the booted
# servers.  Every server listens on 127.0.0.1 only; every process is
# started here, its PID recorded, and stopped by PID.  The only stand-in
# is a Neutron endpoint answering empty lists (fake_neutron.py): Nova asks
# Neutron even about servers without networks.
#
#   bash tools/stack/stack.sh run [CMD ...]  install, up, run CMD (default:
#        the end-to-end tests; "all": those, the browser tests of
#        tools/stack/horizon.sh ci, then Watcher's tempest API tests), then
#        down -- also when a step fails or the script is interrupted.
#        Exits with CMD's status.
#   bash tools/stack/stack.sh install   apt-get / pip only
#   bash tools/stack/stack.sh up        start everything, boot the servers
#   bash tools/stack/stack.sh test [PYTEST ARGS]   the end-to-end tests
#   bash tools/stack/stack.sh tempest [ARGS]  watcher-tempest-plugin's API
#        tests (tempest run ARGS; exclusions: tools/stack/tempest-exclude.txt)
#   bash tools/stack/stack.sh down      stop everything, remove the state
#   bash tools/stack/stack.sh status
#   bash tools/stack/stack.sh stop-service|start-service NAME
#   bash tools/stack/stack.sh metrics-up|metrics-down  only the exporter
#        and Prometheus, for a cloud that is already up (DevStack, see
#        tools/stack/devstack.sh); WI_STACK_RUN must be set.
#
# Environment (defaults in brackets):
#   WI_STACK_RUN     state directory [a new mktemp -d for up/run,
#                    /tmp/wi-stack.current for the other commands]
#   WI_STACK_VENV    [<repo>/.tox/stack] venv of the services + plugin
#   WI_STACK_SCENARIO  [tools/stack/scenario.json] servers to boot
#   WI_STACK_KEEP=1  keep the state directory (logs) after down
#   WI_STACK_SKIP_INSTALL=1  no apt-get / pip
#   WI_STACK_PYTHON  [the venv's python] interpreter of the exporter

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/venv.sh"
HERE="${WI_REPO_ROOT}/tools/stack"
# shellcheck source=tools/lib/procs.sh
source "${WI_REPO_ROOT}/tools/lib/procs.sh"
CURRENT_LINK=/tmp/wi-stack.current
SVENV="${WI_STACK_VENV:-${WI_REPO_ROOT}/.tox/stack}"
# The exporter's interpreter (any Python 3; DevStack passes its own).
PY="${WI_STACK_PYTHON:-${SVENV}/bin/python}"
LOCK="${WI_REPO_ROOT}/constraints/openstack-2026.2-services.txt"
SCENARIO="${WI_STACK_SCENARIO:-${HERE}/scenario.json}"
# Watcher's tempest plugin: the tests run and those not run (with why).
TEMPEST_REGEX='^watcher_tempest_plugin\.tests\.api\.'
TEMPEST_EXCLUDE="${HERE}/tempest-exclude.txt"
APT_PACKAGES=(rabbitmq-server mariadb-server prometheus curl)
# Daemons in start order; down stops them in reverse.
APIS=(keystone placement glance nova-api watcher-api)
DAEMONS=(nova-conductor nova-scheduler nova-compute1 nova-compute2
    nova-compute3 nova-compute4 watcher-decision-engine watcher-applier)
# The ports (127.0.0.1, all below the ephemeral range 32768-60999) are
# named in one place, configure.py: PORT_keystone, PORT_prometheus, ...
eval "$("${PYTHON}" "${HERE}/configure.py" ports)"
PORTS=("${PORT_keystone}" "${PORT_placement}" "${PORT_glance}"
    "${PORT_nova}" "${PORT_watcher}" "${PORT_neutron}" "${PORT_prometheus}"
    "${PORT_exporter}" "${PORT_rabbitmq}" "${PORT_mariadb}" 25672)
# (Erlang's port mapper, 4369, is shared: an epmd already running is used.)
# rabbitmqctl listens on Erlang's distribution while it runs: by default
# 35672-35682 on every interface; here on loopback below 32768.
export RABBITMQ_CTL_DIST_PORT_MIN=25682 RABBITMQ_CTL_DIST_PORT_MAX=25692
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"


http_ok() { curl -s --max-time 3 -o /dev/null -w '%{http_code}' "$1" |
    grep -qE '^(2|3|401)'; }

check_ports() {
    local p
    for p in "${PORTS[@]}"; do
        if port_busy "$p"; then
            wi_die "port $p is in use; stop what listens there first"
        fi
    done
}

cmd_install() {
    if [ "${WI_STACK_SKIP_INSTALL:-0}" = 1 ]; then
        return 0
    fi
    # The packages must not start their services (no systemd here;
    # policy-rc.d refuses); we start them on loopback ourselves.
    wi_apt_ensure "${APT_PACKAGES[@]}"
    local stamp="${SVENV}/.wi-stack-stamp" want
    want="$(sha256sum < "${LOCK}" | cut -c1-16)"
    if [ "$(cat "${stamp}" 2>/dev/null)" != "${want}" ]; then
        wi_log "creating the OpenStack venv ${SVENV} (pinned by ${LOCK})"
        rm -rf "${SVENV}"
        "${PYTHON}" -m venv "${SVENV}"
        timeout 1200 "${SVENV}/bin/python" -m pip install -q \
            -r "${LOCK}" -c "${LOCK}" pytest
        echo "${want}" > "${stamp}"
    fi
    # The plugin itself, as an operator installs it next to Watcher.
    timeout 600 "${SVENV}/bin/python" -m pip install -q --no-deps \
        -e "${WI_REPO_ROOT}"
}



sock() { printf '%s\n' "${RUN}/mysqld/mysqld.sock"; }

mysql_ok() {
    mariadb --socket="$(sock)" -uroot -e 'select 1'
}

start_mariadb() {
    mkdir -p "${RUN}/mysql" "${RUN}/mysqld"
    chown mysql: "${RUN}/mysql" "${RUN}/mysqld"
    mariadb-install-db --user=mysql --datadir="${RUN}/mysql" \
        --auth-root-authentication-method=normal --skip-test-db \
        > "${RUN}/logs/mariadb-install.out" 2>&1
    start mariadb mariadbd --user=mysql --datadir="${RUN}/mysql" \
        --socket="$(sock)" --pid-file="${RUN}/mysqld/mysqld.pid" \
        --bind-address=127.0.0.1 --port="${PORT_mariadb}" \
        --skip-name-resolve \
        --skip-log-bin --innodb-flush-log-at-trx-commit=0 \
        --max-connections=500
    wait_for mariadb 60 mysql_ok
    local db
    for db in keystone glance placement nova_api nova nova_cell0 watcher; do
        mariadb --socket="$(sock)" -uroot \
            -e "CREATE DATABASE IF NOT EXISTS ${db}"
    done
    local sql="CREATE USER IF NOT EXISTS 'os'@'%' IDENTIFIED BY 'os';"
    sql+=" GRANT ALL ON *.* TO 'os'@'%'"
    mariadb --socket="$(sock)" -uroot -e "${sql}"
}

start_rabbitmq() {
    local erl_args="-kernel inet_dist_use_interface {127,0,0,1}"
    mkdir -p "${RUN}/rabbitmq"
    chown rabbitmq: "${RUN}/rabbitmq"
    start rabbitmq env RABBITMQ_NODENAME=rabbit@localhost \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_MNESIA_BASE="${RUN}/rabbitmq/mnesia" \
        RABBITMQ_LOG_BASE="${RUN}/rabbitmq" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="${erl_args}" \
        /usr/sbin/rabbitmq-server
}

rabbit_ok() {
    timeout 20 rabbitmqctl -q -n rabbit@localhost await_startup
}

stop_rabbitmq() {
    [ -f "${RUN}/pids/rabbitmq" ] || return 0
    timeout 60 rabbitmqctl -q -n rabbit@localhost stop >/dev/null 2>&1 ||
        true
    stop_pid rabbitmq
    timeout 10 epmd -kill >/dev/null 2>&1 || true
}

stop_mariadb() {
    [ -f "${RUN}/pids/mariadb" ] || return 0
    timeout 60 mariadb-admin --socket="$(sock)" -uroot shutdown \
        >/dev/null 2>&1 || true
    stop_pid mariadb
}

schemas() {
    local v="${SVENV}/bin" k="${RUN}/keystone/keystone.conf"
    local n="--config-file=${RUN}/nova/nova.conf"
    (
        "$v/keystone-manage" --config-file "$k" db_sync
        "$v/keystone-manage" --config-file "$k" fernet_setup \
            --keystone-user root --keystone-group root
        "$v/keystone-manage" --config-file "$k" credential_setup \
            --keystone-user root --keystone-group root
        "$v/keystone-manage" --config-file "$k" bootstrap \
            --bootstrap-password secret --bootstrap-region-id RegionOne \
            --bootstrap-admin-url "http://127.0.0.1:${PORT_keystone}/v3" \
            --bootstrap-public-url "http://127.0.0.1:${PORT_keystone}/v3" \
            --bootstrap-internal-url "http://127.0.0.1:${PORT_keystone}/v3"
    ) > "${RUN}/logs/schema-keystone.out" 2>&1 &
    local pk=$!
    (
        "$v/nova-manage" "$n" api_db sync
        "$v/nova-manage" "$n" cell_v2 map_cell0
        "$v/nova-manage" "$n" cell_v2 create_cell --name cell1
        "$v/nova-manage" "$n" db sync
    ) > "${RUN}/logs/schema-nova.out" 2>&1 &
    local pn=$!
    (
        "$v/placement-manage" --config-file \
            "${RUN}/placement/placement.conf" db sync
        "$v/glance-manage" --config-file "${RUN}/glance/glance-api.conf" \
            db_sync
        "$v/watcher-db-manage" --config-file \
            "${RUN}/watcher/watcher.conf" upgrade
    ) > "${RUN}/logs/schema-other.out" 2>&1 &
    local po=$!
    wait "$pk" || wi_die "keystone schema failed (logs/schema-keystone.out)"
    wait "$pn" || wi_die "nova schema failed (logs/schema-nova.out)"
    wait "$po" || wi_die "schema failed (logs/schema-other.out)"
}

# api NAME PORT MODULE [ARGS]: one WSGI app under gunicorn.
api() {
    local name="$1" port="$2" module="$3" args="${4:-}"
    start "$name" env WI_WSGI_MODULE="$module" WI_WSGI_ARGS="$args" \
        OS_KEYSTONE_CONFIG_DIR="${RUN}/keystone" \
        OS_PLACEMENT_CONFIG_DIR="${RUN}/placement" \
        OS_GLANCE_CONFIG_DIR="${RUN}/glance" \
        OS_NOVA_CONFIG_DIR="${RUN}/nova" \
        "${SVENV}/bin/gunicorn" -b "127.0.0.1:${port}" -w 1 --threads 4 \
        --timeout 120 --graceful-timeout 5 --no-control-socket \
        --pythonpath "${HERE}" wsgi_app:application
}

start_apis() {
    api keystone "${PORT_keystone}" keystone.wsgi.api
    wait_for keystone 90 http_ok "http://127.0.0.1:${PORT_keystone}/v3"
    api placement "${PORT_placement}" placement.wsgi.api
    api glance "${PORT_glance}" glance.wsgi.api
    api nova-api "${PORT_nova}" nova.wsgi.osapi_compute
    api watcher-api "${PORT_watcher}" watcher.wsgi.api \
        "--config-file ${RUN}/watcher/watcher.conf"
    start neutron "${SVENV}/bin/python" "${HERE}/fake_neutron.py" \
        "${PORT_neutron}"
    timeout 120 "${SVENV}/bin/python" "${HERE}/seed.py" keystone "${RUN}"
    wait_for placement 90 http_ok "http://127.0.0.1:${PORT_placement}/"
    wait_for glance 90 http_ok "http://127.0.0.1:${PORT_glance}/"
    wait_for nova-api 90 http_ok "http://127.0.0.1:${PORT_nova}/"
    wait_for watcher-api 90 http_ok "http://127.0.0.1:${PORT_watcher}/"
    wait_for neutron 30 http_ok "http://127.0.0.1:${PORT_neutron}/"
}

write_prometheus_conf() {
    cat > "${RUN}/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1m
scrape_configs:
  # Ceilometer's meters of the booted servers (exporter.py), as
  # ceilometer-polling's Prometheus exporter publishes them.
  - job_name: ceilometer
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:${PORT_exporter}']
        labels:
          fqdn: compute1
EOF
}

start_prometheus() {
    start prometheus prometheus --config.file="${RUN}/prometheus.yml" \
        --storage.tsdb.path="${RUN}/prom-data" \
        --web.listen-address="127.0.0.1:${PORT_prometheus}"
    wait_for prometheus 60 http_ok \
        "http://127.0.0.1:${PORT_prometheus}/-/ready"
}

# metrics_up: the exporter of the scenario's meters and Prometheus.
metrics_up() {
    start exporter "${PY}" "${HERE}/exporter.py" "${PORT_exporter}" \
        "${RUN}/live.json"
    write_prometheus_conf
    start_prometheus
}

metrics_down() {
    stop_pid prometheus
    stop_pid exporter
}

start_daemons() {
    local v="${SVENV}/bin" n="${RUN}/nova/nova.conf" h
    local w="${RUN}/watcher/watcher.conf"
    start nova-conductor "$v/nova-conductor" --config-file "$n"
    start nova-scheduler "$v/nova-scheduler" --config-file "$n"
    for h in compute1 compute2 compute3 compute4; do
        start "nova-$h" "$v/nova-compute" --config-file "$n" \
            --config-file "${RUN}/nova/$h.conf"
    done
    start watcher-decision-engine "$v/watcher-decision-engine" \
        --config-file "$w"
    start watcher-applier "$v/watcher-applier" --config-file "$w"
}

write_env() {
    cat > "${RUN}/env" <<EOF
export WI_STACK_RUN=${RUN}
export WI_STACK_SH=${HERE}/stack.sh
export WI_STACK_VENV=${SVENV}
export OS_AUTH_URL="http://127.0.0.1:${PORT_keystone}/v3"
export OS_USERNAME=admin
export OS_PASSWORD=secret
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
export OS_IDENTITY_API_VERSION=3
EOF
}

resolve_run() {
    if [ -n "${WI_STACK_RUN:-}" ]; then
        RUN="${WI_STACK_RUN}"
    elif [ -L "${CURRENT_LINK}" ]; then
        RUN="$(readlink "${CURRENT_LINK}")"
    else
        wi_die "no running stack (WI_STACK_RUN unset, ${CURRENT_LINK}" \
            "missing)"
    fi
}

cmd_up() {
    local t0 t
    t0="$(ts)"
    check_ports
    RUN="${WI_STACK_RUN:-$(mktemp -d /tmp/wi-stack.XXXXXX)}"
    mkdir -p "${RUN}/logs" "${RUN}/pids"
    chmod 755 "${RUN}"
    ln -sfn "${RUN}" "${CURRENT_LINK}"
    write_env
    wi_log "OpenStack stack in ${RUN}"
    "${SVENV}/bin/python" "${HERE}/configure.py" "${RUN}" "${SVENV}"
    start_rabbitmq
    start_mariadb
    wait_for rabbitmq 90 rabbit_ok
    t="$(ts)"
    schemas
    wi_log "broker, database and schemas after $(since "$t0") s" \
        "(schemas $(since "$t") s)"
    start_apis
    metrics_up
    start_daemons
    wi_log "services started after $(since "$t0") s; booting servers"
    timeout 600 "${SVENV}/bin/python" "${HERE}/seed.py" cloud "${RUN}" \
        "${SCENARIO}"
    wi_log "stack up after $(since "$t0") s; memory (PSS, MiB): $(pss_mib)"
}


cmd_down() {
    resolve_run
    [ -d "${RUN}" ] || return 0
    local i name jobs=()
    # In parallel, waiting only for these jobs: a bare "wait" would also
    # wait for the servers this shell started.
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        stop_pid "${DAEMONS[$i]}" &
        jobs+=($!)
    done
    wait "${jobs[@]}"
    jobs=()
    for name in horizon prometheus exporter neutron "${APIS[@]}"; do
        stop_pid "$name" &
        jobs+=($!)
    done
    wait "${jobs[@]}"
    stop_rabbitmq
    stop_mariadb
    if [ "$(readlink "${CURRENT_LINK}" 2>/dev/null)" = "${RUN}" ]; then
        rm -f "${CURRENT_LINK}"
    fi
    if [ "${WI_STACK_KEEP:-0}" = 1 ]; then
        wi_log "stack stopped; state kept in ${RUN}"
    else
        rm -rf "${RUN}"
        wi_log "stack stopped and ${RUN} removed"
    fi
}

cmd_status() {
    resolve_run
    local f pid
    for f in "${RUN}"/pids/*; do
        [ -f "$f" ] || continue
        pid="$(cat "$f")"
        if kill -0 "${pid}" 2>/dev/null; then
            printf '%-26s running (pid %s)\n' "$(basename "$f")" "${pid}"
        else
            printf '%-26s stopped\n' "$(basename "$f")"
        fi
    done
    printf 'memory (PSS): %s MiB\n' "$(pss_mib)"
}

cmd_service() {
    local action="$1" name="$2"
    resolve_run
    case "${action}:${name}" in
        stop:prometheus|stop:nova-compute*|stop:exporter|stop:watcher-*)
            stop_pid "$name" ;;
        start:watcher-decision-engine|start:watcher-applier)
            start "$name" "${SVENV}/bin/${name}" \
                --config-file "${RUN}/watcher/watcher.conf" ;;
        start:prometheus) start_prometheus ;;
        start:exporter)
            start exporter "${PY}" "${HERE}/exporter.py" "${PORT_exporter}" \
                "${RUN}/live.json" ;;
        *) wi_die "cannot ${action} ${name}" ;;
    esac
}

cmd_test() {
    resolve_run
    # shellcheck disable=SC1091
    source "${RUN}/env"
    if [ "$#" -eq 0 ]; then
        set -- tests/e2e
    fi
    timeout 1800 "${SVENV}/bin/python" -m pytest -q -p no:cacheprovider \
        -rfE --disable-warnings --junitxml="${RUN}/logs/e2e-junit.xml" "$@"
}

# tempest_excluded: the regexes of tempest-exclude.txt (comments and
# blank lines dropped).
tempest_excluded() {
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' "${TEMPEST_EXCLUDE}" |
        grep -v '^$' || true
}

# cmd_tempest [ARGS]: Watcher's tempest plugin, its API tests, on this
# stack with our plugin loaded: a tempest workspace in RUN/tempest, the
# configuration configure.py generated (RUN/tempest.conf), the tests of
# TEMPEST_REGEX less those of tempest-exclude.txt (each with its reason;
# an exclusion that matches no test fails the run), one at a time:
# Watcher cancels an audit created while an action plan runs, and the
# plugin's action-plan tests start plans while its action tests create
# audits (seen at concurrency 2).  ARGS go to "tempest run".
cmd_tempest() {
    resolve_run
    local ws="${RUN}/tempest" t0 re all
    t0="$(ts)"
    # the plugin's deprecated client_functional package warns on import
    local -x PYTHONWARNINGS=ignore::DeprecationWarning
    [ -f "${RUN}/tempest.conf" ] || wi_die "${RUN}/tempest.conf missing"
    rm -rf "${ws}" "${RUN}/tempest-workspace.yaml"
    timeout 300 "${SVENV}/bin/tempest" init \
        --workspace-path "${RUN}/tempest-workspace.yaml" "${ws}" \
        > "${RUN}/logs/tempest-init.out" 2>&1 ||
        wi_die "tempest init failed (logs/tempest-init.out)"
    all="$(cd "${ws}" && timeout 300 "${SVENV}/bin/tempest" run \
        --config-file "${RUN}/tempest.conf" --list-tests \
        --regex "${TEMPEST_REGEX}")"
    while read -r re; do
        grep -qE -- "${re}" <<< "${all}" ||
            wi_die "tempest-exclude.txt: '${re}' matches no test"
    done < <(tempest_excluded)
    wi_log "tempest: $(grep -c "^watcher_tempest_plugin" <<< "${all}")" \
        "tests in ${TEMPEST_REGEX}, $(tempest_excluded | wc -l)" \
        "exclusions (tools/stack/tempest-exclude.txt)"
    (cd "${ws}" && timeout 1500 "${SVENV}/bin/tempest" run \
        --config-file "${RUN}/tempest.conf" --regex "${TEMPEST_REGEX}" \
        --exclude-list "${TEMPEST_EXCLUDE}" --serial "$@")
    wi_log "tempest done after $(since "$t0") s"
}

# cmd_all: the end-to-end tests (with the operator's flow through the
# real openstack client), the browser tests (Horizon), then Watcher's
# tempest API tests; all run, the status is the first failure's.
cmd_all() {
    local rc=0 t
    t="$(ts)"
    cmd_test || rc=$?
    wi_log "end-to-end tests after $(since "$t") s"
    t="$(ts)"
    bash "${HERE}/horizon.sh" ci || rc=$?
    wi_log "browser tests after $(since "$t") s"
    cmd_tempest || rc=$?
    return "${rc}"
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "${RUN:-}" ] && [ -d "${RUN}" ]; then
        if [ "${rc}" -ne 0 ] && [ -d "${RUN}/logs" ]; then
            printf '\n---- last lines of the stack logs (%s) ----\n' \
                "${RUN}/logs" >&2
            tail -n 12 "${RUN}"/logs/*.out "${RUN}"/logs/*.log \
                2>/dev/null | cut -c1-300 >&2 || true
        fi
        WI_STACK_RUN="${RUN}" cmd_down || true
    fi
    exit "${rc}"
}

cmd_run() {
    local rc=0 t0
    t0="$(ts)"
    cmd_install
    wi_log "installs done after $(since "$t0") s"
    trap on_exit EXIT
    trap 'exit 130' INT TERM
    cmd_up
    if [ "$#" -eq 0 ]; then
        set -- cmd_test
    elif [ "$*" = all ]; then
        set -- cmd_all
    fi
    local t1
    t1="$(ts)"
    "$@" &
    CHILD=$!
    trap 'kill -TERM "${CHILD}" 2>/dev/null; exit 143' INT TERM
    wait "${CHILD}" || rc=$?
    wi_log "tests exited ${rc} after $(since "$t1") s;" \
        "memory (PSS): $(pss_mib) MiB; total $(since "$t0") s"
    return "${rc}"
}

main() {
    local cmd="${1:-run}"
    shift || true
    cd "${WI_REPO_ROOT}"
    case "${cmd}" in
        install) cmd_install ;;
        up) cmd_install; cmd_up ;;
        down) cmd_down ;;
        test) cmd_test "$@" ;;
        tempest) cmd_tempest "$@" ;;
        status) cmd_status ;;
        stop-service) cmd_service stop "$1" ;;
        start-service) cmd_service start "$1" ;;
        run) cmd_run "$@" ;;
        # For a cloud that is already up (DevStack): tools/stack/devstack.sh
        metrics-up) resolve_run; metrics_up ;;
        metrics-down) resolve_run; metrics_down ;;
        *) wi_die "usage: $0 run|install|up|test|tempest|down|status" ;;
    esac
}

main "$@"
