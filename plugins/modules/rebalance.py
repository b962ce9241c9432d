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

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.lifecycle.plugins.module_utils._placement import Placement
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    APIError,
    DifferenceTracker,
    DockerException,
    RequestException,
    SwarmClient,
    api_error_text,
    node_hostname,
    service_mode,
    service_name,
    service_replicas,
    sort_by_hostname,
    swarm_argument_spec,
    task_is_running,
)

# Update states of a service that is being changed right now.
UPDATE_IN_PROGRESS = frozenset(('updating', 'rollback_started'))
# A previous update that stopped half way: a forced update would start over from it.
UPDATE_STUCK = frozenset(('paused', 'rollback_paused'))
# How a forced update may end other than 'completed'.
UPDATE_FAILED = frozenset(('paused', 'rollback_started', 'rollback_paused', 'rollback_completed'))


# ---------------------------------------------------------------------------------------
# Spread arithmetic
# ---------------------------------------------------------------------------------------

def placeable_replicas(replicas, eligible_count, max_per_node):
    """Replicas that can run at all: MaxReplicas per node caps them at eligible nodes x MaxReplicas."""
    if max_per_node and max_per_node > 0:
        return min(replicas, eligible_count * max_per_node)
    return replicas


def best_skew(replicas, eligible_count, max_per_node=0):
    """The lowest skew reachable: 0 when the placeable replicas divide evenly over the nodes, else 1.

    >>> best_skew(10, 7), best_skew(14, 7), best_skew(3, 7), best_skew(10, 5, max_per_node=1)
    (1, 0, 1, 0)
    """
    if eligible_count <= 0:
        return 0
    placeable = placeable_replicas(replicas, eligible_count, max_per_node)
    return 0 if placeable % eligible_count == 0 else 1


def skew_of(spread):
    """Highest minus lowest count of a {node: running} spread (0 for no node)."""
    counts = list(spread.values())
    return max(counts) - min(counts) if counts else 0


def node_keys(nodes):
    """Node ID -> the name used in spreads: the hostname, with the ID when two nodes share it."""
    seen = {}
    for node in nodes:
        seen[node_hostname(node)] = seen.get(node_hostname(node), 0) + 1
    return dict((node['ID'], node_hostname(node) if seen[node_hostname(node)] == 1
                 else '%s (%s)' % (node_hostname(node), node['ID'])) for node in nodes)


def task_force_update(task):
    return int(((task.get('Spec') or {}).get('ForceUpdate')) or 0)


class ServicePlan(object):
    """One service: where its tasks run, how skewed that is, and what to do about it."""

    def __init__(self, service, nodes, tasks, keys, max_skew):
        spec = service.get('Spec') or {}
        template = spec.get('TaskTemplate') or {}
        placement = template.get('Placement') or {}
        self.id = service.get('ID')
        self.name = service_name(service)
        self.mode = service_mode(service)
        self.replicas = service_replicas(service) if self.mode == 'replicated' else None
        self.constraints = list(placement.get('Constraints') or [])
        self.preferences = list(placement.get('Preferences') or [])
        self.max_per_node = int(placement.get('MaxReplicas') or 0)
        self.force_update = int(template.get('ForceUpdate') or 0)
        self.update_status = service.get('UpdateStatus') or {}
        self.update_state = self.update_status.get('State')

        placement = Placement(service)
        self.unknown_constraints = placement.unknown_constraints
        # Where the scheduler can place a task of it: state, availability, constraints, platforms,
        # and room for its reservations (a node with none of its tasks and no room cannot take one).
        eligible = [node for node in placement.eligible(nodes) if placement.room_on(node, tasks) != 0]
        self.eligible_ids = set(node['ID'] for node in eligible)
        self.eligible_names = [keys[node['ID']] for node in sort_by_hostname(eligible)]
        self.spread = dict((name, 0) for name in self.eligible_names)
        self.outside = {}
        for task in tasks:
            if task.get('ServiceID') != self.id or not task_is_running(task):
                continue
            name = keys.get(task.get('NodeID'), task.get('NodeID') or 'unassigned')
            if task.get('NodeID') in self.eligible_ids:
                self.spread[name] += 1
            else:
                self.outside[name] = self.outside.get(name, 0) + 1
        self.skew = skew_of(self.spread)

        count = len(self.eligible_ids)
        self.best_skew = best_skew(self.replicas or 0, count, self.max_per_node)
        self.target_running = placeable_replicas(self.replicas or 0, count, self.max_per_node)
        self.skip_reason = self._skip_reason()
        self.skewed = self.skip_reason is None and self.skew > max(max_skew, self.best_skew)

    def _skip_reason(self):
        if self.mode == 'global':
            return 'global service: one task per eligible node, nothing to spread'
        if self.mode != 'replicated':
            return '%s service: its tasks run to completion, nothing to spread' % self.mode
        if not self.eligible_ids:
            return 'no eligible node (ready, active and matching its constraints)'
        if self.preferences:
            return 'placement preferences spread it over node labels, not evenly over nodes'
        if self.update_state in UPDATE_IN_PROGRESS:
            return 'an update is in progress (%s); its spread is not final' % self.update_state
        return None

    @property
    def stuck(self):
        return self.skewed and self.update_state in UPDATE_STUCK

    def report(self):
        return dict(
            name=self.name, mode=self.mode, replicas=self.replicas, max_replicas_per_node=self.max_per_node,
            eligible_nodes=self.eligible_names, spread_before=self.spread, skew_before=self.skew,
            best_skew=self.best_skew, skewed=self.skewed,
            action='skip' if self.skip_reason else ('force_update' if self.skewed else 'none'),
            reason=self.skip_reason, running_on_ineligible_nodes=self.outside,
            spread_after=None, skew_after=None, force_update_before=self.force_update,
            force_update_after=self.force_update, update_state=self.update_state)


