# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""recover.yml's decisions (plugins/filter/_recovery.py): tables of diagnoses -> plans."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.filter import _recovery as recovery


def host(name, state='active', node_id=None, manager=False, quorum=None, leader='L1', reachable=0, raft=0.0,
         group_manager=None, addr='', view=None, answered=True):
    """One host of the diagnosis, as plan.yml builds it."""
    return dict(host=name, answered=answered, state=state if answered else 'unreachable',
                node_id=('' if not answered else (node_id if node_id is not None else 'id-' + name)),
                is_manager=manager, has_quorum=quorum, leader_id=leader if quorum else '',
                managers_reachable=reachable, raft_newest=raft,
                in_manager_group=name.startswith('m') if group_manager is None else group_manager,
                addr=addr, view=view or {})


def node(name, role='worker', state='ready', manager=False, leader=False, node_id=None, availability='active',
         reachability=None):
    return dict(id=node_id or 'id-' + name, hostname=name, role=role, state=state, manager=manager, leader=leader,
                availability=availability, reachability=reachability or ('reachable' if manager else None))


def view_of(nodes, unreachable=(), stale=()):
    managers = [item for item in nodes if item['manager']]
    return dict(nodes=nodes, managers_total=len(managers), managers_unreachable=len(unreachable),
                unreachable_managers=list(unreachable), stale_managers=list(stale),
                leader=next((dict(id=item['id'], hostname=item['hostname'], addr='10.0.0.1:2377')
                             for item in nodes if item['leader']), None))


def healthy_swarm(managers=3, workers=2):
    nodes = [node('m%d' % i, 'manager', manager=True, leader=(i == 1)) for i in range(1, managers + 1)]
    nodes += [node('w%d' % i) for i in range(1, workers + 1)]
    view = view_of(nodes)
    hosts = [host('m%d' % i, manager=True, quorum=True, leader='id-m1', reachable=managers, view=view)
             for i in range(1, managers + 1)]
    hosts += [host('w%d' % i) for i in range(1, workers + 1)]
    return hosts, view


# ---------------------------------------------------------------------------------------
# The case
# ---------------------------------------------------------------------------------------

def test_healthy_three_managers_is_healthy():
    hosts, dummy = healthy_swarm()
    plan = recovery.recovery_plan(hosts, manager_group_size=3)
    assert (plan['case'], plan['via'], plan['refusal'], plan['target'], plan['target_explicit']) == (
        'healthy', 'm1', '', 3, False)


def test_healthy_five_managers_stays_healthy_whatever_the_target():
    # The defect: healthy meant "managers == disaster_recovery_manager_count (3)", so a healthy
    # five-manager swarm was "quorum kept" and two managers were demoted.
    hosts, dummy = healthy_swarm(managers=5)
    for target in (None, 3):
        plan = recovery.recovery_plan(hosts, target=target, manager_group_size=5)
        assert plan['case'] == 'healthy', target


def test_target_defaults_to_the_manager_group_and_an_even_group_to_the_odd_count_below():
    assert recovery.target_managers(None, 5) == (5, False)
    assert recovery.target_managers('', 4) == (3, False)
    assert recovery.target_managers(3, 5) == (3, True)


def test_a_ghost_makes_quorum_kept():
    hosts, dummy = healthy_swarm(managers=5)
    nodes = [node('m%d' % i, 'manager', manager=True, leader=(i == 2), state='down' if i == 1 else 'ready')
             for i in range(1, 6)] + [node('w1'), node('w2')]
    view = view_of(nodes, unreachable=[dict(id='id-m1', hostname='m1')])
    hosts = [host('m1', answered=False)] + [
        host('m%d' % i, manager=True, quorum=True, leader='id-m2', reachable=4, view=view) for i in range(2, 6)] + [
        host('w1'), host('w2')]
    plan = recovery.recovery_plan(hosts, manager_group_size=5)
    assert (plan['case'], plan['via'], plan['target']) == ('quorum_kept', 'm2', 5)


