# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""[INTERNAL] maintain.yml's decisions (role rolling_maintenance): the order of a run and the
manager that runs a node's cluster-wide steps.

PRIVATE to the collection: only its roles call these filters, and they may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


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
    dict(delegate: the first that answered with quorum or '', now: its answer, alive: those
    whose engine answered at all (during an election none has quorum for a few seconds), silent:
    those that did not answer with quorum).
    """
    delegate, now, alive, silent = '', {}, [], []
    probes = [dict(host=preferred, result=preferred_result or {})] + [
        dict(host=result.get('item'), result=result) for result in other_results or [] if not result.get('skipped')]
    for probe in probes:
        result = probe.get('result') or {}
        answered = 'has_quorum' in result and not result.get('unreachable') and not result.get('failed')
        if answered:
            alive.append(probe['host'])
        if answered and result.get('has_quorum') is True:
            if not delegate:
                delegate, now = probe['host'], result
        else:
            silent.append(probe['host'])
    return dict(delegate=delegate, now=now, alive=alive, silent=silent)


class FilterModule(object):
    """maintain.yml's decisions."""

    def filters(self):
        return {'_maintenance_order': maintenance_order, '_maintenance_manager': maintenance_manager}
