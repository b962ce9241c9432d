# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Drain planning: the budget, what a drain (of one node or of a batch) takes away, the surge and
its record, and the texts of the refusals. Pure functions over the objects the Docker API lists;
the drain module and maintain.yml's batch plan (plugins/filter/_maintenance.py) share them.

PRIVATE to the collection: the interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math

from ansible_collections.swarmops.lifecycle.plugins.module_utils._objects import (
    describe_task,
    node_availability,
    node_state,
    service_mode,
    service_name,
    service_replicas,
    task_is_live,
    task_is_running,
)

# Service label a surged drain sets, in the same update as the extra replicas, to the replica
# count to restore. A drain interrupted before restoring (its manager died) leaves it behind;
# the next drain or reactivation puts the service back at that count.
SURGE_LABEL = 'swarmops.drain.surged-from'


def parse_min_available(value):
    """Parse ``min_available``: a count (``2``, ``'2'``) or a percentage (``'50%'``).

    Returns ``('count', int)`` or ``('percent', float)``; raises ValueError when invalid.
    """
    if isinstance(value, bool):
        raise ValueError('min_available must be a count or a percentage, not a boolean')
    if isinstance(value, int):
        number, kind = value, 'count'
    else:
        text = str(value).strip()
        kind = 'percent' if text.endswith('%') else 'count'
        number_text = text[:-1].strip() if kind == 'percent' else text
        try:
            number = float(number_text) if kind == 'percent' else int(number_text)
        except ValueError:
            raise ValueError('min_available must be a count such as 1 or a percentage such as "50%%", got %r' % (value,))
    if number < 0 or (kind == 'percent' and number > 100):
        raise ValueError('min_available must be a count >= 0 or a percentage from 0%% to 100%%, got %r' % (value,))
    return kind, number


def required_running(min_available, desired):
    """Running tasks a replicated service with ``desired`` replicas must keep during a drain.

    A count is capped at ``desired`` (asking for 3 of a 2-replica service means "all of them");
    a percentage is rounded up: 50% of 3 replicas is 2.
    """
    kind, number = parse_min_available(min_available)
    if kind == 'percent':
        return min(desired, int(math.ceil(desired * number / 100.0 - 1e-9)))
    return min(desired, number)


def surge_replicas(desired, tasks_on_node):
    """Replica count during a surged drain: one extra task elsewhere for each task on the node."""
    return desired + tasks_on_node


# ---------------------------------------------------------------------------------------
# Drain planning: running counts, the budget, the surge
# ---------------------------------------------------------------------------------------

def node_id_set(node_ids):
    """A node ID, or several (the nodes of a batch drained as one), as a frozenset."""
    if isinstance(node_ids, (str, bytes)) or not hasattr(node_ids, '__iter__'):
        return frozenset([node_ids])
    return frozenset(node_ids)


class ServiceMove(object):
    """One service with tasks on the nodes to drain (one node, or a batch drained as one), and
    the numbers the budget is checked on.

    running_during_move = tasks running on the other nodes now; they are all that serve while
    the drained nodes' tasks are being rescheduled. The budget holds when
    running_during_move >= required. ``tasks_on_node`` and ``running_on_node`` count the tasks
    on every drained node.
    """

    def __init__(self, service, node_ids, tasks, min_available, capacity=None):
        node_ids = node_id_set(node_ids)
        self.id = service.get('ID')
        self.name = service_name(service)
        self.mode = service_mode(service)
        self.desired = service_replicas(service) if self.mode == 'replicated' else None
        own = [task for task in tasks if task.get('ServiceID') == self.id]
        running = [task for task in own if task_is_running(task)]
        self.running_before = len(running)
        self.running_on_node = len([task for task in running if task.get('NodeID') in node_ids])
        self.tasks_on_node = [task for task in own if task.get('NodeID') in node_ids and task_is_live(task)]
        self.running_during_move = self.running_before - self.running_on_node
        self.required = required_running(min_available, self.desired) if self.mode == 'replicated' else None
        self.surged_to = None
        # How many of its tasks can run on the other nodes at once (None: no limit), and why not more.
        self.capacity_elsewhere, self.capacity_reason = None, ''
        if capacity is not None and self.mode == 'replicated':
            self.capacity_elsewhere, self.capacity_reason = capacity(service)

    def placeable(self, count):
        """``count`` tasks, or as many as the other nodes can run."""
        return count if self.capacity_elsewhere is None else min(count, self.capacity_elsewhere)

    @property
    def cannot_keep_budget(self):
        """The other nodes cannot run enough of its tasks to keep the budget, surge or not."""
        return self.budgeted and bool(self.tasks_on_node) and self.placeable(self.desired) < self.required

    @property
    def budgeted(self):
        return self.mode == 'replicated'

    @property
    def breaks_budget(self):
        return self.budgeted and bool(self.tasks_on_node) and self.running_during_move < self.required

    @property
    def surge_by(self):
        """Tasks the drain displaces: those on the drained nodes meant to keep running. A task the
        swarm already told to stop (a scale-down, an update) is still live until its container
        exits, but nothing replaces it, so it is not surged for."""
        return len([task for task in self.tasks_on_node if task.get('DesiredState') == 'running'])

    @property
    def surge_target_elsewhere(self):
        """Running tasks needed off the nodes before they may be drained, in a surge.

        The extra tasks running elsewhere, at least the budget, never more than desired.
        """
        return self.placeable(min(self.desired, max(self.required, self.running_during_move + self.surge_by)))

    def as_dict(self):
        return dict(id=self.id, name=self.name, mode=self.mode, desired=self.desired,
                    running_before=self.running_before, tasks_on_node=len(self.tasks_on_node),
                    running_during_move=self.running_during_move if self.budgeted else None,
                    required=self.required, surged_to=self.surged_to,
                    placeable_elsewhere=self.placeable(self.desired) if self.budgeted else None)


