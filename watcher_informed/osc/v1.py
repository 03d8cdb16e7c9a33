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

"""``openstack optimize informed plan | export | explain``.

Contract: cliff/osc-lib commands on the OpenStack client's keystoneauth
session (``--os-cloud``, clouds.yaml, ``OS_*``), formatted by cliff
(``-f table|json|yaml|csv|value``):

* ``plan`` -- a read-only what-if on the live cloud: Nova, Placement and
  the metric store read as the audit would (``cli.export.export_live``),
  planned by the real strategy and planner (``cli.export.plan_live``,
  which needs python-watcher); one row per move with its reason, then the
  predicted efficacy (``--efficacy`` lists only the indicators).  Audit
  parameters (``-p name=value``) are validated with the strategy's schema.
  Nothing is written to Watcher or Nova.
* ``export`` -- the same read written to a scenario file (``--anonymize``
  replaces names and ids consistently) for ``watcher-informed plan
  --scenario``.
* ``explain <action plan>`` -- each action of an action plan made by
  ``informed_live_migration``: class, reason and predicted time, downtime
  and data, read from Watcher's API (``adapters.solution``): the action's
  input ``explanation`` when it has one (``informed_migrate``, the whole
  reason), else its ``status_message`` (API 1.5, written by our planner,
  compact); the last column says which.  Then the predicted efficacy and
  the hosts the plan leaves overloaded with their reasons (the action
  plan's ``status_message``).

Bad input (a parameter the schema refuses, an unknown action plan, an
unreachable store) is a one-line error naming the field, exit status 2.
"""

import json
import logging

from osc_lib.command import command

from watcher_informed.adapters import live
from watcher_informed.adapters import solution as solution_adapter
from watcher_informed.cli import export

LOG = logging.getLogger(__name__)

STRATEGY = 'informed_live_migration'
MOVE_COLUMNS = ('Step', 'Instance', 'Class', 'Source',
                'Destination', 'Time (s)', 'Downtime (ms)',
                'Transferred (MiB)', 'After', 'Reason')


class InputError(Exception):
    pass


def parse_parameters(pairs, text=None):
    """``-p name=value`` pairs (values as JSON when they parse) + JSON."""
    params = {}
    if text:
        try:
            params = export.json_object(text)
        except export.LiveError as exc:
            raise InputError(str(exc))
    for pair in pairs or ():
        name, sep, value = pair.partition('=')
        if not sep or not name:
            raise InputError('-p %s: expected name=value' % pair)
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    return params


def _connection(manager):
    conn = getattr(manager, 'sdk_connection', None)
    if conn is None:
        import openstack
        conn = openstack.connection.Connection(
            session=manager.session,
            region_name=getattr(manager, 'region_name', None),
            interface=getattr(manager, 'interface', None))
    return conn


def _endpoint(manager):
    endpoint = {'service_type': 'infra-optim',
                'interface': getattr(manager, 'interface', None) or
                'public'}
    region = getattr(manager, 'region_name', None)
    if region:
        endpoint['region_name'] = region
    return endpoint


class _Base(command.Command):

    def fail(self, message):
        self.app.stderr.write('error: %s\n' % message)
        raise SystemExit(2)

    def add_read_arguments(self, parser):
        parser.add_argument(
            '-p', '--parameter', dest='parameter_pairs', action='append',
            default=[], metavar='<name=value>',
            help='audit parameter of informed_live_migration (repeat; '
                 'values are JSON, e.g. -p cpu_threshold=0.7)')
        parser.add_argument(
            '--parameters', dest='parameters_json', metavar='<json>',
            help='audit parameters as one JSON object')
        export.add_store_arguments(parser)

    def read_live(self, parsed_args):
        try:
            params = parse_parameters(parsed_args.parameter_pairs,
                                      parsed_args.parameters_json)
        except InputError as exc:
            self.fail(str(exc))
        manager = self.app.client_manager
        conn = _connection(manager)
        try:
            reader = export.make_reader(parsed_args, manager.session)
            actions = export.watcher_actions(
                manager.session, _endpoint(manager)['interface'],
                _endpoint(manager).get('region_name'))
            return export.export_live(conn, reader, params, actions)
        except export.LiveError as exc:
            self.fail(str(exc))


