# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""[INTERNAL] The decisions of recover.yml (role disaster_recovery), as pure functions.

PRIVATE to the collection: only its roles call these filters, and they may change at any time.

Every host of the inventory is described by the diagnosis the role collects (plan.yml):

    host, answered, state, node_id, is_manager, has_quorum, leader_id, managers_reachable,
    raft_newest, in_manager_group, addr, view

where ``view`` is what that host's quorum_info returned (empty when it did not answer). Hosts
are matched to swarm nodes only by the NodeID their own engine reports, never by hostname.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MEANING = dict(
    healthy='a leader, every listed manager reachable, no ghost or stale entry, every host of the inventory in the swarm.',
    quorum_kept='a leader exists, but managers are missing or hosts are out of the swarm.',
    quorum_lost='no leader can be elected; at least one manager survives.',
    all_managers_lost='workers keep their tasks running, but nothing reconciles the services.',
    no_swarm='no host of the inventory is in a swarm (provision it with site.yml).',
)


def largest_odd(count):
    """The largest odd number <= count (0 when count < 1)."""
    count = int(count)
    if count < 1:
        return 0
    return count if count % 2 == 1 else count - 1


def target_managers(target, manager_group_size):
    """The manager count recovery aims at: the operator's target, else what the inventory asks for.

    The inventory asks for its manager group; an even group gets the largest odd count below it
    (an even count tolerates no more failures than one manager fewer). Returns (count, explicit).
    """
    if target in (None, ''):
        return largest_odd(manager_group_size), False
    try:
        return int(target), True
    except (TypeError, ValueError):
        # Imported here: importing ansible.errors at load time sets up the controller's display,
        # which changes how modules tested in the same process report warnings.
        from ansible.errors import AnsibleFilterError
        raise AnsibleFilterError('disaster_recovery_manager_count must be a number, got %r' % (target,))


def target_refusal(count, explicit, hosts):
    """Why the target manager count cannot be used, or ''."""
    name = 'disaster_recovery_manager_count=%s' % count if explicit else (
        'The manager group asks for %s managers, which' % count)
    if count < 1:
        why = 'is less than 1: a swarm needs a manager'
    elif count % 2 == 0:
        why = ('is even: it must be odd (Raft needs a majority, so an even count tolerates no more failures '
               'than one manager fewer)')
    elif count > len(hosts):
        why = 'is more than the %d hosts of the inventory can provide' % len(hosts)
    else:
        return ''
    return '%s %s. Nothing was changed. Give an odd count of at most %d.' % (name, why, len(hosts))


def _answer_of(hosts, name, manager_group):
    """What the diagnosis knows of one host, for a message."""
    for host in hosts:
        if host['host'] == name:
            if not host.get('answered'):
                return 'it did not answer'
            role = 'a manager without quorum' if host.get('is_manager') else 'not a manager'
            return 'it answered as %s, engine state %s' % (role, host.get('state'))
    return 'it is not a host of %s or of the workers of this inventory' % manager_group


def _max_reachable_per_side(quorate):
    sides = {}
    for host in quorate:
        sides[host['leader_id']] = max(sides.get(host['leader_id'], 0), int(host.get('managers_reachable') or 0))
    return sorted(sides.values(), reverse=True)


def _is_healthy(view, answered_hosts, all_hosts):
    if not view:
        return False
    node_ids = set(node.get('id') for node in view.get('nodes') or [])
    return (int(view.get('managers_unreachable', 1)) == 0
            and not view.get('stale_managers')
            and all(host['answered'] and host['state'] == 'active' and host['node_id'] in node_ids for host in all_hosts)
            and all(node.get('state') == 'ready' for node in view.get('nodes') or [])
            and len(answered_hosts) == len(all_hosts))


