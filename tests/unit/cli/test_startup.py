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

"""The command's start-up: deferred modules are the real ones, run late."""

import gc
import importlib
import json
import os
import subprocess
import sys

import pytest

from watcher_informed.cli import startup

BODY = '''
import sys
RUNS = sys.modules.setdefault('startup_probe_runs', type(sys)('p'))
RUNS.count = getattr(RUNS, 'count', 0) + 1
VALUE = 42
'''


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``sprobe`` with modules ``lazy`` and ``eager``."""
    root = tmp_path / 'sprobe'
    root.mkdir()
    (root / '__init__.py').write_text('')
    (root / 'lazy.py').write_text(BODY)
    (root / 'eager.py').write_text(BODY)
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = startup.DeferringFinder({'sprobe.lazy', 'sprobe.missing'})
    monkeypatch.setattr(sys, 'meta_path', [finder] + sys.meta_path)
    yield
    for name in ('sprobe', 'sprobe.lazy', 'sprobe.eager',
                 'startup_probe_runs'):
        sys.modules.pop(name, None)


def runs():
    return getattr(sys.modules.get('startup_probe_runs'), 'count', 0)


def test_a_deferred_module_runs_at_its_first_attribute(package):
    from sprobe import lazy
    assert runs() == 0 and startup.deferred('sprobe.lazy')
    assert lazy.VALUE == 42
    assert runs() == 1 and not startup.deferred('sprobe.lazy')
    assert importlib.import_module('sprobe.lazy').VALUE == 42
    assert runs() == 1                  # the same module, run once


def test_other_modules_run_when_imported(package):
    from sprobe import eager  # noqa: F401
    assert runs() == 1 and not startup.deferred('sprobe.eager')


def test_a_deferred_name_that_does_not_exist_still_fails(package):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module('sprobe.missing')


def test_prepare_does_nothing_once_watcher_is_imported(monkeypatch):
    import watcher  # noqa: F401
    monkeypatch.delenv('EVENTLET_NO_GREENDNS', raising=False)
    before = list(sys.meta_path)
    collecting = gc.isenabled()
    startup.prepare()
    assert sys.meta_path == before
    assert gc.isenabled() == collecting
    assert 'EVENTLET_NO_GREENDNS' not in os.environ


PROBE = '''
import gc, json, sys
from watcher_informed.cli import startup
startup.prepare()
startup.prepare()                       # once is enough
from watcher_informed import harness
from watcher.decision_engine.model import model_root
harness.load_strategy()
out = {'deferred': sorted(n for n in startup.DEFERRED
                          if startup.deferred(n)),
       'collecting': gc.isenabled(),
       'finders': sum(isinstance(f, startup.DeferringFinder)
                      for f in sys.meta_path),
       'loaded': sorted(m for m in ('sqlalchemy', 'pecan', 'dns',
                                    'keystonemiddleware', 'jinja2')
                        if m in sys.modules)}
from watcher.common import config
out['config_parse_args'] = callable(config.parse_args)
out['config_deferred'] = startup.deferred('watcher.common.config')
import atexit
atexit._run_exitfuncs()                 # what the interpreter runs at exit
out['frozen_at_exit'] = gc.get_freeze_count()
print(json.dumps(out))
'''


def test_watcher_loads_without_running_its_service_modules():
    env = dict(os.environ)
    env.pop('EVENTLET_NO_GREENDNS', None)
    proc = subprocess.run([sys.executable, '-W', 'ignore', '-c', PROBE],
                          capture_output=True, text=True, timeout=120,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out['deferred'] == sorted(startup.DEFERRED)
    assert out['finders'] == 1
    assert out['collecting'] is False
    assert out['frozen_at_exit'] > 100000
    assert out['loaded'] == []
    # a deferred module is Watcher's own, run in full when used
    assert out['config_parse_args'] is True
    assert out['config_deferred'] is False
