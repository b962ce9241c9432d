#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: demote
short_description: Make a Docker Swarm manager a worker without losing quorum, and remove ghost managers
version_added: 0.1.0
description:
  - Demotes a manager to worker through the manager the task runs on. When the node is the leader,
    waits until another manager has been elected.
  - "Before changing anything it refuses: the last manager; a demote that would lose quorum; a demote
    that leaves an even number of managers unless O(allow_even=true)."
  - "Quorum rule, with N managers of which R are reachable: demoting a reachable manager keeps quorum
    only if C(R-1 >= floor((N-1\\)/2\\)+1); demoting an unreachable one only if C(R >= floor((N-1\\)/2\\)+1)."
  - A manager that is unreachable or down (for example a ghost left by C(docker swarm leave --force))
    can be demoted and, with O(remove=true), removed from the node list in the same call.
  - A node that has the manager role but is not a raft member and is not up (an entry left over after
    a forced new cluster) cannot be demoted by the engine; with O(remove=true) it is removed.
  - Such an entry whose node is ready (a promotion that has not finished, or an old manager whose
    engine still runs after a forced cluster) is refused either way, before any change, since the
    engine would refuse the demotion and its engine is live.
  - A worker is left as it is (no change). With O(remove=true) a worker that is down is removed, and a
    node that is already gone is reported as unchanged.
  - With O(remove=true), a node whose status is C(unknown) (every node, right after a leader change)
    is given up to 60 seconds (within O(timeout)) to report its real status before the module decides.
author:
  - swarmops.lifecycle developers (@swarmops)
extends_documentation_fragment:
  - swarmops.lifecycle.swarm
  - swarmops.lifecycle.swarm.attributes
attributes:
  check_mode:
    support: full
    details:
      - Refusals happen in check mode as well.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  node:
    description:
      - Hostname or ID of the node to demote, as in C(docker node ls).
    type: str
    required: true
    version_added: 0.1.0
  allow_even:
    description:
      - Allow a demote that leaves an even number of managers (for example 3 to 2, quorum 2, no fault
        tolerance). Recovery uses it to remove a ghost before promoting a replacement.
    type: bool
    default: false
    version_added: 0.1.0
  remove:
    description:
      - Also remove the node from the swarm's node list. Only for nodes that are unreachable or down;
        a reachable manager or a ready worker is refused (make it leave the swarm first).
    type: bool
    default: false
    version_added: 0.1.0
  wait:
    description:
      - Wait, within O(timeout), until the node has left raft and, when it was the leader, until a
        new leader is elected.
    type: bool
    default: true
    version_added: 0.1.0
notes:
  - When the task runs on the manager being demoted, the local engine stops being a manager and the
    election of a new leader cannot be observed from it; the module then warns. Run the task on
    another manager (C(delegate_to)) to have it confirmed.
seealso:
  - module: swarmops.lifecycle.promote
  - module: swarmops.lifecycle.quorum_info
'''

EXAMPLES = r'''
- name: Demote a manager, from another manager
  swarmops.lifecycle.demote:
    node: manager-3
  delegate_to: "{{ groups['swarm_managers'][0] }}"

- name: Remove the ghost of a manager that left with --force, then restore the count with promote
  swarmops.lifecycle.demote:
    node: manager-2
    remove: true
    allow_even: true
  delegate_to: manager-1

- name: Shrink from 5 to 3 managers (two steps, the first leaves 4)
  swarmops.lifecycle.demote:
    node: "{{ item.node }}"
    allow_even: "{{ item.allow_even }}"
  loop:
    - {node: manager-5, allow_even: true}
    - {node: manager-4, allow_even: false}
  delegate_to: manager-1
'''

RETURN = r'''
node_before:
  description: The node before the module ran; V(null) when it was already gone.
  returned: always
  type: dict
  sample: {id: p75hpjzixrlefvb0rhj6qg24w, hostname: dev3, role: manager, availability: active, state: ready,
           addr: 172.30.215.13, manager: true, reachability: reachable, leader: false, manager_addr: '172.30.215.13:2377'}
node_after:
  description: The node when the module returned (in check mode, as it would be); V(null) when removed.
  returned: always
  type: dict
removed:
  description: Whether the node was (or in check mode would be) removed from the node list.
  returned: always
  type: bool
  sample: false
leader:
  description: The leader when the module returned.
  returned: always
  type: dict
  sample: {id: url80kvh1709ohl5ld5u6jonv, hostname: dev1, addr: '172.30.215.11:2377'}
