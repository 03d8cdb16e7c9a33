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

"""Django settings of the stack's Horizon: Horizon's own, plus Watcher.

Contract: with ``DJANGO_SETTINGS_MODULE=horizon_settings`` (this
directory and ``RUN/horizon`` on ``PYTHONPATH``), the settings are
exactly ``openstack_dashboard.settings`` -- which reads
``RUN/horizon/local/local_settings.py`` -- with watcher-dashboard's
enabled files (the Optimization panels of the Admin dashboard) in place
of Horizon's empty ``openstack_dashboard.local.enabled`` package.
Operators copy those files into that package; pointing the package at
watcher-dashboard's own ``local.enabled`` has the same effect without
writing into site-packages.  Must be imported before anything imports
``openstack_dashboard.settings``.
"""

import sys

import openstack_dashboard.local
from watcher_dashboard.local import enabled as _watcher_enabled

openstack_dashboard.local.enabled = _watcher_enabled
sys.modules['openstack_dashboard.local.enabled'] = _watcher_enabled

from openstack_dashboard.settings import *  # noqa: E402,F401,F403,H303
