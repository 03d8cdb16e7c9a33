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

"""Core plan -> Watcher solution (migrate actions and efficacy).

Contract: :func:`emit` appends one action per planned move, in execution
order: Watcher's ``migrate`` with exactly the input it accepts
(``migration_type``, ``source_node``, ``destination_node``,
``resource_name``; ``resource_id`` is passed separately), or, with the
deploy option ``migration_action = informed_migrate``, our action of
that name with the same input plus ``freed_by`` (:func:`freed_by`).  It
keeps the strategy's private copy of the compute model in step with
``migrate_instance`` and sets the efficacy indicators.  The DAG itself
cannot travel in ``migrate``'s input (extra keys are refused by the
applier); our planner reads it from the plan kept on the strategy.

Each action's explanation is stored in two places, both read through
Watcher's API:

* its ``status_message`` (API 1.5, shown by Horizon's action details):
  our planner writes :func:`status_message`, a compact form of the
  explanation in Watcher's 255 characters that keeps the cost notes
  (:func:`compact_reason`).  The applier replaces it when the action is
  skipped, fails or is cancelled (then the message says why that
  happened);
* with ``migration_action = informed_migrate``, the action's input
  :data:`EXPLANATION`: the whole explanation (:func:`explanation`, the
  same head and the strategy's reason uncut, at most
  :data:`EXPLANATION_MAX` characters), which the applier never changes.
  Watcher's ``migrate`` refuses any input it does not know, so plain
  ``migrate`` actions carry only the status message.

``openstack optimize informed explain`` reads either back with
:func:`parse_status_message`, preferring the input.
"""

import re

from watcher_informed.core import plan as plan_mod

#: Watcher's own live-migration action, and ours (``watcher_actions``
#: entry point ``informed_migrate``): the action types of planned moves.
MIGRATE = 'migrate'
INFORMED_MIGRATE = 'informed_migrate'
MOVE_ACTIONS = (MIGRATE, INFORMED_MIGRATE)
#: input key of ``informed_migrate``: the instances whose move off the
#: destination the plan let complete first (see :func:`freed_by`).
FREED_BY = 'freed_by'

#: input key of ``informed_migrate``: the move's whole explanation
#: (:func:`explanation`), never passed to Nova.
EXPLANATION = 'explanation'
#: the longest :data:`EXPLANATION` ``informed_migrate``'s schema accepts.
EXPLANATION_MAX = 4096

#: Watcher's ``actions.status_message`` column is a VARCHAR(255).
STATUS_MESSAGE_MAX = 255
#: how our planner's action-plan ``status_message`` starts.
PLAN_PREFIX = 'informed: '
_HEAD = ('informed step %d: %s; %.1f s; downtime %.0f ms; %.0f MiB. ')
_HEAD_RE = re.compile(
    r'^informed step (?P<step>\d+): (?P<cls>[^;]+); (?P<time_s>[0-9.]+) s; '
    r'downtime (?P<downtime_ms>[0-9.]+) ms; (?P<mib>[0-9.]+) MiB\. '
    r'(?P<reason>.*)$', re.S)
