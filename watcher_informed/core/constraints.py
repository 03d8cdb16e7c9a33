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

"""Hard placement rules shared by the search and the checkers.

Contract: small predicates over snapshot values; each returns ``None`` when
the rule holds and a human-readable reason when it does not.  The search
(``select``, ``place``, ``sequence``) uses them to avoid violations; the
checkers (``checks``) use them to prove none slipped through.  Rules:

* only active, unlocked, non-excluded instances on an *up* compute service
  move, and no member of a hard ``affinity`` group with other members
  (moving one alone breaks it);
* destinations are up, enabled, not the source, and inside the
  instance's pinned availability zone when it has one;
* members of a hard ``anti-affinity`` group never share a host they did
  not already share.
"""

import collections

from watcher_informed.core import snapshot as snap


def groups_by_member(snapshot):
    """``{uuid: (ServerGroup, ...)}`` for every grouped instance."""
    index = collections.defaultdict(list)
    present = snapshot.position
    for group in sorted(snapshot.server_groups, key=lambda g: g.uuid):
        for member in group.members:
            if member in present:
                index[member].append(group)
    return {k: tuple(v) for k, v in index.items()}


def immovable_reason(instance, groups_of, present, source=None):
    """Why ``instance`` may not be migrated at all, or ``None``.

    ``source`` is the instance's host; Nova refuses to live-migrate from a
    compute service that is down (a disabled one is fine).
    """
    reason = instance.immovable_reason()
    if reason:
        return reason
    if source is not None and not source.up:
        return 'its compute service %s is down (Nova cannot live-migrate ' \
            'from it)' % source.name
    for group in groups_of.get(instance.uuid, ()):
        others = [m for m in group.members
                  if m != instance.uuid and m in present]
        if group.policy == snap.AFFINITY and others:
            return ('member of affinity server group %s with %d other '
                    'member(s)' % (group.name or group.uuid, len(others)))
    return None


def destination_reason(instance, source, host):
    """Why ``host`` cannot receive ``instance`` from ``source``, or None."""
    if host.name == source:
        return 'is the source'
    if not host.up:
        return 'compute service is down'
    if not host.enabled:
        return 'compute service is disabled'
    if instance.pinned_az and host.az != instance.pinned_az:
        return 'outside pinned availability zone %s' % instance.pinned_az
    return None


def anti_affinity_mates(uuid, groups_of):
    """Members sharing a hard anti-affinity group with ``uuid``."""
    mates = set()
    for group in groups_of.get(uuid, ()):
        if group.policy == snap.ANTI_AFFINITY:
            mates.update(m for m in group.members if m != uuid)
    return mates


def soft_mates(uuid, groups_of, policy):
    """Members sharing a group of ``policy`` with ``uuid``."""
    mates = set()
    for group in groups_of.get(uuid, ()):
        if group.policy == policy:
            mates.update(m for m in group.members if m != uuid)
    return mates


def talkers(snapshot, groups_of):
    """``{uuid: set of uuids it communicates with}``.

    Communication affinity (section 3.2, Fig. 2(b)-(c)): instances in an
    audit-declared communication group, or in the same affinity or
    soft-affinity server group, talk to each other.
    """
    result = collections.defaultdict(set)
    groups = [tuple(g) for g in snapshot.communication_groups]
    groups += [g.members for g in snapshot.server_groups
               if g.policy in (snap.AFFINITY, snap.SOFT_AFFINITY)]
    for members in groups:
        for m in members:
            result[m].update(x for x in members if x != m)
    return result
