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

"""Every library the package imports is declared (tools/check_requirements)."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _checker():
    spec = importlib.util.spec_from_file_location(
        'check_requirements', ROOT / 'tools' / 'check_requirements.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_imported_library_is_declared():
    assert _checker().problems() == []


def test_an_undeclared_import_is_reported(tmp_path):
    checker = _checker()
    pkg = tmp_path / checker.PACKAGE
    pkg.mkdir()
    (pkg / 'a.py').write_text('import json\nimport yaml\n\n'
                              'def f():\n    import requests\n')
    (tmp_path / 'requirements.txt').write_text('PyYAML>=6 # MIT\n')
    (tmp_path / 'setup.cfg').write_text('[extras]\nx =\n    numpy\n')
    found = checker.problems(tmp_path)
    assert len(found) == 1 and found[0].startswith('requests ')
    (tmp_path / 'setup.cfg').write_text('[extras]\nx =\n    requests>=2\n')
    assert checker.problems(tmp_path) == []
