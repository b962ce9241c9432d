#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: quorum_info
short_description: Report the quorum and health of a Docker Swarm's managers
version_added: 0.1.0
description:
  - Reports the managers of the swarm (total, reachable, unreachable, with names and IDs), the
    leader, the quorum size C(floor(N/2\)+1), the fault tolerance, whether the manager count is
    odd, the lock state, the nodes that are down, and role and availability per node.
  - N counts the managers that are members of raft, as C(docker info) does. Nodes that carry
    the manager role without being raft members (left over after a forced new cluster) are
    reported apart, in RV(stale_managers).
  - On a manager that has lost quorum the module still answers, with RV(has_quorum=false) and
    what the local engine knows (its list of managers, its own ID and address); it does not fail.
    On a worker, a locked engine or a node outside a swarm it also answers from the local engine.
author:
  - swarmops.lifecycle developers (@swarmops)
extends_documentation_fragment:
  - swarmops.lifecycle.swarm
  - swarmops.lifecycle.swarm.attributes
  - swarmops.lifecycle.swarm.info_module
options:
  wait_for_leader:
    description:
      - On a manager whose swarm has no leader, ask again for up to the longest leader election
        (30 s; an election after a leader crash lasts 10 to 20 s) before reporting RV(has_quorum=false).
        A lost quorum is still reported, only later; a worker or an engine outside a swarm is not waited for.
    type: bool
    default: false
    version_added: 0.2.0
seealso:
  - module: swarmops.lifecycle.force_new_cluster
  - module: swarmops.lifecycle.demote
'''

EXAMPLES = r'''
- name: Read the quorum from the first manager
  swarmops.lifecycle.quorum_info:
  register: quorum
  delegate_to: "{{ groups['swarm_managers'][0] }}"
  run_once: true

- name: Stop when the swarm cannot lose a manager
  ansible.builtin.assert:
    that:
      - quorum.has_quorum
      - quorum.fault_tolerance >= 1
      - quorum.manager_count_odd
    fail_msg: >-
      {{ quorum.managers_reachable }} of {{ quorum.managers_total }} managers reachable,
      quorum {{ quorum.quorum_size }}, unreachable: {{ quorum.unreachable_managers | map(attribute='hostname') | list }}

- name: Diagnose every manager, even those that lost quorum
  swarmops.lifecycle.quorum_info:
  register: manager_view
  # Runs on each manager; a manager without quorum reports has_quorum=false instead of failing.
  when: inventory_hostname in groups['swarm_managers']
'''

RETURN = r'''
has_quorum:
  description:
    - Whether the managers seen from this node form a majority with a leader.
    - V(null) when the local engine cannot tell (a worker, a locked engine, a node outside a swarm).
  returned: always
  type: bool
  sample: true
source:
  description:
    - V(cluster) when the facts come from the cluster's node list (quorum present), V(local_engine)
      when only the local engine's own view (C(docker info)) was available.
  returned: always
  type: str
  sample: cluster
engine_error:
  description: Why the cluster's node list could not be read (for example no leader).
  returned: when RV(source=local_engine) and the engine gave a reason
  type: str
  sample: The swarm does not have a leader.
local_node:
  description: The node the module ran on.
  returned: always
  type: dict
  contains:
    id:
      description: Node ID, empty when not in a swarm.
      type: str
    addr:
      description: Address the node advertises.
      type: str
    state:
      description: C(LocalNodeState) of the engine (V(active), V(locked), V(inactive), V(pending), V(error)).
      type: str
    is_manager:
      description: Whether the local engine runs a manager (control API available).
      type: bool
  sample: {id: url80kvh1709ohl5ld5u6jonv, addr: 172.30.215.11, state: active, is_manager: true}
docker_root_dir:
  description: The engine's data-root (C(DockerRootDir) of C(docker info)); its swarm state is under C(swarm/).
  returned: always
  type: str
  sample: /var/lib/docker
  version_added: 0.2.0
raft_newest:
  description:
    - Modification time (seconds since the epoch) of the newest file of the engine's raft state
      (C(<docker_root_dir>/swarm/raft)); V(0) when there is none or it cannot be seen from where the module runs.
    - recover.yml forces a new cluster on the surviving manager with the newest raft state.
  returned: always
  type: float
  sample: 1764612345.5
  version_added: 0.2.0
locked:
  description: Whether the local engine is locked and waits for its unlock key.
  returned: always
  type: bool
  sample: false