_UUID_RE = re.compile(r'\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                      r'[0-9a-f]{12}\b')
#: the strategy's reason (``core.pipeline.assemble``): why this VM, why
#: that host, why at that point of the plan, then the cost's notes.
_REASON_RE = re.compile(
    r'^why VM: (?P<vm>.*?)\. why host: (?P<host>.*?)\. '
    r'why now: (?P<now>.*?)(?:\. cost: (?P<cost>.*))?$', re.S)
#: a term of a reason worth nothing: ``talkers 0``, ``interference 0.00``.
_ZERO_TERM_RE = re.compile(r'^[a-z][a-z -]* 0(\.0+)?$')
#: ``cpu+cpu with <uuid>``, the interfering residents of a destination.
_PAIR_RE = re.compile(r'^(\S+\+\S+) with (.+)$')
#: short forms of the cost notes (``core.cost``), in Watcher's column.
_SHORT_NOTES = tuple((re.compile(pattern), short) for pattern, short in (
    (r'^round 1 = flavor RAM (\d+) MiB, an upper bound \(.*\)$',
     r'round 1 <= flavor RAM \1 MiB'),
    (r'^link share (\d+) of (\d+) MiB/s$', r'link \1/\2 MiB/s'),
    (r'^converges only with auto-converge .*$',
     'converges by auto-converge throttling'),
    (r'^does not converge before the (\d+) s completion timeout: Nova '
     r'aborts it.*$', r'aborted by Nova at the \1 s timeout'),
    (r'^does not converge before the (\d+) s completion timeout: Nova '
     r'completes it by post-copy$', r'post-copy after the \1 s timeout'),
    (r'^does not converge before the (\d+) s completion timeout: Nova '
     r'pauses the guest to complete it \(([0-9.]+) s downtime\)$',
     r'paused after the \1 s timeout (\2 s downtime)'),
    (r'^stop-and-copy forced after (\d+) rounds$',
     r'stop-and-copy after \1 rounds'),
))
#: terms of the other segments said by the head or neutral: the
#: predicted time, a class weight of 1.
_SHORT_TERMS = tuple((re.compile(pattern), short) for pattern, short in (
    (r' \([0-9.]+ s predicted\)', ''),
    (r' x class weight 1\.0\)', ')'),
))
#: the shortest a segment of :func:`compact_reason` is cut to.
_SEGMENT_MIN = 4


def migrate_input(move):
    """The ``migrate`` action input of one planned move."""
    return {
        'migration_type': 'live',
        'source_node': move.source,
        'destination_node': move.dest,
        'resource_name': move.name or move.uuid,
    }


def freed_by(plan):
    """``{uuid: (instances,)}``: whose departure each move counts on.

    A move's parents that leave its destination are the moves the
    sequencer let complete first to make room there (or to separate
    anti-affinity mates), and the plan checker counts them as done when
    the move starts.  Sorted, so the input is deterministic.
    """
    source_of = {m.uuid: m.source for m in plan.moves}
    return {m.uuid: tuple(sorted(p for p in m.parents
                                 if source_of.get(p) == m.dest))
            for m in plan.moves}


def action_input(move, action_type, waits=()):
    """The input of ``action_type`` for one planned move.

    ``informed_migrate`` takes ``migrate``'s input plus, when the move
    waits for room, :data:`FREED_BY`, and always :data:`EXPLANATION`
    (:func:`explanation`).  ``migrate``'s is exactly what it accepts.
    """
    params = migrate_input(move)
    if action_type == INFORMED_MIGRATE:
        if waits:
            params[FREED_BY] = list(waits)
        params[EXPLANATION] = explanation(move)
    return params


def head(move):
    """``informed step N: <class>; <time> s; ...`` of one planned move."""
    return _HEAD % (move.step, move.cls, move.time_s,
                    move.downtime_s * 1000.0, move.sent_mib)


def explanation(move):
    """The whole explanation of one planned move.

    The head of :func:`status_message` followed by the move's reason as
    the strategy wrote it, uncut; only a text longer than
    :data:`EXPLANATION_MAX` (``informed_migrate``'s schema) has its UUIDs
    shortened, then is cut with an ellipsis.
    """
    return fit(head(move) + move.reason, EXPLANATION_MAX)


def status_message(move):
    """The explanation of one planned move, at most 255 characters.

    ``informed step N: <class>; <time> s; downtime <ms> ms; <MiB> MiB.``
    followed by the move's reason in its compact form
    (:func:`compact_reason`), which keeps the cost notes.
    """
    first = head(move)
    return first + compact_reason(move.reason,
                                  STATUS_MESSAGE_MAX - len(first))


def _drop_zero_terms(text):
    """``text`` without its ``; ``-separated terms worth nothing."""
    terms = [t for t in text.split('; ') if not _ZERO_TERM_RE.match(t)]
    return '; '.join(terms) or text


def _merge_pairs(text):
    """``(cpu+cpu with a, cpu+cpu with b)`` as ``(cpu+cpu with a, b)``."""
    def merge(match):
        out, last = [], None
        for item in match.group(1).split(', '):
            pair = _PAIR_RE.match(item)
            if pair and pair.group(1) == last:
                out.append(pair.group(2))
                continue
            last = pair.group(1) if pair else None
            out.append(item)
        return '(%s)' % ', '.join(out)
    return re.sub(r'\(([^()]*)\)', merge, text)


def short_note(note):
    """The short form of one cost note (itself if it has none)."""
    for pattern, short in _SHORT_NOTES:
        if pattern.match(note):
            return pattern.sub(short, note)
    return note


def compact_reason(reason, room=STATUS_MESSAGE_MAX):
    """The strategy's reason in at most ``room`` characters.

    ``VM: <why>. host: <why>. now: <why>. cost: <notes>``: UUIDs
    shortened to their first 8 digits, terms worth nothing dropped
    (``talkers 0``, a class weight of 1, the predicted time the head
    already gives), the interfering residents of one class pair listed
    once, and the cost notes in their short form (:func:`short_note`).
    The cost segment is kept whole; when the text is still too long, the
    longest of the other segments is cut with an ellipsis first.  A
    reason not in the strategy's form is only :func:`fit`.
    """
    match = _REASON_RE.match(reason)
    if match is None:
        return fit(reason, room)
    segments = []
    for label in ('VM', 'host', 'now'):
        text = _UUID_RE.sub(r'\1', match.group(label.lower()))
        for pattern, short in _SHORT_TERMS:
            text = pattern.sub(short, text)
        segments.append([label, _merge_pairs(_drop_zero_terms(text))])
    cost = ''
    if match.group('cost'):
        cost = '. cost: ' + '; '.join(
            short_note(n) for n in match.group('cost').split('; '))
    cost = fit(cost, max(room - len('VM: '), 1))

    def length():
        return sum(len(t) + len(label) + 2 for label, t in segments) + \
            2 * (len(segments) - 1) + len(cost)
    while length() > room:
        seg = max(segments, key=lambda s: len(s[1]))
        if len(seg[1]) <= _SEGMENT_MIN:
            break
        keep = max(len(seg[1]) - (length() - room) - 1, _SEGMENT_MIN - 1)
        seg[1] = seg[1][:keep] + '\u2026'
    body = '. '.join('%s: %s' % (label, t) for label, t in segments)
    return fit(body + cost, room)


def fit(text, room):
    """``text`` in at most ``room`` characters.

    Full UUIDs are shortened to their first 8 digits first; a text still
    too long is cut with an ellipsis.
    """
    if len(text) > room:
        text = _UUID_RE.sub(r'\1', text)
    if len(text) > room:
        text = text[:room - 1] + '\u2026'
    return text


def indicator_description(name, description, plan):
    """An indicator's description, naming the hosts it counts.

    The ``overloaded_hosts_left_*`` indicators (``plan.LEFT_KINDS``) get
    the hosts left overloaded for their kind of reason appended, so
    Horizon's action-plan page and ``openstack optimize actionplan show``
    name them; cut to Watcher's 255 characters.
    """
    kinds = {n: k for k, n, _ in plan_mod.LEFT_KINDS}
    if plan is None or name not in kinds:
        return description
    hosts = plan_mod.left_hosts(plan, kinds[name])
    if not hosts:
        return description
    text = '%s: %s' % (description, ', '.join(hosts))
    if len(text) > STATUS_MESSAGE_MAX:
        text = text[:STATUS_MESSAGE_MAX - 1] + '\u2026'
    return text


def plan_status_message(plan):
    """The action plan's ``status_message``: the hosts left and why.

    ``informed: `` and ``plan.left_summary``, at most 255 characters
    (Watcher's column): full UUIDs in the reasons are shortened to their
    first 8 digits, then the text is cut with an ellipsis.
    """
    return fit(PLAN_PREFIX + plan_mod.left_summary(plan),
               STATUS_MESSAGE_MAX)


def parse_status_message(text):
    """The facts of a :func:`status_message`, or ``None`` if not ours."""
    match = _HEAD_RE.match(text or '')
    if match is None:
        return None
    return {'step': int(match['step']), 'class': match['cls'],
            'time_s': float(match['time_s']),
            'downtime_s': float(match['downtime_ms']) / 1000.0,
            'transferred_mib': float(match['mib']),
            'reason': match['reason']}


def _adder(solution):
    """``solution.add_action`` without its scan of earlier actions.

    Watcher's ``DefaultSolution.add_action`` drops an action equal to an
    earlier one by scanning them all, which is quadratic in the plan
    size.  Ours are distinct by construction (one per instance, which the
    ``moves-once`` checker proves), so for that class the same action
    dict is appended directly; any other solution class gets its own
    ``add_action``.
    """
    from watcher.decision_engine.solution import default
    actions = getattr(solution, '_actions', None)
    if type(solution) is not default.DefaultSolution or \
            not isinstance(actions, list):
        return solution.add_action

    def add(action_type, resource_id, input_parameters):
        params = dict(input_parameters)
        params['resource_id'] = resource_id
        actions.append({'action_type': action_type,
                        'input_parameters': params})
    return add


def emit(solution, plan, model=None, action_type=MIGRATE, nodes=None):
    """Add ``plan``'s actions and indicators to a Watcher ``solution``.

    ``action_type`` is one of :data:`MOVE_ACTIONS` (the deploy option
    ``migration_action``); ``nodes`` is the model's
    ``get_all_compute_nodes()``, if known.
    """
    if action_type not in MOVE_ACTIONS:
        raise ValueError('unknown migration action %r' % (action_type,))
    waits = freed_by(plan) if action_type == INFORMED_MIGRATE else {}
    # ModelRoot.get_node_by_name scans every node: look them up once
    if model is not None and nodes is None:
        nodes = model.get_all_compute_nodes()
    nodes = {n.hostname: n for n in nodes.values()} \
        if model is not None else {}
    add = _adder(solution)
    for move in plan.moves:
        if model is not None and move.source != move.dest:
            # unmap + map is ModelRoot.migrate_instance without its
            # ``source == destination`` test, which compares the two
            # nodes field by field (obj_to_primitive, 1 ms a move); the
            # names are compared instead
            inst = model.get_instance_by_uuid(move.uuid)
            model.unmap_instance(inst, nodes[move.source])
            model.map_instance(inst, nodes[move.dest])
        add(action_type=action_type, resource_id=move.uuid,
            input_parameters=action_input(move, action_type,
                                          waits.get(move.uuid, ())))
    solution.set_efficacy_indicators(**plan_mod.efficacy(plan))
    return solution
