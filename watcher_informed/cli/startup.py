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

"""Start-up of the ``watcher-informed`` command: Watcher without services.

Contract: :func:`prepare`, called once by the command before anything
imports Watcher, makes the process import what an off-cloud plan runs
and defer what only Watcher's services run.  Nothing of Watcher's loader,
model, planner or validator is replaced; the plan is the same.

* The modules of :data:`DEFERRED` are loaded by
  :class:`importlib.util.LazyLoader`: the real module, whose code runs in
  full the first time anything reads one of its attributes.  Watcher
  imports them at module level for its API server, WSGI service, Guru
  Meditation reports, service configuration and database, none of which
  an off-cloud plan runs, so their imports (pecan, keystonemiddleware,
  oslo.middleware, SQLAlchemy, ...) never run: 0.35 s of CPU.
* eventlet, which futurist imports, is told not to load dnspython's
  resolver (``EVENTLET_NO_GREENDNS``, unless the environment sets it):
  nothing in the command is monkey-patched, so no green socket resolves
  a name: 0.07 s.
* The cyclic garbage collector is off for the rest of the process, as
  ``cli.main`` already has it while it plans: the command's objects live
  until it exits and what it drops is freed by reference counting, while
  every full collection scans all of Watcher's modules again (one just
  to switch the collector back on at the end).  At exit every object is
  frozen (:func:`gc.freeze`, an ``atexit`` handler), so the full
  collections the interpreter runs while it shuts down have nothing to
  scan: 0.3 s in all.  The standard streams are still flushed, the other
  ``atexit`` handlers (logging's) still run.

``python -m bench.run startup`` measures the command's start-up (the
figures above: each part left out in turn, demo scenario).
"""

import atexit
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

#: module -> the only Watcher code that uses it (all service-side).
DEFERRED = {
    'watcher.api.app': 'the API service (pecan, keystonemiddleware)',
    'watcher.common.config': 'parsing a service\'s command line '
                             '(oslo.middleware)',
    'oslo_service.wsgi': 'the API service\'s WSGI server',
    'oslo_reports.guru_meditation_report': 'a service\'s Guru Meditation '
                                           'reports',
    'oslo_db.sqlalchemy.engines': 'the database (SQLAlchemy engines)',
    'oslo_db.sqlalchemy.orm': 'the database (SQLAlchemy sessions)',
}


class DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds ``names`` as usual and defers their execution (LazyLoader)."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, name, path, target=None):
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not hasattr(spec.loader, 'exec_module'):
            return None                 # the usual finders decide
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def deferred(name):
    """Whether module ``name`` was imported but its code has not run."""
    # type(), not isinstance(): reading __class__ would run the module
    return issubclass(type(sys.modules.get(name)),
                      importlib.util._LazyModule)


def prepare(names=None):
    """Set the process up for an off-cloud plan; does nothing once Watcher
    is imported (its modules are loaded).  Imports nothing: the commands
    that do not plan stay as fast."""
    if 'watcher' in sys.modules or any(
            isinstance(f, DeferringFinder) for f in sys.meta_path):
        return
    gc.disable()
    atexit.register(gc.freeze)
    os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')
    sys.meta_path.insert(0, DeferringFinder(
        DEFERRED if names is None else names))
