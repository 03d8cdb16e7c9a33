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

"""No ping-pong: recently migrated instances rest, and moves never undo.

Contract: pure functions over the audit's record of recent migrations
(:class:`~watcher_informed.core.snapshot.RecentMove`, read by an adapter
from Watcher's executed actions, so the memory survives restarts and
spans audits).  An instance migrated *n* times within ``window_s`` must
rest ``min(cap_s, base_s x 2^(n-1))`` after its last migration, the growing
back-off of the Kubernetes descheduler's VM-aware eviction; and an
instance is never sent back to a host it left within the window.
"""


def rest_needed(count, base_s, cap_s):
    """Cooldown after ``count`` recent migrations (0 when never moved)."""
    if count <= 0:
        return 0.0
    # 2 ** 64 exceeds any cap; a larger power would overflow a float
    return min(cap_s, base_s * 2 ** min(count - 1, 64))


def recent(history, uuid, now, window_s):
    return [m for m in history
            if m.uuid == uuid and 0 <= now - m.finished_at <= window_s]


def resting_reason(uuid, history, now, p):
    """Why ``uuid`` may not move now, or ``None``."""
    moves = recent(history, uuid, now, p.history_window)
    if not moves:
        return None
    last = max(m.finished_at for m in moves)
    rest = rest_needed(len(moves), p.cooldown, p.cooldown_cap)
    waited = now - last
    if waited < rest:
        return ('cooling down: migrated %d time(s) in the last %.0f h, '
                'last %.0f s ago, rests %.0f s'
                % (len(moves), p.history_window / 3600.0, waited, rest))
    return None


def undo_reason(uuid, dest, history, now, p):
    """Why sending ``uuid`` to ``dest`` would undo a recent move."""
    for m in recent(history, uuid, now, p.history_window):
        if m.source == dest:
            return 'would undo its migration from %s %.0f s ago' % (
                dest, now - m.finished_at)
    return None
