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

"""The core is pure: it never imports watcher, oslo or the evaluation.

Design rule 1; issue 15: the simulator lives outside the core.
"""

import ast
import pathlib

import pytest

CORE = pathlib.Path(__file__).resolve().parents[3] / 'watcher_informed' / \
    'core'
ALLOWED_THIRD_PARTY = {'numpy'}


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module or ''


@pytest.mark.parametrize('path', sorted(CORE.glob('*.py')),
                         ids=lambda p: p.name)
def test_core_module_imports_only_stdlib_numpy_and_core(path):
    import sys
    for name in _imports(path):
        top = name.split('.')[0]
        assert (top in sys.stdlib_module_names or
                top in ALLOWED_THIRD_PARTY or
                name.startswith('watcher_informed.core')), (path.name, name)


@pytest.mark.parametrize('path', sorted(CORE.glob('*.py')),
                         ids=lambda p: p.name)
def test_core_module_states_its_contract(path):
    if path.name == '__init__.py':
        return
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and ('Contract' in doc or 'contract' in doc), path.name


def test_core_holds_no_simulator_and_never_imports_evaluation():
    assert not (CORE / 'simulate.py').exists()
    for path in sorted(CORE.glob('*.py')):
        for name in _imports(path):
            assert not name.startswith('watcher_informed.evaluation'), (
                path.name, name)
