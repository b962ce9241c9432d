# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where a service's tasks can run: one placement model for drain and rebalance.

PRIVATE to the collection: the interface may change without notice.

It reads what swarmkit's scheduler filters on (manager/scheduler/filter.go): the node's state
and availability, placement constraints (manager/constraint), platforms, resource reservations
(CPU, memory, discrete generic resources) against what the node has left, and
``Placement.MaxReplicas``, and host-mode published ports (one task per node and port, none
where another live task holds the port). Placement preferences only order nodes; they never make one
ineligible, so they are not modelled here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmops.lifecycle.plugins.module_utils._objects import (
    node_availability,
    node_hostname,
    node_role,
    node_state,
    task_is_live,
)


# ---------------------------------------------------------------------------------------
# Constraints, matched as swarmkit's manager/constraint does
# ---------------------------------------------------------------------------------------

def parse_constraint(text):
    """``'node.labels.zone == east'`` -> ``('node.labels.zone', '==', 'east')``; None when not understood."""
    for operator in ('==', '!='):
        if operator in text:
            key, dummy, value = text.partition(operator)
            key, value = key.strip(), value.strip()
            return (key, operator, value) if key else None
    return None


def constraint_subject(node, key):
    """The node's value a constraint key compares against ('' when absent), or None for an unknown key."""
    lowered = key.lower()
    description = node.get('Description') or {}
    platform = description.get('Platform') or {}
    simple = {
        'node.id': lambda: node.get('ID') or '',
        'node.hostname': lambda: node_hostname(node),
        'node.role': lambda: node_role(node),
        'node.platform.os': lambda: platform.get('OS') or '',
        'node.platform.arch': lambda: platform.get('Architecture') or '',
    }
    if lowered in simple:
        return simple[lowered]()
    label_sources = (
        ('node.labels.', (node.get('Spec') or {}).get('Labels')),
        ('engine.labels.', (description.get('Engine') or {}).get('Labels')),
    )
    for prefix, labels in label_sources:
        # The prefix is case-insensitive, the label name is not.
        if lowered.startswith(prefix) and len(key) > len(prefix):
            return (labels or {}).get(key[len(prefix):]) or ''
    return None


def node_satisfies(node, constraint):
    """True/False, or None when the constraint is of a form this module does not understand."""
    parsed = parse_constraint(constraint)
    if parsed is None:
        return None
    key, operator, value = parsed
    subject = constraint_subject(node, key)
    if subject is None:
        return None
    equal = subject.lower() == value.lower()
    return equal if operator == '==' else not equal


def unknown_constraints(constraints):
    return [constraint for constraint in constraints
            if parse_constraint(constraint) is None or constraint_subject({}, parse_constraint(constraint)[0]) is None]


def eligible_nodes(nodes, constraints):
    """Nodes a service may run on by state, availability and constraints, and the constraints that
    were not understood (taken as satisfied)."""
    eligible = [node for node in nodes if node_state(node) == 'ready' and node_availability(node) == 'active'
                and all(node_satisfies(node, constraint) is not False for constraint in constraints)]
    return eligible, unknown_constraints(constraints)


# ---------------------------------------------------------------------------------------
# Platforms and resources
# ---------------------------------------------------------------------------------------

# The two architecture names swarmkit's PlatformFilter normalises (manager/scheduler/filter.go);
# it compares everything else as it is.
ARCH_ALIASES = {'x86_64': 'amd64', 'aarch64': 'arm64'}


def _arch(name):
    return ARCH_ALIASES.get(name or '', name or '')


def platform_matches(node, platforms):
    """True when the service lists no platform, or the node's OS and architecture match one
    (an empty field of the service's platform matches any)."""
    if not platforms:
        return True
    platform = (node.get('Description') or {}).get('Platform') or {}
    node_os, node_arch = platform.get('OS') or '', _arch(platform.get('Architecture'))
    for item in platforms:
        wanted_os, wanted_arch = item.get('OS') or '', _arch(item.get('Architecture'))
        if (not wanted_arch or wanted_arch == node_arch) and (not wanted_os or wanted_os == node_os):
            return True
    return False


def _generic(resources):
    """{kind: count} of the discrete and named generic resources of a Resources or Reservations dict."""
    counts = {}
    for item in (resources or {}).get('GenericResources') or []:
        discrete = item.get('DiscreteResourceSpec')
        named = item.get('NamedResourceSpec')
        if discrete:
            counts[discrete.get('Kind')] = counts.get(discrete.get('Kind'), 0) + int(discrete.get('Value') or 0)
        elif named:
            counts[named.get('Kind')] = counts.get(named.get('Kind'), 0) + 1
    return counts


def reservations_of(template):
    """(NanoCPUs, MemoryBytes, {generic kind: count}) a task of this template reserves."""
    reservations = ((template or {}).get('Resources') or {}).get('Reservations') or {}
    return (int(reservations.get('NanoCPUs') or 0), int(reservations.get('MemoryBytes') or 0),
            _generic(reservations))


def host_ports(service):
    """The ports a service publishes in host mode (the routing mesh's ingress ports do not bind a node)."""
    ports = ((service.get('Spec') or {}).get('EndpointSpec') or {}).get('Ports') or []
    return set(int(port['PublishedPort']) for port in ports
               if port.get('PublishMode') == 'host' and port.get('PublishedPort'))


