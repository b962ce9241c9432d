# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading engine objects (plain dicts from the Docker API): nodes, the managers' census, services
and tasks. Pure functions, no engine.

PRIVATE to the collection: the interface may change without notice. ``swarm`` re-exports every
name, so that ``from ...module_utils.swarm import quorum_size`` keeps working.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmops.lifecycle.plugins.module_utils._quorum import Quorum

# Task states in which a task occupies its node (swarmkit's order, up to running).
LIVE_TASK_STATES = frozenset((
    'new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running',
))


def node_hostname(node):
    return (node.get('Description') or {}).get('Hostname') or ''


def node_role(node):
    return (node.get('Spec') or {}).get('Role') or 'worker'


def node_availability(node):
    return (node.get('Spec') or {}).get('Availability') or 'active'


def node_state(node):
    return (node.get('Status') or {}).get('State') or 'unknown'


def manager_status(node):
    return node.get('ManagerStatus') or {}


def is_raft_member(node):
    """A manager that raft knows about (``docker node ls`` shows a MANAGER STATUS)."""
    return bool(node.get('ManagerStatus'))


def is_reachable_manager(node):
    return manager_status(node).get('Reachability') == 'reachable'


def is_leader(node):
    return bool(manager_status(node).get('Leader'))


def describe_node(node):
    """The facts about a node that modules return: plain, stable keys."""
    if node is None:
        return None
    status = manager_status(node)
    return dict(
        id=node.get('ID'),
        hostname=node_hostname(node),
        role=node_role(node),
        availability=node_availability(node),
        state=node_state(node),
        addr=(node.get('Status') or {}).get('Addr'),
        manager=is_raft_member(node),
        reachability=status.get('Reachability'),
        leader=bool(status.get('Leader')),
        manager_addr=status.get('Addr'),
    )


def stale_manager_entries(nodes, keep_id):
    """Entries with the manager role that are not raft members (a forced cluster's old managers), by hostname."""
    return [node for node in sort_by_hostname(nodes or [])
            if node.get('ID') != keep_id and node_role(node) == 'manager' and not is_raft_member(node)]


def short_node(node):
    return dict(id=node.get('ID'), hostname=node_hostname(node),
                addr=manager_status(node).get('Addr') or (node.get('Status') or {}).get('Addr'))


def sort_by_hostname(nodes):
    return sorted(nodes, key=lambda node: (node_hostname(node), node.get('ID') or ''))


def node_label(node):
    """'dev2 (kor0bfu9uaelabi00a24z1jl4)' for messages."""
    return '%s (%s)' % (node_hostname(node) or '?', node.get('ID'))


def find_node(nodes, name_or_id):
    """Find a node by exact ID, hostname, or unique ID prefix.

    Returns ``(node, None)`` or ``(None, reason)``; reason is None when nothing matched.
    """
    for node in nodes:
        if node.get('ID') == name_or_id:
            return node, None
    by_name = [node for node in nodes if node_hostname(node) == name_or_id]
    if len(by_name) == 1:
        return by_name[0], None
    if len(by_name) > 1:
        return None, 'hostname %s is used by %d nodes (%s); give the node ID instead' % (
            name_or_id, len(by_name), ', '.join(sorted(node['ID'] for node in by_name)))
    by_prefix = [node for node in nodes if name_or_id and node.get('ID', '').startswith(name_or_id)]
    if len(by_prefix) == 1:
        return by_prefix[0], None
    if len(by_prefix) > 1:
        return None, 'ID prefix %s matches %d nodes; give more of the ID' % (name_or_id, len(by_prefix))
    return None, None


class ManagerCensus(object):
    """Who the raft managers are, from a node list. N counts raft members, as ``docker info`` does."""

    def __init__(self, nodes):
        self.nodes = list(nodes)
        self.managers = [node for node in self.nodes if is_raft_member(node)]
        self.reachable = [node for node in self.managers if is_reachable_manager(node)]
        self.unreachable = [node for node in self.managers if not is_reachable_manager(node)]
        leaders = [node for node in self.managers if is_leader(node)]
        self.leader = leaders[0] if leaders else None
        # Role manager without raft membership: stale after --force-new-cluster, or a promotion in flight.
        self.not_in_raft = [node for node in self.nodes if node_role(node) == 'manager' and not is_raft_member(node)]

    @property
    def total(self):
        return len(self.managers)

    @property
    def quorum(self):
        return Quorum(self.total, self.reachable_count)

    def after_promote(self):
        """The quorum once one more node is promoted (before it can vote)."""
        return self.quorum.after_promote()

    def after_demote(self, node):
        """The quorum once ``node`` (a manager of this census) is demoted."""
        return self.quorum.after_demote(is_reachable_manager(node))

    @property
    def reachable_count(self):
        return len(self.reachable)

    @property
    def has_quorum(self):
        return self.quorum.has

    @property
    def quorum_size(self):
        return self.quorum.size

    @property
    def fault_tolerance(self):
        return self.quorum.fault_tolerance

    def summary(self):
        return dict(managers_total=self.total, managers_reachable=self.reachable_count,
                    managers_unreachable=len(self.unreachable), quorum_size=self.quorum_size,
                    fault_tolerance=self.fault_tolerance,
                    leader=short_node(self.leader) if self.leader else None)


def service_name(service):
    return (service.get('Spec') or {}).get('Name') or service.get('ID')


def service_mode(service):
    """'replicated', 'global', or the job mode name in lower case."""
    mode = (service.get('Spec') or {}).get('Mode') or {}
    if 'Replicated' in mode:
        return 'replicated'
    if 'Global' in mode:
        return 'global'
    return next(iter(mode), 'replicated').lower()


def service_replicas(service):
    mode = (service.get('Spec') or {}).get('Mode') or {}
    return int((mode.get('Replicated') or {}).get('Replicas', 1 if 'Replicated' in mode else 0) or 0)


def task_state(task):
    return (task.get('Status') or {}).get('State')


def task_is_running(task):
    """Counts toward a service's running count: running now and meant to keep running."""
    return task_state(task) == 'running' and task.get('DesiredState') == 'running'


def task_is_live(task):
    """Still occupies its node: not yet shut down, whatever it is meant to become."""
    return task_state(task) in LIVE_TASK_STATES


def describe_task(task, services_by_id):
    service = services_by_id.get(task.get('ServiceID'))
    return dict(id=task.get('ID'), service=service_name(service) if service else task.get('ServiceID'),
                slot=task.get('Slot'), state=task_state(task), desired_state=task.get('DesiredState'),
                node_id=task.get('NodeID'))
