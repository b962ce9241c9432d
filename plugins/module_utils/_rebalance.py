# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Rebalance planning: where a service's tasks run, how skewed that is over the nodes the
scheduler can use (module_utils._placement), what to do about it, and when a forced update has
converged. Pure functions over the objects the Docker API lists.

PRIVATE to the collection: the interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmops.lifecycle.plugins.module_utils._placement import Placement
from ansible_collections.swarmops.lifecycle.plugins.module_utils._objects import (
    node_hostname,
    service_mode,
    service_name,
    service_replicas,
    sort_by_hostname,
    task_is_running,
)

# Update states of a service that is being changed right now.
UPDATE_IN_PROGRESS = frozenset(('updating', 'rollback_started'))
# A previous update that stopped half way: a forced update would start over from it.
UPDATE_STUCK = frozenset(('paused', 'rollback_paused'))
# How a forced update may end other than 'completed'.
UPDATE_FAILED = frozenset(('paused', 'rollback_started', 'rollback_paused', 'rollback_completed'))


# ---------------------------------------------------------------------------------------
# Spread arithmetic
# ---------------------------------------------------------------------------------------

def placeable_replicas(replicas, eligible_count, max_per_node):
    """Replicas that can run at all: MaxReplicas per node caps them at eligible nodes x MaxReplicas."""
    if max_per_node and max_per_node > 0:
        return min(replicas, eligible_count * max_per_node)
    return replicas


def best_skew(replicas, eligible_count, max_per_node=0):
    """The lowest skew reachable: 0 when the placeable replicas divide evenly over the nodes, else 1.

    >>> best_skew(10, 7), best_skew(14, 7), best_skew(3, 7), best_skew(10, 5, max_per_node=1)
    (1, 0, 1, 0)
    """
    if eligible_count <= 0:
        return 0
    placeable = placeable_replicas(replicas, eligible_count, max_per_node)
    return 0 if placeable % eligible_count == 0 else 1


def skew_of(spread):
    """Highest minus lowest count of a {node: running} spread (0 for no node)."""
    counts = list(spread.values())
    return max(counts) - min(counts) if counts else 0


def node_keys(nodes):
    """Node ID -> the name used in spreads: the hostname, with the ID when two nodes share it."""
    seen = {}
    for node in nodes:
        seen[node_hostname(node)] = seen.get(node_hostname(node), 0) + 1
    return dict((node['ID'], node_hostname(node) if seen[node_hostname(node)] == 1
                 else '%s (%s)' % (node_hostname(node), node['ID'])) for node in nodes)


def task_force_update(task):
    return int(((task.get('Spec') or {}).get('ForceUpdate')) or 0)


class ServicePlan(object):
    """One service: where its tasks run, how skewed that is, and what to do about it."""

    def __init__(self, service, nodes, tasks, keys, max_skew):
        spec = service.get('Spec') or {}
        template = spec.get('TaskTemplate') or {}
        placement = template.get('Placement') or {}
        self.id = service.get('ID')
        self.name = service_name(service)
        self.mode = service_mode(service)
        self.replicas = service_replicas(service) if self.mode == 'replicated' else None
        self.constraints = list(placement.get('Constraints') or [])
        self.preferences = list(placement.get('Preferences') or [])
        self.max_per_node = int(placement.get('MaxReplicas') or 0)
        self.force_update = int(template.get('ForceUpdate') or 0)
        self.update_status = service.get('UpdateStatus') or {}
        self.update_state = self.update_status.get('State')

        placement = Placement(service)
        self.unknown_constraints = placement.unknown_constraints
        # Where the scheduler can place a task of it: state, availability, constraints, platforms,
        # and room for its reservations (a node with none of its tasks and no room cannot take one).
        eligible = [node for node in placement.eligible(nodes) if placement.room_on(node, tasks) != 0]
        self.eligible_ids = set(node['ID'] for node in eligible)
        self.eligible_names = [keys[node['ID']] for node in sort_by_hostname(eligible)]
        self.spread = dict((name, 0) for name in self.eligible_names)
        self.outside = {}
        for task in tasks:
            if task.get('ServiceID') != self.id or not task_is_running(task):
                continue
            name = keys.get(task.get('NodeID'), task.get('NodeID') or 'unassigned')
            if task.get('NodeID') in self.eligible_ids:
                self.spread[name] += 1
            else:
                self.outside[name] = self.outside.get(name, 0) + 1
        self.skew = skew_of(self.spread)

        count = len(self.eligible_ids)
        self.best_skew = best_skew(self.replicas or 0, count, self.max_per_node)
        self.target_running = placeable_replicas(self.replicas or 0, count, self.max_per_node)
        self.skip_reason = self._skip_reason()
        self.skewed = self.skip_reason is None and self.skew > max(max_skew, self.best_skew)

    def _skip_reason(self):
        if self.mode == 'global':
            return 'global service: one task per eligible node, nothing to spread'
        if self.mode != 'replicated':
            return '%s service: its tasks run to completion, nothing to spread' % self.mode
        if not self.eligible_ids:
            return 'no eligible node (ready, active and matching its constraints)'
        if self.preferences:
            return 'placement preferences spread it over node labels, not evenly over nodes'
        if self.update_state in UPDATE_IN_PROGRESS:
            return 'an update is in progress (%s); its spread is not final' % self.update_state
        return None

    @property
    def stuck(self):
        return self.skewed and self.update_state in UPDATE_STUCK

    def report(self):
        return dict(
            name=self.name, mode=self.mode, replicas=self.replicas, max_replicas_per_node=self.max_per_node,
            eligible_nodes=self.eligible_names, spread_before=self.spread, skew_before=self.skew,
            best_skew=self.best_skew, skewed=self.skewed,
            action='skip' if self.skip_reason else ('force_update' if self.skewed else 'none'),
            reason=self.skip_reason, running_on_ineligible_nodes=self.outside,
            spread_after=None, skew_after=None, force_update_before=self.force_update,
            force_update_after=self.force_update, update_state=self.update_state)


def spread_text(spread):
    return ' '.join('%s=%d' % item for item in sorted(spread.items())) or 'no node'


def convergence(service, tasks, force_update, target):
    """Progress of a forced update: done when complete, all running tasks are new, and target of them run."""
    status = service.get('UpdateStatus') or {}
    running = [task for task in tasks if task.get('ServiceID') == service.get('ID') and task_is_running(task)]
    stale = [task for task in running if task_force_update(task) < force_update]
    progress = dict(update_state=status.get('State'), update_message=status.get('Message'),
                    running=len(running), target=target, old_tasks_running=len(stale))
    done = status.get('State') in (None, 'completed') and not stale and len(running) == target
    return done, progress


def progress_text(name, progress):
    return ('%s: update state %s, %d of %d running, %d still from before the forced update'
            % (name, progress['update_state'] or 'not started', progress['running'], progress['target'],
               progress['old_tasks_running']))


# ---------------------------------------------------------------------------------------
# The module
# ---------------------------------------------------------------------------------------
