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

"""The live cloud as a scenario: ``export`` and ``plan --live``.

Contract: :func:`export_live` reads a live cloud through an openstacksdk
connection (Nova, Placement), its metric store through the strategy's
bulk reader (:func:`make_reader`) and, when the cloud has Watcher, the
migrations Watcher executed recently (:func:`watcher_actions`), and
returns a version-1 scenario (``adapters.live``); nothing is written to
any service.  :func:`plan_live` plans that scenario through the one
off-cloud harness (``cli.main.run``: Watcher's loaders, the real strategy
and planner), so a what-if on the live cloud and ``plan --scenario`` on
its export are the same computation.  Both the ``watcher-informed``
command (``export``, ``plan --live``) and the OpenStack client plugin
(``openstack optimize informed ...``) use these functions.  Errors an
operator can fix raise :class:`LiveError` (exit 2).
"""

import json
import logging
import os
import sys
import time

from watcher_informed.adapters import live
from watcher_informed.adapters import parameters as parameters_mod
from watcher_informed.adapters.metrics import base as metrics_base
from watcher_informed.adapters.metrics import memory
from watcher_informed.adapters.metrics import prometheus
from watcher_informed.core import params as params_mod

LOG = logging.getLogger(__name__)

STORES = ('prometheus', 'gnocchi', 'none')
WATCHER_API = 'infra-optim 1.5'


class LiveError(Exception):
    """A problem the operator can fix (bad option, unreachable store)."""


class _Options:
    def __init__(self, values):
        self.__dict__.update(values)


def option_defaults():
    """The strategy's deploy-time options at their defaults."""
    return parameters_mod.options(_Options({}))


def add_store_arguments(parser):
    """Metric-store options shared by the console and the OSC plugin."""
    defaults = option_defaults()
    parser.add_argument(
        '--metrics-store', choices=STORES,
        default=os.environ.get('WI_METRICS_STORE', 'prometheus'),
        help='metric store the strategy reads (default: prometheus; env '
             'WI_METRICS_STORE); "none" plans without metrics')
    parser.add_argument(
        '--prometheus-url', metavar='<url>',
        default=os.environ.get('WI_PROMETHEUS_URL',
                               'http://127.0.0.1:9090'),
        help='Prometheus base URL, as in Watcher\'s [prometheus_client] '
             '(default: http://127.0.0.1:9090; env WI_PROMETHEUS_URL)')
    parser.add_argument(
        '--uuid-label', default='resource', metavar='<label>',
        help='Prometheus label holding the instance UUID (Watcher\'s '
             '[prometheus_client] instance_uuid_label; default resource)')
    parser.add_argument(
        '--dirty-rate-meter', metavar='<meter>',
        default=defaults.get('dirty_rate_meter') or None,
        help='dirty-rate meter (the strategy option dirty_rate_meter)')
    parser.add_argument(
        '--working-set-meter', metavar='<meter>',
        default=defaults.get('working_set_meter') or None,
        help='working-set meter (the strategy option working_set_meter)')


def make_reader(args, session=None):
    """The strategy's bulk reader for the chosen store."""
    if args.metrics_store == 'prometheus':
        return prometheus.PrometheusMetrics(
            args.prometheus_url, uuid_label=args.uuid_label,
            dirty_rate_meter=args.dirty_rate_meter,
            working_set_meter=args.working_set_meter)
    if args.metrics_store == 'gnocchi':
        try:
            from gnocchiclient import client as gnocchi_client
        except ImportError:
            raise LiveError('--metrics-store gnocchi needs gnocchiclient '
                            '(pip install gnocchiclient)')
        from watcher_informed.adapters.metrics import gnocchi
        return gnocchi.GnocchiMetrics(
            gnocchi_client.Client('1', session=session),
            dirty_rate_meter=args.dirty_rate_meter,
            working_set_meter=args.working_set_meter)
    return memory.InMemoryMetrics({}, 0.0)


def watcher_actions(session, interface='public', region=None):
    """Watcher's actions (API dicts), or ``None`` if there is no Watcher."""
    endpoint = {'service_type': 'infra-optim', 'interface': interface}
    if region:
        endpoint['region_name'] = region
    actions = []
    path = '/v1/actions/detail?limit=1000'
    try:
        while path:
            resp = session.get(path, endpoint_filter=endpoint,
                               headers={'OpenStack-API-Version':
                                        WATCHER_API},
                               raise_exc=False)
            if resp.status_code != 200:
                LOG.warning('Watcher API: %s %s', resp.status_code,
                            resp.text[:200])
                return None
            body = resp.json()
            actions += body.get('actions', [])
            nxt = body.get('next')
            path = nxt[nxt.index('/v1/'):] if nxt and '/v1/' in nxt \
                else None
    except Exception as exc:  # noqa: BLE001 - no Watcher endpoint
        LOG.warning('no Watcher API (%s): recent migrations not read', exc)
        return None
    return actions


