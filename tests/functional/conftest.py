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

"""Functional tests: the plugin inside python-watcher's real machinery.

Importing ``watcher.tests.unit`` must come before anything else of Watcher:
it selects oslo.service's threading backend (anything that asks for a
backend first gets the eventlet default, and Watcher's DB test base then
fails with ``BackendAlreadySelected``) and registers Watcher's versioned
objects.  pytest imports this conftest before collecting any test module.
"""

from oslo_config import cfg
import pytest
import watcher.tests.unit  # noqa: F401  (side effects, see above)


def watcher_conf_parsed():
    """Whether ``cfg.CONF`` has parsed its command line.

    ``config_file`` only exists between a ``CONF()`` call and a
    ``CONF.reset()``.
    """
    try:
        cfg.CONF.config_file
    except cfg.NoSuchOptError:
        return False
    return True


def ensure_watcher_conf():
    """Parse Watcher's configuration unless it is parsed already.

    Watcher's plugin loader re-reads the config files after registering a
    plugin's options, which needs a parsed ``CONF``.  Watcher's
    ``DbTestCase`` resets ``CONF`` when it finishes, so the DB tests call
    this again in their cleanup; everywhere else it runs once per session.
    """
    if not watcher_conf_parsed():
        cfg.CONF(args=[], project='watcher')


@pytest.fixture(scope='session', autouse=True)
def watcher_conf():
    ensure_watcher_conf()
    return cfg.CONF
