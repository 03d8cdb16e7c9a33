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
# Process helpers of the scripts that run servers (tools/stack/stack.sh,
# tools/stack/horizon.sh, tools/metrics/stack.sh), sourced after
# tools/lib/venv.sh.  A server started by "start" runs in its own session,
# its PID in RUN/pids/NAME, its output in RUN/logs/NAME.out; "stop_pid"
# stops it.

ts() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(ts)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for DESCRIPTION TIMEOUT_S COMMAND...: poll COMMAND every
# WAIT_STEP [0.5] s.
wait_for() {
    local what="$1" limit="$2"
    shift 2
    local end
    end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$end" ]; then
            printf 'ERROR: %s not ready after %s s\n' "$what" "$limit" >&2
            return 1
        fi
        sleep "${WAIT_STEP:-0.5}"
    done
}

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# start NAME COMMAND...: COMMAND in its own session, in START_DIR
# [RUN], output to RUN/logs/NAME.out, PID to RUN/pids/NAME.
start() {
    local name="$1" dir="${START_DIR:-${RUN}}"
    shift
    (cd "${dir}" && exec setsid "$@" > "${RUN}/logs/${name}.out" 2>&1 \
        < /dev/null) &
    echo $! > "${RUN}/pids/${name}"
}

# stop_pid NAME: SIGTERM the process group, SIGKILL after STOP_WAIT_S
# [30] s.
stop_pid() {
    local name="$1" pidfile="${RUN}/pids/$1" pid _ limit
    limit="${STOP_WAIT_S:-30}"
    [ -f "${pidfile}" ] || return 0
    pid="$(cat "${pidfile}")"
    rm -f "${pidfile}"
    kill -0 "${pid}" 2>/dev/null || return 0
    kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null ||
        true
    for _ in $(seq $((limit * 5))); do
        kill -0 "${pid}" 2>/dev/null || return 0
        sleep 0.2
    done
    printf 'WARNING: %s (pid %s) ignored SIGTERM for %s s; killing\n' \
        "$name" "$pid" "$limit" >&2
    kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null ||
        true
}

# pss_mib [NAME...]: proportional set size (MiB) of the process groups
# of RUN/pids/NAME (all of RUN/pids when no NAME is given).
pss_mib() {
    local f pid total=0 kb files=()
    if [ "$#" -eq 0 ]; then
        files=("${RUN}"/pids/*)
    else
        for f in "$@"; do
            files+=("${RUN}/pids/$f")
        done
    fi
    for f in "${files[@]}"; do
        [ -f "$f" ] || continue
        for pid in $(pgrep -s "$(cat "$f")" 2>/dev/null || true); do
            kb="$(awk '/^Pss:/ { print $2 }' "/proc/${pid}/smaps_rollup" \
                2>/dev/null || echo 0)"
            total=$((total + ${kb:-0}))
        done
    done
    echo $((total / 1024))
}
