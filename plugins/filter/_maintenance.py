# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""[INTERNAL] maintain.yml's decisions (role rolling_maintenance): the order of a run, the
batches of its workers, and the manager that runs a node's cluster-wide steps.

PRIVATE to the collection: only its roles call these filters, and they may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmops.lifecycle.plugins.module_utils._placement import Placement
from ansible_collections.swarmops.lifecycle.plugins.module_utils._drain import budget_detail, plan_drain, unplaceable_detail


def maintenance_order(hosts, marks, run_id, leader_id=''):
    """The order of a run, from the node labels the lock's run left and the current leader.

    ``hosts``: dicts host, node_id, manager (a host of the manager group) for every host of the
    run, managers first, each group in inventory order. ``marks``: node ID -> the value of the
    node's ``swarmops.maintenance`` label. Nodes this run finished are skipped, nodes it started
    (left drained by a failure) go first, then workers, then managers with the leader last.
    Returns dict(done, resume, workers, managers) of inventory hosts.
    """
    hosts = list(hosts or [])
    marks = marks or {}

    def marked(host, state):
        return marks.get(host.get('node_id')) == '%s:%s' % (run_id, state)

    done = [host['host'] for host in hosts if marked(host, 'done')]
    resume = [host['host'] for host in hosts if marked(host, 'started')]
    skip = set(done + resume)
    workers = [host['host'] for host in hosts if not host.get('manager') and host['host'] not in skip]
    leader = [host['host'] for host in hosts if host.get('manager') and leader_id and host.get('node_id') == leader_id
              and host['host'] not in skip]
    managers = [host['host'] for host in hosts if host.get('manager') and host['host'] not in skip
                and host['host'] not in leader]
    return dict(done=done, resume=resume, workers=workers, managers=managers + leader)


def maintenance_manager(preferred_result, preferred, other_results=()):
    """The manager for a node's cluster-wide steps, from the managers asked, in order.

    ``preferred_result``: what quorum_info returned on ``preferred`` (possibly a failure or an
    unreachable result); ``other_results``: the loop results of asking the others (each with its
    ``item``, the host; skipped ones, when the preferred answered, are left out). Returns
    dict(via: the first that answered with quorum or '', now: its answer, alive: those
    whose engine answered at all (during an election none has quorum for a few seconds), silent:
    those that did not answer with quorum).
    """
    via, now, alive, silent = '', {}, [], []
    probes = [dict(host=preferred, result=preferred_result or {})] + [
        dict(host=result.get('item'), result=result) for result in other_results or [] if not result.get('skipped')]
    for probe in probes:
        result = probe.get('result') or {}
        answered = 'has_quorum' in result and not result.get('unreachable') and not result.get('failed')
        if answered:
            alive.append(probe['host'])
        if answered and result.get('has_quorum') is True:
            if not via:
                via, now = probe['host'], result
        else:
            silent.append(probe['host'])
    return dict(via=via, now=now, alive=alive, silent=silent)


def batch_size(serial, count):
    """The size of a batch as Ansible's play keyword serial reads it: a count, or a percentage of
    ``count`` hosts rounded down, at least 1."""
    text = str(serial).strip()
    if text.endswith('%'):
        size = int(int(text[:-1]) / 100.0 * count)
    else:
        size = int(text)
    return max(size, 1)


def batch_problems(node_ids, snapshot, min_available, surge):
    """Why the nodes ``node_ids`` cannot be drained together (texts, empty when they can).

    The same plan the drain module makes for a batch (module_utils.swarm.plan_drain with the
    placement model of module_utils._placement): every service with tasks on those nodes must
    be able to keep its budget on the other nodes, by placement and, without surge, by the
    replicas running there now."""
    nodes, services, tasks = snapshot.get('nodes') or [], snapshot.get('services') or [], snapshot.get('tasks') or []
    ids = list(node_ids)
    moves = plan_drain(ids, services, tasks, min_available,
                       capacity=lambda service: Placement(service).capacity(nodes, tasks, exclude=ids))
    # The same sentences as the drain module's refusals (module_utils._drain).
    return [unplaceable_detail(move) if move.cannot_keep_budget else budget_detail(move, batch=True)
            for move in moves if move.cannot_keep_budget or (move.breaks_budget and not surge)]