class PlanInformed(_Base, command.Lister):
    """What informed_live_migration would do now (reads only)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        self.add_read_arguments(parser)
        parser.add_argument(
            '--efficacy', action='store_true',
            help='list the predicted efficacy indicators instead of moves')
        parser.add_argument(
            '--output-document', metavar='<file>',
            help='also write the whole plan document (classification, '
                 'loads, moves, efficacy; watcher-informed-plan/1 JSON)')
        return parser

    def take_action(self, parsed_args):
        import jsonschema
        try:
            export.validate_parameters(parse_parameters(
                parsed_args.parameter_pairs, parsed_args.parameters_json))
        except InputError as exc:
            self.fail(str(exc))
        except jsonschema.ValidationError as exc:
            field = '.'.join(str(p) for p in exc.absolute_path) or \
                '(parameters)'
            self.fail('invalid audit parameter %s: %s' % (field,
                                                          exc.message))
        except ImportError as exc:
            self.fail('planning needs python-watcher (pip install '
                      '"watcher-informed[watcher]"): %s' % exc)
        except Exception as exc:
            # Watcher's validator refuses unknown keys with its own error
            if type(exc).__name__ != 'AuditParameterNotAllowed':
                raise
            self.fail('invalid audit parameters: %s' % exc)
        doc = export.plan_live(self.read_live(parsed_args))
        if parsed_args.output_document:
            with open(parsed_args.output_document, 'w') as f:
                json.dump(doc, f, indent=1, sort_keys=True)
        self.efficacy = dict(doc['efficacy'], **doc['global_efficacy'])
        if parsed_args.efficacy:
            return ('Indicator', 'Value'), sorted(self.efficacy.items())
        return MOVE_COLUMNS, plan_rows(doc)

    def produce_output(self, parsed_args, column_names, data):
        status = super().produce_output(parsed_args, column_names, data)
        if parsed_args.formatter == 'table' and not parsed_args.efficacy:
            self.app.stdout.write('Predicted efficacy: %s\n' % ', '.join(
                '%s %s' % kv for kv in sorted(self.efficacy.items())))
        return status


def plan_rows(doc):
    """Table rows of a plan document's moves, in execution order."""
    step_of = {a['action_uuid']: a['step'] for a in doc['actions']}
    return [(a['step'], a['name'] or a['instance'],
             a['class'], a['source'], a['destination'],
             round(a['end_s'] - a['start_s'], 1),
             round(a['downtime_s'] * 1000.0), round(a['transferred_mib']),
             ','.join(str(step_of[p]) for p in a['parents']) or '-',
             a['reason'])
            for a in doc['actions']]