def test_a_host_out_of_the_swarm_makes_quorum_kept():
    hosts, dummy = healthy_swarm()
    hosts[-1] = host('w2', state='inactive', node_id='')
    assert recovery.recovery_plan(hosts, manager_group_size=3)['case'] == 'quorum_kept'


def test_quorum_lost_forces_on_the_freshest_survivor_not_the_first_in_inventory_order():
    hosts = [host('m1', answered=False),
             host('m2', manager=True, quorum=False, raft=100.0),
             host('m3', manager=True, quorum=False, raft=250.5),
             host('m4', answered=False), host('m5', answered=False), host('w1'), host('w2')]
    plan = recovery.recovery_plan(hosts, manager_group_size=5)
    assert (plan['case'], plan['survivor'], plan['via']) == ('quorum_lost', 'm3', '')


def test_every_manager_lost():
    hosts = [host('m1', state='inactive', node_id=''), host('m2', answered=False), host('m3', answered=False),
             host('w1'), host('w2')]
    assert recovery.recovery_plan(hosts, manager_group_size=3)['case'] == 'all_managers_lost'


def test_no_swarm():
    hosts = [host(name, state='inactive', node_id='') for name in ('m1', 'm2', 'm3', 'w1')]
    plan = recovery.recovery_plan(hosts, manager_group_size=3)
    assert plan['case'] == 'no_swarm'


# ---------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------

def split(old_reachable, new_reachable):
    old = [host('m%d' % i, manager=True, quorum=True, leader='id-old', reachable=old_reachable) for i in (1, 2, 3)]
    new = [host('m4', manager=True, quorum=True, leader='id-new', reachable=new_reachable),
           host('m5', manager=True, quorum=True, leader='id-new', reachable=new_reachable)]
    return old + new + [host('w1')]


def test_a_split_keeps_the_side_with_more_reachable_managers():
    plan = recovery.recovery_plan(split(2, 3), manager_group_size=5)
    assert (plan['split'], plan['case'], plan['via'], plan['refusal']) == (True, 'quorum_kept', 'm4', '')


def test_a_split_tie_needs_the_operator_and_changes_nothing():
    plan = recovery.recovery_plan(split(3, 3), manager_group_size=5)
    assert plan['refusal'].startswith('Two swarms answer with quorum (leaders id-old, id-new), each with 3 reachable')
    assert 'Nothing was changed' in plan['refusal'] and 'disaster_recovery_authoritative_host' in plan['refusal']


def test_the_authoritative_host_decides_a_split():
    plan = recovery.recovery_plan(split(3, 3), manager_group_size=5, authoritative_host='m5')
    assert (plan['refusal'], plan['via']) == ('', 'm5')
    plan = recovery.recovery_plan(split(2, 3), manager_group_size=5, authoritative_host='m1')
    assert plan['via'] == 'm1'


def test_an_authoritative_host_must_be_a_manager_with_quorum():
    hosts, dummy = healthy_swarm()
    plan = recovery.recovery_plan(hosts, manager_group_size=3, authoritative_host='w1', manager_group='swarm_managers')
    assert plan['refusal'] == ('disaster_recovery_authoritative_host=w1 is not a manager of a swarm that has quorum now '
                               '(it answered as not a manager, engine state active). Nothing was changed. Name a host '
                               'whose swarm must be kept: one of m1, m2, m3, or leave the variable out.')
    plan = recovery.recovery_plan(hosts, manager_group_size=3, authoritative_host='nowhere', manager_group='swarm_managers')
    assert '(it is not a host of swarm_managers or of the workers of this inventory)' in plan['refusal']


def test_an_authoritative_host_of_the_worker_group_that_now_leads_is_accepted():
    # Found on the hosts lab: the forced cluster's leader was a worker of the inventory promoted
    # by an earlier recovery; naming it was refused as "not a host of the manager group".
    hosts = split(3, 3)
    hosts[-1] = host('w1', manager=True, quorum=True, leader='id-new', reachable=3, group_manager=False)
    plan = recovery.recovery_plan(hosts, manager_group_size=5, authoritative_host='w1')
    assert (plan['refusal'], plan['via']) == ('', 'w1')


