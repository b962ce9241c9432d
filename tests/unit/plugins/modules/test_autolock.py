# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.swarmops.lifecycle.plugins.module_utils import swarm
from ansible_collections.swarmops.lifecycle.plugins.modules import autolock
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import NO_LEADER, NOT_MANAGER

LOCK = json.dumps({'owner': 'ops@ci:1', 'run': '1-abc', 'since': 1.0, 'status': 'running'})


def autolock_of(engine):
    return (engine.swarm_spec.get('EncryptionConfig') or {}).get('AutoLockManagers')


def test_turning_autolock_on_keeps_the_maintenance_lock_and_every_other_setting(engine, run_module):
    # Issue 12.5: docker_swarm state=present sends a spec built from its own options and drops the labels.
    engine.swarm_spec['Labels'] = {'swarmops.lock.maintenance': LOCK, 'team': 'platform'}
    engine.swarm_spec['CAConfig'] = {'NodeCertExpiry': 7776000000000000}
    before = dict(engine.swarm_spec)
    result = run_module(autolock, dict(enabled=True))
    assert not result.failed, result.msg
    assert result['changed'] is True and result['previous'] is False and result['autolock'] is True
    assert autolock_of(engine) is True
    assert engine.swarm_spec['Labels'] == before['Labels']
    assert engine.swarm_spec['Raft'] == before['Raft'] and engine.swarm_spec['CAConfig'] == before['CAConfig']
    # And off again: the same, and the written spec carried the version it was read at.
    result = run_module(autolock, dict(enabled=False))
    assert result['changed'] is True and result['previous'] is True and autolock_of(engine) is False
    assert engine.swarm_spec['Labels'] == before['Labels']
    assert [call[1] for call in engine.calls_named('update_swarm')] == [10, 11]


def test_the_same_setting_twice_changes_nothing(engine, run_module):
    run_module(autolock, dict(enabled=True))
    result = run_module(autolock, dict(enabled=True))
    assert result['changed'] is False and result['previous'] is True
    assert len(engine.calls_named('update_swarm')) == 1


def test_check_mode_reports_the_change_with_a_diff_and_writes_nothing(engine, run_module):
    result = run_module(autolock, dict(enabled=True), check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['diff'] == {'before': {'autolock': False}, 'after': {'autolock': True}}
    assert not engine.calls_named('update_swarm') and not autolock_of(engine)


def test_a_lock_taken_between_read_and_write_is_kept(engine, run_module):
    # read (autolock), write of the lock by a maintenance run, write (autolock): the autolock write
    # carries a stale version, is refused, reads again and keeps the lock written meanwhile.
    def maintenance_run_writes_first(engine):
        engine.before_update_swarm = None
        spec = dict(engine.swarm_spec, Labels={'swarmops.lock.maintenance': LOCK})
        engine.update_swarm(engine.swarm_version, swarm_spec=spec)

    engine.before_update_swarm = maintenance_run_writes_first
    result = run_module(autolock, dict(enabled=True))
    assert not result.failed, result.msg
    assert autolock_of(engine) is True
    assert engine.swarm_spec['Labels'] == {'swarmops.lock.maintenance': LOCK}


def test_the_unlock_key_and_join_tokens_are_never_returned(engine, run_module):
    result = run_module(autolock, dict(enabled=True))
    assert 'SWMTKN' not in json.dumps(result)
    assert 'UnlockKey' not in json.dumps(result)


def test_an_election_is_waited_for(engine, run_module, fake_clock):
    engine.nodes_error, engine.nodes_errors_left = NO_LEADER, 2
    result = run_module(autolock, dict(enabled=True))
    assert not result.failed, result.msg
    assert autolock_of(engine) is True
    assert 0 < fake_clock.time() - 1000.0 < swarm.LEADER_ELECTION_SECONDS


def test_a_worker_is_refused_with_the_way_out_and_nothing_changes(engine, run_module):
    engine.nodes_error = NOT_MANAGER
    result = run_module(autolock, dict(enabled=True))
    assert result.failed
    assert 'it is not a swarm manager. Run the task on a manager' in result.msg, result.msg
    assert not engine.calls_named('update_swarm')
