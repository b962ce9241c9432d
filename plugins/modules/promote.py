#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: promote
short_description: Make a Docker Swarm node a manager and wait until it is reachable
version_added: 0.1.0
description:
  - Promotes a worker to manager through the manager the task runs on, then waits until raft
    reports the new manager C(Reachable).
  - A node that already has the manager role is left as it is (no change); when it is up but not
    yet reachable the module still waits for it.
  - Refuses an unknown node and a node that is not up (status other than C(ready)). Right after a
    leader change every node shows the status C(unknown) until it reports again; the module waits up
    to 60 seconds (within O(timeout)) for the real status before deciding.
  - Warns when the promotion leaves an even number of managers, which tolerates no more failures
    than one manager fewer.
author:
  - swarmops.lifecycle developers (@swarmops)
extends_documentation_fragment:
  - swarmops.lifecycle.swarm
  - swarmops.lifecycle.swarm.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  node:
    description:
      - Hostname or ID of the node to promote, as in C(docker node ls).
    type: str
    required: true
    version_added: 0.1.0
  wait:
    description:
      - Wait, within O(timeout), until the node is a C(Reachable) manager.
    type: bool
    default: true
    version_added: 0.1.0
seealso:
  - module: swarmops.lifecycle.demote
  - module: swarmops.lifecycle.quorum_info
'''

EXAMPLES = r'''
- name: Promote a healthy worker to restore an odd manager count
  swarmops.lifecycle.promote:
    node: worker-1
  delegate_to: "{{ groups['swarm_managers'][0] }}"

- name: Converge every host of swarm_managers to the manager role
  swarmops.lifecycle.promote:
    node: "{{ swarm_node_name | default(inventory_hostname) }}"
    timeout: 120
  delegate_to: "{{ groups['swarm_managers'][0] }}"
  when: inventory_hostname in groups['swarm_managers']
'''

RETURN = r'''
node_before:
  description: The node before the module ran.
  returned: always
  type: dict
  sample: {id: qhk5lelkzyltiaomtylmgphan, hostname: dev4, role: worker, availability: active, state: ready,
           addr: 172.30.215.14, manager: false, reachability: null, leader: false, manager_addr: null}
node_after:
  description: The node when the module returned (in check mode, as it would be).
  returned: always
  type: dict
  sample: {id: qhk5lelkzyltiaomtylmgphan, hostname: dev4, role: manager, availability: active, state: ready,
           addr: 172.30.215.14, manager: true, reachability: reachable, leader: false, manager_addr: '172.30.215.14:2377'}
managers_total:
  description: Managers (raft members) when the module returned.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 2.1
'''

from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    ManagerCensus,
    describe_node,
    is_reachable_manager,
    node_hostname,
    node_label,
    node_role,
    node_state,
)


class Promote(SwarmModule):
    """Promote a worker to manager, once quorum cannot depend on it."""

    def run(self):
        nodes = self.client.nodes('read the node list to promote %s' % self.params['node'])
        node = self.client.settle_node(self.client.require_node(nodes, self.params['node']))
        census = ManagerCensus(nodes)
        self.result['node_before'] = describe_node(node)
        already_manager = node_role(node) == 'manager'
        self.diff.add('node', node_label(node), node_label(node))
        self.diff.add('role', node_role(node), 'manager')
        if not already_manager:
            self.check_can_promote(node, census)
        elif node_state(node) != 'ready':
            self.module.warn('Node %s already has the manager role but its status is %s; nothing to promote. '
                             'If it is gone for good, remove it with swarmops.lifecycle.demote and remove: true.'
                             % (node_label(node), node_state(node)))
        if self.module.check_mode:
            after = dict(self.result['node_before'], role='manager')
            return self.finish(after, census.total + (0 if already_manager else 1))
        if not already_manager:
            self.client.update_node_spec(self.client.inspect_node(node['ID']) or node, Role='manager')
        if self.params['wait'] and node_state(node) == 'ready':
            self.wait_until_reachable(node)
        after_nodes = self.client.nodes('read the node list after promoting %s' % node_label(node))
        after_node = [item for item in after_nodes if item['ID'] == node['ID']]
        self.finish(describe_node(after_node[0]) if after_node else None, ManagerCensus(after_nodes).total)

    def check_can_promote(self, node, census):
        after = census.after_promote()
        if node_state(node) != 'ready':
            self.client.fail(
                'Refusing to promote node %s: its status is %s, not ready. A manager that cannot join raft lowers '
                'the fault tolerance: with it N would be %d and the quorum %d, but it could not vote. Nothing was '
                'changed. Start the node (or its engine) first, or promote another worker.'
                % (node_label(node), node_state(node), after.total, after.size),
                node_before=describe_node(node))
        if not (census.quorum.has and after.has):
            unreachable = ', '.join(node_hostname(item) or item['ID'] for item in census.unreachable) or 'none'
            self.client.fail(
                'Refusing to promote %s: the swarm has N=%d managers, R=%d reachable (unreachable: %s). With %s, N=%d '
                'needs %d reachable managers, so quorum would depend on %s joining raft. Nothing was changed. Remove '
                'the unreachable managers first (swarmops.lifecycle.demote with remove: true, or recover.yml, which '
                'removes ghosts before it promotes), then promote.'
                % (node_label(node), census.total, census.reachable_count, unreachable, node_hostname(node) or node['ID'],
                   after.total, after.size, node_hostname(node) or node['ID']),
                node_before=describe_node(node), managers=census.summary())
        if not after.odd:
            self.module.warn('Promoting %s leaves %d managers, an even count: quorum %d, fault tolerance %d, the same '
                             'as with %d. Promote one more node to gain fault tolerance.'
                             % (node_label(node), after.total, after.size, after.fault_tolerance_max, census.total))

    def wait_until_reachable(self, node):
        def reachable():
            current = self.client.inspect_node(node['ID']) or {}
            return is_reachable_manager(current), current

        outcome = self.client.wait_until(reachable)
        if not outcome.done:
            status = (outcome.progress or {}).get('ManagerStatus') or {}
            self.client.fail(
                'Node %s has the manager role but was not Reachable after %ss (reachability: %s, role in spec: %s). '
                'Check that the managers reach each other on port 2377, then run again or raise timeout.'
                % (node_label(node), self.client.elapsed(), status.get('Reachability') or 'not a raft member yet',
                   node_role(outcome.progress or node)),
                node_after=describe_node(outcome.progress) if outcome.progress else None, elapsed=self.client.elapsed())

    def finish(self, node_after, managers_total):
        self.exit(node_after=node_after, managers_total=managers_total)


def main():
    run_module(Promote, dict(
        node=dict(type='str', required=True),
        wait=dict(type='bool', default=True),
    ))


if __name__ == '__main__':
    main()