def spread_text(spread):
    return ' '.join('%s=%d' % item for item in sorted(spread.items())) or 'no node'


def convergence(service, tasks, force_update, target):
    """Progress of a forced update: done when complete, all running tasks are new, and target of them run."""
    status = service.get('UpdateStatus') or {}
    running = [task for task in tasks if task.get('ServiceID') == service.get('ID') and task_is_running(task)]
    stale = [task for task in running if task_force_update(task) < force_update]
    progress = dict(update_state=status.get('State'), update_message=status.get('Message'),
                    running=len(running), target=target, old_tasks_running=len(stale))
    done = status.get('State') in (None, 'completed') and not stale and len(running) == target
    return done, progress


def progress_text(name, progress):
    return ('%s: update state %s, %d of %d running, %d still from before the forced update'
            % (name, progress['update_state'] or 'not started', progress['running'], progress['target'],
               progress['old_tasks_running']))


# ---------------------------------------------------------------------------------------
# The module
# ---------------------------------------------------------------------------------------

# Forced updates per skewed service at most, while it stays skewed after converging.
ROUNDS = 3


class Rebalancer(object):
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
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
        client = self.client
        for attempt in range(3):
            service = client.call('inspect service %s' % plan.name, client.api.inspect_service, plan.id)
            spec = copy.deepcopy(service['Spec'])
            template = spec.get('TaskTemplate') or {}
            template['ForceUpdate'] = int(template.get('ForceUpdate') or 0) + 1
            kwargs = dict(
                task_template=template,
                name=spec.get('Name'),
                labels=spec.get('Labels') or {},
                mode=spec.get('Mode'),
                update_config=spec.get('UpdateConfig'),
                rollback_config=spec.get('RollbackConfig'),
                endpoint_spec=spec.get('EndpointSpec'),
            )
            if spec.get('Networks') and not template.get('Networks'):
                kwargs['networks'] = spec['Networks']
            try:
                client.api.update_service(service['ID'], service['Version']['Index'], **kwargs)
                return template['ForceUpdate']
            except APIError as exc:
                text = api_error_text(exc)
                if 'out of sequence' not in text or attempt == 2:
                    client.fail('Docker engine refused the forced update of service %s: %s. Rebalanced before it: '
                                '%s.' % (plan.name, text, ', '.join(self.done) or 'none'),
                                **self.partial_result())
            except (DockerException, RequestException) as exc:
                client.fail('Docker engine did not answer while force-updating service %s: %s' % (plan.name, exc),
                            **self.partial_result())

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
        result = dict(
            changed=bool(to_touch),
            rebalanced=[plan.name for plan in to_touch],
            spread_before=dict((report['name'], report['spread_before']) for report in reports),
            spread_after=dict((report['name'], report['spread_after']) for report in reports),
            services=reports,
            elapsed=self.client.elapsed(),
        )
        if self.module._diff:
            diff = DifferenceTracker()
            for plan in to_touch:
                report = self.reports[plan.id]
                # In check mode the skew after is the one aimed at; otherwise the one measured.
                diff.add(plan.name, dict(force_update=plan.force_update, skew=plan.skew),
                         dict(force_update=report['force_update_after'],
                              skew=plan.best_skew if self.module.check_mode else report['skew_after']))
            result['diff'] = diff.as_diff()
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=swarm_argument_spec(
            services=dict(type='list', elements='str', default=[]),
            max_skew=dict(type='int', default=1),
            wait=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    Rebalancer(module, SwarmClient(module)).run()


if __name__ == '__main__':
    main()