def task_host_ports(task):
    """The host-mode ports a task holds on its node, as the engine reports them (Status.PortStatus)."""
    ports = ((task.get('Status') or {}).get('PortStatus') or {}).get('Ports') or []
    return set(int(port['PublishedPort']) for port in ports
               if port.get('PublishMode') == 'host' and port.get('PublishedPort'))


def _task_reservations(task):
    return reservations_of(task.get('Spec'))


def fits(node, tasks, reservation, leaving=()):
    """How many more tasks with ``reservation`` the node can take (None: no limit from resources).

    What the node has (Description.Resources) minus what the live tasks on it reserve, except the
    tasks in ``leaving`` (their IDs), which are about to go.
    """
    cpu, memory, generic = reservation
    if not cpu and not memory and not generic:
        return None
    resources = (node.get('Description') or {}).get('Resources') or {}
    free_cpu, free_memory = int(resources.get('NanoCPUs') or 0), int(resources.get('MemoryBytes') or 0)
    free_generic = _generic(resources)
    for task in tasks:
        if task.get('NodeID') != node.get('ID') or not task_is_live(task) or task.get('ID') in leaving:
            continue
        used_cpu, used_memory, used_generic = _task_reservations(task)
        free_cpu -= used_cpu
        free_memory -= used_memory
        for kind, count in used_generic.items():
            free_generic[kind] = free_generic.get(kind, 0) - count
    limits = []
    if cpu:
        limits.append(max(free_cpu, 0) // cpu)
    if memory:
        limits.append(max(free_memory, 0) // memory)
    for kind, count in generic.items():
        limits.append(max(free_generic.get(kind, 0), 0) // count if count else 0)
    return min(limits)


# ---------------------------------------------------------------------------------------
# A service's placement
# ---------------------------------------------------------------------------------------

class Placement(object):
    """Where the tasks of one service can run."""

    def __init__(self, service):
        self.service_id = service.get('ID')
        template = (service.get('Spec') or {}).get('TaskTemplate') or {}
        placement = template.get('Placement') or {}
        self.constraints = list(placement.get('Constraints') or [])
        self.platforms = list(placement.get('Platforms') or [])
        self.max_per_node = int(placement.get('MaxReplicas') or 0)
        self.reservation = reservations_of(template)
        self.host_ports = host_ports(service)
        self.unknown_constraints = unknown_constraints(self.constraints)

    def why_not(self, node):
        """Why the scheduler would not place a task of the service on the node, or None when it may."""
        if node_state(node) != 'ready':
            return 'it is %s' % node_state(node)
        if node_availability(node) != 'active':
            return 'its availability is %s' % node_availability(node)
        failed = [constraint for constraint in self.constraints if node_satisfies(node, constraint) is False]
        if failed:
            return 'it does not match the constraint %s' % ', '.join(repr(item) for item in failed)
        if not platform_matches(node, self.platforms):
            return 'its platform is not one of the service\'s'
        return None

    def eligible(self, nodes, exclude=()):
        """Nodes (not in ``exclude``, IDs) on which the scheduler may place the service's tasks."""
        return [node for node in nodes if node.get('ID') not in exclude and self.why_not(node) is None]

    def room_on(self, node, tasks, leaving=()):
        """How many tasks of the service the node can hold in all (None: no limit)."""
        own = len([task for task in tasks if task.get('ServiceID') == self.service_id
                   and task.get('NodeID') == node.get('ID') and task_is_live(task) and task.get('ID') not in leaving])
        limits = []
        if self.max_per_node:
            limits.append(self.max_per_node)
        if self.host_ports:
            # swarmkit's HostPortFilter: one task per node and port, none where another task holds it.
            held = [task for task in tasks if task.get('NodeID') == node.get('ID') and task_is_live(task)
                    and task.get('ServiceID') != self.service_id and task.get('ID') not in leaving
                    and self.host_ports & task_host_ports(task)]
            limits.append(0 if held else 1)
        more = fits(node, tasks, self.reservation, leaving)
        if more is not None:
            limits.append(own + more)
        return min(limits) if limits else None

    def capacity(self, nodes, tasks, exclude=(), leaving=()):
        """Tasks of the service that can run at once on the eligible nodes not in ``exclude``
        (None: no limit), and why it is limited (text, '' when not)."""
        eligible = self.eligible(nodes, exclude)
        if not eligible:
            reasons = sorted(set(self.why_not(node) for node in nodes if node.get('ID') not in exclude))
            return 0, 'no other node can run it (%s)' % ('; '.join(reasons) or 'no other node')
        rooms = [self.room_on(node, tasks, leaving) for node in eligible]
        if any(room is None for room in rooms):
            return None, ''
        parts = ['%d eligible node(s)' % len(eligible)]
        if self.max_per_node:
            parts.append('max_replicas_per_node %d' % self.max_per_node)
        if self.host_ports:
            parts.append('host port %s published in host mode (one task per node, none where another task holds '
                         'it)' % ', '.join(str(port) for port in sorted(self.host_ports)))
        cpu, memory, generic = self.reservation
        if cpu or memory or generic:
            parts.append('the free resources for its reservations')
        return sum(rooms), ', '.join(parts)
