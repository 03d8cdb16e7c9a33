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

"""The agent's publishers: Prometheus exposition (served for real on
loopback) and the body of Gnocchi's batch call."""

import collections
import json
import subprocess
import sys

import pytest

from watcher_informed.agent import exposition
from watcher_informed.agent import publish
from watcher_informed.core import dirtyrate

Dom = collections.namedtuple('Dom', 'uuid name')
A = Dom('6f0c1a52-3bd4-4d0e-9d43-5f0d1b2c3a4e', 'instance-00000001')
B = Dom('0b7e1c2d-1111-4222-8333-444455556666', 'instance-00000002')
EST = dirtyrate.Estimate(64.0, 256.0, True, False)


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        head, value = line.rsplit(' ', 1)
        name, _, labels = head.partition('{')
        pairs = [p.split('=', 1) for p in labels.rstrip('}').split(',')
                 if p]
        out[(name, frozenset((k, v.strip('"')) for k, v in pairs))] = \
            float(value)
    return out


def find(text, name, **labels):
    want = set(labels.items())
    return [v for (n, ls), v in samples(text).items()
            if n == name and want <= ls]


def published():
    reg = exposition.Registry()
    pub = publish.PrometheusPublisher(reg, 'compute-1')
    pub.estimate(A, EST, 1700000000.0)
    pub.estimate(B, dirtyrate.Estimate(1.5, 3.0, True, True), 1700000001.0)
    pub.error(B, 'boom')
    pub.error(B, 'boom')
    pub.connection(True)
    return reg, pub


METERS = [
    ('ceilometer_memory_dirty_rate', 'memory.dirty.rate', 'MiB/s', 64.0),
    ('ceilometer_memory_dirty_working_set', 'memory.dirty.working_set',
     'MiB', 256.0),
]


@pytest.mark.parametrize('series,meter,unit,value', METERS)
def test_meters_in_ceilometer_style(series, meter, unit, value):
    reg, _ = published()
    assert find(reg.render(), series, resource=A.uuid, counter=meter,
                unit=unit, vm_instance='compute-1',
                resource_name=A.name) == [value]


def test_exactness_errors_and_health():
    reg, _ = published()
    text = reg.render()
    pre = publish.PREFIX
    assert find(text, pre + 'exact', resource=A.uuid,
                counter='memory.dirty.rate') == [1.0]
    assert find(text, pre + 'exact', resource=A.uuid,
                counter='memory.dirty.working_set') == [0.0]
    assert find(text, pre + 'errors_total', resource=B.uuid) == [2.0]
    assert find(text, pre + 'libvirt_up') == [1.0]
    assert '# TYPE %serrors_total counter' % pre in text


def test_forget_removes_only_that_domain():
    reg, pub = published()
    pub.forget(B.uuid)
    text = reg.render()
    assert B.uuid not in text
    assert find(text, 'ceilometer_memory_dirty_rate', resource=A.uuid)


SERVE = """
import json, sys
import requests
from watcher_informed.agent import exposition
reg = exposition.Registry()
reg.declare('x_total', 'counter', 'help')
reg.inc('x_total', {'resource': 'a'}, 3)
server = exposition.serve(reg, '127.0.0.1', 0)
base = 'http://127.0.0.1:%d' % server.server_address[1]
ok = requests.get(base + '/metrics', timeout=5)
other = requests.get(base + '/other', timeout=5)
server.shutdown()
print(json.dumps([ok.status_code, ok.headers['Content-Type'], ok.text,
                  other.status_code]))
"""


def test_served_over_http_on_loopback():
    # in a fresh interpreter: other tests import Watcher, which
    # monkey-patches threads and sockets with eventlet
    out = subprocess.run([sys.executable, '-c', SERVE], capture_output=True,
                         text=True, timeout=60, check=True)
    status, ctype, text, other = json.loads(out.stdout)
    assert (status, other) == (200, 404)
    assert ctype == exposition.CONTENT_TYPE
    assert find(text, 'x_total', resource='a') == [3.0]
    assert '# TYPE x_total counter' in text


def test_label_values_are_escaped():
    reg = exposition.Registry()
    reg.declare('x', 'gauge', 'h')
    reg.set('x', 1, {'a': 'q"\\\n'})
    assert 'x{a="q\\"\\\\\\n"} 1.0' in reg.render()


def test_gnocchi_batch_body():
    body = publish.gnocchi_batch(A.uuid, EST, 1700000000.0, 'low')
    assert body == {A.uuid: {
        'memory.dirty.rate': {
            'archive_policy_name': 'low', 'unit': 'MiB/s',
            'measures': [{'timestamp': '2023-11-14T22:13:20+00:00',
                          'value': 64.0}]},
        'memory.dirty.working_set': {
            'archive_policy_name': 'low', 'unit': 'MiB',
            'measures': [{'timestamp': '2023-11-14T22:13:20+00:00',
                          'value': 256.0}]}}}


class Session:
    """Records posts; answers with ``status`` or raises ``exc``."""

    def __init__(self, status=202, exc=None):
        self.status, self.exc, self.calls = status, exc, []

    def post(self, url, **kw):
        self.calls.append((url, kw))
        if self.exc:
            raise self.exc
        return collections.namedtuple('R', 'status_code text')(
            self.status, 'refused')


@pytest.mark.parametrize('session,failures', [
    (Session(202), 0), (Session(400), 1), (Session(exc=OSError('x')), 1)])
def test_gnocchi_publisher_never_raises(session, failures):
    pub = publish.GnocchiPublisher(session, 'http://g:8041/')
    pub.estimate(A, EST, 1700000000.0)
    url, kw = session.calls[0]
    assert url == 'http://g:8041/v1/batch/resources/metrics/measures'
    assert kw['params'] == {'create_metrics': 'true'}
    assert pub.failures == failures