def recovery_plan(hosts, target=None, manager_group_size=0, authoritative_host='', manager_group='the manager group'):
    """Diagnosis -> the case, which side of a split is kept, where to act, what stops the run.

    Returns a dict: case, meaning, split, leaders, via (the host whose engine leads the kept
    swarm, '' when none), survivor (the manager to force a new cluster on, quorum_lost only),
    target, target_explicit, refusal ('' or why nothing may be done).
    """
    hosts = list(hosts or [])
    target, explicit = target_managers(target, manager_group_size)
    plan = dict(case='', meaning='', split=False, leaders=[], via='', survivor='', target=target,
                target_explicit=explicit, refusal='')
    answered = [host for host in hosts if host.get('answered')]
    quorate = [host for host in answered if host.get('has_quorum') is True]
    if authoritative_host and authoritative_host not in [host['host'] for host in quorate]:
        # Any host of the inventory that is a manager of a swarm with quorum now: after a
        # recovery promoted workers, the side to keep may be led by a host of the worker group.
        plan['refusal'] = (
            'disaster_recovery_authoritative_host=%s is not a manager of a swarm that has quorum now (%s). Nothing was '
            'changed. Name a host whose swarm must be kept: one of %s, or leave the variable out.'
            % (authoritative_host, _answer_of(hosts, authoritative_host, manager_group),
               ', '.join(host['host'] for host in quorate) or 'none answers with quorum'))
        return plan

    leaders = []
    for host in quorate:
        if host['leader_id'] not in leaders:
            leaders.append(host['leader_id'])
    plan['leaders'] = leaders
    plan['split'] = len(leaders) > 1

    # The side with the most reachable managers is kept (a forced new cluster grown back beats
    # the remains of the old one); a tie needs the operator to name a host of the side to keep.
    named = [host for host in quorate if host['host'] == authoritative_host]
    ranked = sorted(quorate, key=lambda host: -int(host.get('managers_reachable') or 0))
    authority = (named + ranked + [None])[0]
    if plan['split'] and not named:
        top = _max_reachable_per_side(quorate)
        if len(top) > 1 and top[0] == top[1]:
            plan['refusal'] = (
                'Two swarms answer with quorum (leaders %s), each with %d reachable managers: the managers of an old '
                'cluster came back after a new one was forced. Nothing was changed. Name a host of the swarm to keep '
                'with -e disaster_recovery_authoritative_host=HOST; the hosts of the other one will leave it and '
                'rejoin as workers.' % (', '.join(leaders), top[0]))
            return plan

    # The kept side, its chosen host first: steps then go through the host the operator named.
    with_quorum = [] if authority is None else [authority] + [
        host for host in quorate if host['leader_id'] == authority['leader_id'] and host['host'] != authority['host']]
    survivors = sorted([host for host in answered if host.get('is_manager')],
                       key=lambda host: -float(host.get('raft_newest') or 0))
    members = [host for host in answered if host.get('state') == 'active']
    if with_quorum:
        plan['via'] = with_quorum[0]['host']
        view = with_quorum[0].get('view') or {}
        plan['case'] = 'healthy' if not plan['split'] and _is_healthy(view, answered, hosts) else 'quorum_kept'
    elif survivors:
        plan['case'] = 'quorum_lost'
        plan['survivor'] = survivors[0]['host']
    elif members:
        plan['case'] = 'all_managers_lost'
    else:
        plan['case'] = 'no_swarm'
    plan['meaning'] = MEANING[plan['case']]
    plan['refusal'] = target_refusal(target, explicit, hosts)
    return plan


def recovery_entries_to_drop(hosts, now_view):
    """Manager entries to demote and remove before anyone rejoins.

    Every unreachable raft member (a ghost), and the stale manager entries (manager role, not in
    raft, left by a forced new cluster) of hosts that did not answer. The stale entry of a host
    that answered is left alone here: that host is made to leave and rejoin, and its old entry is
    dropped afterwards (recovery_left_behind); removing it now races with the host reconnecting.
    """
    answered_ids = set(host.get('node_id') for host in hosts or [] if host.get('answered') and host.get('node_id'))
    drop, seen = [], set()
    for entry in (now_view or {}).get('unreachable_managers') or []:
        if entry.get('id') not in seen:
            seen.add(entry.get('id'))
            drop.append(entry)
    for entry in (now_view or {}).get('stale_managers') or []:
        if entry.get('id') not in seen and entry.get('id') not in answered_ids:
            seen.add(entry.get('id'))
            drop.append(entry)
    return drop


