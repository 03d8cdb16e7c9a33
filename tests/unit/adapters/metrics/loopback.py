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

"""Real loopback endpoints that fail the way a metric store does.

* :func:`closed_port` -- a port bound and never listened on: connecting
  is refused at once (and nothing else can take the port meanwhile);
* :func:`silent_port` -- a port that accepts connections and never
  answers (a hung store);
* :func:`refusing_server` -- a real HTTP server (``http.server``, in its
  own process) that answers Prometheus' target list, so Watcher's helpers
  can be built, and refuses every query with a given status.

Ports are chosen by the kernel on 127.0.0.1 and held for the test.
"""

import contextlib
import socket
import subprocess
import sys


@contextlib.contextmanager
def closed_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(('127.0.0.1', 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextlib.contextmanager
def silent_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(('127.0.0.1', 0))
        sock.listen(16)
        yield sock.getsockname()[1]
    finally:
        sock.close()


#: The refusing server, run as its own Python process (``-c``).
SERVER = r'''
import http.server, json, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self):
        # recorded before the answer is sent: once the client has its
        # answer, the line is in the pipe (no race with the test's read)
        print(self.command, self.path, flush=True)
        if self.path.startswith('/api/v1/targets'):
            code, body = 200, {'status': 'success',
                               'data': {'activeTargets': []}}
        else:
            code, body = STATUS, {'status': 'error',
                                  'errorType': 'unavailable',
                                  'error': 'refused by the test server'}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass

STATUS = int(sys.argv[1])
server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
'''


class _Output:
    """The lines a server process printed, read without blocking."""

    def __init__(self, proc):
        self._fd = proc.stdout.fileno()
        self._buffer = b''
        self._lines = []
        self.closed = False

    def lines(self, wait=0.0):
        """Every line so far, waiting up to ``wait`` s for the first."""
        import os
        import select
        while not self.closed and \
                select.select([self._fd], [], [], wait)[0]:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                break
            self._buffer += chunk
            *done, self._buffer = self._buffer.split(b'\n')
            self._lines += [line.decode() for line in done]
            wait = 0.2
        return list(self._lines)

    @property
    def paths(self):
        """Requests answered (``GET /path``), the port line left out."""
        return [line.split(' ', 1)[1] for line in self.lines()[1:]]


@contextlib.contextmanager
def refusing_server(status=503):
    """``(port, requests)``: a real ``http.server`` in its own process
    refusing every query with ``status``; ``requests.paths`` lists the
    requests it answered.  The process is stopped on exit."""
    proc = subprocess.Popen([sys.executable, '-c', SERVER, str(status)],
                            stdout=subprocess.PIPE, bufsize=0)
    output = _Output(proc)
    try:
        first = output.lines(wait=30)
        if not first:
            raise RuntimeError('test HTTP server did not start')
        yield int(first[0]), output
    finally:
        output.lines()
        output.closed = True
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def watcher_gnocchi_helper(port):
    """Watcher's own ``GnocchiHelper`` on a real gnocchiclient (Gnocchi
    basic auth) pointed at ``127.0.0.1:port``; only the client factory
    (Watcher's ``OpenStackClients``, which needs Keystone) is replaced."""
    import types

    from gnocchiclient import auth
    from gnocchiclient import client
    from keystoneauth1 import session
    from watcher.decision_engine.datasources import gnocchi as wg
    sess = session.Session(auth=auth.GnocchiBasicPlugin(
        user='admin', endpoint='http://127.0.0.1:%d' % port), timeout=30)
    gnocchi = client.Client('1', session=sess)
    return wg.GnocchiHelper(osc=types.SimpleNamespace(gnocchi=lambda: gnocchi))
