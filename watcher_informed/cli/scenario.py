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

"""Scenario files: a cluster, its metrics and groups, for what-if plans.

Contract: :func:`load` reads a version-1 scenario (JSON, or YAML when
PyYAML is installed) and returns a :class:`Scenario`, or raises
:class:`ScenarioError` listing every problem with its location (``hosts[2]
.vcpus: must be a positive number``).  Nothing is half-built: the checks
run before any object is made.  :meth:`Scenario.cloud` hands the file to
the off-cloud harness (:mod:`watcher_informed.harness`): a real Watcher
``ModelRoot``, an in-memory metric store and the two Nova calls the
strategy makes (server groups, service zones) answered from the file.
"""

import dataclasses
import json
import pathlib
import typing

from watcher_informed.adapters import bitbrains
from watcher_informed.adapters.metrics import memory
from watcher_informed.core import snapshot as snap

VERSION = 1
PROJECT = '00000000-0000-4000-8000-000000000000'


class ScenarioError(ValueError):
    def __init__(self, source, problems):
        super().__init__('%s: %d problem(s):\n  %s' % (
            source, len(problems), '\n  '.join(problems)))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class Scenario:
    data: typing.Mapping
    source: str

    def hosts(self):
        """The scenario's hosts as core values."""
        return tuple(snap.Host(
            name=h['name'], uuid=h.get('uuid') or 'node-' + h['name'],
            vcpus=float(h['vcpus']), ram_mb=float(h['ram_mb']),
            disk_gb=float(h['disk_gb']),
            vcpu_reserved=float(h.get('vcpu_reserved', 0)),
            ram_reserved_mb=float(h.get('ram_reserved_mb', 0)),
            disk_reserved_gb=float(h.get('disk_reserved_gb', 0)),
            vcpu_ratio=float(h.get('vcpu_ratio', 1.0)),
            ram_ratio=float(h.get('ram_ratio', 1.0)),
            disk_ratio=float(h.get('disk_ratio', 1.0)),
            up=h.get('state', 'up') == 'up',
            enabled=h.get('status', 'enabled') == 'enabled')
            for h in self.data['hosts'])

    def instances(self):
        """The scenario's instances as core values."""
        return tuple(snap.Instance(
            uuid=i['uuid'], host=i['host'], name=i.get('name', i['uuid']),
            vcpus=float(i['vcpus']), ram_mb=float(i['ram_mb']),
            disk_gb=float(i.get('disk_gb', 0)),
            state=i.get('state', 'active'),
            locked=bool(i.get('locked', False)),
            excluded=bool(i.get('exclude', False)),
            metadata=dict(i.get('metadata', {})),
            pinned_az=i.get('pinned_az') or None)
            for i in self.data['instances'])

    def model(self):
        """A real Watcher ``ModelRoot`` with the scenario's hosts and VMs."""
        from watcher_informed import harness
        return harness.build_model(
            self.hosts(), self.instances(),
            {i['uuid']: i.get('project_id', PROJECT)
             for i in self.data['instances']})

    def cloud(self):
        """The scenario as the off-cloud harness's ``Cloud``."""
        from watcher_informed import harness
        return harness.Cloud(model=self.model(), reader=self.reader(),
                             nova=self.nova(), history=self.recent_moves,
                             now=self.now)

    def reader(self):
        """Metrics as an in-memory store (values, series or trace files).

        The store's "now" is the newest sample, so series are read like a
        live store would read the last ``period`` seconds.
        """
        series = {}
        base = pathlib.Path(self.source).parent
        for uuid, metrics in self.data.get('metrics', {}).items():
            for metric, samples in _instance_series(metrics, base).items():
                series.setdefault(metric, {})[uuid] = samples
        now = max([t for per in series.values() for s in per.values()
                   for t, _ in s] or [0.0])
        return memory.InMemoryMetrics(series, now)

    @property
    def parameters(self):
        """Audit parameters the scenario sets (e.g. its bandwidth)."""
        return dict(self.data.get('parameters', {}))

    def nova(self):
        """Answers ``compute.server_groups`` / ``compute.services``."""
        from watcher_informed import harness
        return harness.StaticNova(
            [{'id': g['uuid'], 'name': g.get('name', ''),
              'policy': g['policy'], 'member_ids': list(g['members'])}
             for g in self.data.get('server_groups', [])],
            {h['name']: h.get('az') for h in self.data['hosts']})

    def recent_moves(self, now, window_s):
        """Migrations the scenario says finished recently (what-if)."""
        out = []
        for m in self.data.get('recent_moves', []):
            at = float(m['finished_at'])
            if 0 <= now - at <= window_s:
                out.append(snap.RecentMove(m['uuid'], m['source'],
                                           m.get('dest', ''), at))
        return tuple(out)

    @property
    def now(self):
        """The scenario's audit time, if it sets one."""
        value = self.data.get('now')
        return None if value is None else float(value)

    @property
    def communication_groups(self):
        return [list(g) for g in self.data.get('communication_groups', [])]


