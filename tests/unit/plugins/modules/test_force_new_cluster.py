# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.swarmops.lifecycle.plugins.module_utils import swarm
from ansible_collections.swarmops.lifecycle.plugins.modules import force_new_cluster
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import (
    NO_LEADER,
    NOT_MANAGER,
    cluster,
    make_service,
)

UNLOCK_KEY = 'SWMKEY-1-fake-unlock-key-for-unit-tests'


@pytest.fixture
def lost(engine):
    """m1 survives; m2 and m3 are gone; the engine has no leader."""
    engine.nodes_table = cluster(managers=3, unreachable=('m2', 'm3'))
    engine.nodes_error = NO_LEADER
    engine.services_table = [make_service('s-web', 'web', replicas=4), make_service('s-agent', 'agent', mode='global')]
    return engine


def changes(engine):
    return engine.calls_named('init_swarm') + engine.calls_named('unlock_swarm') + engine.calls_named('remove_node')


def test_forces_a_new_cluster_and_reports_what_survived(lost, run_module):
    result = run_module(force_new_cluster, dict(), diff=True)
    assert not result.failed and result['changed'] is True
    init = lost.calls_named('init_swarm')[0][1]
    assert init == dict(advertise_addr='10.0.0.1', force_new_cluster=True)
    assert result['leader'] == dict(id='id-m1', hostname='m1', addr='10.0.0.1:2377')
    assert result['managers_total'] == 1
    assert [item['name'] for item in result['services']] == ['agent', 'web']
    assert result['services'][1]['replicas'] == 4 and result['services'][0]['replicas'] is None
    assert result['secrets'] == [dict(id='sec1', name='db_pass')]
    assert result['configs'] == [dict(id='cfg1', name='app_conf')]
    assert sorted(item['hostname'] for item in result['stale_managers']) == ['m2', 'm3']
    assert result['diff'] == dict(before=dict(managers=['id-m1', 'id-m2', 'id-m3'], leader=None,
                                              stale_manager_entries=['id-m2', 'id-m3']),
                                  after=dict(managers=['id-m1'], leader='id-m1', stale_manager_entries=[]))
    assert result['removed_stale_managers'] == ['id-m2', 'id-m3']


def test_advertise_addr_is_passed(lost, run_module):
    run_module(force_new_cluster, dict(advertise_addr='192.0.2.10'))
    assert lost.calls_named('init_swarm')[0][1]['advertise_addr'] == '192.0.2.10'


def test_again_is_not_a_change(lost, run_module):
    run_module(force_new_cluster, dict())
    for check_mode in (False, True):
        result = run_module(force_new_cluster, dict(), check_mode=check_mode)
        assert result['changed'] is False and not result.failed
        assert [item['name'] for item in result['services']] == ['agent', 'web']
    assert len(lost.calls_named('init_swarm')) == 1


def test_check_mode_predicts_without_changing(lost, run_module):
    result = run_module(force_new_cluster, dict(), check_mode=True, diff=True)
    assert result['changed'] is True and changes(lost) == []
    assert sorted(item['id'] for item in result['stale_managers']) == ['id-m2', 'id-m3']
    assert result['removed_stale_managers'] == ['id-m2', 'id-m3']
    assert result['diff']['after']['stale_manager_entries'] == []
    assert result['managers_total'] == 1


# -- the other managers' entries, right after the force --------------------------------------

@pytest.fixture
def two_survive(engine):
    """Five managers; m1 and m2 survive (m2 answers: its engine still runs the old raft); m3-m5 are gone."""
    engine.nodes_table = cluster(managers=5, unreachable=('m3', 'm4', 'm5'))
    engine.nodes_error = NO_LEADER
    return engine


def after_force_m2_answers(engine):
    """After the force the survivor's dispatcher sees m2's agent again: its stale entry is ready."""
    original = engine.init_swarm

    def init_swarm(**kwargs):
        result = original(**kwargs)
        engine.node('id-m2')['Status']['State'] = 'ready'
        return result
    engine.init_swarm = init_swarm