@pytest.mark.parametrize('target, why', [
    (4, 'disaster_recovery_manager_count=4 is even: it must be odd'),
    (7, 'disaster_recovery_manager_count=7 is more than the 5 hosts of the inventory can provide'),
    (-1, 'disaster_recovery_manager_count=-1 is less than 1: a swarm needs a manager'),
])
def test_impossible_targets_are_refused_in_every_case(target, why):
    hosts, dummy = healthy_swarm()
    plan = recovery.recovery_plan(hosts, target=target, manager_group_size=3)
    assert plan['refusal'].startswith(why) and 'Nothing was changed' in plan['refusal']
    lost = [host('m1', manager=True, quorum=False, raft=1.0)] + [host(name, answered=False) for name in ('m2', 'm3')] + [
        host('w1'), host('w2')]
    assert recovery.recovery_plan(lost, target=target, manager_group_size=3)['refusal'].startswith(why)


# ---------------------------------------------------------------------------------------
# Who rejoins, what is dropped
# ---------------------------------------------------------------------------------------

def test_rejoin_takes_hosts_out_of_the_swarm_unknown_old_raft_and_the_other_side():
    now = view_of([node('m1', 'manager', manager=True, leader=True), node('w1'), node('w3')])
    hosts = [host('m1', manager=True, quorum=True, leader='id-m1'),
             host('m2', state='inactive', node_id=''),                  # left
             host('m3', state='error'),                                  # failed join
             host('m4', manager=True, quorum=False),                      # survivor of the old raft
             host('m5', manager=True, quorum=True, leader='id-old'),    # the other side of a split
             host('w1'),                                                  # known member: waited for
             host('w2'),                                                  # unknown to this swarm
             host('w3', state='locked'),                                  # needs its key, never made to leave
             host('w4', answered=False)]
    assert recovery.recovery_rejoin(hosts, 'm1', now) == ['m2', 'm3', 'm4', 'm5', 'w2']


def test_an_old_manager_that_joined_the_kept_raft_is_never_made_to_leave():
    # Found on the hosts lab (five managers, three lost): the other survivor m2, turned away by the
    # forced raft, got a manager certificate and joined the new raft by itself before recover.yml
    # made it leave to rejoin as a worker; the forced cluster, two members with a quorum of two,
    # never had a leader again. A reachable raft member of the kept swarm is a manager of it.
    now = view_of([node('m1', 'manager', manager=True, leader=True), node('m2', 'manager', manager=True)])
    hosts = [host('m1', manager=True, quorum=True, leader='id-m1'), host('m2', manager=True, quorum=False)]
    assert recovery.recovery_rejoin(hosts, 'm1', now) == []
    # Not reachable (yet) in the kept raft: still an old manager to rejoin.
    now = view_of([node('m1', 'manager', manager=True, leader=True),
                   node('m2', 'manager', manager=True, reachability='unreachable')])
    assert recovery.recovery_rejoin(hosts, 'm1', now) == ['m2']


def test_after_a_split_a_worker_the_kept_side_does_not_see_ready_rejoins():
    # Found on the hosts lab: a worker keeps its node ID in both swarms of a split; attached to
    # the side that is not kept, it shows "down" there forever, and recovery waited for it.
    now = view_of([node('m1', 'manager', manager=True, leader=True), node('w1', state='down'), node('w2')])
    hosts = [host('m1', manager=True, quorum=True, leader='id-m1'), host('w1'), host('w2')]
    assert recovery.recovery_rejoin(hosts, 'm1', now) == []
    assert recovery.recovery_rejoin(hosts, 'm1', now, split=True) == ['w1']