def recovery_rejoin(hosts, via, now_view, split=False):
    """Hosts to make leave their swarm and join the kept one as workers.

    Out of the swarm (left, failed join), unknown to this swarm, a manager of an older raft (a
    survivor of the old cluster that is not the leader now), or a host of the other side of a
    split. A member whose ID the swarm knows is only waited for: it reconnects by itself, except
    after a split: a worker keeps its ID in both swarms, and one that the kept side does not see
    ready is attached to the other side and never comes back by itself. A locked engine is never
    made to leave (that would throw its state away): it needs its key. Nor is a reachable raft member
    of the kept swarm: an old manager turned away by a forced raft may get a manager certificate and
    join the new raft by itself; made to leave then, it takes the kept swarm's quorum with it.
    """
    ready_ids = set(node.get('id') for node in (now_view or {}).get('nodes') or [] if node.get('state') == 'ready')
    kept_managers = set(node.get('id') for node in (now_view or {}).get('nodes') or []
                        if node.get('manager') and node.get('reachability') == 'reachable')
    node_ids = set(node.get('id') for node in (now_view or {}).get('nodes') or [])
    leader_id = ((now_view or {}).get('leader') or {}).get('id') or ''
    rejoin = []
    for host in hosts or []:
        if not host.get('answered') or host['host'] == via or host.get('state') == 'locked':
            continue
        if host.get('node_id') and host.get('node_id') in kept_managers:
            continue
        out_of_swarm = host.get('state') != 'active'
        unknown = host.get('state') == 'active' and host.get('node_id') not in node_ids
        old_raft = host.get('is_manager') and host.get('has_quorum') is not True
        other_side = host.get('has_quorum') is True and host.get('leader_id') != leader_id
        attached_elsewhere = split and host.get('state') == 'active' and host.get('node_id') not in ready_ids
        if out_of_swarm or unknown or old_raft or other_side or attached_elsewhere:
            rejoin.append(host['host'])
    return rejoin


def recovery_left_behind(hosts, rejoined, ids_now, now_view):
    """Node entries that rejoined hosts left behind: their old IDs, not raft members, down, not in use now."""
    old_ids = set(host.get('node_id') for host in hosts or [] if host['host'] in (rejoined or []) and host.get('node_id'))
    current = set((ids_now or {}).values())
    return [node for node in (now_view or {}).get('nodes') or []
            if node.get('id') in old_ids and node.get('id') not in current
            and not node.get('manager') and node.get('state') != 'ready']


def recovery_managers(hosts, ids_now, now_view, target, target_explicit=False):
    """Who is promoted or demoted to reach the target manager count.

    Candidates for promotion: hosts that answered, whose node is a ready worker now: hosts the
    inventory lists as managers first (inventory order), then workers from the last (the seed
    promotes its last worker). Demoted first: hosts the inventory lists as workers, never the
    leader. Without a target set by the operator, a swarm with more managers than the inventory
    asks for only loses one to make the count odd: recovery never lowers fault tolerance unless told.

    Returns promote (hosts), demote (node IDs), managers_now, want (the count aimed at after
    promotion), short ('' or why the target cannot be reached now).
    """
    nodes = (now_view or {}).get('nodes') or []
    by_id = dict((node.get('id'), node) for node in nodes)
    answered = [host for host in hosts or [] if host.get('answered')]
    ranked = ([host for host in answered if host.get('in_manager_group')]
              + list(reversed([host for host in answered if not host.get('in_manager_group')])))
    managers_now = len([node for node in nodes if node.get('manager')])
    target = int(target)
    want = target
    if managers_now > target and not target_explicit:
        want = largest_odd(managers_now)
    result = dict(promote=[], demote=[], managers_now=managers_now, want=want, short='')
    if want > managers_now:
        candidates = []
        for host in ranked:
            node = by_id.get((ids_now or {}).get(host['host']) or '')
            if node is not None and node.get('role') == 'worker' and node.get('state') == 'ready':
                candidates.append(host['host'])
        missing = want - managers_now
        if len(candidates) < missing:
            # Grow as far as the hosts allow, to an odd count; the report says the target was not reached.
            reachable_count = largest_odd(managers_now + len(candidates))
            result['short'] = (
                'The swarm has %d managers and needs %d, but only %d healthy workers of the inventory can be promoted '
                '(%s), so it grows to %d. Bring more hosts back and run recover.yml again, or lower '
                'disaster_recovery_manager_count.' % (managers_now, want, len(candidates),
                                                      ', '.join(candidates) or 'none', max(reachable_count, managers_now)))
            missing = max(0, reachable_count - managers_now)
        result['promote'] = candidates[:missing]
    elif want < managers_now:
        leader_ids = set(node.get('id') for node in nodes if node.get('leader'))
        order = list(reversed(ranked))
        demote = []
        for host in order:
            node_id = (ids_now or {}).get(host['host']) or ''
            node = by_id.get(node_id)
            if node is not None and node.get('manager') and node_id not in leader_ids:
                demote.append(node_id)
        result['demote'] = demote[:managers_now - want]
    return result


def _unanswered(result, who, key):
    """Why a registered result holds no answer (``key`` missing: the module failed, the host was unreachable), or ''."""
    if not isinstance(result, dict):
        return '%s gave no answer.' % who
    if result.get('unreachable') or result.get(key) is None:
        return '%s did not answer: %s' % (who, result.get('msg') or 'no message')
    return ''


