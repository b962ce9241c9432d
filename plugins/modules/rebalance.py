#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: rebalance
short_description: Spread the replicas of skewed Docker Swarm services evenly over their eligible nodes
version_added: 0.1.0
description:
  - Swarm does not move running replicas onto nodes that joined (or came back) after the tasks
    were placed. This module measures, per replicated service, how many tasks run on each
    eligible node, and forces an update (the equivalent of C(docker service update --force))
    only of the services whose spread is skewed, so that the scheduler places every replica again.
  - A node is eligible for a service when its status is C(ready), its availability is C(active),
    and it satisfies the service's placement constraints. Understood constraints are
    C(node.id), C(node.hostname), C(node.role), C(node.platform.os), C(node.platform.arch),
    C(node.labels.<key>) and C(engine.labels.<key>), with C(==) and C(!=), matched as swarm
    matches them (values case-insensitively, a missing label as an empty value). Any other
    constraint is taken as satisfied by every node, with a warning.
  - The skew of a service is the highest minus the lowest running count over its eligible
    nodes (nodes with none count as 0). A service is skewed when its skew exceeds O(max_skew)
    B(and) the best skew its replica count allows. The best skew is 0 when the replicas (capped
    at eligible nodes times C(Spec.TaskTemplate.Placement.MaxReplicas) when that is set) divide
    evenly over the eligible nodes, 1 otherwise; 10 replicas on 7 nodes are best spread 2/1
    (skew 1). So a service that cannot be spread any better is never touched, and a second run
    reports no change.
  - Skewed services are updated one at a time. The forced update increments
    C(Spec.TaskTemplate.ForceUpdate) and sends the rest of the current spec back unchanged, so
    the service's own update config (parallelism, delay, order, failure action) governs how its
    tasks are replaced; the module never overrides it.
  - With O(wait=true) each service is waited for until its update is complete, every running
    task comes from the forced update and the running count is back at the replica count (or at
    eligible nodes times C(MaxReplicas) when that is lower).
    The next service is only touched after that.
  - Global services and jobs are never touched. Services whose placement preferences spread
    them over node labels, services with an update in progress, and services with no eligible
    node are left alone and reported as skipped.
  - Refuses, before changing anything, an unknown service name, a negative O(max_skew) and a
    skewed service whose last update is C(paused) or C(rollback_paused). Fails, leaving the
    services not yet reached untouched, when a forced update ends C(paused) or in a rollback,
    and when O(timeout) runs out (naming what is still pending).
author:
  - swarmops.lifecycle developers (@swarmops)
extends_documentation_fragment:
  - swarmops.lifecycle.swarm
  - swarmops.lifecycle.swarm.attributes
attributes:
  check_mode:
    support: full
    details:
      - Lists the services it would force-update (RV(rebalanced)) and changes nothing.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  services:
    description:
      - Names (or IDs) of the services to rebalance. Empty means every service.
      - A name that is not a service is refused before anything is changed.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  max_skew:
    description:
      - The highest acceptable difference between the most and the least loaded eligible node
        of a service, in running tasks. Must be 0 or more.
      - A service is never considered skewed below the best skew its replica count allows (see
        the description), so V(0) means "as even as possible".
    type: int
    default: 1
    version_added: 0.1.0
  wait:
    description:
      - Wait, within O(timeout), for each forced update to converge before touching the next
        service, and return the spread measured after convergence.
      - Without it every skewed service is force-updated in turn at once and RV(spread_after)
        is whatever runs when the module returns.
    type: bool
    default: true
    version_added: 0.1.0
notes:
  - The module does not model resource reservations or generic resources. When those keep the
    scheduler off some eligible nodes, a forced update cannot reach the computed best skew and
    the service is updated again on every run; exclude it with O(services) or lower its
    reservations.
  - Running tasks on nodes that are not eligible (paused, drained, down, or not matching the
    constraints) are not part of the skew; they are reported per service in
    RV(services[].running_on_ineligible_nodes).
seealso:
  - module: swarmops.lifecycle.drain
  - module: swarmops.lifecycle.cluster_health
  - name: docker service update --force
    description: The CLI command whose effect this module reproduces for skewed services.
    link: https://docs.docker.com/reference/cli/docker/service/update/
