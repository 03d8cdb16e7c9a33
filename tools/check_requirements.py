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

"""Every library the package imports is declared.

    python tools/check_requirements.py

Walks ``watcher_informed/`` with :mod:`ast`, takes the top-level module of
every import (also the lazy ones inside functions), leaves out the
standard library and the package itself, maps each module to the
distribution that installs it (``importlib.metadata``) and checks that the
distribution is named in ``requirements.txt`` or in an extra of
``setup.cfg``.  Prints one line per undeclared library and exits 1 if
there is any; a module no installed distribution provides (and not in
:data:`NOT_INSTALLED`) is reported too.
"""

import ast
import configparser
import importlib.metadata
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = 'watcher_informed'
#: modules whose distribution may be absent from the checking venv (the
#: dirty-rate agent uses the distribution's python3-libvirt).
NOT_INSTALLED = {'libvirt': 'libvirt-python'}


def _norm(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def _names(lines):
    out = set()
    for line in lines:
        line = line.split('#', 1)[0].strip()
        if line:
            out.add(_norm(re.split(r'[<>=!~;\[ ]', line, 1)[0]))
    return out


def declared(root=ROOT):
    """``{distribution: where}`` of requirements.txt and setup.cfg extras."""
    found = {n: 'requirements.txt' for n in _names(
        (root / 'requirements.txt').read_text().splitlines())}
    cfg = configparser.ConfigParser()
    cfg.read(root / 'setup.cfg')
    if cfg.has_section('extras'):
        for extra, text in cfg.items('extras'):
            for name in _names(text.splitlines()):
                found.setdefault(name, 'extra %s' % extra)
    return found


def imported(root=ROOT):
    """``{top-level module: [files importing it]}`` of the package."""
    out = {}
    for path in sorted((root / PACKAGE).rglob('*.py')):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                top = mod.split('.')[0]
                if top == PACKAGE or top in sys.stdlib_module_names:
                    continue
                out.setdefault(top, []).append(
                    str(path.relative_to(root)))
    return out


def problems(root=ROOT):
    dists = importlib.metadata.packages_distributions()
    known = declared(root)
    out = []
    for module, files in sorted(imported(root).items()):
        providers = {_norm(d) for d in dists.get(module, ())} or \
            ({NOT_INSTALLED[module]} if module in NOT_INSTALLED else set())
        if not providers:
            out.append('%s (imported by %s): no installed distribution '
                       'provides it' % (module, files[0]))
        elif not providers & set(known):
            out.append('%s (imported by %s): %s is not declared in '
                       'requirements.txt or an extra of setup.cfg' % (
                           module, files[0], ', '.join(sorted(providers))))
    return out


def main():
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
