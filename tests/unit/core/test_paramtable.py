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
import pathlib

import pytest

from watcher_informed.core import params
from watcher_informed.core import paramtable as pt

ROWS = pt.TABLE
HTML_SIGNIFICANT = ('<', '>', '&')


def ids(row):
    return row.name


def test_names_are_unique():
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize('row', ROWS, ids=ids)
def test_row_is_well_formed(row):
    assert row.type in pt.PY_TYPES
    assert row.when in (pt.AUDIT, pt.DEPLOY, pt.INTERNAL)
    assert row.feeds in (pt.CORE, pt.WINDOW, pt.READER, pt.NOVA,
                         pt.GROUPS, pt.INTERFERENCE, pt.OVERRIDES,
                         pt.ACTIONS)
    assert row.text and all(p.strip().endswith(('.', ')')) for p in
                            row.text), row.text
    # JSON numbers include integers (1250 is shown as 1250, not 1250.0)
    kinds = (int, float) if row.type == 'number' else row.py_type
    assert isinstance(row.default, kinds)
    assert not isinstance(row.default, bool) or row.type == 'boolean'
    assert all(r in pt.BY_NAME and r != row.name for r in row.related)
    if row.when == pt.INTERNAL:
        assert row.feeds == pt.CORE


@pytest.mark.parametrize('row', [r for r in ROWS if r.minimum is not None
                                 or r.maximum is not None], ids=ids)
def test_default_is_within_its_own_range(row):
    if row.minimum is not None:
        assert row.default >= row.minimum
        if row.exclusive_minimum:
            assert row.default > row.minimum
    if row.maximum is not None:
        assert row.default <= row.maximum


@pytest.mark.parametrize('row', pt.rows(when=pt.AUDIT), ids=ids)
def test_audit_description_is_safe_and_complete(row):
    text = row.description()
    # watcher-dashboard inserts descriptions into HTML unescaped
    assert [c for c in HTML_SIGNIFICANT if c in text] == []
    # RST markup would be shown literally in Horizon
    assert '``' not in text
    assert text.endswith(row.default_text())
    assert row.range_text() in text
    if row.unit:
        assert row.unit in text


def test_core_rows_are_exactly_the_scalar_params_fields():
    fields = [f.name for f in dataclasses.fields(params.Params)]
    core = [r.name for r in pt.rows(feeds=pt.CORE)]
    assert fields == core + ['interference', 'class_weight']
    defaults = params.Params()
    for row in pt.rows(feeds=pt.CORE):
        assert getattr(defaults, row.name) == row.default


@pytest.mark.parametrize('kw, text', [
    (dict(minimum=0, maximum=1, exclusive_minimum=True, unit='fraction'),
     'Greater than 0, at most 1.'),
    (dict(minimum=60, maximum=600, unit='seconds'),
     'Between 60 and 600 seconds.'),
    (dict(minimum=0.001, unit='MiB/s'), 'At least 0.001 MiB/s.'),
    (dict(minimum=0, exclusive_minimum=True), 'Greater than 0.'),
    (dict(maximum=5), 'At most 5.'),
    ({}, ''),
])
def test_range_text(kw, text):
    row = pt.Param('x', 'number', 1, pt.DEPLOY, pt.CORE, ('X.',), **kw)
    assert row.range_text() == text


@pytest.mark.parametrize('kw, possible', [
    (dict(type_='integer', minimum=1, unit='ms'),
     ('An integer, at least 1 ms.',)),
    (dict(type_='number', minimum=0, maximum=1),
     ('A number, between 0 and 1.',)),
    (dict(type_='boolean'), ('True or False.',)),
    (dict(type_='string', choices=(('a', 'first'), ('b', 'second'))),
     ('``a``: first', '``b``: second')),
    (dict(type_='number', possible=('Zero.',)), ('Zero.',)),
])
def test_possible_values(kw, possible):
    type_ = kw.pop('type_')
    row = pt.Param('x', type_, None, pt.DEPLOY, pt.CORE, ('X.',), **kw)
    assert row.possible_values() == possible


@pytest.mark.parametrize('when', [pt.AUDIT, pt.DEPLOY, pt.INTERNAL])
def test_rst_table_lists_every_row_with_its_default_and_range(when):
    text = '\n'.join(pt.rst_table(when))
    for row in pt.rows(when=when):
        assert '* - ``%s``' % row.name in text
        assert row.range_text() in text
        assert row.default_text()[len('Default '):-1] in text
    others = [r for r in ROWS if r.when != when]
    assert all('``%s``\n' % r.name not in text for r in others)


def test_docs_render_the_audit_and_fixed_tables():
    # the pages generate their tables from the table at build time
    # (doc/source/_exts/parameters.py); the deploy-time options are shown
    # by oslo.config's show-options from the generated options.
    doc = pathlib.Path(__file__).resolve().parents[3] / 'doc' / 'source'
    pages = {p.name: p.read_text() for p in doc.glob('*.rst')}
    assert '.. informed-parameters:: audit' in \
        pages['informed_live_migration.rst']
    assert '.. informed-parameters:: internal' in pages['configuration.rst']
    assert '.. show-options::' in pages['configuration.rst']
