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

"""Thin clients of the running end-to-end stack, for the tests.

Contract: :class:`Stack` reads the facts ``tools/stack/configure.py``
wrote (``$WI_STACK_RUN/stack.json``) and gives an admin openstacksdk
connection, a :class:`Watcher` REST client on the same Keystone session,
the live scenario (``live.json``: Nova's UUIDs) and helpers that reset the
cloud and stop or start a service of the stack; :func:`fresh` boots the
scenario again and waits until Prometheus and Watcher see it.  Shared by
the end-to-end (``tests/e2e``) and browser (``tests/browser``) tests.
Every wait is bounded and fails with what was last seen.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
import types
import uuid

import openstack

from watcher_informed.adapters.metrics import base as metrics_base
from watcher_informed.adapters.metrics import prometheus

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
STACK_DIR = os.path.join(REPO, 'tools', 'stack')
SCENARIO = os.environ.get('WI_STACK_SCENARIO',
                          os.path.join(STACK_DIR, 'scenario.json'))
#: the audit parameters of the tests: a short metric window (the
#: exporter's rates are constant) and a CPU threshold the scenario's two
#: busy hosts exceed.
PARAMETERS = {'cpu_threshold': 0.6, 'period': 60, 'granularity': 5}


def wait(what, limit, probe, step=1.0):
    """Call ``probe`` until it returns a true value or ``limit`` s pass."""
    end = time.monotonic() + limit
    last = None
    while time.monotonic() < end:
        last = probe()
        if last:
            return last
        time.sleep(step)
    raise AssertionError('%s: not after %d s (last: %r)' % (what, limit,
                                                           last))


class Watcher:
    """Watcher's REST API (v1) through a keystoneauth session."""

    FINAL = ('SUCCEEDED', 'FAILED', 'CANCELLED', 'SUPERSEDED', 'DELETED')

    def __init__(self, session):
        self.session = session
        self.filter = {'service_type': 'infra-optim',
                       'interface': 'public'}

    def request(self, method, path, **kwargs):
        kwargs.setdefault('raise_exc', False)
        # gunicorn may close a kept-alive connection just as it is
        # reused (RemoteDisconnected under load): retry the connection
        kwargs.setdefault('connect_retries', 3)
        kwargs.setdefault('connect_retry_delay', 1.0)
        return self.session.request('/v1' + path, method,
                                    endpoint_filter=self.filter, **kwargs)

    def get(self, path):
        resp = self.request('GET', path)
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
        return resp.json()

    def create(self, path, body):
        return self.request('POST', path, json=body)

    def template(self, name, goal='informed_workload_balancing',
                 strategy='informed_live_migration'):
        resp = self.create('/audit_templates', {
            'name': '%s-%s' % (name, uuid.uuid4().hex[:8]), 'goal': goal,
            'strategy': strategy})
        assert resp.status_code == 201, resp.text
        return resp.json()['uuid']

    def audit(self, template, parameters):
        """POST an audit; the raw response (201, or an error)."""
        return self.create('/audits', {
            'audit_template_uuid': template, 'audit_type': 'ONESHOT',
            'parameters': parameters})

    def finished_audit(self, uuid, limit=180):
        return wait('audit %s finished' % uuid, limit, lambda: (
            lambda a: a if a['state'] in self.FINAL else None)(
                self.get('/audits/%s' % uuid)))

    def plans(self, audit):
        return self.get('/action_plans?audit_uuid=%s' % audit)[
            'action_plans']

    def plan(self, uuid):
        return self.get('/action_plans/%s' % uuid)

    def actions(self, plan):
        return self.get('/actions/detail?action_plan_uuid=%s&limit=1000'
                        % plan)['actions']

    def start(self, plan):
        resp = self.request('PATCH', '/action_plans/%s' % plan, json=[{
            'op': 'replace', 'path': '/state', 'value': 'PENDING'}])
        assert resp.status_code == 200, resp.text

    def finished_plan(self, uuid, limit=300):
        return wait('action plan %s finished' % uuid, limit, lambda: (
            lambda p: p if p['state'] in self.FINAL else None)(
                self.plan(uuid)))