def plan_drain(node_ids, services, tasks, min_available, capacity=None):
    """ServiceMove for every service that has a live task on the node (or on any node of a batch
    drained as one: ``node_ids`` is then a list), sorted by name.

    ``capacity(service)`` -> (how many of its tasks the other nodes can run at once or None for
    no limit, why): module_utils._placement.Placement.capacity with the drained nodes excluded."""
    node_ids = node_id_set(node_ids)
    on_node = set(task.get('ServiceID') for task in tasks if task.get('NodeID') in node_ids and task_is_live(task))
    moves = [ServiceMove(service, node_ids, tasks, min_available, capacity)
             for service in services if service.get('ID') in on_node]
    return sorted(moves, key=lambda move: move.name)


def running_by_service(tasks, exclude_node=None):
    """{service ID: running task count}, optionally not counting the tasks of a node (or of several)."""
    excluded = node_id_set(exclude_node) if exclude_node is not None else frozenset()
    counts = {}
    for task in tasks:
        if task_is_running(task) and task.get('NodeID') not in excluded:
            counts[task.get('ServiceID')] = counts.get(task.get('ServiceID'), 0) + 1
    return counts


def drain_progress(node_ids, tasks, targets, services_by_id, require_empty_node=True, node_down=False, at_most=None):
    """Whether a drain (of one node, or of a batch: ``node_ids`` a list) is complete, and what is
    still pending.

    ``targets`` maps service ID to the running count it must reach on the other nodes.
    Complete when no task is live on the drained nodes (global tasks count as moved once shut
    down) and every target is met. Before the drain itself (surge phase) only the targets count.
    A down node cannot report its tasks stopping, so there a task counts as gone once it is
    told to stop. ``node_down``: True/False for every drained node, or the set of the IDs of
    those that are down. ``at_most`` maps service ID to the most tasks it may still mean to run,
    anywhere: after a surge is scaled back, the wait ends once the orchestrator has told the extra
    tasks to stop (it does so a moment after the update returns).
    """
    node_ids = node_id_set(node_ids)
    down = node_ids if node_down is True else (frozenset() if not node_down else node_id_set(node_down))
    still_on_node = [describe_task(task, services_by_id) for task in tasks
                     if require_empty_node and task.get('NodeID') in node_ids and task_is_live(task)
                     and not (task.get('NodeID') in down and task.get('DesiredState') != 'running')]
    running = running_by_service(tasks, exclude_node=node_ids)
    below = []
    for service_id, target in sorted(targets.items()):
        if running.get(service_id, 0) < target:
            service = services_by_id.get(service_id) or {}
            below.append(dict(name=service_name(service) if service else service_id, id=service_id,
                              running=running.get(service_id, 0), target=target))
    meant = {}
    for task in tasks if at_most else ():
        if task.get('DesiredState') == 'running':
            meant[task.get('ServiceID')] = meant.get(task.get('ServiceID'), 0) + 1
    above = []
    for service_id, limit in sorted((at_most or {}).items()):
        if meant.get(service_id, 0) > limit:
            service = services_by_id.get(service_id) or {}
            above.append(dict(name=service_name(service) if service else service_id, id=service_id,
                              tasks=meant[service_id], count=limit))
    pending = dict(tasks_on_node=still_on_node, services_below_target=below, services_above_count=above)
    return not still_on_node and not below and not above, pending


# ---------------------------------------------------------------------------------------
# The surge record, the refusals and what is pending, as the operator reads them
# ---------------------------------------------------------------------------------------

