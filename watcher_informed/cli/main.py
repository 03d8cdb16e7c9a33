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

"""The ``watcher-informed`` command: demo, what-if plans, validation.

``demo`` and ``plan`` load the real ``informed_live_migration`` strategy
and planner through Watcher's own loaders, run the strategy on a scenario
(the embedded demo cluster or a user's file) and print the classification,
the overloaded hosts, the plan in execution order with a reason per step,
and the efficacy indicators.  ``--format json`` prints a stable document
(``"format": "watcher-informed-plan/1"``).  ``validate`` checks a scenario
file and lists every problem with its location.  Exit codes: 0 success,
1 the plan could not be computed, 2 bad input (arguments, scenario file,
audit parameters).  Errors are one message on stderr naming the field,
never a traceback (``--debug`` adds it); what reaches the terminal has
its control characters escaped.
"""

import argparse
import contextlib
import gc
import json
import logging
import sys
import traceback
import warnings

from watcher_informed.cli import scenario as scenario_mod
from watcher_informed.cli import validation

JSON_FORMAT = 'watcher-informed-plan/1'


def audit_parameters(strategy_cls, given):
    """Validate and default audit parameters with Watcher's validator."""
    from watcher_informed import harness
    return harness.audit_parameters(strategy_cls.get_schema(), given)


