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

"""Deploy-time options of the informed_live_migration strategy.

They are registered by Watcher's loader under
``[watcher_strategies.informed_live_migration]`` (the strategy's
``get_config_opts()`` extends Watcher's own list with :data:`OPTS`).
:data:`OPTS` is generated from the ``deploy`` rows of
:data:`watcher_informed.core.paramtable.TABLE` -- type, default, bounds,
choices and a Nova-style help (summary, details, "Possible values:",
"Related options:").  Audit-time knobs are rows of the same table that
the strategy's parameter schema is generated from; no knob is in both
places.
"""

from oslo_config import cfg

from watcher_informed.core import paramtable

GROUP = 'watcher_strategies.informed_live_migration'

_OPT_TYPES = {'number': cfg.FloatOpt, 'integer': cfg.IntOpt,
              'boolean': cfg.BoolOpt, 'string': cfg.StrOpt}


def help_text(row):
    """Nova-style help of ``row``."""
    parts = list(row.text)
    parts.append('Possible values:\n\n' + '\n'.join(
        '* ' + value for value in row.possible_values()))
    if row.related:
        kinds = {r: paramtable.BY_NAME[r].when for r in row.related}
        parts.append('Related options:\n\n' + '\n'.join(
            '* ``%s``%s' % (r, ' (audit parameter)'
                            if kinds[r] == paramtable.AUDIT else '')
            for r in row.related))
    return '\n' + '\n\n'.join(parts) + '\n'


def _opt(row):
    kwargs = {'default': row.default, 'help': help_text(row)}
    if row.type in ('number', 'integer'):
        kwargs.update(min=row.minimum, max=row.maximum)
    if row.choices:
        kwargs['choices'] = list(row.choices)
    if row.deprecated_names:
        kwargs['deprecated_opts'] = [cfg.DeprecatedOpt(name, group=GROUP)
                                     for name in row.deprecated_names]
    return _OPT_TYPES[row.type](row.name, **kwargs)


OPTS = [_opt(row) for row in paramtable.rows(when=paramtable.DEPLOY)]


def list_opts():
    return [(GROUP, OPTS)]
