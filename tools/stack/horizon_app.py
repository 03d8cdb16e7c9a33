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

"""Horizon as one WSGI application for gunicorn.

Contract: serves Django's application for ``DJANGO_SETTINGS_MODULE``
(default ``horizon_settings``, next to this file) wrapped in Django's
``StaticFilesHandler``, so that ``/static/`` (including the offline
compressed CSS and JavaScript in ``STATIC_ROOT``, found by
``compressor.finders.CompressorFinder``) is served by the same process
even with ``DEBUG = False``: no Apache, no separate file server.
"""

import os

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'horizon_settings')

from django.contrib.staticfiles import handlers  # noqa: E402
from django.core import wsgi  # noqa: E402

application = handlers.StaticFilesHandler(wsgi.get_wsgi_application())
