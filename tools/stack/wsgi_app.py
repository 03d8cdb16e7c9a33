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

"""One OpenStack WSGI application for gunicorn.

Contract: ``WI_WSGI_MODULE`` names the module whose ``application`` is
served (``keystone.wsgi.api``, ``nova.wsgi.osapi_compute``, ...);
``WI_WSGI_ARGS`` (space separated) replaces gunicorn's own command line
in ``sys.argv`` before the import, because the applications parse
``sys.argv`` with oslo.config and would refuse gunicorn's options.
"""

import importlib
import os
import sys

sys.argv = sys.argv[:1] + os.environ.get('WI_WSGI_ARGS', '').split()
application = importlib.import_module(
    os.environ['WI_WSGI_MODULE']).application
