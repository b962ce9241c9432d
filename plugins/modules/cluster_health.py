#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: cluster_health
short_description: Gate on a healthy Docker Swarm, optionally waiting until it is
version_added: 0.1.0
description:
  - Checks, from the manager the task runs on, that the swarm is fit to go on with a
    disruptive operation, and fails naming every problem found.
  - A leader exists; every manager is C(Reachable); the manager count is odd (unless
    O(require_odd_managers=false)); every node is C(Ready); every node is C(Active) except those
    in O(allow_drained); every service is converged.
  - A replicated service is converged when exactly its desired number of tasks run (tasks
    meant to run and running) and no update is in progress. A global service is converged when
    every task meant to run is running and no update is in progress. An update that is
    C(paused) (it failed) is a problem too.
  - A replicated service that a surged drain left scaled up (it carries the drain's surge record,
    label C(swarmops.drain.surged-from), and its count is the surged one) is converged while it
    runs at least its own count; the extra replicas are the surge, which the next drain undoes
    (C(surged_from) in RV(services) is that count).
  - With O(wait=true) it polls until the swarm is healthy, within O(timeout).
author:
  - swarmops.lifecycle developers (@swarmops)
extends_documentation_fragment:
  - swarmops.lifecycle.swarm
  - swarmops.lifecycle.swarm.attributes
  - swarmops.lifecycle.swarm.info_module
options:
  wait:
    description:
      - Poll until every check passes, within O(timeout); fail with what is still wrong.
      - Without it, check once.
    type: bool
    default: false
    version_added: 0.1.0
  allow_drained:
    description:
      - Hostnames or IDs of nodes that may be drained or paused (for example nodes this run drained itself).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  allow_drained_with_label:
    description:
      - A node label C(key=value); nodes that carry it may be drained or paused (for example the
        nodes a maintenance run marked as its own).
    type: str
    version_added: 0.1.0
  require_odd_managers:
    description:
      - Count an even number of managers as a problem (an even count tolerates no more failures than one fewer).
    type: bool
    default: true
    version_added: 0.1.0
  services:
    description:
      - Names of the services whose convergence is checked. Empty means every service.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
seealso:
  - module: swarmops.lifecycle.quorum_info
  - module: swarmops.lifecycle.drain
'''

EXAMPLES = r'''
- name: Preflight, before touching anything
  swarmops.lifecycle.cluster_health:
  delegate_to: "{{ groups['swarm_managers'][0] }}"

- name: Health gate after a node came back, waiting for services to reconverge
  swarmops.lifecycle.cluster_health:
    wait: true
    timeout: 300
  delegate_to: "{{ groups['swarm_managers'][0] }}"
'''

RETURN = r'''
healthy:
  description: Whether every check passed.
  returned: always
  type: bool
problems:
  description: What is wrong, one sentence each, naming the node or service and the numbers.
  returned: always
  type: list
  elements: str
  sample: ["node worker-2 (x2b...) is drain, not active", "service web runs 3 of 4 replicas"]
leader:
  description: Hostname of the leader, or null.
  returned: always
  type: str
managers_total:
  description: Managers that raft knows about.
  returned: always
  type: int
managers_reachable:
  description: Managers that are reachable.
  returned: always
  type: int
nodes:
  description: Every node (id, hostname, role, availability, state, reachability, leader, labels).
  returned: always
  type: list
  elements: dict
services:
  description: >-
    Every checked service with its mode, desired and running task counts and whether it converged;
    C(surged_from) is the count a leftover surge will be put back to (V(null) without one).
  returned: always
  type: list
  elements: dict
  sample: [{name: web, mode: replicated, desired: 4, running: 4, surged_from: null, update_state: null, converged: true}]
elapsed:
  description: Seconds the module took, waiting included.
  returned: always
  type: float