class Progress:
    """Stage progress on stderr, only when it is a terminal."""

    STAGES = ('loading Watcher', 'planning', 'writing pictures', 'done')

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()

    def stage(self, name):
        if not self.enabled:
            return
        n = self.STAGES.index(name) + 1
        bar = '#' * (n * 20 // len(self.STAGES))
        self.stream.write('\r[%-20s] %-20s' % (bar, name))
        if name == 'done':
            self.stream.write('\n')
        self.stream.flush()


def run(scen, given_params, progress=None):
    """Run strategy + planner DAG on a scenario; returns a result dict."""
    progress = progress or Progress()
    progress.stage('loading Watcher')
    warnings.simplefilter('ignore')
    from watcher_informed import harness
    params = dict(scen.parameters)
    params.update(given_params)
    if scen.communication_groups and 'communication_groups' not in \
            given_params:
        params['communication_groups'] = scen.communication_groups
    cloud = scen.cloud()
    progress.stage('planning')
    strategy, solution, rows = harness.run(cloud, params)
    return {'plan': strategy.informed_plan, 'solution': solution,
            'rows': rows, 'params': dict(strategy.input_parameters)}


@contextlib.contextmanager
def _no_cycle_collection():
    """No cyclic garbage collection while the command plans.

    The scenario, the Watcher model built from it and the plan (millions
    of objects at 100,000 instances) live until the command is done;
    every full collection scanned them again, a quarter of the command's
    CPU at 5,000 hosts x 100,000 instances (``python -m bench.run cli``),
    while the garbage they leave is freed by reference counting (peak
    RSS unchanged).  ``gc.freeze`` does not help: with nothing left in
    the old generation, full collections come more often.  The collector
    is back on afterwards if it was on (``main`` may be called in a longer
    process); the command's own process keeps it off (:mod:`.startup`).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def to_document(result, scen):
    """The stable JSON document of a run."""
    plan = result['plan']
    action_of = {a['input_parameters']['resource_id']: uuid
                 for a, uuid, _ in result['rows']}
    names = {i['uuid']: i.get('name', '') for i in scen.data['instances']}
    # through JSON: enum members (workload classes, dimensions) become
    # plain strings for every output format
    return json.loads(json.dumps({
        'format': JSON_FORMAT,
        'scenario': scen.source,
        'parameters': result['params'],
        'classification': [
            {'uuid': u, 'name': names.get(u, ''), 'class': p.cls,
             'intensity': round(p.intensity, 3),
             'source': p.source, 'evidence': list(p.evidence)}
            for u, p in sorted(plan.profiles.items())],
        'overloaded_hosts': [
            {'host': h.name, 'load': {k: round(v, 4)
                                      for k, v in h.load.items()},
             'excess': {k: round(v, 4) for k, v in h.excess.items()}}
            for h in plan.hot_hosts],
        'still_overloaded': list(plan.still_overloaded),
        'still_overloaded_why': dict(sorted(plan.left.items())),
        'loads_before': _round_loads(plan.loads_before),
        'loads_after': _round_loads(plan.loads_after),
        'not_moved': dict(sorted(plan.not_moved.items())),
        'actions': [
            {'step': m.step, 'action_uuid': action_of[m.uuid],
             'parents': [action_of[p] for p in m.parents],
             'instance': m.uuid, 'name': m.name, 'class': m.cls,
             'source': m.source, 'destination': m.dest, 'lane': m.lane,
             'start_s': round(m.start_s, 3), 'end_s': round(m.end_s, 3),
             'downtime_s': round(m.downtime_s, 4),
             'transferred_mib': round(m.sent_mib, 1),
             'converged': m.converged, 'reason': m.reason}
            for m in plan.moves],
        'efficacy': {i['name']: i['value']
                     for i in result['solution'].efficacy_indicators},
        'global_efficacy': {i['name']: i['value']
                            for i in result['solution'].global_efficacy},
    }))


def _round_loads(loads):
    return {h: {d: round(v, 4) for d, v in load.items()}
            for h, load in sorted(loads.items())}


def _table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = '  '.join('%-*s' % (w, h) for w, h in zip(widths, headers))
    out = [line, '  '.join('-' * w for w in widths)]
    out += ['  '.join('%-*s' % (w, c) for w, c in zip(widths, r))
            for r in rows]
    return '\n'.join(out)


def _cleaned(value):
    """``value`` with every string terminal-safe (see ``clean``)."""
    if isinstance(value, dict):
        return {_cleaned(k): _cleaned(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cleaned(v) for v in value]
    return validation.clean(value) if isinstance(value, str) else value


def print_tables(doc, out):
    doc = _cleaned(doc)
    print('Workload classification', file=out)
    print(_table(['instance', 'class', 'evidence'], [
        (c['name'] or c['uuid'][:8], c['class'],
         '; '.join(c['evidence'][:3])[:90])
        for c in doc['classification']]), file=out)
    print('\nOverloaded hosts', file=out)
    print(_table(['host', 'cpu', 'ram', 'disk_io', 'net', 'must shed'], [
        (h['host'],) + tuple('%.2f' % h['load'][k]
                             for k in ('cpu', 'ram', 'disk_io', 'net')) +
        (', '.join('%s %.2f' % kv for kv in h['excess'].items()),)
        for h in doc['overloaded_hosts']]) or '(none)', file=out)
    print('\nPlan (execution order)', file=out)
    print(_table(['step', 'lane', 'instance', 'class', 'move', 'time s',
                  'downtime ms', 'MiB', 'after'], [
        (a['step'], a['lane'], a['name'], a['class'],
         '%s -> %s' % (a['source'], a['destination']),
         '%.1f' % (a['end_s'] - a['start_s']),
         '%.0f' % (a['downtime_s'] * 1000), '%.0f' % a['transferred_mib'],
         ','.join(str(s['step']) for s in doc['actions']
                  if s['action_uuid'] in a['parents']) or '-')
        for a in doc['actions']]), file=out)
    print('\nWhy', file=out)
    for a in doc['actions']:
        print('  %d. %s: %s' % (a['step'], a['name'], a['reason']),
              file=out)
    if doc['still_overloaded_why']:
        print('\nStill overloaded after the plan', file=out)
        for host, why in doc['still_overloaded_why'].items():
            print('  %s: %s' % (host, why), file=out)
    if doc['not_moved']:
        print('\nNot moved', file=out)
        for uuid, why in doc['not_moved'].items():
            print('  %s: %s' % (uuid, why), file=out)
    print('\nEfficacy', file=out)
    for k, v in list(doc['efficacy'].items()) + list(
            doc['global_efficacy'].items()):
        print('  %-34s %s' % (k, v), file=out)


def _error(message):
    """One message on stderr, control characters escaped."""
    print(validation.clean(message), file=sys.stderr)


def _params_arg(text):
    """``--parameters``: kept as text, checked by :func:`_parameters`."""
    return text


def _parameters(scen, args):
    """The audit parameters given on the command line, checked alone and
    merged over the scenario's; raises ``InputError``."""
    text = args.parameters
    if isinstance(text, dict):
        given = text
    else:
        try:
            given = validation.loads_json(text)
        except (ValueError, RecursionError) as exc:
            raise validation.InputError('--parameters', [
                'not JSON: %s' % getattr(exc, 'msg', type(exc).__name__)])
    if not isinstance(given, dict):
        raise validation.InputError('--parameters', [
            'must be a JSON object, got %s' % validation.show(given)])
    problems = validation.audit_parameter_problems(given)
    if problems:
        raise validation.InputError('--parameters', problems)
    merged = dict(scen.parameters, **given)
    problems = validation.audit_parameter_problems(merged)
    if problems:
        raise validation.InputError(
            'parameters (scenario and --parameters)', problems)
    return given


def _watcher_input_error(exc):
    """A Watcher exception that means bad audit parameters, as a message."""
    import jsonschema
    if isinstance(exc, jsonschema.ValidationError):
        field = '.'.join(str(p) for p in exc.absolute_path) or '(top)'
        return 'invalid audit parameter %s: %s' % (field, exc.message)
    try:
        from watcher.common import exception as wexc
    except ImportError:
        return None
    if isinstance(exc, (wexc.AuditParameterNotAllowed,
                        wexc.InvalidParameter)):
        return 'invalid audit parameter: %s' % exc
    return None


def _plan(scen, args):
    with _no_cycle_collection():
        return _plan_and_print(scen, args)


def _plan_and_print(scen, args):
    given = _parameters(scen, args)
    progress = Progress()
    try:
        result = run(scen, given, progress)
    except Exception as exc:
        message = _watcher_input_error(exc)
        if message is None:
            raise
        _debug(args)
        _error(message)
        return 2
    doc = to_document(result, scen)
    pictures = []
    if args.output_dir:
        progress.stage('writing pictures')
        try:
            from watcher_informed.cli import pictures as pictures_mod
            pictures = [str(p) for p in pictures_mod.write_all(
                doc, args.output_dir)]
        except ImportError as exc:
            _error('pictures skipped (%s); pip install '
                   '"watcher-informed[plots]"' % exc)
    progress.stage('done')
    if args.format == 'json':
        # one write of the whole text (json.dump writes every token)
        sys.stdout.write(json.dumps(doc, indent=1, sort_keys=True))
        print()
    elif args.format == 'yaml':
        import yaml
        yaml.safe_dump(doc, sys.stdout, sort_keys=True)
    else:
        print_tables(doc, sys.stdout)
        if pictures:
            print('\nPictures: %s' % ', '.join(pictures))
    return 0


def cmd_demo(args):
    scen = scenario_mod.load(scenario_mod.demo_path())
    if args.format == 'table':
        print(validation.clean(scen.data.get('description', '')))
        print()
    return _plan(scen, args)


def cmd_plan(args):
    with _no_cycle_collection():
        return _load_and_plan(args)


def _load_and_plan(args):
    from watcher_informed.cli import export
    if args.live:
        try:
            scen = export.plan_live_scenario(args)
        except export.LiveError as exc:
            _error('error: %s' % exc)
            return 2
    else:
        scen = scenario_mod.load(args.scenario, args.allow_outside_paths)
    for note in scen.notes:
        _error('note: %s' % note)
    return _plan(scen, args)


def cmd_validate(args):
    scen = scenario_mod.load(args.file, args.allow_outside_paths)
    for note in scen.notes:
        _error('note: %s' % note)
    print(validation.clean('%s: valid (%d hosts, %d instances)' % (
        args.file, len(scen.data['hosts']),
        len(scen.data.get('instances', [])))))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog='watcher-informed',
        description='What the informed_live_migration Watcher strategy '
                    'would do, before it touches a cloud.')
    sub = parser.add_subparsers(dest='command', required=True)

    def plan_options(p):
        p.add_argument('--format', choices=('table', 'json', 'yaml'),
                       default='table',
                       help='output format; json and yaml follow the '
                            'documented schema %s' % JSON_FORMAT)
        p.add_argument('--output-dir', default=None, metavar='DIR',
                       help='write plan-gantt and host-load pictures '
                            '(PNG and SVG) into DIR')
        p.add_argument('--parameters', type=_params_arg, default={},
                       metavar='JSON',
                       help='audit parameters as a JSON object, e.g. '
                            '\'{"cpu_threshold": 0.7}\'')

    def debug_option(p, default):
        p.add_argument('--debug', action='store_true', default=default,
                       help='show the traceback of an error')

    def paths_option(p):
        p.add_argument('--allow-outside-paths', action='store_true',
                       help='let bitbrains_csv name files outside the '
                            'scenario file\'s folder')
    debug_option(parser, False)
    demo = sub.add_parser('demo', help='plan the embedded example cluster')
    plan_options(demo)
    debug_option(demo, argparse.SUPPRESS)
    demo.set_defaults(output_dir='watcher-informed-demo')
    demo.set_defaults(func=cmd_demo)
    plan = sub.add_parser('plan', help='plan a scenario file')
    source = plan.add_mutually_exclusive_group(required=True)
    source.add_argument('--scenario', help='scenario file')
    source.add_argument('--live', action='store_true',
                        help='the live cloud (clouds.yaml / OS_*), read '
                             'as the audit would; writes nothing')
    plan_options(plan)
    paths_option(plan)
    debug_option(plan, argparse.SUPPRESS)
    from watcher_informed.cli import export
    export.add_cloud_arguments(plan)
    plan.set_defaults(func=cmd_plan)
    export.register(sub, _params_arg)
    val = sub.add_parser('validate', help='check a scenario file')
    val.add_argument('file')
    paths_option(val)
    debug_option(val, argparse.SUPPRESS)
    val.set_defaults(func=cmd_validate)
    return parser


