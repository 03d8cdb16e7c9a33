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

"""What the stack refuses: bad audit parameters and a metric store down.

Invalid parameters are refused by Watcher's API with HTTP 400 naming the
field (our schema is what it checks them against), and no audit is
created.  With Prometheus stopped, an audit with our strategy ends
FAILED -- not an empty "success" -- with our error naming the store in
the decision engine's log, and no action plan with actions.
"""

import pytest

from tests.e2e import client

INVALID = [
    ({'cpu_threshold': 2}, 'cpu_threshold'),
    ({'cpu_threshold': 0}, 'cpu_threshold'),
    ({'period': 'an hour'}, 'period'),
    ({'granularity': 0}, 'granularity'),
    ({'max_migrations': -1}, 'max_migrations'),
    ({'aggressiveness': 9}, 'aggressiveness'),
    ({'communication_groups': [['not-a-uuid']]}, 'communication_groups'),
    ({'interference_overrides': {'cpu+gpu': 0.5}},
     'interference_overrides'),
    ({'cpu_treshold': 0.7}, 'cpu_treshold'),
]


@pytest.fixture(scope='module')
def template(stack):
    return stack.watcher.template('e2e-refusals')


def audit_count(stack):
    return len(stack.watcher.get('/audits?limit=1000')['audits'])


@pytest.mark.parametrize('parameters,field', INVALID,
                         ids=[f for _, f in INVALID])
def test_invalid_parameters_get_400_naming_the_field(stack, template,
                                                     parameters, field):
    before = audit_count(stack)
    resp = stack.watcher.audit(template, parameters)
    assert resp.status_code == 400, (resp.status_code, resp.text)
    assert field in resp.json()['error_message']
    assert audit_count(stack) == before


def test_metric_store_down_fails_the_audit_with_our_error(stack, template):
    log_before = len(stack.log('watcher-decision-engine'))
    stack.service('stop', 'prometheus')
    try:
        resp = stack.watcher.audit(template, client.PARAMETERS)
        assert resp.status_code == 201, resp.text
        audit = stack.watcher.finished_audit(resp.json()['uuid'])
    finally:
        stack.service('start', 'prometheus')
    assert audit['state'] == 'FAILED', audit
    plans = stack.watcher.plans(audit['uuid'])
    assert all(not stack.watcher.actions(p['uuid']) for p in plans)
    log = stack.log('watcher-decision-engine')[log_before:]
    assert 'informed_live_migration: cannot read metrics' in log
    assert 'prometheus' in log.split(
        'informed_live_migration: cannot read metrics', 1)[1][:400]


def test_metrics_come_back_with_the_store(stack):
    # the store restarted with its data: audits can read metrics again
    client.wait('metrics readable after restart', 120,
                lambda: client.metrics_ready(stack, stack.live), 2.0)