def test_every_other_managers_entry_is_removed_right_after_the_force(two_survive, run_module):
    # Found on the hosts lab (five managers, three lost): the forced raft tells the other
    # survivor m2 it was removed; m2 drops its raft data, asks the new cluster's CA for a
    # certificate and, its entry still having the manager role, gets a manager's and joins the
    # new raft by itself as a second member. recover.yml then made m2 leave to rejoin it as a
    # worker, and the forced cluster (two members, quorum two) had no leader ever again. Removed
    # at once, m2 cannot get a manager certificate; it leaves and rejoins as a worker.
    after_force_m2_answers(two_survive)
    result = run_module(force_new_cluster, dict(), diff=True)
    assert not result.failed and result['changed'] is True
    assert [call[1:] for call in two_survive.calls_named('remove_node')] == [
        ('id-m2', True), ('id-m3', True), ('id-m4', True), ('id-m5', True)]
    assert sorted(node['ID'] for node in two_survive.nodes_table) == ['id-m1', 'id-w1', 'id-w2']
    assert sorted(item['hostname'] for item in result['stale_managers']) == ['m2', 'm3', 'm4', 'm5']
    assert result['removed_stale_managers'] == ['id-m2', 'id-m3', 'id-m4', 'id-m5']
    assert result['diff']['after']['stale_manager_entries'] == []
    # The removal comes before anything slower (the snapshot) that would widen the window.
    order = [call[0] for call in two_survive.calls if call[0] in ('remove_node', 'update_swarm')]
    assert order[0] == 'remove_node'


def test_a_manager_that_joined_the_new_raft_meanwhile_is_kept(two_survive, run_module):
    # When m2 was quicker (a manager certificate and a raft join before the removal), the
    # engine refuses to remove a raft member; it is a manager of the new cluster now.
    def joined(engine, node_id=None):
        if ('init_swarm' in [call[0] for call in engine.calls]) and not engine.node('id-m2').get('ManagerStatus'):
            engine.node('id-m2')['ManagerStatus'] = {'Leader': False, 'Reachability': 'reachable', 'Addr': '10.0.0.2:2377'}
            engine.node('id-m2')['Status']['State'] = 'ready'
    original = two_survive.remove_node

    def remove_node(node_id, force=False):
        joined(two_survive)
        return original(node_id, force=force)
    two_survive.remove_node = remove_node
    result = run_module(force_new_cluster, dict())
    assert not result.failed, result.msg
    assert 'id-m2' in [node['ID'] for node in two_survive.nodes_table]
    assert result['removed_stale_managers'] == ['id-m3', 'id-m4', 'id-m5']
    assert [item['id'] for item in result['joined_managers']] == ['id-m2']
    assert any('m2' in warning and 'joined the new cluster' in warning for warning in result.warning_texts)


def test_stale_entries_left_by_an_earlier_run_are_removed_on_the_next(two_survive, run_module):
    run_module(force_new_cluster, dict(remove_stale_managers=False))
    assert two_survive.calls_named('remove_node') == []
    result = run_module(force_new_cluster, dict())
    assert result['changed'] is True and len(two_survive.calls_named('init_swarm')) == 1
    assert result['removed_stale_managers'] == ['id-m2', 'id-m3', 'id-m4', 'id-m5']
    again = run_module(force_new_cluster, dict())
    assert again['changed'] is False and again['removed_stale_managers'] == []


def test_remove_stale_managers_false_only_reports_them(two_survive, run_module):
    result = run_module(force_new_cluster, dict(remove_stale_managers=False))
    assert not result.failed and two_survive.calls_named('remove_node') == []
    assert sorted(item['hostname'] for item in result['stale_managers']) == ['m2', 'm3', 'm4', 'm5']
    assert result['removed_stale_managers'] == []


def test_quorum_loss_is_confirmed_over_a_few_seconds(lost, run_module, fake_clock):
    run_module(force_new_cluster, dict())
    assert sum(fake_clock.sleeps[:5]) >= 4


