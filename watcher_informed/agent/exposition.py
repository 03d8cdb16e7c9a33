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


"""A minimal Prometheus exporter: gauges and counters over stdlib HTTP.

Contract: a :class:`Registry` holds metric families (name, type, help) and
their samples, keyed by label sets; :meth:`Registry.render` gives the
Prometheus text exposition format 0.0.4, and :func:`serve` answers
``GET /metrics`` with it from a daemon thread (any other path is 404).
Samples are set, incremented and removed while the server runs (one lock);
a removed series simply stops being exposed, so Prometheus marks it stale.
No dependency beyond the standard library, so the agent runs on a compute
node with only python-libvirt installed.
"""

import http.server
import math
import threading

CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'


def _escape(value):
    return (str(value).replace('\\', r'\\').replace('\n', r'\n')
            .replace('"', r'\"'))


def _number(value):
    value = float(value)
    if math.isnan(value):
        return 'NaN'
    if math.isinf(value):
        return '+Inf' if value > 0 else '-Inf'
    return repr(value)


class Registry:
    """Metric families and their samples."""

    def __init__(self):
        self._lock = threading.Lock()
        self._families = {}     # name -> (type, help, {labels: value})

    def declare(self, name, kind, help_text):
        with self._lock:
            self._families.setdefault(name, (kind, help_text, {}))

    @staticmethod
    def _key(labels):
        return tuple(sorted((labels or {}).items()))

    def set(self, name, value, labels=None):
        with self._lock:
            self._families[name][2][self._key(labels)] = float(value)

    def inc(self, name, labels=None, amount=1.0):
        with self._lock:
            samples = self._families[name][2]
            key = self._key(labels)
            samples[key] = samples.get(key, 0.0) + amount

    def get(self, name, labels=None):
        with self._lock:
            return self._families[name][2].get(self._key(labels))

    def remove(self, name, **match):
        """Drop the samples of ``name`` whose labels include ``match``."""
        wanted = set(match.items())
        with self._lock:
            samples = self._families[name][2]
            for key in [k for k in samples if wanted <= set(k)]:
                del samples[key]

    def render(self):
        lines = []
        with self._lock:
            for name in sorted(self._families):
                kind, help_text, samples = self._families[name]
                lines.append('# HELP %s %s' % (name, _escape(help_text)))
                lines.append('# TYPE %s %s' % (name, kind))
                for key in sorted(samples):
                    labels = ','.join('%s="%s"' % (k, _escape(v))
                                      for k, v in key)
                    lines.append('%s%s %s' % (
                        name, '{%s}' % labels if labels else '',
                        _number(samples[key])))
        return '\n'.join(lines) + '\n'


def _handler(registry):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler's name
            if self.path.split('?', 1)[0] != '/metrics':
                self.send_error(404)
                return
            body = registry.render().encode('utf-8')
            self.send_response(200)
            self.send_header('Content-Type', CONTENT_TYPE)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    return Handler


def serve(registry, host, port):
    """Serve ``registry`` on ``http://host:port/metrics`` (daemon thread).

    Returns the server; ``server.server_address`` has the bound port (ask
    for port 0 to get a free one) and ``server.shutdown()`` stops it.
    """
    server = http.server.ThreadingHTTPServer((host, port),
                                             _handler(registry))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever,
                              name='dirtyrate-exporter', daemon=True)
    thread.start()
    return server
