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

"""Action ``informed_migrate``: Watcher's ``migrate``, re-checked at start.

Watcher's applier starts an action once its parents have finished,
whether they succeeded or not.  An informed plan counts on its order:
a move into a full host waits for the moves that free the room.  This
action is Watcher's ``migrate`` (same input, same Nova call, same revert
and abort) whose pre-condition first re-checks what the plan assumed
(:mod:`watcher_informed.core.recheck`, from what Nova and Placement show
now, :mod:`watcher_informed.adapters.recheck`):

* the instance still exists and is on its source -- otherwise the action
  is SKIPPED, as ``migrate`` does;
* the moves it waits for to free room on the destination (input
  ``freed_by``: their instances) did free it -- otherwise SKIPPED, so
  the moves waiting for this one skip in turn;
* the instance may move (active, unlocked, source service up, no hard
  affinity group), the destination is up and enabled, holds no hard
  anti-affinity mate and has the room in Placement -- otherwise FAILED.

Either way nothing is migrated, and the action's status message names
why.  The input is ``migrate``'s (``migration_type``, ``resource_id``,
``source_node``, ``destination_node``, ``resource_name``) plus the
optional ``freed_by`` list of instance UUIDs and the optional
``explanation``: the move's whole explanation as the planner wrote it (a
string of at most 4096 characters, read back by ``openstack optimize
informed explain``; never passed to Nova).  Any ``migrate`` input is
valid here.  Installed in ``watcher-applier``'s environment; the strategy
emits it when ``migration_action = informed_migrate``.
"""

import copy
import time

from oslo_log import log
from watcher.applier.actions import migration
from watcher.common import exception

from watcher_informed.adapters import recheck as recheck_adapter
from watcher_informed.adapters import solution as solution_adapter
from watcher_informed.core import recheck

LOG = log.getLogger(__name__)

NAME = solution_adapter.INFORMED_MIGRATE
#: Watcher prefixes a reason with at most this many characters
#: ("Action was skipped automatically: ") in the 255-character column.
_PREFIX = 40

_UUID = ('^([a-fA-F0-9]){8}-([a-fA-F0-9]){4}-([a-fA-F0-9]){4}-'
         '([a-fA-F0-9]){4}-([a-fA-F0-9]){12}$')


class InformedMigrate(migration.Migrate):
    """Live-migrate a server once the plan's assumptions are re-checked.

    See the module documentation.
    """

    #: Nova shows a server on its destination before Placement has
    #: released the allocation its migration held on the source: a move
    #: that counts on such a departure re-reads the room for up to this
    #: many seconds before it fails for lack of it.
    ROOM_WAIT_S = 15.0
    ROOM_POLL_S = 1.0

    def __init__(self, config, osc=None):
        super().__init__(config, osc)
        #: injectable openstacksdk proxies (tests); default: Watcher's
        #: Nova and Placement helpers' connections.
        self.compute = None
        self.placement = None

    @property
    def schema(self):
        schema = copy.deepcopy(super().schema)
        schema['properties'][recheck_adapter.FREED_BY] = {
            'type': 'array', 'uniqueItems': True,
            'items': {'type': 'string', 'pattern': _UUID}}
        schema['properties'][solution_adapter.EXPLANATION] = {
            'type': 'string',
            'maxLength': solution_adapter.EXPLANATION_MAX}
        return schema

    def _proxies(self):
        if self.compute is None:
            from watcher.common import nova_helper
            self.compute = nova_helper.NovaHelper().connection.compute
        if self.placement is None:
            from watcher.common import placement_helper
            self.placement = \
                placement_helper.PlacementHelper().connection.placement
        return self.compute, self.placement

    def pre_condition(self):
        """Re-check the plan's assumptions; skip or fail with the reason."""
        move = recheck_adapter.assumed(self.input_parameters)
        found = self._verdict(move)
        end = time.monotonic() + self.ROOM_WAIT_S
        while found is not None and found.rule == 'capacity' and \
                move.freed_by and time.monotonic() < end:
            LOG.info('%s %s: %s; waiting for Placement to release what '
                     'the moves it waits for held', NAME, move.uuid,
                     found.reason)
            time.sleep(self.ROOM_POLL_S)
            found = self._verdict(move)
        if found is None:
            LOG.info('%s %s: %s -> %s re-checked, starting', NAME,
                     move.uuid, move.source, move.dest)
            return
        LOG.warning('%s %s: %s -> %s not started (%s): %s', NAME, move.uuid,
                    move.source, move.dest, found.kind, found.reason)
        if found.kind == recheck.SKIP:
            raise exception.ActionSkipped(self._message(found.reason))
        raise exception.ActionExecutionFailure(self._message(found.reason))

    def _verdict(self, move):
        try:
            seen = recheck_adapter.read(*self._proxies(), move)
        except recheck_adapter.Unavailable as exc:
            LOG.error('%s %s: cannot re-check the plan: %s', NAME,
                      move.uuid, exc)
            raise exception.ActionExecutionFailure(
                self._message('cannot re-check the plan: %s' % exc))
        return recheck.verdict(seen, move)

    @staticmethod
    def _message(reason):
        return solution_adapter.fit(
            'not started: ' + reason,
            solution_adapter.STATUS_MESSAGE_MAX - _PREFIX)

    def check_abort(self):
        # BaseAction.check_abort recognises only the class named "Migrate"
        return self.migration_type == self.LIVE_MIGRATION

    def get_description(self):
        """Description of the action"""
        return ('Live-migrating a VM instance from source_node to '
                'destination_node once the plan it belongs to still holds '
                '(the room it waits for was freed, the destination has '
                'room, server-group policies hold, the instance is ACTIVE '
                'on its source)')