class ExportInformed(_Base):
    """Write the live cluster and its metric window to a scenario file."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('output', metavar='<file>',
                            help="scenario file to write ('-': stdout)")
        parser.add_argument('--anonymize', action='store_true',
                            help='replace names and ids consistently')
        self.add_read_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        data = self.read_live(parsed_args)
        if parsed_args.anonymize:
            data = live.anonymize(data)
        export.write(data, parsed_args.output, self.app.stdout)
        if parsed_args.output != '-':
            self.app.stderr.write('%s: %d hosts, %d instances\n' % (
                parsed_args.output, len(data['hosts']),
                len(data['instances'])))
        return 0


class ExplainInformed(_Base, command.Lister):
    """Why each action of an informed action plan: class, reason, cost."""

    COLUMNS = ('Step', 'Action', 'Instance', 'Class', 'Source',
               'Destination', 'State', 'Time (s)', 'Downtime (ms)',
               'Transferred (MiB)', 'After', 'Reason', 'Reason from')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('action_plan', metavar='<action-plan>',
                            help='UUID of the action plan')
        return parser

    def _get(self, path):
        manager = self.app.client_manager
        resp = manager.session.get(
            path, endpoint_filter=_endpoint(manager), raise_exc=False,
            headers={'OpenStack-API-Version': export.WATCHER_API})
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            self.fail('Watcher API %s: HTTP %s %s' % (
                path, resp.status_code, resp.text[:200]))
        return resp.json()

    def take_action(self, parsed_args):
        uuid = parsed_args.action_plan
        plan = self._get('/v1/action_plans/%s' % uuid)
        if plan is None:
            self.fail('action plan %s: not found' % uuid)
        if plan.get('strategy_name') != STRATEGY:
            self.fail('action plan %s: made by strategy %s, not %s' % (
                uuid, plan.get('strategy_name'), STRATEGY))
        body = self._get('/v1/actions/detail?action_plan_uuid=%s'
                         '&limit=1000' % uuid) or {}
        rows = explain_rows(body.get('actions', []))
        self.efficacy = {i['name']: i['value'] for i in
                         plan.get('efficacy_indicators') or ()}
        message = plan.get('status_message') or ''
        self.left = message[len(solution_adapter.PLAN_PREFIX):] \
            if message.startswith(solution_adapter.PLAN_PREFIX) else ''
        return self.COLUMNS, rows

    def produce_output(self, parsed_args, column_names, data):
        status = super().produce_output(parsed_args, column_names, data)
        if parsed_args.formatter == 'table' and self.efficacy:
            self.app.stdout.write('Predicted efficacy: %s\n' % ', '.join(
                '%s %s' % kv for kv in sorted(self.efficacy.items())))
        if parsed_args.formatter == 'table' and self.left:
            self.app.stdout.write('Overloaded hosts: %s\n' % self.left)
        return status


#: the values of explain's last column: where the reason was read.
FROM_INPUT = 'input'
FROM_STATUS = 'status message'


def explained(action):
    """``(facts, from)`` of one Watcher API action.

    The facts (:func:`~watcher_informed.adapters.solution.
    parse_status_message`) of the action's input ``explanation`` when it
    has one of ours (:data:`FROM_INPUT`), else of its ``status_message``
    (:data:`FROM_STATUS`; ``None`` when that is not ours either).  When
    the explanation is used and the applier replaced the status message
    (a failed, skipped or cancelled action), the reason ends with that
    message.
    """
    params = action.get('input_parameters') or {}
    message = action.get('status_message')
    mine = solution_adapter.parse_status_message(message)
    facts = solution_adapter.parse_status_message(
        params.get(solution_adapter.EXPLANATION))
    if facts is None:
        return mine, FROM_STATUS
    if message and mine is None:
        facts['reason'] += ' (status message: %s)' % message
    return facts, FROM_INPUT


def explain_rows(actions):
    """Rows of Watcher API actions, in the plan's step order.

    Each action's facts and reason come from :func:`explained`.  An
    action with neither an explanation nor a ``status_message`` of our
    planner's (the applier replaced it on failure, skip or cancel) keeps
    its facts blank and shows that message as its reason.
    """
    facts = {a['uuid']: explained(a) for a in actions}
    step_of = {u: f['step'] for u, (f, _) in facts.items() if f}

    def key(action):
        return (step_of.get(action['uuid'], 10 ** 9), action['uuid'])

    rows = []
    for a in sorted(actions, key=key):
        f, source = facts[a['uuid']]
        params = a.get('input_parameters') or {}
        after = ','.join(str(step_of.get(p, p[:8]))
                         for p in a.get('parents') or ()) or '-'
        if f is None:
            rows.append((
                '-', a['uuid'], params.get('resource_name') or
                params.get('resource_id'), '-', params.get('source_node'),
                params.get('destination_node'), a.get('state'), '-', '-',
                '-', after, 'not recorded by informed_live_migration: %s'
                % (a.get('status_message') or '(no status message)'),
                source))
            continue
        rows.append((
            f['step'], a['uuid'], params.get('resource_name') or
            params.get('resource_id'), f['class'],
            params.get('source_node'), params.get('destination_node'),
            a.get('state'), f['time_s'], round(f['downtime_s'] * 1000.0),
            round(f['transferred_mib']), after, f['reason'], source))
    return rows
