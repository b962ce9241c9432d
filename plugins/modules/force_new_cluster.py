#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: force_new_cluster
short_description: Recover a Docker Swarm that lost quorum by forcing a new cluster on a surviving manager
version_added: 0.1.0
description:
  - On a surviving manager of a swarm that has lost quorum, runs the equivalent of
    C(docker swarm init --force-new-cluster), waits until this node is the leader and the API
    answers, and returns the services, secrets and configs that survived and the stale manager
    entries (the managers of the old cluster, still listed with the manager role).
  - When the engine is locked (autolock, after a restart), it is first unlocked with O(unlock_key) so
    that the module can tell whether the swarm still has quorum.
  - B(Autolocked swarms cannot be recovered this way.) The engine starts the forced cluster without
    the unlock key and fails, leaving the node out of the swarm (moby/moby#36852); and a locked
    manager without quorum never finishes unlocking. The module therefore refuses on an autolocked
    swarm and says how to restore quorum instead. Keep autolock off where forced recovery must stay
    possible.
  - It refuses a cluster that still has a leader and quorum (unless O(force=true)), a node that is
    not a manager, a node without raft state (not in a swarm, or no C(swarm/raft) directory in the
    engine's data root), a locked engine without O(unlock_key), and an autolocked swarm.
  - The loss of quorum is confirmed over a few seconds before acting, so that a leader election in a
    healthy swarm is not mistaken for it.
  - The module is idempotent. On the single-manager cluster it created (this node leads, it is the only raft
    member) it reports no change.
  - Right after the new cluster leads, the module removes every other entry with the manager role
    (the old cluster's managers, none of them a raft member now), unless
    O(remove_stale_managers=false). Their hosts must then leave their old swarm and join again.
    Left in place, the entry of an old manager whose engine still runs lets that engine get a
    manager certificate from the new cluster and join its raft by itself (see the option).
author:
  - swarmops.lifecycle developers (@swarmops)
extends_documentation_fragment:
  - swarmops.lifecycle.swarm
  - swarmops.lifecycle.swarm.attributes
attributes:
  check_mode:
    support: full
    details:
      - A locked engine is not unlocked in check mode, so whether the swarm still has quorum cannot be
        told; the module then predicts a change and warns.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  advertise_addr:
    description:
      - Address the new cluster's only manager advertises. Defaults to the address this node
        advertises now.
    type: str
    version_added: 0.1.0
  unlock_key:
    description:
      - Unlock key of an autolocked swarm (C(docker swarm unlock-key -q)). Needed when the engine is
        locked, for example after a restart, to unlock it before anything else is decided.
    type: str
    version_added: 0.1.0
  remove_stale_managers:
    description:
      - Remove the other manager entries (not raft members of the new cluster) right after it leads.
      - The new raft tells each old manager whose engine still runs that it was removed; that engine
        drops its raft data and asks the new cluster's CA for a certificate. While its entry still has
        the manager role it gets a manager's and joins the new raft by itself, and the single-manager
        cluster becomes two members that both count for quorum; if that host is then made to leave
        (to rejoin it as a worker) the new cluster has no leader any more. Removed entries cannot get
        a certificate; their hosts wait to be rejoined (C(docker swarm leave --force), then join).
      - An entry that already joined the new raft is kept and reported in RV(joined_managers).
      - With V(false) they are only reported in RV(stale_managers).
    type: bool
    default: true
    version_added: 0.2.0
  force:
    description:
      - Force a new cluster even though the swarm still has a leader and quorum.
      - B(Dangerous.) Every other manager is dropped from raft; they become stale entries and must
        leave and re-join. Only for a split you have diagnosed, never for a healthy swarm.
    type: bool
    default: false
    version_added: 0.1.0
seealso:
  - module: swarmops.lifecycle.quorum_info
  - module: swarmops.lifecycle.demote
  - name: Recover from losing the quorum
    description: Docker's guide to disaster recovery of a swarm.
    link: https://docs.docker.com/engine/swarm/admin_guide/#recover-from-losing-the-quorum
'''

EXAMPLES = r'''
- name: Diagnose the managers
  swarmops.lifecycle.quorum_info:
  register: view
  when: inventory_hostname in groups['swarm_managers']

- name: Force a new cluster on the surviving manager
  swarmops.lifecycle.force_new_cluster:
    advertise_addr: "{{ swarm_advertise_addr }}"
    unlock_key: "{{ swarm_unlock_key | default(omit) }}"
  register: recovered
  when: inventory_hostname == survivor

- name: The old managers' hosts leave their old swarm (their entries were removed), then join as workers
  ansible.builtin.command: docker swarm leave --force
  when: inventory_hostname in old_managers_that_answer
'''

RETURN = r'''
node_id:
  description: ID of this node, the leader of the new cluster.
  returned: always
  type: str
  sample: url80kvh1709ohl5ld5u6jonv
leader:
  description: The leader when the module returned (in check mode, as it would be).
  returned: always
  type: dict
  sample: {id: url80kvh1709ohl5ld5u6jonv, hostname: dev1, addr: '172.30.215.11:2377'}
managers_before:
  description: The managers the local engine knew before (its C(RemoteManagers)).
  returned: always
  type: list
  elements: dict
  sample: [{id: url80kvh1709ohl5ld5u6jonv, addr: '172.30.215.11:2377'}, {id: kor0bfu9uaelabi00a24z1jl4, addr: '172.30.215.12:2377'}]
services:
  description: Services of the new cluster (name, ID, mode, replicas). Empty in check mode.
  returned: always
  type: list
  elements: dict
  sample: [{id: 0l2..., name: web, mode: replicated, replicas: 4}]
secrets:
  description: Secrets of the new cluster (name and ID only). Empty in check mode.
  returned: always
  type: list
  elements: dict
configs:
  description: Configs of the new cluster (name and ID). Empty in check mode.
  returned: always
  type: list
  elements: dict
fresh_snapshot:
  description:
    - Whether a raft snapshot listing only this node was written after the new cluster was
      forced (so that managers joining later get a snapshot that knows the leader).
    - Null when the engine's data directory is not visible from the module.
  returned: when a new cluster was forced
  type: bool
  sample: true
stale_managers:
  description:
    - Other nodes with the manager role that were not reachable raft members once the new cluster led
      (the old cluster's managers), as found before their removal.
    - In check mode, the other managers the local engine knew, which would become stale.
  returned: always
  type: list
  elements: dict
  sample: [{id: kor0bfu9uaelabi00a24z1jl4, hostname: dev2, role: manager, state: unknown, manager: false}]
removed_stale_managers:
  description: IDs of the stale manager entries removed (in check mode, that would be removed).
  returned: always
  type: list
  elements: str
  sample: [kor0bfu9uaelabi00a24z1jl4]
joined_managers:
  description: Old managers whose engines joined the new raft before their entry could be removed; kept.
  returned: always
  type: list
  elements: dict
  sample: []
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 1.8
'''

import os

from ansible_collections.swarmops.lifecycle.plugins.module_utils._force_new_cluster_checks import ForceNewClusterChecks
from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    ManagerCensus,
    SwarmUnavailable,
    describe_node,
    node_label,
    service_mode,
    service_name,
    service_replicas,
    short_node,
    stale_manager_entries,
)


class ForceNewCluster(ForceNewClusterChecks, SwarmModule):
    """Make this manager the only one of a new cluster from its raft state, once quorum is lost. Its
    checks and refusals are in module_utils/_force_new_cluster_checks."""

    def __init__(self, module, client):
        super(ForceNewCluster, self).__init__(module, client)
        self.result.update(services=[], secrets=[], configs=[], stale_managers=[], removed_stale_managers=[],
                           joined_managers=[])
        self.unlocked = False

    def fail(self, msg, **facts):
        # An unlock done before the refusal is a change all the same.
        facts.setdefault('changed', self.unlocked)
        self.client.fail(msg, **facts)

    def run(self):
        info = self.client.info() or {}
        swarm = info.get('Swarm') or {}
        self.read_local_node(swarm)
        self.check_has_raft_state(info, swarm)
        autolock = self.client.autolock_enabled(info)
        if swarm.get('LocalNodeState') == 'locked':
            if self.module.check_mode:
                return self.predict_locked()
            answered = self.client.unlock(self.params['unlock_key'])
            self.unlocked = True
            self.diff.add('locked', True, False)
            swarm = self.wait_until_unlocked()
            # A locked engine knows nothing about itself until unlocked.
            self.read_local_node(swarm)
            if not answered and swarm.get('LocalNodeState') != 'active':
                self.refuse_wedged_unlock(swarm)
        if not swarm.get('ControlAvailable'):
            self.fail(
                'Refusing to force a new cluster on %s: it is not a manager (a worker has no raft state to start a '
                'cluster from). Nothing was changed. Run it on a surviving manager.' % self.where)
        census = self.census_or_quorum_loss()
        if census is None and not self.params['force']:
            self.refuse_answering_majority(swarm)
        if census is not None and self.is_own_single_manager_cluster(census):
            self.result['stale_managers'] = [describe_node(node) for node in stale_manager_entries(census.nodes, self.local_id)]
            if self.result['stale_managers'] and self.params['remove_stale_managers']:
                # Left by an earlier run (remove_stale_managers=false, or stopped before the removal).
                ids = [item['id'] for item in self.result['stale_managers']]
                self.diff.add('stale_manager_entries', ids, [])
                if self.module.check_mode:
                    self.result['removed_stale_managers'] = ids
                    return self.finish(census)
                census = self.remove_stale()
            return self.finish(census)
        if census is not None and not self.params['force']:
            self.refuse_quorum(census)
        if autolock:
            self.refuse_autolock(census)
        if autolock is None:
            self.module.warn('Could not tell whether the swarm is autolocked (the engine\'s data directory is not visible '
                             'from here). On an autolocked swarm the engine fails to force a new cluster and leaves the '
                             'swarm (moby/moby#36852).')
        self.diff.add('managers', sorted(item['id'] for item in self.result['managers_before']), [self.local_id])
        self.diff.add('leader', short_node(census.leader)['id'] if census and census.leader else None, self.local_id)
        others = sorted(item['id'] for item in self.result['managers_before'] if item['id'] != self.local_id)
        self.diff.add('stale_manager_entries', others, [] if self.params['remove_stale_managers'] else others)
        self.result['changed'] = True
        if self.module.check_mode:
            self.result['leader'] = dict(id=self.local_id, hostname='', addr=swarm.get('NodeAddr'))
            self.result['managers_total'] = 1
            self.result['stale_managers'] = [dict(id=item['id'], hostname='', role='manager', addr=item['addr'])
                                             for item in self.result['managers_before'] if item['id'] != self.local_id]
            self.result['removed_stale_managers'] = others if self.params['remove_stale_managers'] else []
            return self.exit()
        self.client.force_new_cluster(self.params['advertise_addr'] or swarm.get('NodeAddr'))
        census = self.wait_for_leadership()
        self.result['stale_managers'] = [describe_node(node) for node in stale_manager_entries(census.nodes, self.local_id)]
        if self.params['remove_stale_managers']:
            # First: the old managers that still run get a certificate about 16 s after the new raft
            # turned them away (swarmkit's role change timeout); anything slower widens that window.
            census = self.remove_stale()
        self.take_fresh_snapshot(info)
        self.finish(census)

    def remove_stale(self):
        """Remove the stale manager entries; the census of the swarm afterwards."""
        removed, joined = self.client.remove_stale_manager_entries(self.local_id)
        self.result['removed_stale_managers'] = removed
        self.result['joined_managers'] = [describe_node(node) for node in joined]
        for node in joined:
            self.module.warn('%s joined the new cluster\'s raft as a manager before its stale entry could be removed; '
                             'it was kept, as a manager of the new cluster.' % node_label(node))
        return ManagerCensus(self.client.nodes('read the node list'))

    def read_local_node(self, swarm):
        self.local_id = swarm.get('NodeID') or ''
        self.where = 'node %s (%s)' % (swarm.get('NodeAddr') or self.client.docker_host, self.local_id or 'no node ID')
        self.result.update(node_id=self.local_id, managers_before=[
            dict(id=item.get('NodeID'), addr=item.get('Addr')) for item in swarm.get('RemoteManagers') or []])

    # -- after -----------------------------------------------------------------------------

    def wait_for_leadership(self):
        def leading():
            try:
                census = ManagerCensus(self.client.nodes_or_unavailable())
            except SwarmUnavailable as exc:
                return False, exc.reason
            return census.leader is not None and census.leader['ID'] == self.local_id, census

        outcome = self.client.wait_until(leading)
        if not outcome.done:
            self.fail('Forced a new cluster on %s, but after %ss it is not the leader or the API does not answer '
                      '(%s). Check "docker node ls" on it.'
                      % (self.where, self.client.elapsed(), outcome.progress if isinstance(outcome.progress, str)
                         else 'leader: %s' % (short_node(outcome.progress.leader) if outcome.progress.leader else None)))
        return outcome.progress

    def take_fresh_snapshot(self, info):
        """Make raft write a snapshot that lists this node as the only member.

        The newest snapshot on disk may predate this node's own membership (it joined after
        that snapshot). A manager that joins the new cluster is sent that snapshot, does not
        find the leader in it and its join times out, which can cost the new cluster its
        quorum (seen on Docker 20.10). Lowering the snapshot interval to 1 for one write
        forces a snapshot now; the interval is then put back.
        """
        snapshots = self.client._local_swarm_path(info, os.path.join('raft', 'snap-v3-encrypted'))

        def listing():
            return set(os.listdir(snapshots)) if snapshots and os.path.isdir(snapshots) else set()

        before = listing()
        interval = self.client.set_raft_snapshot_interval(1)
        if snapshots:
            outcome = self.client.wait_until(lambda: (bool(listing() - before), None))
            self.result['fresh_snapshot'] = outcome.done
        self.client.set_raft_snapshot_interval(interval)
        if not snapshots:
            self.result['fresh_snapshot'] = None

    def finish(self, census):
        self.result['leader'] = short_node(census.leader) if census.leader else None
        self.result['managers_total'] = census.total
        self.result['services'] = sorted(
            (dict(id=service['ID'], name=service_name(service), mode=service_mode(service),
                  replicas=service_replicas(service) if service_mode(service) == 'replicated' else None)
             for service in self.client.services()), key=lambda item: item['name'])
        self.result['secrets'] = sorted((dict(id=item['ID'], name=item['Spec']['Name']) for item in self.client.secrets()),
                                        key=lambda item: item['name'])
        self.result['configs'] = sorted((dict(id=item['ID'], name=item['Spec']['Name']) for item in self.client.configs()),
                                        key=lambda item: item['name'])
        self.exit()

    def exit(self, **facts):
        self.result.setdefault('leader', None)
        self.result.setdefault('managers_total', len(self.result.get('managers_before') or []))
        super(ForceNewCluster, self).exit(**facts)


def main():
    run_module(ForceNewCluster, dict(
        advertise_addr=dict(type='str'),
        unlock_key=dict(type='str', no_log=True),
        force=dict(type='bool', default=False),
        remove_stale_managers=dict(type='bool', default=True),
    ))


if __name__ == '__main__':
    main()
