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

"""Gnocchi's REST API in one threaded process (instead of uwsgi).

Run with the Gnocchi venv's python:
``python gnocchi_api.py --config-file gnocchi.conf``; it listens on
``[api] host`` and ``[api] port`` of that file.  It serves the same WSGI
application as ``gnocchi-api`` (``gnocchi.rest.app.load_app``), which
would start uwsgi with one process per CPU plus threads; one process is
enough for tests and starts faster on a 2-core machine.
"""

from gnocchi.cli import api
from gnocchi.rest import app
from werkzeug import serving


def main():
    conf = api.prepare_service()
    application = app.load_app(conf)
    serving.run_simple(conf.api.host, conf.api.port, application,
                       threaded=True, use_reloader=False)


if __name__ == '__main__':
    main()
