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

import dataclasses

from oslo_config import cfg
import pytest

from watcher_informed.conf import strategy
from watcher_informed.core import paramtable as pt

DEPLOY = pt.rows(when=pt.DEPLOY)
TYPES = {'number': cfg.FloatOpt, 'integer': cfg.IntOpt,
         'boolean': cfg.BoolOpt, 'string': cfg.StrOpt}


def test_one_option_per_deploy_row_in_table_order():
    assert [o.name for o in strategy.OPTS] == [r.name for r in DEPLOY]


@pytest.mark.parametrize('row, opt', zip(DEPLOY, strategy.OPTS),
                         ids=[r.name for r in DEPLOY])
def test_option_has_the_row_type_default_and_bounds(row, opt):
    assert type(opt) is TYPES[row.type]
    assert opt.default == row.default
    if row.type in ('number', 'integer'):
        assert opt.type.min == row.minimum
        assert opt.type.max == row.maximum
    if row.choices:
        assert [c for c, _ in opt.type.choices.items()] == \
            [c for c, _ in row.choices]


def _conf(tmp_path, text, opts):
    conf = cfg.ConfigOpts()
    conf.register_opts(opts, group=strategy.GROUP)
    path = tmp_path / 'watcher.conf'
    path.write_text('[%s]\n%s' % (strategy.GROUP, text))
    conf(args=['--config-file', str(path)], project='watcher')
    return getattr(conf, strategy.GROUP)


def test_out_of_range_value_is_refused_by_oslo(tmp_path):
    group = _conf(tmp_path, 'host_disk_io_capacity = 0\n', strategy.OPTS)
    with pytest.raises(ValueError):
        group.host_disk_io_capacity  # noqa: B018 - oslo parses on access


@pytest.mark.parametrize('text, value', [
    ('disk_capacity = 250\n', 250.0),                   # the old name
    ('host_disk_io_capacity = 300\n', 300.0),           # the new name
    ('disk_capacity = 250\nhost_disk_io_capacity = 300\n', 300.0),
    ('', 500.0),
])
def test_a_renamed_option_keeps_reading_its_old_name(tmp_path, text, value):
    row = dataclasses.replace(pt.BY_NAME['host_disk_io_capacity'],
                              deprecated_names=('disk_capacity',))
    group = _conf(tmp_path, text, [strategy._opt(row)])
    assert group.host_disk_io_capacity == value


def test_help_is_nova_style():
    row = pt.BY_NAME['stop_copy_bandwidth']
    text = strategy.help_text(row)
    paragraphs = text.strip().split('\n\n')
    assert paragraphs[0] == row.summary
    assert paragraphs[1] == row.text[1]
    assert paragraphs[2] == 'Possible values:'
    assert paragraphs[3] == '* ' + row.possible[0]
    assert paragraphs[4] == 'Related options:'
    # an audit parameter is said to be one
    assert paragraphs[5] == '* ``migration_bandwidth`` (audit parameter)'
