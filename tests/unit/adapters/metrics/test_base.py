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

import types

import pytest

from tests.unit.adapters.metrics import loopback
from watcher_informed.adapters.metrics import base
from watcher_informed.adapters.metrics import gnocchi
from watcher_informed.adapters.metrics import prometheus


@pytest.mark.parametrize('text, expected', [
    ('http://admin:s3cret@127.0.0.1:9090/api/v1/query',
     'http://***@127.0.0.1:9090/api/v1/query'),
    ('prometheus (https://admin:s3cret@prom.example:9090)',
     'prometheus (https://***@prom.example:9090)'),
    ('https://token@h/x', 'https://***@h/x'),
    ('url: /v1/query?password=s3cret&x=1', 'url: /v1/query?password=***&x=1'),
    ("{'Authorization': 'Basic YWRtaW46czNjcmV0'}",
     "{'Authorization': 'Basic ***'}"),
    ('Authorization: Bearer abc.def', 'Authorization: Bearer ***'),
    # nothing to hide
    ('http://127.0.0.1:9090/a@b', 'http://127.0.0.1:9090/a@b'),
    ('connection refused', 'connection refused'),
])
def test_redact(text, expected):
    assert base.redact(text) == expected


def test_unavailable_never_carries_credentials():
    exc = base.MetricsUnavailable('prometheus (http://u:s3cret@h:1)',
                                  'GET http://u:s3cret@h:1/q failed')
    assert 's3cret' not in str(exc) + exc.store + exc.why
    assert str(exc) == ('metric store prometheus (http://***@h:1) '
                        'unavailable: GET http://***@h:1/q failed')


# -- the bulk readers against real failing loopback endpoints -------------

def _vms(n):
    return [types.SimpleNamespace(uuid='00000000-0000-4000-8000-%012d' % i,
                                  vcpus=2) for i in range(n)]


def _prometheus(url):
    return prometheus.PrometheusMetrics(url, clock=lambda: 1.7e9,
                                        timeout=5.0)


def test_prometheus_down_names_the_url_without_the_password(caplog):
    with loopback.closed_port() as port:
        reader = _prometheus('http://admin:s3cret@127.0.0.1:%d' % port)
        with pytest.raises(base.MetricsUnavailable) as info:
            base.read_usage(reader, _vms(3), base.Window())
    text = str(info.value)
    assert info.value.store == 'prometheus (http://***@127.0.0.1:%d)' % port
    assert 'ConnectionError' in text and 'refused' in text.lower(), text
    logged = ' '.join(r.getMessage() for r in caplog.records)
    assert 's3cret' not in text + logged


@pytest.mark.parametrize('status', [401, 503])
def test_prometheus_refusing_names_the_status(status):
    with loopback.refusing_server(status) as (port, requests):
        reader = _prometheus('http://admin:s3cret@127.0.0.1:%d' % port)
        with pytest.raises(base.MetricsUnavailable) as info:
            base.read_usage(reader, _vms(3), base.Window())
    text = str(info.value)
    assert 'HTTP %d' % status in text and 's3cret' not in text
    assert len(requests.paths) == 1     # one query, then the audit fails


def test_gnocchi_down_names_the_store_and_url():
    from gnocchiclient import auth
    from gnocchiclient import client
    from keystoneauth1 import session
    with loopback.closed_port() as port:
        sess = session.Session(auth=auth.GnocchiBasicPlugin(
            user='admin', endpoint='http://127.0.0.1:%d' % port), timeout=5)
        reader = gnocchi.GnocchiMetrics(client.Client('1', session=sess),
                                        clock=lambda: 1.7e9)
        with pytest.raises(base.MetricsUnavailable) as info:
            base.read_usage(reader, _vms(3), base.Window())
    text = str(info.value)
    assert info.value.store == 'gnocchi'
    assert '127.0.0.1:%d' % port in text and 'refused' in text.lower()
