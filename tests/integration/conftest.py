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

"""Integration tests against real Gnocchi and Prometheus servers.

Run them with ``bash tools/metrics/stack.sh run`` (which starts the
stores on 127.0.0.1, loads the Bitbrains traces, runs pytest on this
directory and stops everything).  Without a running stack every test is
skipped with the reason.  ``watcher.tests.unit`` is imported first for the
same reason as in ``tests/functional/conftest.py`` (the audit tests load
the strategy through Watcher's loader).
"""

import os
import time

from oslo_config import cfg
import pytest
import watcher.tests.unit  # noqa: F401  (side effects, see above)

from tests.integration import helpers
from watcher_informed.adapters.metrics import gnocchi
from watcher_informed.adapters.metrics import prometheus

STORES = ('gnocchi', 'prometheus')


@pytest.fixture(scope='session', autouse=True)
def watcher_conf():
    try:
        cfg.CONF.config_file
    except cfg.NoSuchOptError:
        cfg.CONF(args=[], project='watcher')
    return cfg.CONF


@pytest.fixture(scope='session')
def data():
    run = helpers.run_dir()
    if run is None or not (run / 'dataset.json').exists():
        pytest.skip('metric stores not running (WI_METRICS_RUN unset or '
                    'no dataset.json); ' + helpers.HOW_TO)
    return helpers.load_dataset()


@pytest.fixture(scope='session')
def gnocchi_url(data):
    url = os.environ.get('WI_GNOCCHI_URL', '')
    if not url or not helpers.reachable(url + '/v1/status',
                                        auth=('admin', '')):
        pytest.skip('Gnocchi not reachable at %r; %s' % (url, helpers.HOW_TO))
    return url


@pytest.fixture(scope='session')
def prometheus_url(data):
    url = os.environ.get('WI_PROMETHEUS_URL', '')
    if not url or not helpers.reachable(url + '/-/ready'):
        pytest.skip('Prometheus not reachable at %r; %s'
                    % (url, helpers.HOW_TO))
    return url


def gnocchi_client(url):
    """A gnocchiclient as Watcher builds it, with Gnocchi basic auth."""
    from gnocchiclient import auth
    from gnocchiclient import client
    from keystoneauth1 import session
    sess = session.Session(
        auth=auth.GnocchiBasicPlugin(user='admin', endpoint=url), timeout=30)
    return client.Client('1', session=sess)


def prometheus_client(url):
    """observabilityclient's client, as Watcher's PrometheusHelper has."""
    from observabilityclient import prometheus_client as pc
    client = pc.PrometheusAPIClient(url.split('://', 1)[1])
    client._session.verify = False    # plain http, as Watcher sets it
    return client


@pytest.fixture(params=STORES)
def store(request):
    """``(name, make_reader(clock))`` of each store."""
    name = request.param
    url = request.getfixturevalue(name + '_url')
    if name == 'gnocchi':
        client = gnocchi_client(url)

        def make(clock):
            return gnocchi.GnocchiMetrics(client, clock=clock)
    else:
        client = prometheus_client(url)

        def make(clock):
            return prometheus.PrometheusMetrics(client, clock=clock)
    return name, make


@pytest.fixture(scope='session', autouse=True)
def live_exporter():
    """The probes' live scrape target, started early (needs ~40 s)."""
    url = os.environ.get('WI_PROMETHEUS_URL', '')
    port = os.environ.get('WI_PROBE_PORT')
    run = helpers.run_dir()
    if not (url and port and run and (run / 'dataset.json').exists() and
            helpers.reachable(url + '/-/ready')):
        yield None
        return
    data = helpers.load_dataset()
    exporter = helpers.LiveExporter(int(port))
    probes = data['probes']

    def labels(role):
        uuid = probes[role]['uuid']
        return {'resource': uuid, 'publisher': 'ceilometer',
                'project': data['project'], 'server_group': 'none'}

    t0 = int(time.time())
    reset_at = ((t0 + 20) // 5 + 1) * 5 + 1
    vcpus = probes['reset']['vcpus']
    rate = 0.5 * vcpus * 1e9       # ns per second: half of its vCPUs

    def cpu(t):
        if t < reset_at:
            return 5e12 + rate * (t - t0)
        return rate * (t - reset_at)

    exporter.add('ceilometer_memory_usage', dict(labels('nan'),
                                                 memory=probes['nan']['uuid'],
                                                 type='usage'),
                 lambda t: float('nan'))
    exporter.add('ceilometer_memory_usage',
                 dict(labels('negative'), memory=probes['negative']['uuid'],
                      type='usage'),
                 lambda t: -5.0)
    exporter.add('ceilometer_cpu', dict(labels('reset'),
                                        cpu=probes['reset']['uuid'],
                                        type='cpu'), cpu)
    exporter.reset_at = reset_at
    exporter.expected_cpu = rate / 1e9 / vcpus
    exporter.error = None
    try:
        exporter.start()
    except OSError as exc:           # port taken: fail the tests using it
        exporter.error = 'live exporter on port %s: %s' % (port, exc)
    yield exporter
    exporter.stop()
