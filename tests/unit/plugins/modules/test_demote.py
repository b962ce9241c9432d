# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.modules import demote
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import (
    NO_LEADER,
    NOT_MANAGER,
    cluster,
    make_node,
)


def leave_raft(engine, node_id, spec):
    """Engine hook: a demoted node leaves raft at once (for a test that also changes what the local engine is)."""
    if spec.get('Role') != 'worker':
        return
    node = engine.node(node_id)
    was_leader = (node.get('ManagerStatus') or {}).get('Leader')
    node.pop('ManagerStatus', None)
    if was_leader:
        engine.nodes_error, engine.nodes_errors_left = NO_LEADER, 2  # a short election
        for other in engine.nodes_table:
            if other.get('ManagerStatus') and other['ManagerStatus']['Reachability'] == 'reachable':
                other['ManagerStatus']['Leader'] = True
                break


@pytest.fixture
def swarm_engine(engine):
    """The fake's own role manager: a demoted node leaves raft a few polls later, as on a real engine."""
    return engine


def changes(engine):
    return engine.calls_named('update_node') + engine.calls_named('remove_node')


def test_demote_with_allow_even(swarm_engine, run_module):
    result = run_module(demote, dict(node='m3', allow_even=True), diff=True)
    assert not result.failed and result['changed'] is True
    assert swarm_engine.calls_named('update_node')[0][3] == {'Labels': {}, 'Role': 'worker', 'Availability': 'active'}
    assert result['managers_total'] == 2 and result['leader']['hostname'] == 'm1'
    assert result['diff']['before']['role'] == 'manager' and result['diff']['after']['role'] == 'worker'
    assert result['node_after']['role'] == 'worker' and result['removed'] is False


def test_demote_again_is_not_a_change(swarm_engine, run_module):
    run_module(demote, dict(node='m3', allow_even=True))
    for check_mode in (False, True):
        result = run_module(demote, dict(node='m3', allow_even=True), check_mode=check_mode)
        assert result['changed'] is False and not result.failed
    assert len(swarm_engine.calls_named('update_node')) == 1


def test_check_mode_changes_nothing(swarm_engine, run_module):
    result = run_module(demote, dict(node='m3', allow_even=True), check_mode=True)
    assert result['changed'] is True and changes(swarm_engine) == []
    assert result['managers_total'] == 2 and result['node_after']['role'] == 'worker'


def test_last_manager_is_refused(swarm_engine, run_module):
    swarm_engine.nodes_table = cluster(managers=1)
    result = run_module(demote, dict(node='m1', allow_even=True))
    assert result.failed and 'it is the last manager (N=1)' in result.msg and 'Promote another node first' in result.msg
    assert changes(swarm_engine) == []


def test_demote_that_loses_quorum_is_refused(swarm_engine, run_module):
    swarm_engine.nodes_table = cluster(managers=3, unreachable=('m3',))
    result = run_module(demote, dict(node='m2', allow_even=True))
    assert result.failed
    assert 'Refusing to demote reachable manager m2 (id-m2)' in result.msg
    assert 'N=3 managers, R=2 reachable (unreachable: m3)' in result.msg
    assert 'After the demote 1 of 2 managers would be reachable, below the quorum of floor((N-1)/2)+1=2' in result.msg
    assert 'remove: true' in result.msg
    assert changes(swarm_engine) == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_even_count_is_refused(swarm_engine, run_module, check_mode):
    result = run_module(demote, dict(node='m3'), check_mode=check_mode)
    assert result.failed and 'it would leave 2 managers, an even count (quorum 2, fault tolerance 0' in result.msg
    assert 'allow_even: true' in result.msg and changes(swarm_engine) == []


@pytest.mark.parametrize('managers, unreachable, target, allow_even, refusal', [
    (5, (), 'm5', False, 'even count'),
    (5, (), 'm5', True, None),
    (5, ('m4', 'm5'), 'm3', True, 'lose its leader'),
    (5, ('m5',), 'm4', False, 'even count'),  # 5 -> 4 managers
    (5, ('m5',), 'm4', True, None),         # R-1=3 >= floor(4/2)+1=3
    (5, ('m4', 'm5'), 'm5', True, None),    # a ghost: R=3 >= 3
    (5, ('m4', 'm5'), 'm4', True, None),
    (4, (), 'm4', False, None),             # 4 -> 3 odd
    (2, (), 'm2', False, None),             # 2 -> 1
])
def test_demote_table(swarm_engine, run_module, managers, unreachable, target, allow_even, refusal):
    swarm_engine.nodes_table = cluster(managers=managers, unreachable=unreachable)
    result = run_module(demote, dict(node=target, allow_even=allow_even))
    if refusal:
        assert result.failed and refusal in result.msg and changes(swarm_engine) == []
    else:
        assert not result.failed and result['changed'] is True


