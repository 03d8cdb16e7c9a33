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

import gc

import pytest

from watcher_informed.strategies import informed_live_migration as ilm


@pytest.fixture
def collector():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize('enabled', [True, False])
def test_collector_paused_while_audits_plan_and_restored_after(
        collector, enabled):
    (gc.enable if enabled else gc.disable)()
    with ilm._no_cycle_collection():
        assert not gc.isenabled()
        with ilm._no_cycle_collection():     # a second audit at once
            assert not gc.isenabled()
        # the first audit is still planning
        assert not gc.isenabled()
    assert gc.isenabled() == enabled


def test_collector_restored_when_the_audit_fails(collector):
    gc.enable()
    with pytest.raises(RuntimeError):
        with ilm._no_cycle_collection():
            raise RuntimeError('store down')
    assert gc.isenabled()
