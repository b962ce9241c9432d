# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.swarmops.lifecycle.plugins.module_utils import swarm
from ansible_collections.swarmops.lifecycle.plugins.modules import quorum_info
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import (
    LOCKED,
    NO_LEADER,
    NOT_MANAGER,
    cluster,
    make_node,
)


def test_healthy_three_managers(engine, run_module):
    result = run_module(quorum_info)
    assert not result.failed and result['changed'] is False
    assert result['source'] == 'cluster' and result['has_quorum'] is True
    assert (result['managers_total'], result['managers_reachable'], result['managers_unreachable']) == (3, 3, 0)
    assert (result['quorum_size'], result['fault_tolerance'], result['fault_tolerance_max']) == (2, 1, 1)
    assert result['manager_count_odd'] is True
    assert result['leader'] == dict(id='id-m1', hostname='m1', addr='10.0.0.1:2377')
    assert [node['hostname'] for node in result['nodes']] == ['m1', 'm2', 'm3', 'w1', 'w2']
    assert result['nodes'][3]['role'] == 'worker' and result['nodes'][3]['availability'] == 'active'
    assert result['down_nodes'] == [] and result['stale_managers'] == []
    assert result['locked'] is False and result['local_node']['is_manager'] is True


@pytest.mark.parametrize('managers, unreachable, quorum, tolerance, has_quorum', [
    (5, 2, 3, 0, True),
    (5, 1, 3, 1, True),
    (4, 1, 3, 0, True),
    (4, 2, 3, 0, False),
    (7, 3, 4, 0, True),
    (2, 0, 2, 0, True),
])
def test_counts_with_unreachable_managers(engine, run_module, managers, unreachable, quorum, tolerance, has_quorum):
    names = tuple('m%d' % index for index in range(managers - unreachable + 1, managers + 1))
    engine.nodes_table = cluster(managers=managers, workers=1, unreachable=names)
    result = run_module(quorum_info)
    assert (result['managers_total'], result['managers_unreachable']) == (managers, unreachable)
    assert (result['quorum_size'], result['fault_tolerance']) == (quorum, tolerance)
    assert result['has_quorum'] is has_quorum
    assert result['manager_count_odd'] is (managers % 2 == 1)
    assert sorted(item['hostname'] for item in result['unreachable_managers']) == sorted(names)
    assert sorted(item['hostname'] for item in result['down_nodes']) == sorted(names)


def test_manager_without_quorum_answers_instead_of_failing(engine, run_module):
    engine.nodes_table = cluster(managers=3, unreachable=('m2', 'm3'))
    engine.nodes_error = NO_LEADER
    result = run_module(quorum_info)
    assert not result.failed
    assert result['has_quorum'] is False and result['source'] == 'local_engine'
    assert 'does not have a leader' in result['engine_error']
    assert (result['managers_total'], result['managers_reachable'], result['managers_unreachable']) == (3, 1, 2)
    assert result['reachable_managers'][0]['id'] == 'id-m1'
    assert sorted(item['id'] for item in result['unreachable_managers']) == ['id-m2', 'id-m3']
    assert (result['quorum_size'], result['fault_tolerance'], result['leader']) == (2, 0, None)
    assert result['nodes'] == []


def test_restarted_manager_without_quorum_is_pending(engine, run_module):
    engine.local_state = 'pending'
    engine.nodes_error = NO_LEADER
    result = run_module(quorum_info)
    assert result['has_quorum'] is False and result['local_node']['state'] == 'pending'
    assert result['managers_reachable'] == 1


def test_worker_cannot_tell(engine, run_module):
    engine.local_id, engine.control = 'id-w1', False
    engine.nodes_error = NOT_MANAGER
    result = run_module(quorum_info)
    assert not result.failed
    assert result['has_quorum'] is None and result['local_node']['is_manager'] is False
    assert result['managers_total'] == 3 and result['managers_reachable'] == 0