def recovery_not_ready(ids_now, now_view, timeout=0):
    """The hosts whose node is not back and ready, as one sentence ('' when every one is).

    ids_now maps each host that answered to the node ID its engine reports now; now_view is the
    manager's quorum_info result (the last one a wait read).
    """
    why = _unanswered(now_view, 'The manager recovery works through', 'nodes')
    if why:
        return why + ' Nothing more was changed; run recover.yml again once it answers.'
    by_id = dict((node.get('id'), node) for node in (now_view or {}).get('nodes') or [])
    missing = []
    for name, node_id in sorted((ids_now or {}).items()):
        node = by_id.get(node_id)
        if node is None:
            missing.append('%s (node %s is not listed by the swarm)' % (name, node_id or 'unknown'))
        elif node.get('state') != 'ready':
            missing.append('%s (node %s is %s)' % (name, node_id, node.get('state') or 'in no state'))
    if not missing:
        return ''
    return ('After %ss these hosts are still not back and ready in the swarm: %s. The manager count was not '
            'changed. Check their engines (systemctl status docker, journalctl -u docker), then run recover.yml '
            'again.' % (timeout, '; '.join(missing)))


def recovery_worker_not_ready(host_info, live_view, candidate, timeout=0):
    """Why the worker about to be promoted is not ready for it, as one sentence ('' when it is)."""
    why = _unanswered(host_info, 'The engine of %s' % candidate, 'host_info')
    if why:
        return why + ' %s was not promoted.' % candidate
    swarm = ((host_info or {}).get('host_info') or {}).get('Swarm') or {}
    live = set(item.get('addr') for item in (live_view or {}).get('reachable_managers') or [])
    remotes = [item.get('Addr') for item in swarm.get('RemoteManagers') or []]
    problems = []
    if swarm.get('LocalNodeState') != 'active':
        problems.append('its swarm state is %s, not active' % (swarm.get('LocalNodeState') or 'unknown'))
    if not remotes:
        problems.append('it knows no manager')
    ghosts = sorted(set(remotes) - live)
    if ghosts:
        problems.append('it still lists managers that do not answer: %s' % ', '.join(ghosts))
    if not problems:
        return ''
    return ('After %ss the worker %s is not ready to be promoted: %s. It was not promoted and the manager count '
            'was not changed; check its engine and its network to the managers (%s), then run recover.yml again.'
            % (timeout, candidate, '; '.join(problems), ', '.join(sorted(live)) or 'none answers'))


def recovery_not_joined(joined_view, node_id, candidate, timeout=0):
    """Why the host that joined as a manager is not a reachable manager yet ('' when it is)."""
    why = _unanswered(joined_view, 'The manager recovery works through', 'reachable_managers')
    if why:
        return why + ' Run recover.yml again once it answers.'
    reachable = (joined_view or {}).get('reachable_managers') or []
    if any(item.get('id') == node_id for item in reachable):
        return ''
    node = next((item for item in (joined_view or {}).get('nodes') or [] if item.get('id') == node_id), None)
    seen = ('the swarm does not list its node %s' % node_id if node is None else
            'its node %s is %s, %s' % (node_id, node.get('role') or 'of no role',
                                       node.get('reachability') or node.get('state') or 'unreachable'))
    return ('After %ss %s joined as a manager but is not a reachable manager: %s. Its old node entry was kept; '
            'check its engine and port 2377 between it and %s, then run recover.yml again.'
            % (timeout, candidate, seen, ', '.join(item.get('hostname') or item.get('id') for item in reachable)
               or 'the leader'))


def recovery_restore_host(hosts, backup_addr):
    """The host of the manager group that answered and advertises the backed-up manager's address."""
    for host in hosts or []:
        if host.get('answered') and host.get('in_manager_group') and backup_addr and host.get('addr') == backup_addr:
            return host['host']
    return ''


class FilterModule(object):
    """recover.yml's decisions."""

    def filters(self):
        return {
            '_recovery_plan': recovery_plan,
            '_recovery_entries_to_drop': recovery_entries_to_drop,
            '_recovery_rejoin': recovery_rejoin,
            '_recovery_left_behind': recovery_left_behind,
            '_recovery_managers': recovery_managers,
            '_recovery_restore_host': recovery_restore_host,
            '_recovery_not_ready': recovery_not_ready,
            '_recovery_worker_not_ready': recovery_worker_not_ready,
            '_recovery_not_joined': recovery_not_joined,
        }
