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
:class:`ScenarioError` listing every problem with its field path and line
(``line 7: hosts[2].vcpus: must be >= 1, got 0``).  Nothing is half-built:
the checks run before any object is made, in three steps that each stop at
their own problems -- the document itself (finite numbers, bounded size
and depth, :mod:`.validation`), the published JSON Schema
(``watcher_informed/data/scenario.schema.json``: unknown keys refused with
a did-you-mean, strict types, Nova's vocabularies, bounded numbers), then
what a schema cannot express (unique names, every reference known,
reserved at most the total, audit parameters, trace files inside the
scenario's folder and readable).  Nova API status names given as an
instance ``state`` (``ACTIVE``, ``SHUTOFF``) are read as the ``vm_state``
they stand for; ``now`` may be unix seconds or an ISO 8601 time.
:meth:`Scenario.cloud` hands the file to the off-cloud harness
(:mod:`watcher_informed.harness`): a real Watcher ``ModelRoot``, an
in-memory metric store and the Nova, Neutron and Placement calls the
strategy makes (server groups, service zones, aggregates, SR-IOV ports,
traits, PCPUs) answered from the file.
"""

import dataclasses
import datetime
import functools
import gzip
import json
import pathlib
import typing

import numpy as np

from watcher_informed.adapters import bitbrains
from watcher_informed.adapters.metrics import memory
from watcher_informed.cli import validation
from watcher_informed.core import snapshot as snap

VERSION = 1
PROJECT = '00000000-0000-4000-8000-000000000000'

#: Nova API status -> the vm_state it stands for (Nova's and Watcher's
#: instance ``state`` is the lower-case vm_state).
API_STATUS = {'ACTIVE': 'active', 'BUILD': 'building', 'PAUSED': 'paused',
              'SUSPENDED': 'suspended', 'SHUTOFF': 'stopped',
              'RESCUE': 'rescued', 'VERIFY_RESIZE': 'resized',
              'SHELVED': 'shelved', 'SHELVED_OFFLOADED': 'shelved_offloaded',
              'SOFT_DELETED': 'soft-delete', 'DELETED': 'deleted',
              'ERROR': 'error'}


class ScenarioError(validation.InputError):
    """A scenario file that cannot be used; ``problems`` name the fields."""


def schema():
    """The published JSON Schema of scenario files."""
    return json.loads(schema_path().read_text())


@functools.lru_cache(maxsize=1)
def _schema():
    return schema()


#: Scenarios with more hosts and instances than this are checked with the
#: compiled schema first (compiling costs about 0.4 s).
FAST_ABOVE = 2000


@functools.lru_cache(maxsize=1)
def _fast_schema():
    return validation.compiled(_schema())


def schema_path():
    return pathlib.Path(__file__).resolve().parents[1] / 'data' / \
        'scenario.schema.json'


@dataclasses.dataclass(frozen=True)
class Scenario:
    data: typing.Mapping
    source: str
    #: ``{uuid: {metric: [(t, value)]}}`` read from ``bitbrains_csv`` files.
    traces: typing.Mapping = dataclasses.field(default_factory=dict)
    #: how the file was read where it could be read two ways.
    notes: typing.Tuple[str, ...] = ()

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
            enabled=h.get('status', 'enabled') == 'enabled',
            traits=frozenset(h.get('traits', ())),
            pcpus=(float(h['pcpus']) if h.get('pcpus') is not None
                   else None))
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
            pinned_az=i.get('pinned_az') or None,
            extra_specs=dict(i.get('extra_specs', {})),
            project_id=i.get('project_id', PROJECT),
            vnic_types=tuple(i.get('vnic_types', ())))
            for i in self.data['instances'])

    def aggregates(self):
        """The scenario's Nova host aggregates as core values."""
        return tuple(snap.Aggregate(
            name=a['name'], hosts=tuple(a['hosts']),
            metadata=dict(a.get('metadata', {})), uuid=a.get('uuid', ''))
            for a in self.data.get('aggregates', []))

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
        for uuid, metrics in self.data.get('metrics', {}).items():
            trace = self.traces.get(uuid, {})
            for metric, samples in _instance_series(metrics, trace).items():
                series.setdefault(metric, {})[uuid] = samples
        now = max([t for per in series.values() for s in per.values()
                   for t, _ in s] or [0.0])
        return memory.InMemoryMetrics(series, now)

    @property
    def parameters(self):
        """Audit parameters the scenario sets (e.g. its bandwidth).

        A host's ``network_capacity`` (MiB/s) becomes its entry of the
        audit's ``host_network_capacities``.
        """
        params = dict(self.data.get('parameters', {}))
        nics = {h['name']: h['network_capacity']
                for h in self.data['hosts'] if 'network_capacity' in h}
        if nics:
            params['host_network_capacities'] = dict(
                params.get('host_network_capacities') or {}, **nics)
        return params

    def nova(self):
        """Answers the Nova, Neutron and Placement calls of an audit."""
        from watcher_informed import harness
        hosts = self.hosts()
        return harness.StaticNova(
            [{'id': g['uuid'], 'name': g.get('name', ''),
              'policy': g['policy'], 'member_ids': list(g['members'])}
             for g in self.data.get('server_groups', [])],
            {h['name']: h.get('az') for h in self.data['hosts']},
            aggregates=self.aggregates(),
            traits={h.name: h.traits for h in hosts},
            pcpus={h.name: h.pcpus for h in hosts if h.pcpus is not None},
            servers=self.instances())

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
        return None if value is None else _epoch(value)

    @property
    def communication_groups(self):
        return [list(g) for g in self.data.get('communication_groups', [])]


class TraceError(ValueError):
    """A trace file that cannot be read; never quotes the file's text."""


def read_bitbrains(path):
    """``{metric: [(t, value)]}`` of a Bitbrains trace file (.csv[.gz]),
    read by :mod:`watcher_informed.adapters.bitbrains`.

    Raises :class:`TraceError` naming the line or row and column of a bad
    row, never its content (the path given may be any file), nor the
    resolved path.
    """
    import zlib
    try:
        rows = bitbrains.read_trace(path)
    except bitbrains.TraceError as exc:
        raise TraceError(str(exc).replace('%s: ' % path, '', 1)) from None
    except UnicodeDecodeError:
        raise TraceError('not a text trace file') from None
    except (OSError, EOFError, zlib.error) as exc:
        why = getattr(exc, 'strerror', None) or type(exc).__name__
        if isinstance(exc, gzip.BadGzipFile):
            why = 'not a gzip file'
        raise TraceError('cannot read: %s' % why) from None
    bad = np.argwhere(~np.isfinite(rows))
    if len(bad):
        row, col = (int(x) for x in bad[0])
        raise TraceError('row %d, %s: not a finite number'
                         % (row + 1, bitbrains.COLUMNS[col]))
    return bitbrains.core_series(rows)


def _instance_series(metrics, trace):
    series = dict(trace)
    for metric, value in metrics.items():
        if metric == 'bitbrains_csv' or value is None:
            continue                    # null: missing, no samples
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


def _epoch(value):
    """Unix seconds of ``now``: a number, or an ISO 8601 time (UTC when it
    has no offset).  Raises ``ValueError``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if text.endswith(('Z', 'z')):
        text = text[:-1] + '+00:00'
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


class _Checks:
    """What the schema cannot say; appends ``path: message`` problems."""

    def __init__(self, data, base, allow_outside):
        self.data = data
        self.base = base
        self.allow_outside = allow_outside
        self.problems = []
        self.traces = {}
        self.notes = []

    def add(self, path, message):
        self.problems.append('%s: %s' % (validation.path_str(path),
                                         message))

    def run(self):
        names = self.hosts()
        uuids = self.instances(names)
        self.metrics(uuids)
        self.groups(uuids)
        self.aggregates(names)
        self.moves(uuids, names)
        self.now()
        self.problems += validation.audit_parameter_problems(
            self.data.get('parameters', {}), ('parameters',))
        return self.problems

    def hosts(self):
        names = set()
        for n, h in enumerate(self.data['hosts']):
            if h['name'] in names:
                self.add(('hosts', n, 'name'), 'duplicate host %s'
                         % validation.show(h['name']))
            names.add(h['name'])
            for key, total in (('vcpu_reserved', 'vcpus'),
                               ('ram_reserved_mb', 'ram_mb'),
                               ('disk_reserved_gb', 'disk_gb')):
                if h.get(key, 0) > h[total]:
                    self.add(('hosts', n, key), 'must be at most %s (%s), '
                             'got %s' % (total, h[total], h[key]))
        return names

    def instances(self, names):
        uuids = set()
        self.statuses = []
        for n, i in enumerate(self.data.get('instances', [])):
            if i['uuid'] in uuids:
                self.add(('instances', n, 'uuid'), 'duplicate instance %s'
                         % i['uuid'])
            uuids.add(i['uuid'])
            if i['host'] not in names:
                self.add(('instances', n, 'host'), 'unknown host %s%s' % (
                    validation.show(i['host']),
                    validation._did_you_mean(i['host'], names)))
            if i.get('state') in API_STATUS:
                self.statuses.append(i['state'])
                i['state'] = API_STATUS[i['state']]
        if self.statuses:
            self.notes.append(
                '%d instance state(s) given as Nova API statuses were read '
                'as the vm_state they stand for (%s)' % (
                    len(self.statuses), ', '.join(
                        '%s -> %s' % (s, API_STATUS[s])
                        for s in sorted(set(self.statuses)))))
        return uuids

    def metrics(self, uuids):
        resolved_base = self.base.resolve()
        for uuid, metrics in self.data.get('metrics', {}).items():
            if uuid not in uuids:
                self.add(('metrics', uuid), 'unknown instance')
                continue
            if 'bitbrains_csv' in metrics:
                self.trace(uuid, metrics['bitbrains_csv'], resolved_base)

    def trace(self, uuid, name, base):
        where = ('metrics', uuid, 'bitbrains_csv')
        try:
            path = (base / name).resolve()
        except (OSError, RuntimeError, ValueError):
            self.add(where, 'cannot resolve %s' % validation.show(name))
            return
        if not self.allow_outside and not path.is_relative_to(base):
            self.add(where, '%s is outside the scenario\'s folder (allow '
                     'it with --allow-outside-paths)'
                     % validation.show(name))
            return
        if not path.is_file():
            self.add(where, 'no such file %s' % validation.show(name))
            return
        try:
            self.traces[uuid] = read_bitbrains(path)
        except TraceError as exc:
            self.add(where, '%s: %s' % (validation.show(name), exc))

    def groups(self, uuids):
        group_of = {}
        for n, g in enumerate(self.data.get('server_groups', [])):
            for m, member in enumerate(g['members']):
                where = ('server_groups', n, 'members', m)
                if member not in uuids:
                    self.add(where, 'unknown instance %s' % member)
                elif member in group_of:
                    self.add(where, 'instance %s is already in server '
                             'group %s (Nova allows one group per '
                             'instance)' % (member, group_of[member]))
                group_of.setdefault(member, g['uuid'])
        for n, g in enumerate(self.data.get('communication_groups', [])):
            for m, member in enumerate(g):
                if member not in uuids:
                    self.add(('communication_groups', n, m),
                             'unknown instance %s' % member)

    def aggregates(self, names):
        for n, agg in enumerate(self.data.get('aggregates', [])):
            for k, host in enumerate(agg['hosts']):
                if host not in names:
                    self.add(('aggregates', n, 'hosts', k),
                             'unknown host %s%s' % (
                                 validation.show(host),
                                 validation._did_you_mean(host, names)))

    def moves(self, uuids, names):
        for n, m in enumerate(self.data.get('recent_moves', [])):
            if m['uuid'] not in uuids:
                self.add(('recent_moves', n, 'uuid'), 'unknown instance %s'
                         % m['uuid'])
            for key in ('source', 'dest'):
                if m.get(key) and m[key] not in names:
                    self.add(('recent_moves', n, key), 'unknown host %s'
                             % validation.show(m[key]))

    def now(self):
        if self.data.get('now') is None:
            return
        value = self.data['now']
        try:
            now = _epoch(value)
        except (ValueError, OverflowError):
            self.add(('now',), 'must be unix seconds or an ISO 8601 time '
                     '(2026-12-04T10:00:00Z), got %s'
                     % validation.show(value))
            return
        if not 0 <= now <= 1e11:
            self.add(('now',), 'must be between 1970 and year 5000, got %s'
                     % validation.show(value))
            return
        self.data['now'] = now


def _locator(text):
    """``where -> line`` for field paths in ``text`` (None if unknown)."""
    import re
    try:
        import yaml
        root = yaml.compose(text) if text else None
    except Exception:  # noqa: BLE001 - no line numbers then
        root = None

    def locate(where):
        node = root
        for key, index in re.findall(r'([^.\[\]]+)|\[(\d+)\]', where):
            if node is None:
                return None
            items = node.value if isinstance(node.value, list) else []
            if index:
                node = items[int(index)] if int(index) < len(items) \
                    else None
            else:
                match = [v for k, v in items
                         if getattr(k, 'value', None) == key]
                node = match[0] if match else None
        return node.start_mark.line + 1 if node is not None else None
    return locate


def _with_lines(problems, text):
    if not text or text.count('\n') < 2:       # one line: no help
        return problems
    locate = _locator(text)
    out = []
    for problem in problems:
        line = locate(problem.split(':', 1)[0])
        out.append('line %d: %s' % (line, problem) if line else problem)
    return out


def check(data, source='<scenario>', text=None, allow_outside=False):
    """``(data, traces, notes)`` of a valid scenario, else
    :class:`ScenarioError`.

    ``data`` is normalised in place (instance states as vm_states, ``now``
    as unix seconds).  ``bitbrains_csv`` files are read here, relative to
    ``source``'s folder, and must stay inside it unless ``allow_outside``.
    """
    if not isinstance(data, dict):
        raise ScenarioError(source, ['top level: must be a mapping, got %s'
                                     % validation.show(data)])
    problems = validation.plain_problems(data)
    if not problems:
        size = sum(len(data.get(k)) for k in ('hosts', 'instances')
                   if isinstance(data.get(k), (list, dict)))
        problems = validation.schema_problems(
            data, _schema(), fast=_fast_schema() if size > FAST_ABOVE
            else None)
    if problems:
        raise ScenarioError(source, _with_lines(problems, text))
    data.setdefault('instances', [])
    checks = _Checks(data, pathlib.Path(source).parent, allow_outside)
    problems = checks.run()
    if problems:
        raise ScenarioError(source, _with_lines(problems, text))
    return data, checks.traces, tuple(checks.notes)


def validate(data, source='<scenario>', text=None, allow_outside=False):
    """Raise :class:`ScenarioError` with every problem found."""
    return check(data, source, text, allow_outside)[0]


def parse(text, source):
    """Parse JSON or YAML text, reporting the line of a syntax error."""
    try:
        return validation.parse(text, source)
    except validation.InputError as exc:
        raise ScenarioError(source, exc.problems) from None


def load(path, allow_outside=False):
    """The :class:`Scenario` of the file at ``path``."""
    path = pathlib.Path(path)
    source = str(path)
    try:
        if path.stat().st_size > validation.MAX_BYTES:
            raise ScenarioError(source, ['file: larger than %d MiB' % (
                validation.MAX_BYTES // 2 ** 20)])
        text = path.read_text(encoding='utf-8')
    except UnicodeDecodeError:
        raise ScenarioError(source, ['file: not UTF-8 text']) from None
    except OSError as exc:
        raise ScenarioError(source, ['cannot read: %s' % (
            exc.strerror or type(exc).__name__)]) from None
    data, traces, notes = check(parse(text, source), source, text,
                                allow_outside)
    return Scenario(data, source, traces, notes)


def demo_path():
    """The embedded demo scenario."""
    return pathlib.Path(__file__).resolve().parents[1] / 'data' / \
        'demo.json'
