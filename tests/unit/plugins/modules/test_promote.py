# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.modules import promote
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import NOT_MANAGER, cluster


def join_raft_after(polls):
    """Engine hook: a promoted node becomes a reachable raft member after some polls."""
    state = {'left': None, 'node': None}

    def after_update(engine, node_id, spec):
        if spec.get('Role') == 'manager':
            state['left'], state['node'] = polls, node_id

    def on_poll(engine):
        if state['left'] is None:
            return
        state['left'] -= 1
        if state['left'] <= 0:
            engine.node(state['node'])['ManagerStatus'] = {'Leader': False, 'Reachability': 'reachable',
                                                           'Addr': '10.0.1.1:2377'}
            state['left'] = None

    return after_update, on_poll


@pytest.fixture
def joining(engine):
    engine.after_update_node, engine.on_poll = join_raft_after(3)
    return engine


def test_promote_waits_until_reachable(joining, run_module):
    result = run_module(promote, dict(node='w1'), diff=True)
    assert not result.failed and result['changed'] is True
    assert joining.calls_named('update_node')[0][3] == {'Labels': {}, 'Role': 'manager', 'Availability': 'active'}
    assert result['node_after']['reachability'] == 'reachable' and result['managers_total'] == 4
    assert result['diff'] == dict(before=dict(node='w1 (id-w1)', role='worker'), after=dict(node='w1 (id-w1)', role='manager'))
    assert any('leaves 4 managers, an even count' in warning for warning in result.warning_texts)


def test_promote_again_is_not_a_change(joining, run_module):
    run_module(promote, dict(node='w1'))
    for check_mode in (False, True):
        result = run_module(promote, dict(node='w1'), check_mode=check_mode)
        assert result['changed'] is False and not result.failed
    assert len(joining.calls_named('update_node')) == 1


def test_check_mode_changes_nothing(joining, run_module):
    result = run_module(promote, dict(node='w1'), check_mode=True)
    assert result['changed'] is True and joining.calls_named('update_node') == []
    assert result['node_after']['role'] == 'manager'


def test_manager_already_is_no_change(engine, run_module):
    result = run_module(promote, dict(node='m2'))
    assert result['changed'] is False and engine.calls_named('update_node') == []


def test_unknown_node_is_refused(engine, run_module):
    result = run_module(promote, dict(node='w9'))
    assert result.failed and 'Node w9 is not in the swarm' in result.msg


def test_down_node_is_refused(engine, run_module):
    engine.nodes_table = cluster(unreachable=('w2',))
    result = run_module(promote, dict(node='w2'))
    assert result.failed and 'Refusing to promote node w2 (id-w2): its status is down' in result.msg
    assert 'N would be 4 and the quorum 3' in result.msg
    assert engine.calls_named('update_node') == []


def test_timeout_while_waiting(engine, run_module):
    result = run_module(promote, dict(node='w1', timeout=15))
    assert result.failed and 'was not Reachable after' in result.msg and 'port 2377' in result.msg


def test_no_wait(engine, run_module):
    result = run_module(promote, dict(node='w1', wait=False))
    assert result['changed'] is True and not result.failed


def test_run_on_a_worker_is_refused(engine, run_module):
    engine.nodes_error = NOT_MANAGER
    result = run_module(promote, dict(node='w1'))
    assert result.failed and 'delegate_to' in result.msg


def settle_after(polls, name, state):
    """Engine hook: a node in status "unknown" (after a leader change) reports ``state`` after some polls."""
    left = {'polls': polls}

    def on_poll(engine):
        left['polls'] -= 1
        if left['polls'] <= 0:
            engine.node(name)['Status']['State'] = state

    return on_poll


def test_unknown_status_after_a_leader_change_is_waited_for(engine, run_module):
    engine.node('w1')['Status']['State'] = 'unknown'
    engine.on_poll = settle_after(3, 'w1', 'ready')
    result = run_module(promote, dict(node='w1', wait=False))
    assert not result.failed and result['changed'] is True
    assert result['node_before']['state'] == 'ready'


def test_unknown_status_that_turns_down_is_refused(engine, run_module):
    engine.node('w1')['Status']['State'] = 'unknown'
    engine.on_poll = settle_after(2, 'w1', 'down')
    result = run_module(promote, dict(node='w1'))
    assert result.failed and 'its status is down' in result.msg and engine.calls_named('update_node') == []


# -- issue 12.3: a promotion must not make quorum depend on the newcomer --------------------

def test_promote_is_refused_while_a_manager_is_unreachable(engine, run_module):
    # Three managers with m3 down: promoting makes four, which need three reachable, so quorum
    # would then hang on w1 joining raft.
    engine.nodes_table = cluster(managers=3, unreachable=('m3',))
    result = run_module(promote, dict(node='w1'))
    assert result.failed and engine.calls_named('update_node') == []
    assert result.msg.startswith(
        'Refusing to promote w1 (id-w1): the swarm has N=3 managers, R=2 reachable (unreachable: m3). With w1, N=4 '
        'needs 3 reachable managers, so quorum would depend on w1 joining raft. Nothing was changed.'), result.msg
    assert 'demote with remove: true' in result.msg and 'recover.yml' in result.msg


def test_promote_with_a_ghost_among_five_keeps_quorum_and_is_allowed(joining, run_module):
    joining.nodes_table = cluster(managers=5, unreachable=('m5',))
    result = run_module(promote, dict(node='w1'))
    assert not result.failed, result.get('msg')