'''

from ansible_collections.swarmops.lifecycle.plugins.module_utils._drain import surge_record
from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    ManagerCensus,
    SwarmUnavailable,
    describe_node,
    find_node,
    node_availability,
    node_hostname,
    node_label,
    node_state,
    service_mode,
    service_name,
    service_replicas,
    sort_by_hostname,
    task_is_running,
)

UPDATING = frozenset(('updating', 'rollback_started'))


def surge_keeps_count(original, running, desired):
    """A service left surged keeps its budget while it runs its own count, up to the surged one."""
    return original <= running <= desired


def service_health(service, tasks):
    """Desired and running counts of one service and whether it has converged."""
    own = [task for task in tasks if task.get('ServiceID') == service.get('ID')]
    meant_to_run = [task for task in own if task.get('DesiredState') == 'running']
    running = len([task for task in own if task_is_running(task)])
    mode = service_mode(service)
    update_state = (service.get('UpdateStatus') or {}).get('State')
    surged_from = None
    if mode == 'replicated':
        desired = service_replicas(service)
        counts_ok = running == desired
        original, surged_to, dummy = surge_record(service, None)
        if original is not None and surged_to is not None and desired == surged_to and original < desired:
            # Left scaled up by a surged drain that was cut short: the extra replicas are the surge,
            # which the next drain undoes; the service keeps its budget while it runs its own count.
            surged_from = original
            counts_ok = surge_keeps_count(original, running, desired)
    else:
        # A global service runs one task per eligible node; swarm says which by the tasks it wants to run.
        desired = len(meant_to_run)
        counts_ok = running == desired
    return dict(name=service_name(service), mode=mode, desired=desired, running=running, surged_from=surged_from,
                update_state=update_state, converged=counts_ok and update_state not in UPDATING
                and update_state != 'paused')


def drain_allowed(nodes, allow_drained, allow_label):
    """IDs of the nodes that may be drained: named ones, and those carrying the label key=value."""
    allowed = set()
    for name in allow_drained:
        node, dummy = find_node(nodes, name)
        if node is not None:
            allowed.add(node['ID'])
    if allow_label:
        key, dummy, value = allow_label.partition('=')
        allowed.update(node['ID'] for node in nodes
                       if ((node.get('Spec') or {}).get('Labels') or {}).get(key) == value)
    return allowed


def health_problems(nodes, services, tasks, allowed_drained, require_odd, only_services):
    """Everything that keeps the swarm from being healthy, as sentences for the operator."""
    problems = []
    census = ManagerCensus(nodes)
    if census.leader is None:
        problems.append('the swarm has no leader')
    for manager in census.unreachable:
        problems.append('manager %s is %s, not reachable: bring it back, or run recover.yml to remove it and restore '
                        'the manager count' % (
                            node_label(manager), (manager.get('ManagerStatus') or {}).get('Reachability') or 'unknown'))
    if require_odd and not census.quorum.odd:
        problems.append('%d managers, an even count: it tolerates no more failures than %d' % (
            census.total, census.total - 1))
    for node in sort_by_hostname(nodes):
        if node_state(node) == 'down' and node not in census.unreachable:
            problems.append('node %s is down, not ready: bring it back, or, if it is gone for good, remove it with '
                            '"docker node rm %s" (a manager: recover.yml)' % (node_label(node), node_hostname(node) or node['ID']))
        elif node_state(node) != 'ready' and node not in census.unreachable:
            problems.append('node %s is %s, not ready' % (node_label(node), node_state(node)))
        if node_availability(node) != 'active' and node['ID'] not in allowed_drained:
            problems.append('node %s is %s, not active' % (node_label(node), node_availability(node)))
    checked = []
    for service in sorted(services, key=service_name):
        if only_services and service_name(service) not in only_services:
            continue
        health = service_health(service, tasks)
        checked.append(health)
        if health['update_state'] == 'paused':
            problems.append('service %s has a paused (failed) update' % health['name'])
        elif health['update_state'] in UPDATING:
            problems.append('service %s is updating (%s)' % (health['name'], health['update_state']))
        if health['surged_from'] is not None:
            if not surge_keeps_count(health['surged_from'], health['running'], health['desired']):
                extra = health['desired'] - health['surged_from']
                problems.append('service %s runs %d of %d replicas (%d of them a surge an interrupted drain left, '
                                'which the next drain undoes)' % (health['name'], health['running'], health['desired'], extra))
        elif health['running'] != health['desired']:
            problems.append('service %s runs %d of %d %s' % (
                health['name'], health['running'], health['desired'],
                'replicas' if health['mode'] == 'replicated' else 'tasks it wants to run'))
    missing = sorted(set(only_services) - set(service_name(service) for service in services))
    for name in missing:
        problems.append('service %s does not exist' % name)
    return problems, census, checked


class ClusterHealth(SwarmModule):
    """The health gate: every problem that keeps the swarm from being healthy, optionally waited out."""

    def snapshot(self):
        try:
            nodes = self.client.nodes_or_unavailable()
        except SwarmUnavailable as exc:
            if exc.no_leader:
                return False, dict(problems=['the swarm has no leader (quorum lost): %s' % exc.reason],
                                   nodes=[], services=[], census=None)
            self.client.fail_unavailable(exc, 'check the health of the swarm')
        services = self.client.services()
        tasks = self.client.tasks()
        allowed = drain_allowed(nodes, self.params['allow_drained'], self.params['allow_drained_with_label'])
        problems, census, checked = health_problems(
            nodes, services, tasks, allowed, self.params['require_odd_managers'], self.params['services'])
        return not problems, dict(problems=problems, nodes=nodes, services=checked, census=census)

    def run(self):
        if self.params['wait']:
            outcome = self.client.wait_until(self.snapshot)
            healthy, state = outcome.done, outcome.progress
        else:
            healthy, state = self.snapshot()
        census = state['census']
        result = dict(
            healthy=healthy, problems=state['problems'],
            leader=node_hostname(census.leader) if census is not None and census.leader else None,
            managers_total=census.total if census is not None else None,
            managers_reachable=census.reachable_count if census is not None else None,
            nodes=[dict(describe_node(node), labels=(node.get('Spec') or {}).get('Labels') or {})
                   for node in sort_by_hostname(state['nodes'])],
            services=state['services'], elapsed=self.client.elapsed())
        if not healthy:
            waited = ' after waiting %ss' % result['elapsed'] if self.params['wait'] else ''
            self.client.fail('The swarm is not healthy%s: %s. Nothing was changed. Fix these (or wait for them to '
                             'settle) before going on.' % (waited, '; '.join(state['problems'])), **result)
        self.exit(**result)


def main():
    run_module(ClusterHealth, dict(
        wait=dict(type='bool', default=False),
        allow_drained=dict(type='list', elements='str', default=[]),
        allow_drained_with_label=dict(type='str'),
        require_odd_managers=dict(type='bool', default=True),
        services=dict(type='list', elements='str', default=[]),
    ))


if __name__ == '__main__':
    main()
