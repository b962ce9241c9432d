# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""[INTERNAL] backup.yml's decision (role swarm_backup): which manager to back up, or why not.

PRIVATE to the collection: only its roles call this filter, and it may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _quorum_size(managers):
    return managers // 2 + 1


def backup_plan(managers, backup_host='', allow_only_manager=False, unlock_key_given=False,
                manager_group='swarm_managers'):
    """The manager to back up and the view of the swarm, or the refusal.

    ``managers``: one dict per host of the manager group in this play, in inventory order:
    host, node_id (from its engine, '' when none), answer (what it said, for messages) and
    quorum (its quorum_info result, {} when it did not answer).
    Returns dict(target, via, view, refusal): ``via`` is the manager whose view is used.
    """
    managers = list(managers or [])
    plan = dict(target='', via='', view={}, refusal='')
    hosts = [item['host'] for item in managers]
    answers = '; '.join(item.get('answer') or '' for item in managers)
    if not managers:
        plan['refusal'] = ("inventory group '%s' is empty or missing; set swarmops_manager_group (group_vars/all)."
                           % manager_group)
        return plan
    quorate = [item for item in managers if (item.get('quorum') or {}).get('has_quorum') is True]
    if not quorate:
        plan['refusal'] = ("no manager of '%s' answered with quorum (%s). A backup needs a swarm with quorum: recover "
                           "it first (recover.yml), or restore a backup (restore.yml)." % (manager_group, answers))
        return plan
    view = quorate[0]['quorum']
    plan.update(via=quorate[0]['host'], view=view)
    reachable_ids = [entry.get('id') for entry in view.get('reachable_managers') or []]
    leader_id = (view.get('leader') or {}).get('id') or ''
    total = int(view.get('managers_total') or 0)
    by_id = dict((item.get('node_id'), item['host']) for item in managers if item.get('node_id'))
    leader_host = by_id.get(leader_id, '')
    candidates = [item['host'] for item in managers
                  if item.get('node_id') in reachable_ids and item.get('node_id') != leader_id]
    if backup_host:
        target = backup_host
    elif candidates:
        target = candidates[-1]
    elif total == 1:
        target = leader_host
    else:
        target = ''
    plan['target'] = target
    target_item = dict((item['host'], item) for item in managers).get(target) or {}
    unreachable = ', '.join(entry.get('hostname') or entry.get('id') or '?' for entry in view.get('unreachable_managers') or [])
    if backup_host and backup_host not in hosts:
        why = "swarm_backup_host=%s is not a host of '%s' (hosts: %s)." % (backup_host, manager_group, ', '.join(hosts))
    elif backup_host and target_item.get('node_id') not in reachable_ids:
        why = ('swarm_backup_host=%s is not a reachable manager of this swarm (%s; reachable managers: %s).'
               % (backup_host, target_item.get('answer') or backup_host + ': no answer',
                  ', '.join(entry.get('hostname') or '' for entry in view.get('reachable_managers') or [])))
    elif total == 1 and not allow_only_manager:
        why = ('%s is the only manager of the swarm: stopping its engine for the backup stops the control plane (no '
               'scheduling, no service or node changes, failed tasks not replaced) until it is back; running tasks keep '
               'running. Add managers (3 tolerate the loss of one) and back up a non-leader, or set '
               'swarm_backup_allow_only_manager=true to accept the pause.'
               % (leader_host or (view.get('leader') or {}).get('hostname')))
    elif not target:
        leader_name = (view.get('leader') or {}).get('hostname') or 'none'
        why = ("no reachable manager of '%s' other than the leader (%s) to back up (%s). Recover the unreachable "
               "managers first (recover.yml)." % (manager_group, leader_name, answers))
    elif target_item.get('node_id') == leader_id and total > 1:
        why = ('%s is the leader: stopping it forces a leader election. Back up a non-leader (%s), or leave '
               'swarm_backup_host empty to pick one.' % (target, ', '.join(candidates) or 'none reachable'))
    elif total > 1 and int(view.get('managers_reachable') or 0) - 1 < _quorum_size(total):
        why = ('stopping %s would lose quorum: %s of %d managers are reachable and quorum is %d%s. Bring the '
               'unreachable managers back (recover.yml), or add managers (site.yml), then back up.'
               % (target, view.get('managers_reachable'), total, _quorum_size(total),
                  ' (unreachable: %s)' % unreachable if int(view.get('managers_unreachable') or 0) > 0 else ''))
    elif view.get('autolock') and not unlock_key_given:
        why = ('the swarm is autolocked: %s comes back locked after its engine restarts and stays out of the swarm '
               'until unlocked. Provide the unlock key as the vaulted variable swarm_unlock_key.' % target)
    else:
        why = ''
    plan['refusal'] = why
    return plan


def backup_manager_not_back(back, node_id, host, timeout=0):
    """Why the manager backed up is not back as a reachable manager of a swarm with quorum ('' when
    it is): ``back`` is the last quorum_info result the wait read on it."""
    if not isinstance(back, dict) or back.get('failed') or back.get('unreachable') or 'has_quorum' not in back:
        last = back.get('msg') if isinstance(back, dict) else None
        seen = 'quorum_info on it did not answer: %s' % (last or 'no message')
    elif not back.get('has_quorum'):
        seen = 'the swarm has no quorum (%s of %s managers reachable, quorum %s)' % (
            back.get('managers_reachable'), back.get('managers_total'), back.get('quorum_size'))
    elif any(item.get('id') == node_id for item in back.get('reachable_managers') or []):
        return ''
    else:
        seen = 'its node is not among the reachable managers (reachable managers: %s)' % (
            ', '.join(item.get('hostname') or item.get('id') for item in back.get('reachable_managers') or []) or 'none')
    return ('After %s s %s (node %s) is not back as a reachable manager of a swarm with quorum: %s. Check its engine '
            '(docker info) and port 2377 between it and the other managers, then run backup.yml again.'
            % (timeout, host, node_id, seen))


class FilterModule(object):
    """backup.yml's decision."""

    def filters(self):
        return {'_backup_plan': backup_plan, '_backup_manager_not_back': backup_manager_not_back}