def test_a_surviving_managers_stale_entry_is_left_for_its_rejoin():
    # Found on five managers: after a forced cluster the other survivor's stale entry turned
    # ready again before it was removed, and the removal stopped the run.
    now = view_of([node('m2', 'manager', manager=True, leader=True), node('m3', 'manager', state='down')],
                  unreachable=[dict(id='id-m1', hostname='m1')],
                  stale=[dict(id='id-m3', hostname='m3'), dict(id='id-m4', hostname='m4')])
    hosts = [host('m1', answered=False), host('m2', manager=True, quorum=True, leader='id-m2'),
             host('m3', manager=True, quorum=False), host('m4', answered=False)]
    assert [entry['id'] for entry in recovery.recovery_entries_to_drop(hosts, now)] == ['id-m1', 'id-m4']


def test_left_behind_entries_are_the_old_ids_of_hosts_that_rejoined():
    now = view_of([node('m1', 'manager', manager=True, leader=True),
                   node('w1', state='down', node_id='old-w1'), node('w1', node_id='new-w1'),
                   node('m3', 'manager', state='down', node_id='old-m3'),
                   node('w2', state='down', node_id='id-w2')])
    hosts = [host('m1', manager=True, quorum=True, leader='id-m1'), host('w1', node_id='old-w1'),
             host('m3', manager=True, quorum=False, node_id='old-m3'), host('w2', node_id='id-w2')]
    left = recovery.recovery_left_behind(hosts, ['w1', 'm3'], dict(m1='id-m1', w1='new-w1', m3='new-m3'), now)
    assert [entry['id'] for entry in left] == ['old-w1', 'old-m3']


def test_the_restore_host_is_found_by_its_derived_address():
    hosts = [host('m1', state='inactive', addr='10.0.0.11'), host('m2', state='inactive', addr='10.0.0.12'),
             host('w1', addr='10.0.0.21'), host('m3', answered=False, addr='')]
    assert recovery.recovery_restore_host(hosts, '10.0.0.12') == 'm2'
    assert recovery.recovery_restore_host(hosts, '10.0.0.21') == ''     # a worker is never the restore host
    assert recovery.recovery_restore_host(hosts, '10.0.0.99') == ''


# ---------------------------------------------------------------------------------------
# Promote and demote
# ---------------------------------------------------------------------------------------

def managers_case(manager_names, worker_names, leader='m1'):
    nodes = [node(name, 'manager', manager=True, leader=(name == leader)) for name in manager_names]
    nodes += [node(name) for name in worker_names]
    hosts = [host(name, manager=name in manager_names) for name in manager_names + worker_names]
    ids = dict((item['host'], 'id-' + item['host']) for item in hosts)
    return hosts, ids, view_of(nodes)


def test_promote_hosts_of_the_manager_group_first_then_workers_from_the_last():
    hosts, ids, now = managers_case(['m1', 'm2'], ['m3', 'w1', 'w2', 'w3'])
    result = recovery.recovery_managers(hosts, ids, now, 5)
    assert (result['promote'], result['demote'], result['short']) == (['m3', 'w3', 'w2'], [], '')


def test_short_of_workers_grows_to_the_largest_odd_count_and_says_so():
    hosts, ids, now = managers_case(['m1'], ['w1', 'w2', 'w3'])
    result = recovery.recovery_managers(hosts, ids, now, 7)
    assert result['promote'] == ['w3', 'w2']
    assert result['short'].startswith('The swarm has 1 managers and needs 7, but only 3 healthy workers')
    assert 'so it grows to 3' in result['short']


def test_not_ready_or_unknown_workers_are_not_promoted():
    hosts, ids, now = managers_case(['m1'], ['w1', 'w2'])
    now['nodes'][1]['state'] = 'down'
    ids['w2'] = 'id-somebody-else'
    result = recovery.recovery_managers(hosts, ids, now, 3)
    assert result['promote'] == [] and 'so it grows to 1' in result['short']


def test_more_managers_than_asked_only_loses_one_for_parity_unless_the_operator_sets_the_target():
    hosts, ids, now = managers_case(['m1', 'm2', 'm3', 'm4', 'm5', 'w1'], ['w2'])
    result = recovery.recovery_managers(hosts, ids, now, 3)
    assert (result['want'], result['demote']) == (5, ['id-w1'])          # 6 -> 5, fault tolerance kept at 2
    result = recovery.recovery_managers(hosts, ids, now, 3, target_explicit=True)
    assert (result['want'], result['demote']) == (3, ['id-w1', 'id-m5', 'id-m4'])