def maintenance_batches(workers, node_ids, serial, snapshot, min_available=1, surge=False):
    """The workers' batches, in order, each at most ``serial`` hosts and each drainable as one.

    ``workers``: the worker hosts in the order of the run; ``node_ids``: host -> swarm node ID;
    ``snapshot``: dict(nodes, services, tasks) as the Docker API lists them (None or empty when
    serial is 1). A host joins the batch being built unless the batch is full or the batch with
    it could not keep some service's budget (then the host starts the next batch: the batch is
    split, and ``splits`` says why). A host alone always makes a batch: its own drain checks it.
    Returns dict(batches: lists of hosts, sizes: their lengths (for the play keyword serial),
    splits: texts).
    """
    workers = list(workers or [])
    size = batch_size(serial, len(workers))
    batches, splits = [], []
    for host in workers:
        current = batches[-1] if batches else None
        if current is not None and len(current) < size:
            problems = batch_problems([node_ids[name] for name in current + [host]], snapshot or {},
                                      min_available, surge)
            if not problems:
                current.append(host)
                continue
            splits.append('%s is not drained together with %s: %s' % (host, ', '.join(current), '; '.join(problems)))
        batches.append([host])
    return dict(batches=batches, sizes=[len(batch) for batch in batches], splits=splits)


def maintenance_stop(host, node_id, step, task, msg, used='', silent=(), alive=(), lock_marked=True, state=''):
    """The message that stops a run after a node step failed (node.yml's rescue).

    ``used``: the manager that ran the failed step; ``silent``: the managers asked afterwards that
    did not answer with quorum; ``alive``: those whose engine answered at all; ``lock_marked``:
    whether a manager took the lock's "failed" mark; ``state``: the node as the failure left it.
    """
    silent, alive = list(silent or []), list(alive or [])
    # A template that rendered nothing may arrive as None or as the text 'None'.
    state = '' if state is None or str(state).strip() in ('', 'None') else str(state).strip()
    parts = ["Maintenance stopped on %s (swarm node %s) at step '%s' (task: %s): %s"
             % (host, node_id, step or 'start', task, msg or 'no message')]
    # The maintenance itself runs on the node, not through the manager picked for the other steps.
    if used and used in silent and step != 'maintenance':
        parts.append('The manager that ran this step, %s, no longer answers.' % used)
    asked = silent + [name for name in alive if name not in silent]
    no_quorum = bool(silent) and all(name in silent for name in asked)
    if no_quorum:
        answered = [name for name in alive if name in silent]
        parts.append(
            'No manager answers with quorum (asked: %s; %s): the swarm has probably lost quorum, so no other node '
            'was touched. Do not restart more nodes: run recover.yml (it diagnoses the swarm and restores quorum; '
            'if a leader election was under way, recover.yml --check a minute later shows whether it ended), then run '
            'maintain.yml again.' % (', '.join(asked), 'engines that answered without quorum: %s' % ', '.join(answered)
                                     if answered else 'no engine answered'))
    elif silent:
        parts.append('Managers not answering with quorum: %s.' % ', '.join(silent))
    parts.append('The node is left as it is: %s.' % (state or 'state unknown'))
    parts.append('Fix the cause and run maintain.yml again: nodes already done are skipped and this node is '
                 'taken first.')
    if not lock_marked:
        parts.append('No manager answered to mark the lock as failed, so it still says running: once the managers '
                     'answer, run maintain.yml with -e rolling_maintenance_break_lock=true (allowed after '
                     'rolling_maintenance_lock_ttl seconds) after making sure no other run is going on.')
    return ' '.join(parts)


class FilterModule(object):
    """maintain.yml's decisions."""

    def filters(self):
        return {'_maintenance_order': maintenance_order, '_maintenance_manager': maintenance_manager,
                '_maintenance_batches': maintenance_batches, '_maintenance_batch_size': batch_size,
                '_maintenance_stop': maintenance_stop}
