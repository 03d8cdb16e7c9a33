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

"""Horizon's ``local_settings`` for the end-to-end stack (a template).

Contract: ``tools/stack/horizon.sh up`` copies this file, unchanged, to
``RUN/horizon/local/local_settings.py``; Horizon's settings module
imports it as ``local.local_settings`` (``RUN/horizon`` comes first on
``PYTHONPATH``), so nothing is written into the venv's site-packages.
Every path is derived from where the copy lives (``RUN/horizon``), and
Keystone's address from ``OS_AUTH_URL`` (``RUN/env``).  Horizon talks to
the local Keystone on 127.0.0.1 only, keeps its cache in memory and its
sessions in signed cookies, so that neither memcached nor a database is
needed; static files are collected and compressed offline into
``RUN/horizon/static``.
"""

import os

from horizon.utils import secret_key

_STATE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
# Generated on first use, kept next to the settings (RUN/horizon).
SECRET_KEY = secret_key.generate_or_read_from_file(
    os.path.join(_STATE, '.secret_key_store'))
OPENSTACK_HOST = '127.0.0.1'
OPENSTACK_KEYSTONE_URL = os.environ.get('OS_AUTH_URL',
                                        'http://127.0.0.1:5000/v3')
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = 'Default'
CACHES = {
    'default': {
        'BACKEND': 'django.core.cache.backends.locmem.LocMemCache',
    },
}
SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'
STATIC_ROOT = os.path.join(_STATE, 'static')
COMPRESS_OFFLINE = True
TIME_ZONE = 'UTC'
LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'formatters': {
        'plain': {'format': '%(asctime)s %(levelname)s %(name)s %(message)s'},
    },
    'handlers': {
        'console': {'class': 'logging.StreamHandler', 'formatter': 'plain'},
    },
    'root': {'handlers': ['console'], 'level': 'WARNING'},
    'loggers': {
        name: {'handlers': ['console'], 'level': 'INFO', 'propagate': False}
        for name in ('horizon', 'openstack_dashboard', 'watcher_dashboard')
    },
}