def surge_record(service, default):
    """(original replicas, surged replicas, IDs of the nodes drained) from a service's surge label.

    The label is JSON written by the drain module ({"replicas", "surged_to", "node"}, and "nodes"
    for a batch); a bare number (the original count only) is read too. Without a readable label:
    (default, None, []).
    """
    raw = (((service or {}).get('Spec') or {}).get('Labels') or {}).get(SURGE_LABEL)
    if raw is None:
        return default, None, []
    try:
        record = json.loads(raw)
    except ValueError:
        return default, None, []
    if isinstance(record, int) and not isinstance(record, bool):
        return record, None, []
    if not isinstance(record, dict) or not isinstance(record.get('replicas'), int):
        return default, None, []
    surged_to = record.get('surged_to') if isinstance(record.get('surged_to'), int) else None
    owners = record.get('nodes') if isinstance(record.get('nodes'), list) else [record.get('node')]
    return record['replicas'], surged_to, [owner for owner in owners if owner]


def surge_label(restore_to, surged_to, node_ids):
    """The value of SURGE_LABEL for a surge of the given nodes (the first one names the drain)."""
    record = dict(replicas=restore_to, surged_to=surged_to, node=node_ids[0])
    if len(node_ids) > 1:
        record['nodes'] = list(node_ids)
    return json.dumps(record, sort_keys=True)


def unplaceable_detail(move):
    """Why one service cannot keep its budget by placement, with the numbers."""
    return ('%s: %d replicas, min_available needs %d, but the other nodes can run only %d of them (%s)'
            % (move.name, move.desired, move.required, move.placeable(move.desired), move.capacity_reason))


def budget_detail(move, batch):
    """Why one service would fall below its budget while its tasks move, with the numbers."""
    return ('%s: %d of %d replicas running, %d on %s, %d would keep running, min_available needs %d'
            % (move.name, move.running_before, move.desired, move.running_on_node,
               'these nodes' if batch else 'this node', move.running_during_move, move.required))


def unplaceable_refusal(label, moves, min_available, batch):
    """The refusal when the other nodes cannot run enough of some service to keep its budget."""
    details = '; '.join(unplaceable_detail(move) for move in moves)
    return ('Refusing to drain %s: %d service(s) cannot keep min_available=%s, surge or not, because their tasks '
            'cannot be placed on the other nodes (%s). Nothing was changed. Relax the service\'s placement '
            '(constraints, max_replicas_per_node, reservations), add nodes that can run it, %sor drain with a lower '
            'min_available (0 accepts the loss; the drain then does not wait for what cannot be placed).'
            % (label, len(moves), min_available, details, 'drain the nodes one at a time, ' if batch else ''))


def budget_refusal(label, moves, min_available, batch):
    """The refusal when services would fall below the budget while their tasks move, surge off."""
    details = '; '.join(budget_detail(move, batch) for move in moves)
    return ('Refusing to drain %s: %d service(s) would fall below min_available=%s while their tasks move (%s). '
            'Nothing was changed. Use surge: true to add replicas elsewhere first, scale the services up, %sor lower '
            'min_available.' % (label, len(moves), min_available, details,
                                'drain the nodes one at a time, ' if batch else ''))


def describe_pending(pending):
    """What a drain's wait still waits for, as one sentence."""
    parts = ['%s has %d of %d running elsewhere' % (item['name'], item['running'], item['target'])
             for item in pending['services_below_target']]
    parts.extend('%s still means to run %d tasks, not %d (the scale-down is not applied yet)'
                 % (item['name'], item['tasks'], item['count']) for item in pending.get('services_above_count') or [])
    if pending['tasks_on_node']:
        parts.append('%d task(s) still on the node: %s' % (len(pending['tasks_on_node']), ', '.join(
            '%s.%s (%s)' % (task['service'], task['slot'] or task['id'], task['state']) for task in pending['tasks_on_node'])))
    return '; '.join(parts) or 'nothing'


def leftover_surge(service, nodes_by_id, tasks, node_ids):
    """What to do with a service that carries a surge record when no surge of this call runs
    (a drain cut short, for example by the death of its manager), from a call on ``node_ids``.

    Returns (action, original count): 'skip' while another drain of the record's nodes may still
    be under way (one of them, not this call's, is there and not active); 'drop' when the record is
    unreadable or the count was changed since the surge (keep the count, drop the record); 'wait'
    while the service runs fewer than its original count on the ready nodes other than this call's
    (the tasks kept must be running ones); else 'restore' to the original count.
    """
    original, surged_to, owners = surge_record(service, None)
    desired = service_replicas(service)
    these = node_id_set(node_ids)
    if any(owner not in these and owner in nodes_by_id and node_availability(nodes_by_id[owner]) != 'active'
           for owner in owners):
        return 'skip', original
    if original is None or desired is None or (surged_to is not None and desired != surged_to):
        return 'drop', original
    running = running_by_service([task for task in tasks if task.get('NodeID') in nodes_by_id
                                  and node_state(nodes_by_id[task['NodeID']]) == 'ready'], exclude_node=these)
    # Put back once the ready nodes other than this call's run the original count: scaling down
    # removes tasks that are not running first, so what is kept runs. An extra copy that cannot be
    # placed (a host port, a constraint) is not waited for.
    if running.get(service.get('ID'), 0) < original:
        return 'wait', original
    return 'restore', original
