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

"""Recent migrations from Watcher's own records -> core RecentMove values.

Contract: :func:`recent_moves` lists the ``migrate`` (and our
``informed_migrate``) actions Watcher's applier executed successfully
within a window, from Watcher's database (the same rows ``openstack
optimize action list`` shows), so cooldowns
hold across audits, audit templates and service restarts.  An action's
completion time is its ``updated_at`` (the applier updates the row when
the action reaches SUCCEEDED).
"""

import calendar

from watcher_informed.adapters import solution
from watcher_informed.core import snapshot as snap


def _epoch(value):
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.timestamp()
    return float(calendar.timegm(value.timetuple())) + \
        value.microsecond / 1e6


def recent_moves(context, now, window_s):
    """Successful live migrations that finished in ``[now - window, now]``."""
    from watcher import objects
    if not hasattr(objects, 'Action'):
        objects.register_all()
    out = []
    actions = objects.Action.list(
        context, filters={'state': objects.action.State.SUCCEEDED})
    for action in actions:
        if action.action_type not in solution.MOVE_ACTIONS:
            continue
        params = action.input_parameters or {}
        finished = _epoch(action.updated_at or action.created_at)
        if finished is None or not 0 <= now - finished <= window_s:
            continue
        if not params.get('resource_id') or not params.get('source_node'):
            continue
        out.append(snap.RecentMove(params['resource_id'],
                                   params['source_node'],
                                   params.get('destination_node') or '',
                                   finished))
    return tuple(sorted(out, key=lambda m: (m.finished_at, m.uuid)))