def _instance_series(metrics, base):
    series = {}
    trace = metrics.get('bitbrains_csv')
    if trace:
        series.update(bitbrains.core_series(
            bitbrains.read_trace(base / trace)))
    for metric, value in metrics.items():
        if metric == 'bitbrains_csv':
            continue
        if isinstance(value, list):
            series[metric] = [(float(t), v) for t, v in value]
        else:
            series[metric] = [(0.0, value)]
    if trace:
        newest = max((t for s in series.values() for t, _ in s),
                     default=0.0)
        for metric, samples in series.items():
            series[metric] = [(newest if t == 0.0 else t, v)
                              for t, v in samples]
    return series


def _num(problems, where, value, positive=False, integer=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer and int(value) != value:
        ok = False
    if ok and (value < 0 or (positive and value == 0)):
        ok = False
    if not ok:
        problems.append('%s: must be a %s%s, got %r' % (
            where, 'positive' if positive else 'non-negative',
            ' integer' if integer else ' number', value))


def _check_hosts(data, problems):
    names = set()
    hosts = data.get('hosts')
    if not isinstance(hosts, list) or not hosts:
        problems.append('hosts: must be a non-empty list')
        return names
    for n, h in enumerate(hosts):
        where = 'hosts[%d]' % n
        if not isinstance(h, dict) or not h.get('name'):
            problems.append('%s.name: required' % where)
            continue
        if h['name'] in names:
            problems.append('%s.name: duplicate host %r'
                            % (where, h['name']))
        names.add(h['name'])
        for key in ('vcpus', 'ram_mb', 'disk_gb'):
            _num(problems, '%s.%s' % (where, key), h.get(key),
                 positive=True)
        for key in ('vcpu_ratio', 'ram_ratio', 'disk_ratio'):
            if key in h:
                _num(problems, '%s.%s' % (where, key), h[key], positive=True)
        if h.get('state', 'up') not in ('up', 'down'):
            problems.append('%s.state: must be up or down' % where)
        if h.get('status', 'enabled') not in ('enabled', 'disabled'):
            problems.append('%s.status: must be enabled or disabled'
                            % where)
    return names


def _check_instances(data, names, problems):
    uuids = set()
    for n, i in enumerate(data.get('instances') or []):
        where = 'instances[%d]' % n
        if not isinstance(i, dict) or not i.get('uuid'):
            problems.append('%s.uuid: required' % where)
            continue
        if i['uuid'] in uuids:
            problems.append('%s.uuid: duplicate %r' % (where, i['uuid']))
        uuids.add(i['uuid'])
        if i.get('host') not in names:
            problems.append('%s.host: unknown host %r'
                            % (where, i.get('host')))
        for key in ('vcpus', 'ram_mb'):
            _num(problems, '%s.%s' % (where, key), i.get(key),
                 positive=True, integer=True)
    return uuids


def _check_metrics(data, uuids, problems, base):
    for uuid, metrics in (data.get('metrics') or {}).items():
        if uuid not in uuids:
            problems.append('metrics.%s: unknown instance' % uuid)
            continue
        for metric, value in metrics.items():
            where = 'metrics.%s.%s' % (uuid, metric)
            if metric == 'bitbrains_csv':
                if not (base / str(value)).is_file():
                    problems.append('%s: no such file %s'
                                    % (where, base / str(value)))
            elif metric not in snap.METRICS:
                problems.append('%s: unknown metric (known: %s, '
                                'bitbrains_csv)'
                                % (where, ', '.join(snap.METRICS)))
            elif isinstance(value, list):
                for n, sample in enumerate(value):
                    if not (isinstance(sample, list) and len(sample) == 2):
                        problems.append('%s[%d]: must be [timestamp, value]'
                                        % (where, n))
            elif value is not None and not isinstance(value, (int, float)):
                problems.append('%s: must be a number, a list of '
                                '[timestamp, value] or null' % where)


def _check_groups(data, uuids, problems):
    for n, g in enumerate(data.get('server_groups') or []):
        where = 'server_groups[%d]' % n
        if g.get('policy') not in snap.POLICIES:
            problems.append('%s.policy: must be one of %s'
                            % (where, ', '.join(snap.POLICIES)))
        if not g.get('uuid'):
            problems.append('%s.uuid: required' % where)
        for m in g.get('members', []):
            if m not in uuids:
                problems.append('%s.members: unknown instance %s'
                                % (where, m))


def _locate(text, where):
    """Line of the node at ``where`` (``hosts[0].vcpus``) in ``text``."""
    import re
    try:
        import yaml
        node = yaml.compose(text)
    except Exception:
        return None
    for key, index in re.findall(r'([^.\[\]]+)|\[(\d+)\]', where):
        if node is None:
            return None
        if index:
            items = node.value if isinstance(node.value, list) else []
            node = items[int(index)] if int(index) < len(items) else None
        else:
            pairs = node.value if isinstance(node.value, list) else []
            match = [v for k, v in pairs
                     if getattr(k, 'value', None) == key]
            node = match[0] if match else None
    return node.start_mark.line + 1 if node is not None else None


def _with_lines(problems, text):
    out = []
    for problem in problems:
        where = problem.split(':', 1)[0]
        line = _locate(text, where) if text else None
        out.append('line %d: %s' % (line, problem) if line else problem)
    return out


def validate(data, source='<scenario>', text=None):
    """Raise :class:`ScenarioError` with every problem found."""
    if not isinstance(data, dict):
        raise ScenarioError(source, ['top level: must be a mapping'])
    problems = []
    if data.get('version') != VERSION:
        problems.append('version: must be %d, got %r'
                        % (VERSION, data.get('version')))
    names = _check_hosts(data, problems)
    uuids = _check_instances(data, names, problems)
    _check_metrics(data, uuids, problems, pathlib.Path(source).parent)
    _check_groups(data, uuids, problems)
    for n, m in enumerate(data.get('recent_moves') or []):
        where = 'recent_moves[%d]' % n
        if not isinstance(m, dict) or m.get('uuid') not in uuids:
            problems.append('%s.uuid: unknown instance' % where)
            continue
        if m.get('source') not in names:
            problems.append('%s.source: unknown host %r'
                            % (where, m.get('source')))
        _num(problems, where + '.finished_at', m.get('finished_at'))
    params = data.get('parameters', {})
    if not isinstance(params, dict):
        problems.append('parameters: must be a mapping of audit '
                        'parameters')
    if problems:
        raise ScenarioError(source, _with_lines(problems, text))
    return data


def parse(text, source):
    """Parse JSON or YAML text, reporting the line of a syntax error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        json_error = exc
    try:
        import yaml
    except ImportError:
        raise ScenarioError(source, ['line %d: invalid JSON: %s'
                                     % (json_error.lineno, json_error.msg)])
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        line = mark.line + 1 if mark else '?'
        raise ScenarioError(source, ['line %s: invalid YAML/JSON: %s'
                                     % (line, exc)])


def load(path):
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(str(path), ['cannot read: %s' % exc])
    data = validate(parse(text, str(path)), str(path), text)
    return Scenario(data, str(path))


def demo_path():
    """The embedded demo scenario."""
    return pathlib.Path(__file__).resolve().parents[1] / 'data' / \
        'demo.json'