def test_demoting_the_leader_waits_for_a_new_one(swarm_engine, run_module):
    swarm_engine.local_id = 'id-m2'
    result = run_module(demote, dict(node='m1', allow_even=True))
    assert not result.failed and result['changed'] is True
    assert result['leader']['hostname'] == 'm2'
    assert swarm_engine.nodes_errors_left == 0  # polled through the election


def test_leader_election_timeout_fails(swarm_engine, run_module):
    swarm_engine.local_id = 'id-m2'

    def no_new_leader(engine, node_id, spec):
        engine.node(node_id).pop('ManagerStatus', None)
        engine.nodes_error = NO_LEADER

    swarm_engine.after_update_node = no_new_leader
    swarm_engine.raft_removal_polls = None
    result = run_module(demote, dict(node='m1', allow_even=True, timeout=10))
    assert result.failed and 'no new leader was elected' in result.msg


def test_ghost_is_demoted_and_removed(swarm_engine, run_module):
    swarm_engine.nodes_table = cluster(managers=3, unreachable=('m3',))
    result = run_module(demote, dict(node='m3', remove=True, allow_even=True), diff=True)
    assert not result.failed and result['changed'] is True and result['removed'] is True
    assert swarm_engine.calls_named('update_node')[0][3]['Role'] == 'worker'
    # The ghost is down, so no force is needed.
    assert swarm_engine.calls_named('remove_node') == [('remove_node', 'id-m3', False)]
    assert result['diff']['after']['present'] is False and result['node_after'] is None
    again = run_module(demote, dict(node='m3', remove=True, allow_even=True))
    assert again['changed'] is False and not again.failed


def test_ghost_that_still_looks_ready_is_removed_with_force(swarm_engine, run_module):
    # Right after "swarm leave --force" raft says unreachable while the status is still ready.
    swarm_engine.nodes_table = cluster(managers=3)
    swarm_engine.node('m3')['ManagerStatus']['Reachability'] = 'unreachable'
    result = run_module(demote, dict(node='m3', remove=True, allow_even=True))
    assert not result.failed
    assert swarm_engine.calls_named('remove_node') == [('remove_node', 'id-m3', True)]


def test_ghost_needs_allow_even_like_any_manager(swarm_engine, run_module):
    swarm_engine.nodes_table = cluster(managers=3, unreachable=('m3',))
    result = run_module(demote, dict(node='m3', remove=True))
    assert result.failed and 'even count' in result.msg and changes(swarm_engine) == []


def test_remove_of_a_reachable_manager_is_refused(swarm_engine, run_module):
    swarm_engine.nodes_table = cluster(managers=5)
    result = run_module(demote, dict(node='m5', remove=True, allow_even=True))
    assert result.failed and 'it is reachable, so it is not a ghost' in result.msg
    assert changes(swarm_engine) == []


def test_stale_manager_entry(swarm_engine, run_module):
    swarm_engine.nodes_table = cluster(managers=1) + [make_node('id-old', 'old', role='manager', raft=False, state='unknown')]
    refused = run_module(demote, dict(node='old'))
    assert refused.failed and 'not a raft member' in refused.msg and 'remove: true' in refused.msg
    result = run_module(demote, dict(node='old', remove=True))
    assert not result.failed and result['changed'] is True
    assert swarm_engine.calls_named('update_node') == []
    assert swarm_engine.calls_named('remove_node') == [('remove_node', 'id-old', True)]


@pytest.mark.parametrize('remove', [False, True])
def test_a_ready_manager_entry_outside_raft_is_refused_before_any_change(swarm_engine, run_module, remove):
    # A promotion in flight, or an old manager's entry after a forced cluster whose engine still
    # runs: swarmkit refuses to demote a node that is not in the raft member list ("can't find
    # manager in raft memberlist"), and a live engine's entry is not removed from under it.
    swarm_engine.nodes_table = cluster(managers=3) + [make_node('id-new', 'new', role='manager', raft=False)]
    result = run_module(demote, dict(node='new', remove=remove, allow_even=True))
    assert result.failed and changes(swarm_engine) == []
    assert 'new (id-new)' in result.msg and 'not a raft member' in result.msg and 'ready' in result.msg
    assert 'Nothing was changed' in result.msg