class _CleanFormatter(logging.Formatter):
    """Log lines as the terminal should see them (``validation.clean``)."""

    def format(self, record):
        return validation.clean(super().format(record))


class _StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a line is logged: ``main``
    may be called again in a longer process that has replaced it since
    (a test's capture, closed afterwards)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


_LOGGING = []


def _setup_logging(debug):
    """Warnings (and with ``--debug`` our DEBUG lines) on stderr, once."""
    if not _LOGGING:
        handler = _StderrHandler()
        handler.setFormatter(_CleanFormatter('%(levelname)s %(message)s'))
        logging.getLogger().addHandler(handler)
        _LOGGING.append(handler)
    if debug:
        logging.getLogger('watcher_informed').setLevel(logging.DEBUG)
        _LOGGING[0].setLevel(logging.DEBUG)
    else:
        _LOGGING[0].setLevel(logging.WARNING)


def _debug(args):
    """Print the traceback being handled when ``--debug`` is given."""
    if getattr(args, 'debug', False):
        traceback.print_exc()


def main(argv=None):
    """Run the command; 0 success, 1 failure, 2 bad input.

    Without ``argv`` it is the process's own command line: the process is
    set up for an off-cloud plan first (:mod:`.startup`).  Callers in a
    longer process pass ``argv`` and keep their process as it is.
    """
    if argv is None:
        from watcher_informed.cli import startup
        startup.prepare()
    args = build_parser().parse_args(argv)
    _setup_logging(getattr(args, 'debug', False))
    try:
        return args.func(args)
    except validation.InputError as exc:
        _debug(args)
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        _debug(args)
        _error('interrupted')
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - one message, no traceback
        _debug(args)
        _error('error: %s: %s' % (type(exc).__name__, exc))
        return 1


if __name__ == '__main__':
    sys.exit(main())