@pytest.mark.parametrize('check_mode', [False, True])
def test_cluster_with_quorum_is_refused(engine, run_module, check_mode):
    result = run_module(force_new_cluster, dict(), check_mode=check_mode)
    assert result.failed
    assert 'the swarm still has quorum (leader m1 (id-m1), 3 of 3 managers reachable, quorum 2)' in result.msg
    assert 'drop the other 2 manager(s)' in result.msg and 'force: true' in result.msg
    assert changes(engine) == []


def test_a_leader_election_is_not_a_lost_quorum(engine, run_module):
    engine.nodes_error, engine.nodes_errors_left = NO_LEADER, 2
    result = run_module(force_new_cluster, dict())
    assert result.failed and 'still has quorum' in result.msg and changes(engine) == []


def test_force_overrides_the_quorum_refusal(engine, run_module):
    result = run_module(force_new_cluster, dict(force=True))
    assert not result.failed and result['changed'] is True
    assert len(engine.calls_named('init_swarm')) == 1


def test_worker_is_refused(engine, run_module):
    engine.local_id, engine.control = 'id-w1', False
    engine.nodes_error = NOT_MANAGER
    result = run_module(force_new_cluster, dict())
    assert result.failed and 'it is not a manager' in result.msg and changes(engine) == []


def test_node_outside_a_swarm_is_refused(engine, run_module):
    engine.local_state = 'inactive'
    result = run_module(force_new_cluster, dict())
    assert result.failed and 'LocalNodeState=inactive' in result.msg and 'no raft state' in result.msg


def test_missing_raft_dir_is_refused(lost, run_module, tmp_path):
    (tmp_path / 'swarm').mkdir()
    lost.docker_root = str(tmp_path)
    result = run_module(force_new_cluster, dict())
    assert result.failed and '/swarm/raft does not exist' in result.msg and changes(lost) == []


def test_autolocked_swarm_is_refused(lost, run_module, tmp_path):
    (tmp_path / 'swarm' / 'raft').mkdir(parents=True)
    (tmp_path / 'swarm' / 'certificates').mkdir()
    (tmp_path / 'swarm' / 'certificates' / 'swarm-node.key').write_text(u'-----BEGIN ENCRYPTED PRIVATE KEY-----\n')
    lost.docker_root = str(tmp_path)
    result = run_module(force_new_cluster, dict(unlock_key=UNLOCK_KEY))
    assert result.failed and 'the swarm is autolocked' in result.msg and 'moby/moby#36852' in result.msg
    assert 'restore quorum (2 of 3)' in result.msg and '--autolock=false' in result.msg
    assert changes(lost) == []


def test_locked_engine_needs_the_key(lost, run_module):
    lost.local_state = 'locked'
    result = run_module(force_new_cluster, dict())
    assert result.failed and 'the engine is locked' in result.msg and 'unlock_key' in result.msg


def test_locked_engine_in_check_mode_is_not_unlocked(lost, run_module):
    lost.local_state = 'locked'
    result = run_module(force_new_cluster, dict(unlock_key=UNLOCK_KEY), check_mode=True)
    assert result['changed'] is True and changes(lost) == []
    assert any('check mode does not unlock it' in warning for warning in result.warning_texts)


def test_locked_engine_without_quorum_cannot_finish_unlocking(lost, run_module):
    lost.local_state = 'locked'
    lost.unlock_behaviour = 'timeout'
    result = run_module(force_new_cluster, dict(unlock_key=UNLOCK_KEY))
    assert result.failed and result['changed'] is True
    assert 'took the unlock key but cannot finish unlocking' in result.msg and 'LocalNodeState=pending' in result.msg
    assert lost.calls_named('init_swarm') == []


def test_locked_single_manager_is_unlocked_and_needs_nothing_else(engine, run_module):
    engine.nodes_table = cluster(managers=1)
    engine.local_state = 'locked'
    result = run_module(force_new_cluster, dict(unlock_key=UNLOCK_KEY), diff=True)
    assert not result.failed and result['changed'] is True  # the unlock
    assert result['diff'] == dict(before=dict(locked=True), after=dict(locked=False))
    assert engine.calls_named('unlock_swarm') == [('unlock_swarm', UNLOCK_KEY)]
    assert engine.calls_named('init_swarm') == []
    assert run_module(force_new_cluster, dict(unlock_key=UNLOCK_KEY))['changed'] is False


