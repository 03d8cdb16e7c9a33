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

"""A stand-in Neutron endpoint for servers booted without networks.

Contract: the only stand-in of the end-to-end stack.  Nova asks Neutron
about ports, networks, extensions and security groups even for servers
booted with ``networks='none'`` (live migration lists them), and is
content with empty lists: every ``GET /v2.0/<collection>`` answers an
empty list, ``GET /`` the API version, a single item 404 and any write
400.  Every request is logged so a test can see what Nova asked.
Usage: ``python fake_neutron.py PORT``.
"""

import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = self.path.split('?', 1)[0].rstrip('/')
        parts = [p for p in path.split('/') if p]
        if not parts:
            self._send(200, {'versions': [{
                'id': 'v2.0', 'status': 'CURRENT', 'links': [{
                    'rel': 'self', 'href': 'http://%s/v2.0/' %
                    self.headers.get('Host', '127.0.0.1')}]}]})
        elif parts == ['v2.0']:
            self._send(200, {'resources': []})
        elif len(parts) == 2 and parts[0] == 'v2.0':
            name = parts[1].replace('.json', '').replace('-', '_')
            self._send(200, {name: []})
        else:
            self._send(404, {'NeutronError': {
                'type': 'NotFound', 'message': 'not found: %s' % path,
                'detail': ''}})

    def _refuse(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(length)
        self._send(400, {'NeutronError': {
            'type': 'BadRequest', 'detail': '',
            'message': 'the stand-in Neutron accepts no writes'}})

    do_POST = do_PUT = do_DELETE = _refuse  # noqa: N815


def main(argv):
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', int(argv[1])), Handler)
    server.serve_forever()


if __name__ == '__main__':
    main(sys.argv)
