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

"""Fixtures of the end-to-end tests (``bash tools/stack/stack.sh run``).

The tests need the stack that ``tools/stack/stack.sh up`` starts; without
``WI_STACK_RUN`` they fail at once rather than pass by skipping.
"""

import pytest

from tests.e2e import client


@pytest.fixture(scope='session')
def stack():
    found = client.from_environment()
    if found is None:
        pytest.fail('WI_STACK_RUN is not set: run these tests with '
                    '"bash tools/stack/stack.sh run"')
    return found


@pytest.fixture(scope='module')
def fresh(stack):
    """The scenario booted afresh, its metrics scraped, Watcher aware."""
    return client.fresh(stack)
