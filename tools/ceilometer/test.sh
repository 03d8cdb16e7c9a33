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
# Real Ceilometer on real QEMU guests feeds the strategy (issue 21).
#
#   bash tools/ceilometer/test.sh [PYTEST ARGS...]
#
# Prepares the guests, RabbitMQ, the Pushgateway and Ceilometer 27 in its
# own venv (tools/ceilometer/setup.sh, through the runner of
# tools/lib/suite.sh), starts empty metric stores with
# tools/metrics/stack.sh on this suite's own ports (so it never meets the
# metrics suite on its defaults), Prometheus also scraping
# ceilometer-polling's exporter, the Pushgateway and the dirty-rate agent,
# and runs tests/ceilometer in it: six Nova-like TCG guests, one per
# workload class of the paper, measured by Ceilometer's own compute agent,
# read back through the plugin's readers and classified.  Everything
# listens on 127.0.0.1 (ports below 32768) or in a network namespace of
# its own, and is stopped at the end, also on failure.  About 3.5 minutes
# on 2 cores.
#
# Ports (defaults in brackets): WI_PG_PORT [26432], WI_GNOCCHI_PORT
# [26041], WI_PROMETHEUS_PORT [26090], WI_PROBE_PORT [26191],
# WI_CEILOMETER_{RABBIT [26672], RABBIT_DIST [26673], EPMD [26369],
# EXPORTER [26101], PUSHGATEWAY [26091], AGENT [26187]}_PORT.

set -euo pipefail

# shellcheck source=tools/lib/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/venv.sh"
# shellcheck source=tools/lib/suite.sh
source "${WI_REPO_ROOT}/tools/lib/suite.sh"

export WI_PG_PORT="${WI_PG_PORT:-26432}"
export WI_GNOCCHI_PORT="${WI_GNOCCHI_PORT:-26041}"
export WI_PROMETHEUS_PORT="${WI_PROMETHEUS_PORT:-26090}"
export WI_PROBE_PORT="${WI_PROBE_PORT:-26191}"
for kv in RABBIT=26672 RABBIT_DIST=26673 EPMD=26369 EXPORTER=26101 \
        PUSHGATEWAY=26091 AGENT=26187; do
    var="WI_CEILOMETER_${kv%%=*}_PORT"
    export "${var}=${!var:-${kv#*=}}"
done
WI_CEILOMETER_VENV="${WI_CEILOMETER_VENV:-${WI_REPO_ROOT}/.tox/ceilometer}"
export WI_CEILOMETER_VENV
export WI_METRICS_LOAD=0

SCRAPE="$(mktemp /tmp/wi-ceilometer-scrape.XXXXXX)"
trap 'rm -f "${SCRAPE}"' EXIT
# ceilometer-polling's exporter: the route of Watcher's Prometheus
# datasource (ceilometer_<meter>{resource=...}).  The Pushgateway, fed by
# Ceilometer's prometheus:// publisher, is scraped too: the suite checks
# what that route gives.
cat > "${SCRAPE}" <<YAML
  - job_name: ceilometer-polling
    honor_labels: true
    scrape_interval: 2s
    static_configs:
      - targets: ['127.0.0.1:${WI_CEILOMETER_EXPORTER_PORT}']
  - job_name: dirtyrate
    honor_labels: true
    scrape_interval: 2s
    static_configs:
      - targets: ['127.0.0.1:${WI_CEILOMETER_AGENT_PORT}']
  - job_name: pushgateway
    honor_labels: true
    scrape_interval: 2s
    static_configs:
      - targets: ['127.0.0.1:${WI_CEILOMETER_PUSHGATEWAY_PORT}']
YAML
export WI_PROMETHEUS_SCRAPE="${SCRAPE}"

wi_guest_suite tools/ceilometer/setup.sh WI_CEILOMETER_REQUIRED \
    bash tools/metrics/stack.sh run "${VENV}/bin/python" -m pytest -q -rA \
    tests/ceilometer "$@"
wi_log "Ceilometer suite passed"