'''

EXAMPLES = r'''
- name: See which services are skewed, changing nothing
  swarmops.lifecycle.rebalance:
  check_mode: true
  delegate_to: "{{ groups['swarm_managers'][0] }}"
  run_once: true

- name: Spread every service over the nodes that just joined
  swarmops.lifecycle.rebalance:
    timeout: 900
  delegate_to: "{{ groups['swarm_managers'][0] }}"
  run_once: true

- name: Rebalance two services, as evenly as possible
  swarmops.lifecycle.rebalance:
    services:
      - web
      - api
    max_skew: 0
  delegate_to: "{{ groups['swarm_managers'][0] }}"
  run_once: true
  register: rebalanced

- name: Show the spread per node after the run
  ansible.builtin.debug:
    var: rebalanced.spread_after
'''

RETURN = r'''
rebalanced:
  description: Names of the services force-updated (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [web]
spread_before:
  description: Per considered service, running tasks per eligible node hostname before the module acted.
  returned: always
  type: dict
  sample: {web: {reb1: 2, reb2: 2, reb3: 2, reb4: 2, reb5: 2, reb6: 0, reb7: 0}}
spread_after:
  description:
    - Per considered service, running tasks per eligible node hostname when the module returned.
    - In check mode, the same as RV(spread_before) (nothing was changed).
  returned: always
  type: dict
  sample: {web: {reb1: 2, reb2: 2, reb3: 2, reb4: 1, reb5: 1, reb6: 1, reb7: 1}}
services:
  description: Every considered service with its numbers and what was done.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Service name.
      type: str
    mode:
      description: C(replicated), C(global), or a job mode.
      type: str
    replicas:
      description: Desired replicas (null for a global service).
      type: int
    max_replicas_per_node:
      description: C(Placement.MaxReplicas), 0 when unlimited.
      type: int
    eligible_nodes:
      description: Hostnames of the nodes the service may run on.
      type: list
      elements: str
    spread_before:
      description: Running tasks per eligible node before.
      type: dict
    skew_before:
      description: Highest minus lowest running count over the eligible nodes before.
      type: int
    best_skew:
      description: The lowest skew the replica count allows on these nodes (0 or 1).
      type: int
    skewed:
      description: Whether the skew exceeded both O(max_skew) and RV(services[].best_skew).
      type: bool
    action:
      description: C(force_update) (done, or would be in check mode), C(none) (balanced) or C(skip).
      type: str
    reason:
      description: Why a service was skipped, or null.
      type: str
    running_on_ineligible_nodes:
      description: Running tasks on nodes that are not eligible (paused, drained, down, not matching).
      type: dict
    spread_after:
      description:
        - Running tasks per eligible node when the module returned.
        - Null in the result of a failure after the first change (not measured then).
      type: dict
    skew_after:
      description: Skew when the module returned (null when not measured).
      type: int
    force_update_before:
      description: C(Spec.TaskTemplate.ForceUpdate) before.
      type: int
    force_update_after:
      description: C(Spec.TaskTemplate.ForceUpdate) after (predicted in check mode).
      type: int
    update_state:
      description: C(UpdateStatus.State) of the service when the module returned, or null.
      type: str
  sample:
    - {name: web, mode: replicated, replicas: 10, max_replicas_per_node: 0,
       eligible_nodes: [reb1, reb2, reb3, reb4, reb5, reb6, reb7],
       spread_before: {reb1: 2, reb2: 2, reb3: 2, reb4: 2, reb5: 2, reb6: 0, reb7: 0},
       skew_before: 2, best_skew: 1, skewed: true, action: force_update, reason: null,
       running_on_ineligible_nodes: {},
       spread_after: {reb1: 2, reb2: 2, reb3: 2, reb4: 1, reb5: 1, reb6: 1, reb7: 1},
       skew_after: 1, force_update_before: 0, force_update_after: 1, update_state: completed}
elapsed:
  description: Seconds the module took, waiting included.
  returned: always
  type: float
  sample: 24.3
'''

from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module
from ansible_collections.swarmops.lifecycle.plugins.module_utils._rebalance import (
    UPDATE_FAILED,
    ServicePlan,
    convergence,
    node_keys,
    progress_text,
    spread_text,
)
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import service_name

# Forced updates per skewed service at most, while it stays skewed after converging.
ROUNDS = 3


class Rebalance(SwarmModule):
    """Force-update the services whose tasks are skewed over the nodes that can run them."""

    def __init__(self, module, client):
        super(Rebalance, self).__init__(module, client)
        self.reports = {}
        self.done = []

    def run(self):
        max_skew = self.params['max_skew']
        if max_skew < 0:
            self.client.fail('max_skew must be 0 or more, got %d. Nothing was changed. Use 0 for "as even as '
                             'possible" or 1 (the default) to allow one task of difference between nodes.' % max_skew)
        plans = self.read_plans('measure the spread of services')
        for plan in plans:
            self.reports[plan.id] = plan.report()
            self.warn_about(plan)
        to_touch = [plan for plan in plans if plan.skewed]
        self.refuse_stuck(to_touch)
        if self.module.check_mode:
            for plan in plans:
                report = self.reports[plan.id]
                report.update(spread_after=dict(plan.spread), skew_after=plan.skew)
                if plan.skewed:
                    report['force_update_after'] = plan.force_update + 1
        else:
            for index, plan in enumerate(to_touch):
                self.rebalance_until_even(plan, to_touch[index + 1:])
            self.measure_after(plans)
        self.finish(plans, to_touch)

    # -- reading -------------------------------------------------------------------------

    def read_plans(self, purpose):
        nodes = self.client.nodes('read the node list to %s' % purpose)
        services = self.client.services()
        tasks = self.client.tasks(filters={'desired-state': 'running'})
        selected = self.select(services)
        keys = node_keys(nodes)
        return [ServicePlan(service, nodes, tasks, keys, self.params['max_skew']) for service in selected]

    def select(self, services):
        wanted = self.params['services'] or []
        if not wanted:
            return sorted(services, key=service_name)
        by_key = {}
        for service in services:
            by_key.setdefault(service_name(service), service)
            by_key.setdefault(service.get('ID'), service)
        missing = [name for name in wanted if name not in by_key]
        if missing:
            known = ', '.join(sorted(service_name(service) for service in services)) or 'none'
            self.client.fail('Service%s %s not found in the swarm. Nothing was changed. Known services: %s. Give '
                             'names from "docker service ls", or leave services empty for all of them.'
                             % ('s' if len(missing) > 1 else '', ', '.join(missing), known))
        chosen = {}
        for name in wanted:
            chosen[by_key[name]['ID']] = by_key[name]
        return sorted(chosen.values(), key=service_name)

    def warn_about(self, plan):
        named = plan.name in (self.params['services'] or []) or plan.id in (self.params['services'] or [])
        for constraint in plan.unknown_constraints:
            self.module.warn('Service %s: placement constraint "%s" is not understood by this module; every node is '
                             'taken to satisfy it, so the spread may count nodes the service cannot use.'
                             % (plan.name, constraint))
        would_be_skewed = plan.mode == 'replicated' and plan.skew > max(self.params['max_skew'], plan.best_skew)
        if plan.skip_reason and (named or would_be_skewed):
            self.module.warn('Service %s was not rebalanced: %s.' % (plan.name, plan.skip_reason))

    def refuse_stuck(self, to_touch):
        stuck = [plan for plan in to_touch if plan.stuck]
        if stuck:
            details = '; '.join('%s: last update %s (%s), spread %s, skew %d' % (
                plan.name, plan.update_state, plan.update_status.get('Message') or 'no message',
                spread_text(plan.spread), plan.skew) for plan in stuck)
            self.client.fail(
                'Refusing to rebalance: a forced update would restart a stuck update. %s. Nothing was changed. Find '
                'the cause with "docker service ps <service>", then roll it back ("docker service rollback") or fix '
                'it, or leave the service out with services.' % details,
                services=self.sorted_reports(), rebalanced=[])

    # -- acting --------------------------------------------------------------------------

    def rebalance_until_even(self, plan, untouched):
        """Force-update a skewed service, again while it stays skewed, at most ROUNDS times.

        The scheduler places each replacement task on the least loaded eligible node, but the
        tasks still being replaced count too, so one rolling pass can end one task off.
        """
        for attempt in range(ROUNDS):
            self.rebalance(plan, untouched)
            if not self.params['wait']:
                return
            again = [current for current in self.read_plans('measure the spread of %s again' % plan.name)
                     if current.id == plan.id]
            if not again or not again[0].skewed or attempt == ROUNDS - 1:
                return
            plan = again[0]

    def rebalance(self, plan, untouched):
        new_value = self.force_update(plan)
        report = self.reports[plan.id]
        report['force_update_after'] = new_value
        if plan.name not in self.done:
            self.done.append(plan.name)
        if not self.params['wait']:
            return

        def converged():
            service = self.client.call('inspect service %s' % plan.name, self.client.api.inspect_service, plan.id)
            tasks = self.client.tasks(filters={'service': plan.id, 'desired-state': 'running'})
            done, progress = convergence(service, tasks, new_value, plan.target_running)
            if progress['update_state'] in UPDATE_FAILED:
                return True, progress
            return done, progress

        outcome = self.client.wait_until(converged)
        progress = outcome.progress
        report['update_state'] = progress['update_state']
        left = ', '.join(other.name for other in untouched) or 'none'
        if progress['update_state'] in UPDATE_FAILED:
            self.client.fail(
                'The forced update of service %s ended %s: %s. Services not touched: %s. Rebalanced before it: %s. '
                'Find the cause with "docker service ps %s" (and its update config), fix it or roll it back, then run '
                'again.' % (plan.name, progress['update_state'], progress['update_message'] or 'no message', left,
                            ', '.join(self.done[:-1]) or 'none', plan.name),
                **self.partial_result(progress))
        if not outcome.done:
            self.client.fail(
                'Timed out after %ss waiting for the forced update of service %s to converge (%s). Services not '
                'touched: %s. The update goes on in the swarm: watch it with "docker service ps %s", then run again '
                '(with a larger timeout) to rebalance the rest.'
                % (self.client.elapsed(), plan.name, progress_text(plan.name, progress), left, plan.name),
                **self.partial_result(progress))

    def force_update(self, plan):
        """Increment Spec.TaskTemplate.ForceUpdate and send the rest of the spec back as it is.

        The low-level update replaces the whole spec, so every part of it is sent back (as
        SwarmClient.scale_service does); the service's own update config paces the replacement.
        """
        def bump(spec):
            template = spec.setdefault('TaskTemplate', {})
            template['ForceUpdate'] = int(template.get('ForceUpdate') or 0) + 1

        spec = self.client.update_service(
            plan.id, bump, 'force-update service {name} (rebalanced before it: %s)' % (', '.join(self.done) or 'none'),
            **self.partial_result())
        return spec['TaskTemplate']['ForceUpdate']

    def measure_after(self, plans):
        by_id = dict((plan.id, plan) for plan in self.read_plans('measure the spread after rebalancing'))
        for plan in plans:
            after = by_id.get(plan.id)
            report = self.reports[plan.id]
            if after is None:
                report.update(spread_after={}, skew_after=0, update_state=None)
                continue
            report.update(spread_after=after.spread, skew_after=after.skew, update_state=after.update_state)

    # -- results -------------------------------------------------------------------------

    def sorted_reports(self):
        return sorted(self.reports.values(), key=lambda report: report['name'])

    def partial_result(self, pending=None):
        """What a failure after the first change returns: what was done, and what it was waiting for."""
        result = dict(changed=bool(self.done), rebalanced=list(self.done), services=self.sorted_reports(),
                      elapsed=self.client.elapsed(),
                      spread_before=dict((report['name'], report['spread_before']) for report in self.reports.values()))
        if pending is not None:
            result['pending'] = pending
        return result

    def finish(self, plans, to_touch):
        reports = self.sorted_reports()
        for plan in to_touch:
            report = self.reports[plan.id]
            # In check mode the skew after is the one aimed at; otherwise the one measured.
            self.diff.add(plan.name, dict(force_update=plan.force_update, skew=plan.skew),
                          dict(force_update=report['force_update_after'],
                               skew=plan.best_skew if self.module.check_mode else report['skew_after']))
        self.exit(
            changed=bool(to_touch),
            rebalanced=[plan.name for plan in to_touch],
            spread_before=dict((report['name'], report['spread_before']) for report in reports),
            spread_after=dict((report['name'], report['spread_after']) for report in reports),
            services=reports,
        )


def main():
    run_module(Rebalance, dict(
        services=dict(type='list', elements='str', default=[]),
        max_skew=dict(type='int', default=1),
        wait=dict(type='bool', default=True),
    ))


if __name__ == '__main__':
    main()
