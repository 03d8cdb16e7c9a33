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
# The end-to-end tests (tests/e2e) against a DevStack that runs Watcher,
# this plugin and four fake computes (VIRT_DRIVER=fake,
# NUMBER_FAKE_NOVA_COMPUTE=4, compute_driver = fake.MediumFakeDriver):
# the watcher-informed-devstack Zuul job runs it after stack.sh.
#
#   bash tools/stack/devstack.sh
#
# It maps the scenario's compute1..4 to DevStack's fake hosts (sorted by
# name), starts the exporter and Prometheus of tools/stack/stack.sh on
# 127.0.0.1, points Watcher's decision engine at them (watcher.conf, then
# a restart of its systemd unit), boots the scenario (sizes read back from
# Placement), runs the tests and stops what it started.  The tests read
# the decision engine's log from journald.
#
# Environment: DEVSTACK_DIR [/opt/stack/devstack], WATCHER_CONF
# [/etc/watcher/watcher.conf], WI_STACK_PYTHON [DevStack's global venv
# python, /opt/stack/data/venv/bin/python], WI_STACK_RUN [mktemp -d],
# WI_WATCHER_RESTART [systemctl restart of the two Watcher units] a
# command that restarts Watcher's decision engine and applier,
# WI_STACK_LOG_COMMAND [journalctl of devstack@{name}] a JSON argv printing
# the log of service {name}.

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${HERE}/../.." && pwd)"
DEVSTACK_DIR="${DEVSTACK_DIR:-/opt/stack/devstack}"
WATCHER_CONF="${WATCHER_CONF:-/etc/watcher/watcher.conf}"
export WI_STACK_PYTHON="${WI_STACK_PYTHON:-/opt/stack/data/venv/bin/python}"
PY="${WI_STACK_PYTHON}"

# shellcheck disable=SC1091
source "${DEVSTACK_DIR}/openrc" admin admin >/dev/null

RUN="${WI_STACK_RUN:-$(mktemp -d /tmp/wi-stack.XXXXXX)}"
export WI_STACK_RUN="${RUN}"
mkdir -p "${RUN}/logs" "${RUN}/pids"
chmod 755 "${RUN}"

log() { printf '==> %s\n' "$*"; }

# PORT_prometheus and PORT_exporter (below the ephemeral port range; the
# one place that names them is configure.py)
eval "$("${PY}" "${HERE}/configure.py" ports)"
export PORT_prometheus

cleanup() {
    local rc=$?
    WI_STACK_SKIP_INSTALL=1 bash "${HERE}/stack.sh" metrics-down || true
    exit "${rc}"
}
trap cleanup EXIT

if ! command -v prometheus >/dev/null 2>&1; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends prometheus
fi
"${PY}" -m pip install -q pytest

log "writing ${RUN}/stack.json"
WATCHER_CONF="${WATCHER_CONF}" "${PY}" - "${RUN}" <<'EOF'
import json
import os
import sys

import openstack

run = sys.argv[1]
conn = openstack.connect()
fakes = sorted(s.host for s in conn.compute.services()
               if s.binary == 'nova-compute')
if len(fakes) < 4:
    raise SystemExit('need 4 fake computes, found %s' % fakes)
facts = {
    'run': run, 'password': os.environ['OS_PASSWORD'],
    'auth_url': os.environ['OS_AUTH_URL'],
    'prometheus_url': 'http://127.0.0.1:%s' % os.environ['PORT_prometheus'],
    'dirty_rate_meter': 'memory.dirty.rate',
    'working_set_meter': 'memory.dirty.working_set',
    'logs': os.path.join(run, 'logs'),
    'watcher_conf': os.environ['WATCHER_CONF'],
    'hosts': {'compute%d' % n: host
              for n, host in enumerate(fakes[:4], start=1)},
    'sizes_from_placement': True,
    'computes': {},
    'log_command': json.loads(os.environ.get('WI_STACK_LOG_COMMAND') or
                              'null') or [
        'journalctl', '--no-pager', '-o', 'cat', '-u',
        'devstack@{name}.service'],
}
with open(os.path.join(run, 'stack.json'), 'w') as f:
    json.dump(facts, f, indent=2, sort_keys=True)
EOF

log "exporter and Prometheus on 127.0.0.1:${PORT_exporter} /" \
    ":${PORT_prometheus}"
WI_STACK_SKIP_INSTALL=1 bash "${HERE}/stack.sh" metrics-up

log "pointing Watcher at them (${WATCHER_CONF})"
"${PY}" - "${WATCHER_CONF}" <<'EOF'
import configparser
import os
import sys

path = sys.argv[1]
conf = configparser.RawConfigParser(strict=False)
conf.read(path)
settings = {
    'watcher_datasources': {'datasources': 'prometheus'},
    'prometheus_client': {'host': '127.0.0.1',
                          'port': os.environ['PORT_prometheus'],
                          'fqdn_label': 'fqdn',
                          'instance_uuid_label': 'resource'},
    'watcher_strategies.informed_live_migration': {
        'metrics_store': 'auto'},
    'nova': {'migration_interval': '1'},
    'watcher_cluster_data_model_collectors.compute': {'period': '10'},
}
for section, values in settings.items():
    if not conf.has_section(section):
        conf.add_section(section)
    for key, value in values.items():
        conf.set(section, key, value)
with open(path, 'w') as f:
    conf.write(f)
EOF
if [ -n "${WI_WATCHER_RESTART:-}" ]; then
    bash -c "${WI_WATCHER_RESTART}"
else
    sudo systemctl restart devstack@watcher-decision-engine.service \
        devstack@watcher-applier.service
fi

log "booting the scenario"
timeout 600 "${PY}" "${HERE}/seed.py" cloud "${RUN}" \
    "${HERE}/scenario.json"

log "running tests/e2e"
cd "${REPO}"
timeout 1800 "${PY}" -m pytest -q -p no:cacheprovider -rfE \
    --disable-warnings tests/e2e "$@"
