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

"""Re-check one planned move when it is about to start.

Contract: the plan's safety rests on assumptions made at audit time (the
moves a move waits for freed its room, the destination can take it, the
server-group policies hold, the instance is active on its source).  When
a move fails, Watcher's applier still starts the moves after it, so each
move re-checks those assumptions at its start.  :func:`verdict` takes
:class:`Seen` -- what Nova and Placement show at that moment -- and
:class:`Assumed` -- the move as planned -- and returns ``None`` when the
move may start, or a :class:`Verdict`: ``skip`` when the plan's premise
is gone (the instance is gone or elsewhere; a move it waits for did not
free the room: so the moves waiting for *it* skip in turn), ``fail`` when
starting would break a hard rule now.  The hard rules are the ones the
search asks (:mod:`rules`: movable, destination, anti-affinity, capacity),
asked the same way on a :class:`~watcher_informed.core.ledger.Ledger` of
the state seen, where a host holds what Placement says is allocated on
it.  Pure; the first failed check is the one reported.
"""

import dataclasses
import typing

from watcher_informed.core import ledger as ledger_mod
from watcher_informed.core import params as params_mod
from watcher_informed.core import rules
from watcher_informed.core import snapshot as snap

SKIP = 'skip'
FAIL = 'fail'

#: uuid prefix of the stand-in for everything else allocated on a host.
OTHERS = 'allocated-on:'

#: the hard rules re-asked at start, in this order.
START_RULES = (rules.Movable(), rules.Destination(), rules.AntiAffinity(),
               rules.Capacity())


@dataclasses.dataclass(frozen=True)
class Assumed:
    """One move as the plan made it."""

    uuid: str
    source: str
    dest: str
    #: instances whose move off ``dest`` the plan let complete first: the
    #: room (and the anti-affinity separation) this move counts on.
    freed_by: typing.Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Seen:
    """What Nova and Placement show when the move is about to start."""

    #: the source and destination hosts (a host Nova does not know is
    #: absent), capacity from Placement's inventories.
    hosts: typing.Tuple[snap.Host, ...]
    #: the moving instance now (``host`` where it is), ``None`` if gone.
    instance: typing.Optional[snap.Instance]
    #: ``{host: Resources}`` Placement has allocated on each host of
    #: :attr:`hosts`, the moving instance included where it is.
    used: typing.Mapping[str, snap.Resources]
    #: ``{uuid: host or None}`` now, for the instances of ``freed_by`` and
    #: the moving instance's server-group mates (``None``: gone).
    where: typing.Mapping[str, typing.Optional[str]]
    #: the moving instance's server groups.
    groups: typing.Tuple[snap.ServerGroup, ...] = ()
    #: ``{uuid: name}`` for messages.
    names: typing.Mapping[str, str] = dataclasses.field(
        default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Verdict:
    kind: str
    reason: str
    #: the name of the hard rule that refused (empty for a premise).
    rule: str = ''


def _label(seen, uuid):
    name = seen.names.get(uuid)
    return '%s (%s)' % (name, uuid) if name and name != uuid else uuid


def state_snapshot(seen):
    """The :class:`Snapshot` of what was seen (exposed for tests).

    Each host holds its Placement allocation: the moving instance with its
    own size, the instances of :attr:`Seen.where` on it with none (they
    are inside the allocation), and the rest as one stand-in instance
    ``OTHERS + host``.  A host where only a mate is seen is added without
    capacity (it is never a destination here).
    """
    names = {h.name for h in seen.hosts}
    hosts = list(seen.hosts)
    inst = seen.instance
    instances = []
    if inst is not None:
        if inst.host not in names:
            hosts.append(snap.Host(inst.host, 0, 0, 0, enabled=False))
            names.add(inst.host)
        instances.append(inst)
    for uuid, host in sorted(seen.where.items()):
        if host is None or (inst is not None and uuid == inst.uuid):
            continue
        if host not in names:
            hosts.append(snap.Host(host, 0, 0, 0, enabled=False))
            names.add(host)
        instances.append(snap.Instance(uuid, host, 0, 0, 0,
                                       name=seen.names.get(uuid, '')))
    for host in sorted(seen.used):
        if host not in names:
            continue
        rest = seen.used[host]
        if inst is not None and inst.host == host:
            rest = rest - inst.resources
        instances.append(snap.Instance(
            OTHERS + host, host, max(rest.vcpus, 0.0),
            max(rest.ram_mb, 0.0), max(rest.disk_gb, 0.0), excluded=True))
    return snap.Snapshot(tuple(hosts), tuple(instances),
                         server_groups=tuple(seen.groups))


def _room(ledger, inst, dest):
    free = ledger.capacity(dest) - ledger.allocated(dest)
    need = inst.resources
    parts = ['%s %g needed, %g free' % (label, n, max(f, 0.0))
             for label, n, f in zip(('vCPU', 'RAM MiB', 'disk GiB'),
                                    need.as_tuple(), free.as_tuple())
             if n > f + 1e-9]
    return 'not the room for it now in Placement (%s)' % '; '.join(parts)


def verdict(seen, move):
    """``None`` if ``move`` (:class:`Assumed`) may start, else a Verdict."""
    inst = seen.instance
    if inst is None:
        return Verdict(SKIP, 'instance %s no longer exists' % move.uuid)
    if inst.host != move.source:
        return Verdict(SKIP, 'instance %s is on %s, not on its planned '
                       'source %s' % (_label(seen, move.uuid), inst.host,
                                      move.source))
    for uuid in sorted(set(move.freed_by)):
        if seen.where.get(uuid) == move.dest:
            return Verdict(SKIP, 'waits for room on %s that the move of %s '
                           'was to free, and %s is still there (that move '
                           'did not succeed)' % (move.dest,
                                                 _label(seen, uuid),
                                                 seen.names.get(uuid) or
                                                 uuid))
    state = state_snapshot(seen)
    host = state.host_by_name.get(move.dest)
    if host is None:
        return Verdict(FAIL, 'destination %s is not a compute host Nova '
                       'knows' % move.dest)
    ledger = ledger_mod.Ledger(state)
    view = rules.View(state, params_mod.Params(), ledger)
    for rule in START_RULES:
        reason = rule.movable(view, inst)
        if reason:
            return Verdict(FAIL, 'instance %s may not move: %s'
                           % (_label(seen, move.uuid), reason), rule.name)
        reason = rule.admits(view, inst, move.source, host)
        if reason:
            if isinstance(rule, rules.Capacity):
                reason = _room(ledger, inst, move.dest)
            return Verdict(FAIL, 'destination %s: %s' % (move.dest, reason),
                           rule.name)
    return None