def test_the_fake_engine_refuses_what_swarmkit_refuses(swarm_engine):
    # The demote refusals above are the module's own; the fake refuses as the engine would if asked.
    swarm_engine.nodes_table = cluster(managers=3, unreachable=('m3',)) + [
        make_node('id-new', 'new', role='manager', raft=False)]
    for node_id, text in (('id-new', "can't find manager in raft memberlist"),
                          ('id-m2', 'would result in a loss of quorum')):
        node = swarm_engine.node(node_id)
        with pytest.raises(Exception) as refused:
            swarm_engine.update_node(node_id, node['Version']['Index'], dict(node['Spec'], Role='worker'))
        assert text in str(refused.value)
    swarm_engine.nodes_table = cluster(managers=1)
    node = swarm_engine.node('id-m1')
    with pytest.raises(Exception) as refused:
        swarm_engine.update_node('id-m1', node['Version']['Index'], dict(node['Spec'], Role='worker'))
    assert 'the last manager' in str(refused.value)


def test_worker_is_no_change(swarm_engine, run_module):
    result = run_module(demote, dict(node='w1'))
    assert result['changed'] is False and changes(swarm_engine) == []


def test_ready_worker_is_not_removed(swarm_engine, run_module):
    result = run_module(demote, dict(node='w1', remove=True))
    assert result.failed and 'whose status is ready' in result.msg and 'docker swarm leave' in result.msg


def test_down_worker_is_removed(swarm_engine, run_module):
    swarm_engine.nodes_table = cluster(unreachable=('w2',))
    result = run_module(demote, dict(node='w2', remove=True))
    assert result['changed'] is True and swarm_engine.calls_named('remove_node') == [('remove_node', 'id-w2', False)]


def test_absent_node(swarm_engine, run_module):
    assert run_module(demote, dict(node='gone', remove=True))['changed'] is False
    result = run_module(demote, dict(node='gone'))
    assert result.failed and 'Node gone is not in the swarm' in result.msg


def test_demoting_the_local_node_warns(swarm_engine, run_module):
    swarm_engine.local_id = 'id-m3'

    def local_becomes_worker(engine, node_id, spec):
        leave_raft(engine, node_id, spec)
        engine.control = False
        engine.nodes_error = NOT_MANAGER

    swarm_engine.after_update_node = local_becomes_worker
    swarm_engine.raft_removal_polls = None
    result = run_module(demote, dict(node='m3', allow_even=True))
    assert not result.failed and result['changed'] is True
    assert result['leader'] is None and result['managers_total'] == 2
    assert any('demoted from its own engine' in warning for warning in result.warning_texts)


def test_no_quorum_is_refused_with_the_way_out(swarm_engine, run_module):
    swarm_engine.nodes_error = NO_LEADER
    result = run_module(demote, dict(node='m3', allow_even=True))
    assert result.failed and 'quorum lost' in result.msg and 'force_new_cluster' in result.msg


def test_remove_waits_for_an_unknown_status_to_settle(swarm_engine, run_module):
    swarm_engine.node('w1')['Status']['State'] = 'unknown'
    polls = {'left': 3}

    def report_ready(engine):
        polls['left'] -= 1
        if polls['left'] <= 0:
            engine.node('w1')['Status']['State'] = 'ready'

    swarm_engine.on_poll = report_ready
    result = run_module(demote, dict(node='w1', remove=True))
    assert result.failed and 'whose status is ready' in result.msg and changes(swarm_engine) == []


def test_stale_manager_that_stays_unknown_is_removed(swarm_engine, run_module, fake_clock):
    swarm_engine.nodes_table = cluster(managers=1) + [make_node('id-old', 'old', role='manager', raft=False, state='unknown')]
    result = run_module(demote, dict(node='old', remove=True))
    assert not result.failed and swarm_engine.calls_named('remove_node') == [('remove_node', 'id-old', True)]
    assert 55 <= sum(fake_clock.sleeps) <= 65  # the settle window, then on