managers_total:
  description: Managers (raft members) when the module returned (in check mode, as it would be).
  returned: always
  type: int
  sample: 2
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 1.3
'''

from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    ManagerCensus,
    SwarmUnavailable,
    describe_node,
    find_node,
    is_leader,
    is_raft_member,
    is_reachable_manager,
    node_hostname,
    node_label,
    node_role,
    node_state,
    short_node,
)


class Demote(SwarmModule):
    """Demote a manager (or remove a ghost) without losing quorum or leaving an even count."""

    def __init__(self, module, client):
        super(Demote, self).__init__(module, client)
        self.result['removed'] = False

    def run(self):
        nodes = self.client.nodes('read the node list to demote %s' % self.params['node'])
        census = ManagerCensus(nodes)
        node, ambiguity = find_node(nodes, self.params['node'])
        if node is None and self.params['remove'] and ambiguity is None:
            # Asked for "demoted and removed": already true.
            return self.finish(None, None, census)
        if node is None:
            self.client.require_node(nodes, self.params['node'])
        if self.params['remove']:
            # Whether it may be removed depends on its status, which a leader change blurs.
            node = self.client.settle_node(node)
        self.node = node
        self.result['node_before'] = describe_node(node)
        demote, remove = self.plan(node, census)
        self.diff.add('node', node_label(node), node_label(node))
        self.diff.add('role', node_role(node), 'worker' if demote else node_role(node))
        self.diff.add('present', True, not remove)
        self.result['changed'] = self.diff.has_differences
        predicted = None if remove else dict(self.result['node_before'], role='worker', manager=False,
                                             reachability=None, leader=False, manager_addr=None)
        managers_after = census.total - (1 if is_raft_member(node) else 0)
        if self.module.check_mode:
            self.result['removed'] = remove
            return self.finish(predicted, census.leader, census, managers_total=managers_after)
        if demote:
            self.client.update_node_spec(self.client.inspect_node(node['ID']) or node, Role='worker')
            if node['ID'] == self.client.swarm_info().get('NodeID'):
                # This engine is a worker now: it can no longer read cluster state.
                if self.params['wait']:
                    self.wait_for_local_demotion(node, was_leader=is_leader(node))
                return self.finish(predicted, None, census, managers_total=managers_after)
            if self.params['wait'] or remove:
                self.wait_for_demotion(node)
        if remove:
            current = self.client.inspect_node(node['ID'])
            if current is not None:
                # Forced only for nodes checked above to be unreachable or down.
                self.client.remove_node(current, force=node_state(current) != 'down')
            self.result['removed'] = True
        after = None if remove else self.client.inspect_node(node['ID'])
        census = self.current_census() or census
        self.finish(describe_node(after), census.leader, census)

    def current_census(self):
        try:
            return ManagerCensus(self.client.nodes_or_unavailable())
        except SwarmUnavailable:
            # The local engine was the one demoted, or an election is still running.
            return None

    def plan(self, node, census):
        """Decide (demote, remove), refusing before any change when it is unsafe."""
        remove = self.params['remove']
        if is_raft_member(node):
            self.check_quorum(node, census)
            if remove and is_reachable_manager(node):
                self.client.fail(
                    'Refusing to remove manager %s: it is reachable, so it is not a ghost; removing a live node leaves '
                    'an engine that still believes it is in the swarm. Nothing was changed. Demote it without '
                    'remove, run "docker swarm leave" on it, then remove it.' % node_label(node),
                    node_before=describe_node(node))
            return True, remove
        if node_role(node) == 'manager':
            if node_state(node) == 'ready':
                # A promotion in flight, or an old manager's entry whose engine still runs after a
                # forced cluster: the engine refuses to demote a node outside the raft member list.
                self.client.fail(
                    'Refusing to demote %s: it has the manager role and is ready, but it is not a raft member (a '
                    'promotion that has not finished, or the entry of an old manager whose engine still runs after a '
                    'forced new cluster); the engine refuses to demote a node that is not in the raft member list, '
                    'and its engine is live, so the entry is not removed either. Nothing was changed. Wait until '
                    'swarmops.lifecycle.quorum_info lists it as a reachable manager and demote it then, or run '
                    '"docker swarm leave --force" on it and remove the entry (remove: true).' % node_label(node),
                    node_before=describe_node(node))
            if not remove:
                self.client.fail(
                    'Cannot demote %s: it has the manager role but is not a raft member and its status is %s '
                    '(a stale entry, typically left by a forced new cluster); the engine refuses to demote it. '
                    'Nothing was changed. Use remove: true to delete the entry, then re-join the host.'
                    % (node_label(node), node_state(node)), node_before=describe_node(node))
            return False, True
        return False, self.check_removable(node, remove)

    def check_removable(self, node, remove):
        if remove and node_state(node) == 'ready':
            self.client.fail(
                'Refusing to remove %s: it is a %s whose status is ready, so its engine is still in the swarm. '
                'Nothing was changed. Run "docker swarm leave" on it first, or set remove: false.'
                % (node_label(node), node_role(node)), node_before=describe_node(node))
        return remove

    def check_quorum(self, node, census):
        managers, reachable = census.total, census.reachable_count
        target_reachable = is_reachable_manager(node)
        after = census.after_demote(node)
        unreachable = ', '.join(node_hostname(item) or item['ID'] for item in census.unreachable) or 'none'
        if managers <= 1:
            self.client.fail(
                'Refusing to demote %s: it is the last manager (N=1); the swarm would have no manager and no raft. '
                'Nothing was changed. Promote another node first (swarmops.lifecycle.promote).' % node_label(node),
                node_before=describe_node(node))
        if not (census.quorum.has and after.has):
            self.client.fail(
                'Refusing to demote %s manager %s: the swarm has N=%d managers, R=%d reachable (unreachable: %s). After the '
                'demote %d of %d managers would be reachable, below the quorum of floor((N-1)/2)+1=%d, and the swarm '
                'would lose its leader. Nothing was changed. Bring the unreachable managers back or remove them first '
                '(demote with remove: true), or promote a worker.'
                % ('reachable' if target_reachable else 'unreachable', node_label(node), managers, reachable,
                   unreachable, after.reachable, after.total, after.size),
                node_before=describe_node(node))
        if not after.odd and not self.params['allow_even']:
            self.client.fail(
                'Refusing to demote %s: it would leave %d managers, an even count (quorum %d, fault tolerance %d, the '
                'same as with %d). Nothing was changed. Promote a worker first, or set allow_even: true if '
                'this is a step (for example removing a ghost before promoting its replacement).'
                % (node_label(node), after.total, after.size, after.fault_tolerance_max, after.total - 1),
                node_before=describe_node(node))

    def wait_for_demotion(self, node):
        """Until the node has left raft and another manager leads."""
        def demoted():
            try:
                nodes = self.client.nodes_or_unavailable()
            except SwarmUnavailable as exc:
                # During an election the API briefly has no leader.
                return False, dict(reason=exc.reason)
            census = ManagerCensus(nodes)
            current = [item for item in nodes if item['ID'] == node['ID']]
            in_raft = bool(current) and is_raft_member(current[0])
            leader_ok = census.leader is not None and census.leader['ID'] != node['ID']
            return (not in_raft and leader_ok), dict(in_raft=in_raft, leader=short_node(census.leader) if census.leader else None)

        outcome = self.client.wait_until(demoted)
        if not outcome.done:
            self.client.fail(
                'Demoted %s but after %ss %s. Check with swarmops.lifecycle.quorum_info, then run again or raise timeout.'
                % (node_label(node), self.client.elapsed(),
                   'it is still a raft member' if (outcome.progress or {}).get('in_raft')
                   else 'no new leader was elected (%s)' % (outcome.progress or {}).get('reason', 'no leader')),
                pending=outcome.progress, elapsed=self.client.elapsed())

    def wait_for_local_demotion(self, node, was_leader):
        def local_is_worker():
            swarm = self.client.swarm_info()
            return not swarm.get('ControlAvailable'), swarm

        outcome = self.client.wait_until(local_is_worker)
        if not outcome.done:
            self.client.fail('Demoted %s (the node this task runs on) but its engine still runs a manager after %ss. '
                             'Check "docker info" on it.' % (node_label(node), self.client.elapsed()))
        self.module.warn('%s was demoted from its own engine, which is now a worker%s; the new leader cannot be '
                         'confirmed from here. Run swarmops.lifecycle.quorum_info on another manager.'
                         % (node_label(node), ' and was the leader' if was_leader else ''))

    def finish(self, node_after, leader, census, managers_total=None):
        self.result.update(
            node_after=node_after,
            leader=short_node(leader) if leader else None,
            managers_total=census.total if managers_total is None else managers_total,
        )
        self.result.setdefault('node_before', None)
        self.exit()


def main():
    run_module(Demote, dict(
        node=dict(type='str', required=True),
        allow_even=dict(type='bool', default=False),
        remove=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
    ))


if __name__ == '__main__':
    main()