class Stack:
    def __init__(self, run):
        self.run = run
        with open(os.path.join(run, 'stack.json')) as f:
            self.facts = json.load(f)
        self.conn = openstack.connect(
            auth_url=self.facts['auth_url'], username='admin',
            password=self.facts['password'], project_name='admin',
            user_domain_name='Default', project_domain_name='Default',
            region_name='RegionOne')
        self.watcher = Watcher(self.conn.session)
        self.python = sys.executable

    def host(self, name):
        """Nova's name of the scenario's host ``name``."""
        return self.facts.get('hosts', {}).get(name, name)

    @property
    def live(self):
        with open(os.path.join(self.run, 'live.json')) as f:
            return json.load(f)

    def log(self, name):
        """The log of service ``name`` (a file, or ``log_command`` argv)."""
        command = self.facts.get('log_command')
        if command:
            return subprocess.run([c.format(name=name) for c in command],
                                  capture_output=True, text=True,
                                  timeout=120).stdout
        for suffix in ('.log', '.out'):
            path = os.path.join(self.facts['logs'], name + suffix)
            if os.path.exists(path):
                with open(path, errors='replace') as f:
                    return f.read()
        return ''

    def reset(self, scenario=None):
        """Delete all servers, groups, aggregates and the traits seed.py
        set; boot ``scenario`` (default: the stack's) again."""
        subprocess.run([self.python, os.path.join(STACK_DIR, 'seed.py'),
                        'reset', self.run, scenario or SCENARIO],
                       check=True, timeout=600)

    @contextlib.contextmanager
    def watcher_option(self, section, name, value):
        """``[section] name = value`` in watcher.conf while in the block.

        Watcher's loader re-reads its configuration files each time it
        loads a plugin, so the decision engine's next audit sees it
        without a restart.  The file is restored on exit.
        """
        path = self.facts.get('watcher_conf') or os.path.join(
            self.run, 'watcher', 'watcher.conf')
        with open(path) as f:
            original = f.read()
        with open(path, 'a') as f:
            f.write('\n[%s]\n%s = %s\n' % (section, name, value))
        try:
            yield path
        finally:
            with open(path, 'w') as f:
                f.write(original)

    def service(self, action, name):
        """``stop`` or ``start`` one service of the stack."""
        subprocess.run(['/bin/bash', os.path.join(STACK_DIR, 'stack.sh'),
                        '%s-service' % action, name], check=True,
                       timeout=120, env=dict(os.environ,
                                             WI_STACK_RUN=self.run))

    def offline_plan(self, parameters, live=None):
        """Our CLI's plan of the live scenario (or ``live``), as JSON."""
        path = os.path.join(self.run, 'offline.json')
        live = live or self.live
        live['parameters'] = dict(parameters)
        with open(path, 'w') as f:
            json.dump(live, f)
        cli = os.path.join(os.path.dirname(self.python), 'watcher-informed')
        out = subprocess.run([cli, 'plan', '--scenario', path, '--format',
                              'json'], check=True, timeout=300,
                             capture_output=True, text=True)
        return json.loads(out.stdout)


def reader(stack):
    """Our Prometheus reader, with the meters the strategy is set to."""
    return prometheus.PrometheusMetrics(
        stack.facts['prometheus_url'],
        dirty_rate_meter=stack.facts['dirty_rate_meter'],
        working_set_meter=stack.facts.get('working_set_meter'))


def readings(stack, live, metric):
    """``{uuid: value}`` of ``metric`` over the tests' audit window."""
    window = metrics_base.Window(period_s=PARAMETERS['period'],
                                 granularity_s=PARAMETERS['granularity'],
                                 stale_after_s=900)
    servers = [types.SimpleNamespace(uuid=i['uuid'], vcpus=i['vcpus'])
               for i in live['instances']]
    return {u: r.value for u, r in
            reader(stack).read(metric, servers, window).items()}


def metrics_ready(stack, live):
    """Every server's CPU rate, memory and dirty rate are in Prometheus
    (and the working set of those the scenario gives one)."""
    for metric in ('cpu', 'ram', 'dirty_rate'):
        if any(v is None for v in readings(stack, live, metric).values()):
            return False
    with_wss = {u for u, m in live.get('metrics', {}).items() if 'wss' in m}
    found = readings(stack, live, 'wss')
    return all(found[u] is not None for u in with_wss)


def model_current(stack, live):
    """Watcher's compute model holds exactly the live servers, in place."""
    resp = stack.watcher.request(
        'GET', '/data_model?data_model_type=compute',
        headers={'OpenStack-API-Version': 'infra-optim 1.3'})
    if resp.status_code != 200:
        return False
    seen = {(e.get('server_uuid'), e.get('node_hostname'))
            for e in resp.json().get('context', [])
            if e.get('server_uuid')}
    want = {(i['uuid'], i['host']) for i in live['instances']}
    return seen == want


def fresh(stack, scenario=None):
    """The scenario booted afresh, its metrics scraped, Watcher aware.

    ``scenario`` is a path (default: the stack's scenario).  Returns the
    live scenario (Nova's UUIDs).
    """
    stack.reset(scenario)
    live = stack.live
    wait('metrics of every server in Prometheus', 120,
         lambda: metrics_ready(stack, live), 2.0)
    wait("Watcher's compute model up to date", 120,
         lambda: model_current(stack, live), 2.0)
    return live


def from_environment():
    """The :class:`Stack` of ``WI_STACK_RUN``; ``None`` when unset."""
    run = os.environ.get('WI_STACK_RUN')
    return Stack(run) if run else None
