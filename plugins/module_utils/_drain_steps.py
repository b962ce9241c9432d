# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The drain module's engine-facing steps: reading the nodes, one poll of a
drain's wait, and putting surged services back (this call's, and those an interrupted drain left).
The decisions they apply are in ``_drain`` (pure functions, unit-tested on their own).

PRIVATE to the collection: the interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmops.lifecycle.plugins.module_utils._drain import (
    SURGE_LABEL,
    drain_progress,
    leftover_surge,
)
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    SwarmUnavailable,
    node_label,
    node_state,
    service_name,
    service_replicas,
)


class DrainSteps(object):
    """Mixed into the drain module's class (a ``SwarmModule``): uses its client, module, diff,
    result, batch (``ids``, ``names``), ``services_by_id``, ``went_down``, ``down_at_start``,
    ``last_nodes`` and ``last_progress``."""

    def first_node_list(self):
        """The node list, an election in progress waited out (SwarmClient.nodes_across_election)."""
        try:
            return self.client.nodes_across_election()
        except SwarmUnavailable as exc:
            self.client.fail_unavailable(exc, 'read the node list to drain %s' % self.params['node'])

    def progress(self, targets, require_empty_node=True, at_most=None):
        """One poll of a wait. The nodes' states are read every time: a node that goes down while
        it drains cannot report its tasks stopping, so from then on a task counts as moved once the
        swarm told it to stop. A poll that finds no leader (an election) keeps the last progress."""
        tasks = self.client.poll('list tasks', self.client.api.tasks)
        if tasks is None:
            return False, self.last_progress
        down = set()
        for node in self.batch:
            seen = self.client.poll('inspect node %s' % node_label(node), self.client.api.inspect_node, node['ID'])
            if seen is None:
                return False, self.last_progress
            self.last_nodes[node['ID']] = seen
            if node_state(seen) == 'down':
                down.add(node['ID'])
                if node['ID'] not in self.went_down and node['ID'] not in self.down_at_start:
                    self.went_down.append(node['ID'])
                    self.result['went_down'] = True
                    self.module.warn('Node %s went down while it was draining; its tasks count as moved once the '
                                     'swarm told them to stop.' % node_label(node))
        done, self.last_progress = drain_progress(self.ids, tasks, targets, self.services_by_id,
                                                  require_empty_node=require_empty_node, node_down=down,
                                                  at_most=at_most)
        return done, self.last_progress

    def restore_replicas(self, surge_moves):
        for move in surge_moves:
            self.client.scale_service(move.id, getattr(move, 'restore_to', None) or move.desired,
                                      remove_labels=[SURGE_LABEL])

    def restore_leftover_surges(self):
        """Put back services that an earlier, interrupted surged drain left scaled up
        (module_utils._drain.leftover_surge decides which, and when)."""
        self.step = 'restore interrupted surges'
        services = self.client.poll('list services', self.client.api.services)
        if services is None:
            self.module.warn('The swarm had no leader at the end of the call: services left scaled up by an '
                             'interrupted surge (label %s), if any, are put back by the next drain.' % SURGE_LABEL)
            return
        left = [service for service in services if SURGE_LABEL in ((service.get('Spec') or {}).get('Labels') or {})]
        if not left:
            return
        nodes = dict((node['ID'], node) for node in self.client.poll('list nodes', self.client.api.nodes) or [])
        tasks = self.client.poll('list tasks', self.client.api.tasks)
        if tasks is None or not nodes:
            return
        for service in sorted(left, key=service_name):
            action, original = leftover_surge(service, nodes, tasks, self.ids)
            desired, record = service_replicas(service), service['Spec']['Labels'][SURGE_LABEL]
            if action == 'drop':
                self.module.warn('Service %s carries %s=%r but has %s replicas: the record is dropped and the count '
                                 'left as it is.' % (service_name(service), SURGE_LABEL, record, desired))
                if not self.module.check_mode:
                    self.client.scale_service(service['ID'], desired, remove_labels=[SURGE_LABEL])
                self.diff.add('surge record of %s' % service_name(service), record, None)
            elif action == 'wait':
                self.module.warn('Service %s was left at %d replicas by an interrupted surge (it had %d) but does not '
                                 'run all of them on other nodes than %s: it is left scaled up until they run (the '
                                 'next drain or reactivation puts it back).'
                                 % (service_name(service), desired, original, self.names))
            elif action == 'restore':
                if not self.module.check_mode:
                    self.client.scale_service(service['ID'], original, remove_labels=[SURGE_LABEL])
                self.result['restored_surges'].append(dict(name=service_name(service), replicas_before=desired,
                                                           replicas_after=original))
                self.diff.add('replicas of %s (left by an interrupted surge)' % service_name(service), desired, original)

    def fresh_node(self, node):
        """The node as the swarm has it now; without a leader, the last state seen."""
        seen = self.client.poll('inspect node %s' % node_label(node), self.client.api.inspect_node, node['ID'])
        return seen or self.last_nodes.get(node['ID']) or node