def test_locked_manager_with_quorum_is_unlocked_then_refused(engine, run_module):
    engine.local_state = 'locked'
    result = run_module(force_new_cluster, dict(unlock_key=UNLOCK_KEY))
    assert result.failed and result['changed'] is True and 'still has quorum' in result.msg
    assert engine.calls_named('init_swarm') == []


def test_wrong_unlock_key(lost, run_module):
    lost.local_state = 'locked'
    lost.unlock_behaviour = 'invalid'
    result = run_module(force_new_cluster, dict(unlock_key='SWMKEY-1-wrong'))
    assert result.failed and 'refused the unlock key' in result.msg


def test_unlock_key_never_appears_in_the_output(lost, run_module):
    lost.local_state = 'locked'
    lost.unlock_behaviour = 'timeout'
    result = run_module(force_new_cluster, dict(unlock_key=UNLOCK_KEY))
    assert UNLOCK_KEY not in json.dumps(result)


def test_leadership_timeout(lost, run_module):
    lost.init_result = 'ok'

    def init_without_leader(**kwargs):
        lost.calls.append(('init_swarm', kwargs))

    lost.init_swarm = init_without_leader
    result = run_module(force_new_cluster, dict(timeout=20))
    assert result.failed and 'it is not the leader or the API does not answer' in result.msg


def test_a_fresh_snapshot_is_forced_and_the_interval_put_back(lost, run_module):
    result = run_module(force_new_cluster, dict())
    updates = lost.calls_named('update_swarm')
    assert [call[2]['Raft']['SnapshotInterval'] for call in updates] == [1, 10000]
    # Every update sends back the spec it read, with only the interval changed, at the version read.
    assert [call[1] for call in updates] == [10, 11]
    assert all(call[2]['Name'] == 'default' for call in updates)
    assert 'SWMTKN' not in repr(result)


def test_a_leader_that_sees_no_majority_counts_as_lost_quorum(engine, run_module):
    # Seconds after two of three managers stopped, the survivor may still call itself leader
    # while seeing 1 of 3 managers reachable: that is no quorum, and it must not be refused.
    engine.nodes_table = cluster(managers=3, unreachable=('m2', 'm3'))
    engine.services_table = [make_service('s-web', 'web', replicas=4)]
    result = run_module(force_new_cluster, dict())
    assert not result.failed, result.get('msg')
    assert result['changed'] is True
    assert len(engine.calls_named('init_swarm')) == 1


def test_a_node_list_with_no_leader_and_no_majority_counts_as_lost_quorum(engine, run_module, monkeypatch):
    # Seen on the hosts lab: three of five managers stopped, the survivor's engine still served
    # a node list in which no manager was leader and 2 of 5 were reachable. That was refused as
    # "the swarm still has quorum (leader unknown, 2 of 5 managers reachable, quorum 3)".
    monkeypatch.setattr(swarm, 'port_answers', lambda addr, timeout: False)
    engine.nodes_table = cluster(managers=5, unreachable=('m3', 'm4', 'm5'), leader=None)
    engine.services_table = [make_service('s-web', 'web', replicas=4)]
    result = run_module(force_new_cluster, dict())
    assert not result.failed, result.get('msg')
    assert result['changed'] is True and len(engine.calls_named('init_swarm')) == 1


def test_a_node_list_with_no_leader_but_a_majority_is_an_election_and_refused(engine, run_module, fake_clock):
    # Every manager reachable, none marked leader for the whole window: an election that has not
    # ended, in a swarm that has its majority. Refused, never forced.
    engine.nodes_table = cluster(managers=3, leader=None)
    result = run_module(force_new_cluster, dict())
    assert result.failed and 'still has quorum' in result.msg, result.get('msg')
    assert changes(engine) == []