def test_locked_engine(engine, run_module):
    engine.local_state = 'locked'
    engine.swarm_extra = {'Error': LOCKED}
    result = run_module(quorum_info)
    assert not result.failed
    assert result['locked'] is True and result['autolock'] is True and result['has_quorum'] is None
    assert 'unlock' in result['engine_error']


def test_node_outside_a_swarm(engine, run_module):
    engine.local_state = 'inactive'
    result = run_module(quorum_info)
    assert not result.failed
    assert result['managers_total'] == 0 and result['quorum_size'] == 0 and result['has_quorum'] is None


def test_stale_managers_after_a_forced_cluster(engine, run_module):
    engine.nodes_table = [make_node('id-m1', 'm1', role='manager', leader=True),
                          make_node('id-m2', 'm2', role='manager', raft=False, state='unknown'),
                          make_node('id-w1', 'w1')]
    result = run_module(quorum_info)
    assert result['managers_total'] == 1 and result['has_quorum'] is True
    assert [item['hostname'] for item in result['stale_managers']] == ['m2']


def test_check_mode_reports_the_same(engine, run_module):
    assert run_module(quorum_info, check_mode=True)['managers_total'] == 3


# -- issue 10: the raft state is read under the engine's own data-root ----------------------

def test_raft_freshness_is_read_under_the_engines_data_root(engine, run_module, tmp_path):
    # The freshness that picks the survivor to force a new cluster on was read from
    # /var/lib/docker/swarm/raft whatever DockerRootDir was: every survivor of a moved
    # data-root counted as equally stale.
    root = tmp_path / 'srv-docker'
    wal = root / 'swarm' / 'raft' / 'wal-v3-encrypted'
    wal.mkdir(parents=True)
    (wal / '0000000000000000-0000000000000000.wal').write_text(u'older')
    newest = wal / '0000000000000001-0000000000000100.wal'
    newest.write_text(u'newer')
    os.utime(str(wal / '0000000000000000-0000000000000000.wal'), (1000.0, 1000.0))
    os.utime(str(newest), (2000.5, 2000.5))
    engine.docker_root = str(root)
    result = run_module(quorum_info)
    assert result['docker_root_dir'] == str(root)
    assert result['raft_newest'] == 2000.5


def test_raft_freshness_is_zero_when_the_data_root_has_no_raft_state(engine, run_module, tmp_path):
    engine.docker_root = str(tmp_path)
    assert run_module(quorum_info)['raft_newest'] == 0
    engine.docker_root = None
    assert run_module(quorum_info)['raft_newest'] == 0 and run_module(quorum_info)['docker_root_dir'] == ''


# -- issue 12.1: one election window, also for the roles that wait for a leader -------------

def test_wait_for_leader_rides_out_an_election(engine, run_module, fake_clock):
    engine.nodes_error, engine.nodes_errors_left = NO_LEADER, 12
    result = run_module(quorum_info, dict(wait_for_leader=True))
    assert result['has_quorum'] is True and result['source'] == 'cluster'
    assert 12 <= fake_clock.time() - 1000.0 < swarm.LEADER_ELECTION_SECONDS


def test_wait_for_leader_reports_a_lost_quorum_after_the_longest_election(engine, run_module, fake_clock):
    engine.nodes_error = NO_LEADER
    result = run_module(quorum_info, dict(wait_for_leader=True))
    assert not result.failed and result['has_quorum'] is False
    assert fake_clock.time() - 1000.0 >= swarm.LEADER_ELECTION_SECONDS


def test_without_wait_for_leader_an_election_is_reported_at_once(engine, run_module, fake_clock):
    engine.nodes_error, engine.nodes_errors_left = NO_LEADER, 12
    assert run_module(quorum_info)['has_quorum'] is False and fake_clock.time() - 1000.0 < 1


def test_wait_for_leader_on_a_worker_does_not_wait(engine, run_module, fake_clock):
    engine.control, engine.nodes_error = False, NOT_MANAGER
    result = run_module(quorum_info, dict(wait_for_leader=True))
    assert result['has_quorum'] is None and fake_clock.time() - 1000.0 < 1