def test_the_leader_is_never_demoted():
    hosts, ids, now = managers_case(['m1', 'm2', 'm3'], ['w1'], leader='m3')
    result = recovery.recovery_managers(hosts, ids, now, 1, target_explicit=True)
    assert result['demote'] == ['id-m2', 'id-m1']


# --- the waits of recover.yml end naming what is still missing (issue 11.7) ---

def test_recovery_names_the_hosts_not_back_and_ready():
    now = view_of([node('m1', role='manager', manager=True, leader=True), node('w1', state='down'), node('w2')])
    ids = {'m1': 'id-m1', 'w1': 'id-w1', 'w2': 'id-w2', 'w3': 'id-w3'}
    text = recovery.recovery_not_ready(ids, now, 300)
    assert 'w1 (node id-w1 is down)' in text
    assert 'w3 (node id-w3 is not listed by the swarm)' in text
    assert 'm1' not in text and 'w2 (' not in text
    assert 'After 300s' in text and 'recover.yml again' in text and 'not changed' in text
    assert recovery.recovery_not_ready({'m1': 'id-m1', 'w2': 'id-w2'}, now) == ''


def test_recovery_names_the_manager_that_did_not_answer_while_waiting():
    text = recovery.recovery_not_ready({'w1': 'id-w1'}, dict(failed=False, msg='Error connecting: timed out'))
    assert 'did not answer: Error connecting: timed out' in text
    text = recovery.recovery_not_joined(dict(unreachable=True, msg='ssh: connect refused'), 'id-x', 'w3')
    assert 'did not answer: ssh: connect refused' in text


def test_recovery_names_why_a_worker_is_not_ready_to_be_promoted():
    live = dict(reachable_managers=[dict(id='id-m1', hostname='m1', addr='10.0.0.1:2377')])

    def info(state='active', remotes=('10.0.0.1:2377',)):
        return dict(host_info=dict(Swarm=dict(LocalNodeState=state, NodeID='id-w1',
                                              RemoteManagers=[dict(Addr=addr) for addr in remotes])))

    assert recovery.recovery_worker_not_ready(info(), live, 'w1') == ''
    text = recovery.recovery_worker_not_ready(info(remotes=('10.0.0.1:2377', '10.0.0.9:2377')), live, 'w1', 120)
    assert 'w1' in text and 'do not answer: 10.0.0.9:2377' in text and 'After 120s' in text
    assert 'was not promoted' in text
    text = recovery.recovery_worker_not_ready(info(state='pending', remotes=()), live, 'w1')
    assert 'pending, not active' in text and 'knows no manager' in text
    text = recovery.recovery_worker_not_ready(dict(failed=False, msg='Cannot connect to the Docker daemon'), live, 'w1')
    assert 'The engine of w1 did not answer: Cannot connect to the Docker daemon' in text


def test_recovery_names_a_joined_manager_that_is_not_reachable():
    m1 = dict(id='id-m1', hostname='m1', addr='10.0.0.1:2377')
    joined = dict(reachable_managers=[m1], nodes=[node('m1', role='manager', manager=True, leader=True),
                                                  node('w3', role='manager', manager=True, reachability='unreachable',
                                                       node_id='id-new')])
    text = recovery.recovery_not_joined(joined, 'id-new', 'w3', 60)
    assert 'w3' in text and 'id-new is manager, unreachable' in text and 'm1' in text and 'After 60s' in text
    assert 'not listed' not in text
    assert 'does not list its node id-gone' in recovery.recovery_not_joined(joined, 'id-gone', 'w3')
    joined['reachable_managers'].append(dict(id='id-new', hostname='w3', addr='10.0.0.3:2377'))
    assert recovery.recovery_not_joined(joined, 'id-new', 'w3') == ''