autolock:
  description:
    - Whether the swarm has autolock enabled; V(null) when it cannot be told (no quorum and the
      engine's data directory is not visible from where the module runs).
  returned: always
  type: bool
  sample: false
managers_total:
  description: Number of managers (raft members), N.
  returned: always
  type: int
  sample: 3
managers_reachable:
  description:
    - Number of reachable managers, R. Without quorum only the local manager is counted as reachable.
  returned: always
  type: int
  sample: 3
managers_unreachable:
  description: Number of unreachable managers, N - R.
  returned: always
  type: int
  sample: 0
reachable_managers:
  description: The reachable managers.
  returned: always
  type: list
  elements: dict
  sample: [{id: url80kvh1709ohl5ld5u6jonv, hostname: dev1, addr: '172.30.215.11:2377'}]
unreachable_managers:
  description: The unreachable managers (hostname empty when only the local engine's view was available).
  returned: always
  type: list
  elements: dict
  sample: [{id: p75hpjzixrlefvb0rhj6qg24w, hostname: dev3, addr: '172.30.215.13:2377'}]
leader:
  description: The leader, V(null) when there is none or it is unknown.
  returned: always
  type: dict
  sample: {id: url80kvh1709ohl5ld5u6jonv, hostname: dev1, addr: '172.30.215.11:2377'}
quorum_size:
  description: Managers needed for a majority, C(floor(N/2\)+1).
  returned: always
  type: int
  sample: 2
fault_tolerance:
  description: Managers that may still be lost while keeping quorum, C(max(0, R - quorum_size\)); with all reachable that is C(floor((N-1\)/2\)).
  returned: always
  type: int
  sample: 1
fault_tolerance_max:
  description: Fault tolerance of N managers when all are reachable, C(floor((N-1\)/2\)).
  returned: always
  type: int
  sample: 1
manager_count_odd:
  description: Whether N is odd (an even N tolerates no more failures than N-1).
  returned: always
  type: bool
  sample: true
down_nodes:
  description: Nodes whose status is not C(ready) (down, unknown, disconnected). Empty without quorum.
  returned: always
  type: list
  elements: dict
  sample: [{id: qhk5lelkzyltiaomtylmgphan, hostname: dev4, role: worker, state: down}]
stale_managers:
  description: Nodes with the manager role that are not raft members and not ready (left over after a forced new cluster).
  returned: always
  type: list
  elements: dict
  sample: []
nodes:
  description: Every node with its role, availability, state and manager status. Empty without quorum.
  returned: always
  type: list
  elements: dict
  sample:
    - {id: url80kvh1709ohl5ld5u6jonv, hostname: dev1, role: manager, availability: active, state: ready,
       addr: 172.30.215.11, manager: true, reachability: reachable, leader: true, manager_addr: '172.30.215.11:2377'}
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  version_added: 0.2.0
'''

from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    ManagerCensus,
    Quorum,
    SwarmUnavailable,
    describe_node,
    short_node,
    sort_by_hostname,
)


class QuorumInfo(SwarmModule):
    """What this engine knows of the swarm's managers and quorum; never changes anything."""

    def run(self):
        self.exit(**self.facts())

    def facts(self):
        info = self.client.info() or {}
        swarm = info.get('Swarm') or {}
        local_state = swarm.get('LocalNodeState') or 'inactive'
        facts = dict(
            local_node=dict(id=swarm.get('NodeID') or '', addr=swarm.get('NodeAddr') or '', state=local_state,
                            is_manager=bool(swarm.get('ControlAvailable'))),
            locked=local_state == 'locked',
            autolock=self.client.autolock_enabled(info),
            docker_root_dir=info.get('DockerRootDir') or '',
            raft_newest=self.client.raft_newest(info),
        )
        # "pending": a manager that restarted and cannot reach a leader.
        if local_state in ('active', 'pending'):
            try:
                facts.update(self.from_cluster(self.read_nodes(swarm)))
                return facts
            except SwarmUnavailable as exc:
                facts['engine_error'] = exc.reason
        elif swarm.get('Error'):
            facts['engine_error'] = swarm['Error']
        facts.update(self.from_local_engine(swarm))
        return facts

    def read_nodes(self, swarm):
        """The node list; with wait_for_leader, an election on a manager is waited out first."""
        if not (self.module.params['wait_for_leader'] and swarm.get('ControlAvailable')):
            return self.client.nodes_or_unavailable()
        return self.client.nodes_across_election()

    def from_cluster(self, nodes):
        census = ManagerCensus(nodes)
        facts = census.summary()
        facts.update(
            source='cluster',
            has_quorum=census.has_quorum and census.leader is not None,
            reachable_managers=[short_node(node) for node in sort_by_hostname(census.reachable)],
            unreachable_managers=[short_node(node) for node in sort_by_hostname(census.unreachable)],
            fault_tolerance_max=census.quorum.fault_tolerance_max,
            manager_count_odd=census.quorum.odd,
            down_nodes=[dict((key, described[key]) for key in ('id', 'hostname', 'role', 'state'))
                        for described in (describe_node(node) for node in nodes) if described['state'] != 'ready'],
            stale_managers=[describe_node(node) for node in census.not_in_raft if describe_node(node)['state'] != 'ready'],
            nodes=[describe_node(node) for node in sort_by_hostname(nodes)],
        )
        return facts

    def from_local_engine(self, swarm):
        """Only what this engine knows: its manager list, and itself. Reachability of others is unknown."""
        local_id = swarm.get('NodeID') or ''
        remote = [dict(id=item.get('NodeID'), hostname='', addr=item.get('Addr'))
                  for item in swarm.get('RemoteManagers') or []]
        is_active_manager = bool(swarm.get('ControlAvailable')) and swarm.get('LocalNodeState') in ('active', 'pending')
        total = int(swarm.get('Managers') or len(remote))
        if is_active_manager:
            reachable = [item for item in remote if item['id'] == local_id] or [
                dict(id=local_id, hostname='', addr=swarm.get('NodeAddr'))]
            unreachable = [item for item in remote if item['id'] != local_id]
            total = max(total, len(reachable) + len(unreachable))
            # An active manager that cannot list nodes has no leader, whatever the reason.
            has_quorum = False
        else:
            # A worker, a locked or inactive engine cannot tell who is reachable.
            reachable, unreachable, has_quorum = [], [], None
        return dict(
            source='local_engine',
            has_quorum=has_quorum,
            managers_total=total,
            managers_reachable=len(reachable),
            managers_unreachable=len(unreachable),
            reachable_managers=reachable,
            unreachable_managers=unreachable,
            leader=None,
            quorum_size=Quorum(total).size,
            fault_tolerance=0,
            fault_tolerance_max=Quorum(total).fault_tolerance_max,
            manager_count_odd=Quorum(total).odd,
            down_nodes=[],
            stale_managers=[],
            nodes=[],
        )


def main():
    run_module(QuorumInfo, dict(wait_for_leader=dict(type='bool', default=False)))


if __name__ == '__main__':
    main()
