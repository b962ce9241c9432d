#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: drain
short_description: Drain, pause or reactivate a Docker Swarm node without breaking a running budget
version_added: 0.1.0
description:
  - Sets the availability of a swarm node to C(drain), C(pause) or C(active), through the manager
    the task runs on.
  - For O(state=drained), before changing anything it computes for every replicated service with
    tasks on the node how many tasks keep running on the other nodes while the node's tasks move.
    When that is below O(min_available) it refuses and names the services, unless O(surge=true).
  - With O(surge=true) the node is first paused (so that no new task lands on it), each service
    that would break the budget is scaled up by the number of its tasks on the node, and the
    module waits until the extra tasks run elsewhere. Then it drains, waits, and restores the
    original replica counts. A single-replica service always keeps a running task.
  - With O(wait=true) it returns only when no task of any service still runs on the node and every
    replicated service that had tasks there is back at its desired running count on the other nodes.
    Tasks of global services on the node count as moved once they are shut down. On a node that is
    down, which cannot report its tasks stopping, a task counts as moved once the swarm told it to stop.
  - On timeout the module fails with what is still pending; the node stays drained and surged
    services are scaled back to their original replica count.
  - While it waits, a poll that finds the swarm without a leader (an election) is not an error; the
    wait goes on until O(timeout). The node is read on every poll, so a node that goes down while it
    drains is noticed and reported (RV(went_down)).
  - A surge records the replica count to restore in the service label C(swarmops.drain.surged-from),
    in the same update. A service that carries it when no surge of this call is running (a drain
    cut short, for example by the death of the manager running it) is put back at that count once
    it runs all its replicas, by any call of this module (RV(restored_surges)).
  - A drained manager stays a manager. O(state=active) reactivates the node.
author:
  - swarmops.lifecycle developers (@swarmops)
extends_documentation_fragment:
  - swarmops.lifecycle.swarm
  - swarmops.lifecycle.swarm.attributes
attributes:
  check_mode:
    support: full
    details:
      - Refusals (budget, unknown node) happen in check mode as well.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  node:
    description:
      - Hostname or ID of the node, as in C(docker node ls). An unambiguous ID prefix also works.
    type: str
    required: true
    version_added: 0.1.0
  batch:
    description:
      - Other nodes (hostnames or IDs) drained, paused or reactivated together with O(node), as one
        batch (rolling_maintenance_serial above 1).
      - The batch is planned as one. The budget of every service is checked against every task the
        batch takes away (running counts and placement on the nodes outside the batch), a surge is
        sized for the batch and recorded once per service, and the module waits until no node of the
        batch runs a task. A refusal names the services, the numbers and every node, and changes nothing.
      - O(node) may be listed again; duplicates are ignored.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  state:
    description:
      - V(drained) moves every task off the node; V(paused) keeps running tasks but schedules no new
        ones; V(active) makes the node schedulable again.
    type: str
    choices: [drained, active, paused]
    default: drained
    version_added: 0.1.0
  wait:
    description:
      - With O(state=drained), wait until the node runs no task and every affected service is back at
        its desired running count on the other nodes, within O(timeout).
      - When a surge is needed the module waits whatever this says, since it must restore the
        replica counts after the move.
    type: bool
    default: true
    version_added: 0.1.0
  min_available:
    description:
      - Running tasks every replicated service with tasks on the node must keep on the other nodes
        while the node is drained.
      - A count (V(1)) or a percentage of the desired replicas (V(50%), rounded up). A count above a
        service's replicas means all of them.
      - V(0) disables the check. The default V(1) means no service may drop to zero running tasks.
    type: raw
    default: 1
    version_added: 0.1.0
  surge:
    description:
      - When a service would fall under O(min_available), scale it up by its tasks on the node before
        draining instead of refusing, and restore its replica count afterwards.
    type: bool
    default: false
    version_added: 0.1.0
seealso:
  - module: swarmops.lifecycle.quorum_info
  - module: community.docker.docker_node
'''

EXAMPLES = r'''
- name: Drain a worker, keeping at least half of every service's replicas running
  swarmops.lifecycle.drain:
    node: worker-3
    min_available: 50%
    timeout: 600
  delegate_to: "{{ groups['swarm_managers'][0] }}"