# -- issue 12.1: an ordinary election is never taken for a lost quorum -------------------

def test_an_election_longer_than_five_seconds_is_waited_out(engine, run_module, fake_clock):
    # A healthy three-manager swarm that answers "no leader" for 8 polls (an election after a
    # leader crash lasts 10-20 s in swarmkit) used to get init --force-new-cluster at 5.0 s.
    engine.nodes_error, engine.nodes_errors_left = NO_LEADER, 8
    result = run_module(force_new_cluster, dict())
    assert result.failed and 'still has quorum' in result.msg, result.get('msg')
    assert changes(engine) == []


def test_lost_quorum_is_confirmed_for_the_longest_election(lost, run_module, fake_clock, monkeypatch):
    monkeypatch.setattr(swarm, 'port_answers', lambda addr, timeout: False)
    result = run_module(force_new_cluster, dict())
    assert not result.failed, result.get('msg')
    first_init = [index for index, call in enumerate(lost.calls) if call[0] == 'init_swarm'][0]
    polls = len([call for call in lost.calls[:first_init] if call[0] == 'nodes'])
    assert polls >= swarm.LEADER_ELECTION_SECONDS, polls


def test_refused_while_a_majority_of_the_managers_answer_on_their_swarm_port(lost, run_module, monkeypatch):
    # No leader for the whole window, but m2 still answers on 10.0.0.2:2377: with m1 that is 2
    # of 3, a majority that may still elect a leader (or is cut off from this node): forcing
    # here would split the swarm.
    monkeypatch.setattr(swarm, 'port_answers', lambda addr, timeout: addr == '10.0.0.2:2377')
    result = run_module(force_new_cluster, dict())
    assert result.failed and changes(lost) == []
    assert ('2 of 3 managers answer on their swarm port (this one and id-m2 at 10.0.0.2:2377), a majority that '
            'can still elect a leader') in result.msg, result.msg
    assert 'Nothing was changed' in result.msg and 'force: true' in result.msg


def test_force_true_still_forces_with_a_majority_answering(lost, run_module, monkeypatch):
    monkeypatch.setattr(swarm, 'port_answers', lambda addr, timeout: True)
    result = run_module(force_new_cluster, dict(force=True))
    assert not result.failed and len(lost.calls_named('init_swarm')) == 1


def test_one_election_window_shared_by_every_module():
    from ansible_collections.swarmops.lifecycle.plugins.modules import drain, swarm_lock
    assert not hasattr(drain, 'LEADER_WAIT_SECONDS') and not hasattr(swarm_lock, 'LEADER_WAIT_SECONDS')
    assert not hasattr(force_new_cluster, 'QUORUM_LOSS_CONFIRM_SECONDS')
    # Election tick 10 x 1 s, randomised up to twice that: 20 s, with margin.
    assert swarm.LEADER_ELECTION_SECONDS >= 25


def test_the_snapshot_interval_write_that_loses_a_race_is_read_and_written_again(lost, run_module):
    # Another writer changes the swarm (a label) just before the first interval write: the
    # compare-and-swap fails, and the module reads the swarm again and writes on top of it,
    # keeping the other writer's label (it used to fail on "update out of sequence").
    state = dict(raced=False)

    def another_writer(engine):
        if not state['raced'] and engine.swarm_spec.get('Raft', {}).get('SnapshotInterval', 10000) == 10000:
            state['raced'] = True
            engine.swarm_version += 1
            engine.swarm_spec = dict(engine.swarm_spec, Labels={'team': 'ops'})

    lost.before_update_swarm = another_writer
    result = run_module(force_new_cluster, dict())
    assert not result.failed, result.get('msg')
    updates = lost.calls_named('update_swarm')
    assert [call[2]['Raft']['SnapshotInterval'] for call in updates] == [1, 1, 10000]
    assert lost.swarm_spec['Raft']['SnapshotInterval'] == 10000 and lost.swarm_spec['Labels'] == {'team': 'ops'}