def export_live(conn, reader, given_params, actions=None, now=None,
                options=None):
    """The live cloud as a version-1 scenario dict."""
    now = time.time() if now is None else float(now)
    try:
        settings = parameters_mod.read(given_params,
                                       _Options(options or {}))
    except params_mod.ParamError as exc:
        raise LiveError('invalid audit parameter %s' % exc)
    window = settings.window
    hosts, instances, groups = live.read_cluster(conn)
    try:
        metrics = live.read_metrics(reader, instances, window)
    except metrics_base.MetricsUnavailable as exc:
        raise LiveError(str(exc))
    moves = live.recent_moves(actions or (), now,
                              float(settings.params.history_window))
    description = ('export of a live cloud at %s: %d hosts, %d instances, '
                   'metrics of the last %d s at %d s steps from %s' % (
                       time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                     time.gmtime(now)),
                       len(hosts), len(instances), window.period_s,
                       window.granularity_s, reader.name))
    return live.scenario(hosts, instances, groups, metrics, given_params,
                         round(now, 3), moves, description)


def load_scenario(data, source):
    """A :class:`Scenario` of an exported dict (checked like a file)."""
    from watcher_informed.cli import scenario as scenario_mod
    data, traces, notes = scenario_mod.check(data, source)
    return scenario_mod.Scenario(data, source, traces, notes)


def validate_parameters(given):
    """Check audit parameters with the strategy's schema (Watcher's
    validator, as the API does); raises its error naming the field."""
    import warnings
    warnings.simplefilter('ignore')    # Watcher's import-time warnings
    from watcher_informed import harness
    harness.ensure_watcher()
    from watcher_informed.strategies import informed_live_migration as s
    return harness.audit_parameters(s.InformedLiveMigration.get_schema(),
                                    dict(given))


def plan_live(data, source='<live cloud>'):
    """Plan an exported scenario with the real strategy and planner.

    Returns the stable ``watcher-informed-plan/1`` document.  Raises
    ``jsonschema.ValidationError`` for bad audit parameters.
    """
    from watcher_informed.cli import main
    scen = load_scenario(data, source)
    result = main.run(scen, {})
    return main.to_document(result, scen)


def write(data, path, stream=None):
    """Write a scenario as JSON to ``path`` ('-': ``stream``)."""
    text = json.dumps(data, indent=1, sort_keys=True) + '\n'
    if path == '-':
        (stream or sys.stdout).write(text)
    else:
        with open(path, 'w') as f:
            f.write(text)


# -- the watcher-informed command ------------------------------------------

def add_cloud_arguments(parser):
    parser.add_argument(
        '--os-cloud', default=os.environ.get('OS_CLOUD'), metavar='<name>',
        help='cloud of clouds.yaml (env OS_CLOUD; otherwise the OS_* '
             'environment variables)')
    add_store_arguments(parser)


def connect(args):
    """An openstacksdk connection (clouds.yaml or OS_* variables)."""
    import openstack
    try:
        return openstack.connect(cloud=args.os_cloud)
    except Exception as exc:  # noqa: BLE001 - name the problem
        raise LiveError('cannot connect to the cloud: %s' % exc)


def json_object(value, option='--parameters'):
    """``value`` (JSON text or a dict) as a dict, or :class:`LiveError`."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise LiveError('%s: not JSON: %s' % (option, exc))
    if not isinstance(value, dict):
        raise LiveError('%s: must be a JSON object' % option)
    return value


def given_parameters(args):
    """``--parameters`` as a dict (the option is JSON text or a dict)."""
    return json_object(args.parameters)


def _live_scenario(args):
    given = given_parameters(args)
    conn = connect(args)
    reader = make_reader(args, conn.session)
    actions = watcher_actions(conn.session)
    return export_live(conn, reader, given, actions)


def cmd_export(args):
    try:
        data = _live_scenario(args)
    except LiveError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    if args.anonymize:
        data = live.anonymize(data)
    write(data, args.output)
    if args.output != '-':
        print('%s: %d hosts, %d instances' % (
            args.output, len(data['hosts']), len(data['instances'])),
            file=sys.stderr)
    return 0


def plan_live_scenario(args):
    """``plan --live``: the live cloud as an in-memory scenario."""
    return load_scenario(_live_scenario(args), '<live cloud>')


def register(sub, params_type):
    """Add ``export`` to the ``watcher-informed`` sub-commands."""
    exp = sub.add_parser(
        'export', help='write the live cloud and its metric window to a '
                       'scenario file')
    exp.add_argument('--output', '-o', default='-', metavar='FILE',
                     help='scenario file to write (default: stdout)')
    exp.add_argument('--anonymize', action='store_true',
                     help='replace names and ids consistently')
    exp.add_argument('--parameters', type=params_type, default={},
                     metavar='JSON',
                     help='audit parameters (period and granularity set '
                          'the metric window)')
    add_cloud_arguments(exp)
    exp.set_defaults(func=cmd_export)