- name: Drain a node running single-replica services without a gap
  swarmops.lifecycle.drain:
    node: "{{ inventory_hostname }}"
    surge: true
  delegate_to: "{{ groups['swarm_managers'][0] }}"

- name: Reactivate it after maintenance
  swarmops.lifecycle.drain:
    node: "{{ inventory_hostname }}"
    state: active
  delegate_to: "{{ groups['swarm_managers'][0] }}"
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
  sample: {id: qhk5lelkzyltiaomtylmgphan, hostname: dev4, role: worker, availability: drain, state: ready,
           addr: 172.30.215.14, manager: false, reachability: null, leader: false, manager_addr: null}
nodes_before:
  description: Every node of the call (O(node), then O(batch)) before the module ran.
  returned: always
  type: list
  elements: dict
  version_added: 0.2.0
nodes_after:
  description: Every node of the call when the module returned (in check mode, as it would be).
  returned: always
  type: list
  elements: dict
  version_added: 0.2.0
went_down_nodes:
  description: IDs of the nodes of the call that went down while the module waited.
  returned: always
  type: list
  elements: str
  version_added: 0.2.0
tasks_moved:
  description: The tasks that were live on the node when the drain started (to be moved, in check mode).
  returned: when O(state=drained)
  type: list
  elements: dict
  sample: [{id: 5x0..., service: web, slot: 2, state: running, desired_state: running, node_id: qhk5...}]
services:
  description:
    - Every service that had tasks on the node, with C(desired) replicas, C(running_before),
      C(tasks_on_node), C(running_during_move) (running on the other nodes at the start), C(required)
      (the budget), C(surged_to) (replicas during a surge, or null) and C(running_after).
  returned: when O(state=drained)
  type: list
  elements: dict
  sample: [{name: web, mode: replicated, desired: 4, running_before: 4, tasks_on_node: 1, running_during_move: 3,
            required: 1, surged_to: null, running_after: 4}]
surged_services:
  description: Names of the services that were (or in check mode would be) scaled up for the drain.
  returned: when O(state=drained)
  type: list
  elements: str
  sample: [db]
went_down:
  description:
    - Whether the node went down while the module waited. Its tasks then count as moved once the
      swarm told them to stop; the caller should not go on maintaining a node that is down.
  returned: always
  type: bool
  sample: false
  version_added: 0.1.0
restored_surges:
  description:
    - Services that an earlier, interrupted surge left scaled up (service label
      C(swarmops.drain.surged-from)) and that were put back at their count (in check mode, would be).
  returned: always
  type: list
  elements: dict
  sample: [{name: db, replicas_before: 2, replicas_after: 1}]
  version_added: 0.1.0
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 7.2
pending:
  description:
    - What was still pending when the module gave up (tasks on the node, services below target, surged services
      whose scale-back the orchestrator has not applied yet).
  returned: on timeout
  type: dict
'''

from ansible_collections.swarmops.lifecycle.plugins.module_utils._drain import (
    SURGE_LABEL,
    budget_refusal,
    describe_pending,
    parse_min_available,
    plan_drain,
    running_by_service,
    surge_label,
    surge_record,
    surge_replicas,
    unplaceable_refusal,
)
from ansible_collections.swarmops.lifecycle.plugins.module_utils._drain_steps import DrainSteps
from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module
from ansible_collections.swarmops.lifecycle.plugins.module_utils._placement import Placement
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    describe_node,
    describe_task,
    node_availability,
    node_label,
    node_state,
)

AVAILABILITY_BY_STATE = dict(drained='drain', active='active', paused='pause')


class Drain(DrainSteps, SwarmModule):
    """Drain, pause or reactivate one node, or a batch of nodes as one (O(batch)). The steps that
    read and write the engine while waiting are in module_utils/_drain_steps."""

    def __init__(self, module, client):
        super(Drain, self).__init__(module, client)
        self.result.update(went_down=False, restored_surges=[])
        self.last_progress = dict(tasks_on_node=[], services_below_target=[], services_above_count=[])
        self.last_nodes = {}
        self.went_down = []

    def run(self):
        try:
            parse_min_available(self.params['min_available'])
        except ValueError as exc:
            self.client.fail('Invalid min_available for node %s: %s' % (self.params['node'], exc))
        self.step = 'read the nodes'
        nodes = self.nodes = self.first_node_list()
        self.batch = [self.client.require_node(nodes, self.params['node'])]
        for name in self.params['batch'] or []:
            other = self.client.require_node(nodes, name)
            if other['ID'] not in self.ids:
                self.batch.append(other)
        self.node = self.batch[0]
        self.down_at_start = set(node['ID'] for node in self.batch if node_state(node) == 'down')
        self.result['node_before'] = describe_node(self.node)
        self.result['nodes_before'] = [describe_node(node) for node in self.batch]
        want = AVAILABILITY_BY_STATE[self.params['state']]
        have = dict((node['ID'], node_availability(node)) for node in self.batch)
        if len(self.batch) == 1:
            self.diff.add('node', node_label(self.node), node_label(self.node))
            self.diff.add('availability', have[self.node['ID']], want)
        else:
            self.diff.add('nodes', self.label, self.label)
            self.diff.add('availability', dict((node_label(node), have[node['ID']]) for node in self.batch),
                          dict((node_label(node), want) for node in self.batch))
        if self.params['state'] == 'drained':
            self.drain(have)
        elif not self.module.check_mode:
            self.step = 'set the availability to %s' % want
            for node in self.batch:
                if have[node['ID']] != want:
                    self.client.update_node_spec(self.fresh_node(node), Availability=want)
        self.finish()

    @property
    def ids(self):
        return [node['ID'] for node in self.batch]

    @property
    def names(self):
        """'w1 (id-w1)', or 'w1 (id-w1), w2 (id-w2)' for a batch."""
        return ', '.join(node_label(node) for node in self.batch)

    @property
    def label(self):
        return ('node ' if len(self.batch) == 1 else 'nodes ') + self.names

    # -- drained -------------------------------------------------------------------------

    def drain(self, have):
        self.step = 'plan the drain'
        services = self.client.services()
        self.services_by_id = dict((service['ID'], service) for service in services)
        tasks = self.client.tasks()
        # The node list read first (it waited out an election): its states and availability are
        # what placement is decided on. Every node of the batch is taken away at once.
        nodes, ids = self.nodes, self.ids
        self.moves = plan_drain(ids, services, tasks, self.params['min_available'],
                                capacity=lambda service: Placement(service).capacity(nodes, tasks, exclude=ids))
        self.result['tasks_moved'] = [describe_task(task, self.services_by_id)
                                      for move in self.moves for task in move.tasks_on_node]
        to_drain = [node for node in self.batch if have[node['ID']] != 'drain']
        surge_moves = self.check_budget() if to_drain else []
        self.result['surged_services'] = [move.name for move in surge_moves]
        for move in surge_moves:
            move.surged_to = surge_replicas(move.desired, move.surge_by)
        self.report_services()
        if self.module.check_mode:
            return
        if surge_moves:
            self.surge(surge_moves, have)
        self.step = 'drain'
        for node in to_drain:
            self.client.update_node_spec(self.fresh_node(node), Availability='drain')
        if self.params['wait'] or surge_moves:
            self.wait_for_moves(surge_moves)

    def check_budget(self):
        """Services that need a surge; refuses when they exist and surge is off, and when the other
        nodes cannot run enough of a service's tasks to keep its budget at all."""
        batch = len(self.batch) > 1
        facts = dict(node_before=self.result['node_before'], nodes_before=self.result['nodes_before'])
        unplaceable = [move for move in self.moves if move.cannot_keep_budget]
        if unplaceable:
            self.client.fail(unplaceable_refusal(self.label, unplaceable, self.params['min_available'], batch),
                             services=[move.as_dict() for move in unplaceable], **facts)
        breaking = [move for move in self.moves if move.breaks_budget]
        if breaking and not self.params['surge']:
            self.client.fail(budget_refusal(self.label, breaking, self.params['min_available'], batch),
                             services=[move.as_dict() for move in breaking], **facts)
        return breaking

    def surge(self, surge_moves, have):
        """Pause the nodes, add the extra replicas, and wait until they run elsewhere."""
        self.step = 'surge'
        paused = [node for node in self.batch if have[node['ID']] == 'active']
        for node in paused:
            # Paused: the extra tasks cannot land on a node being emptied.
            self.client.update_node_spec(self.fresh_node(node), Availability='pause')
        for move in surge_moves:
            # The count to go back to travels with the surge (one record per service, for the
            # whole batch), so that a drain cut short (its manager died) is undone by the next
            # one. A service still carrying the record of an earlier, interrupted surge keeps its
            # original count: that is where it goes back to.
            move.restore_to = surge_record(self.services_by_id.get(move.id), move.desired)[0]
            self.client.scale_service(move.id, move.surged_to,
                                      set_labels={SURGE_LABEL: surge_label(move.restore_to, move.surged_to, self.ids)})
        targets = dict((move.id, move.surge_target_elsewhere) for move in surge_moves)
        outcome = self.client.wait_until(lambda: self.progress(targets, require_empty_node=False))
        if not outcome.done:
            self.restore_replicas(surge_moves)
            for node in paused:
                self.client.update_node_spec(self.fresh_node(node), Availability='active')
            self.client.fail(
                'Timed out after %ss waiting for the surge replicas of %s to run on nodes other than %s; the %s '
                'not drained: %s availability is back to %s and the replica counts are restored. Pending: %s. '
                'Check placement constraints and free resources on the other nodes, or raise timeout.'
                % (self.client.elapsed(), ', '.join(move.name for move in surge_moves), self.names,
                   'node was' if len(self.batch) == 1 else 'nodes were', 'its' if len(self.batch) == 1 else 'their',
                   ', '.join(sorted(set(have.values()))), describe_pending(outcome.progress)),
                pending=outcome.progress, node_before=self.result['node_before'],
                nodes_before=self.result['nodes_before'], elapsed=self.client.elapsed())

    def wait_for_moves(self, surge_moves):
        self.step = 'wait for the tasks to move'
        # Surged services wait for every surged slot to run, so whichever slots the scale-down
        # removes, the ones kept are running.
        # What the other nodes cannot run (placement) is not waited for: the budget allowed its loss.
        targets = dict((move.id, move.placeable(move.surged_to or move.desired)) for move in self.moves if move.budgeted)
        outcome = self.client.wait_until(lambda: self.progress(targets))
        self.restore_replicas(surge_moves)
        if outcome.done and surge_moves:
            targets = dict((move.id, move.placeable(getattr(move, 'restore_to', None) or move.desired))
                           for move in self.moves if move.budgeted)
            restored = dict((move.id, getattr(move, 'restore_to', None) or move.desired) for move in surge_moves)
            outcome = self.client.wait_until(lambda: self.progress(targets, at_most=restored))
        if not outcome.done:
            self.client.fail(
                'Timed out after %ss draining %s. The %s drained%s. Pending: %s. Check the services\' '
                'placement constraints and free resources, then run again (or raise timeout).'
                % (self.client.elapsed(), self.label, 'node stays' if len(self.batch) == 1 else 'nodes stay',
                   ' and the surged services are back at their replica counts' if surge_moves else '',
                   describe_pending(outcome.progress)),
                pending=outcome.progress, node_before=self.result['node_before'],
                node_after=describe_node(self.fresh_node(self.node)),
                nodes_after=[describe_node(self.fresh_node(node)) for node in self.batch],
                elapsed=self.client.elapsed(), changed=self.diff.has_differences)
        self.report_services(final=True)

    # -- reporting -----------------------------------------------------------------------

    def report_services(self, final=False):
        running = running_by_service(self.client.tasks()) if final else {}
        self.result['services'] = [dict(move.as_dict(), running_after=running.get(move.id, 0) if final else None)
                                   for move in self.moves]

    def finish(self):
        self.restore_leftover_surges()
        self.result['went_down_nodes'] = [node['ID'] for node in self.batch if node['ID'] in self.went_down]
        if self.module.check_mode or not self.diff.has_differences:
            want = AVAILABILITY_BY_STATE[self.params['state']]
            self.result['nodes_after'] = [dict(before, availability=want) for before in self.result['nodes_before']]
        else:
            self.result['nodes_after'] = [describe_node(self.fresh_node(node)) for node in self.batch]
        self.exit(node_after=self.result['nodes_after'][0], leaderless_polls=self.client.leaderless_polls)


def main():
    run_module(Drain, dict(
        node=dict(type='str', required=True),
        batch=dict(type='list', elements='str', default=[]),
        state=dict(type='str', default='drained', choices=list(AVAILABILITY_BY_STATE)),
        wait=dict(type='bool', default=True),
        min_available=dict(type='raw', default=1),
        surge=dict(type='bool', default=False),
    ))


if __name__ == '__main__':
    main()
