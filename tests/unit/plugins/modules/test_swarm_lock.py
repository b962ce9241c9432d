# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.swarmops.lifecycle.plugins.module_utils import swarm
from ansible_collections.swarmops.lifecycle.plugins.modules import swarm_lock
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import LOCKED, NO_LEADER, NOT_MANAGER, api_error


@pytest.mark.parametrize('error, hint', [
    (LOCKED, 'the engine is locked (autolock). Unlock it with "docker swarm unlock" first'),
    (NOT_MANAGER, 'it is not a swarm manager. Run the task on a manager'),
    (NO_LEADER, 'the swarm has no leader (quorum lost)'),
])
def test_an_engine_that_cannot_serve_the_lock_is_named_with_the_way_out(engine, run_module, error, hint):
    engine.nodes_error = error
    if error == LOCKED:
        engine.local_state = 'locked'
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert result.failed
    assert result.msg.startswith('Cannot read the maintenance lock swarmops.lock.maintenance from node 10.0.0.1'), result.msg
    assert hint in result.msg, result.msg
    assert result['engine_error'] == error
    assert not engine.calls_named('update_swarm')


def lock_written(engine):
    """The lock label of each update_swarm call, decoded."""
    return [json.loads(call[2]['Labels']['swarmops.lock.maintenance']) for call in engine.calls_named('update_swarm')]


def test_an_election_is_waited_for_before_the_lock_is_read(engine, run_module, fake_clock):
    engine.nodes_error, engine.nodes_errors_left = NO_LEADER, 3
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert not result.failed, result.msg
    assert result['changed'] is True and result['lock']['owner'] == 'ops@ci:1'
    assert [lock['owner'] for lock in lock_written(engine)] == ['ops@ci:1']
    assert len(engine.calls_named('inspect_swarm')) == 4
    assert 0 < fake_clock.time() - 1000.0 < swarm.LEADER_ELECTION_SECONDS


def test_no_leader_for_longer_than_the_wait_fails_without_writing(engine, run_module, fake_clock):
    engine.nodes_error = NO_LEADER
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert result.failed and 'the swarm has no leader (quorum lost)' in result.msg
    assert fake_clock.time() - 1000.0 >= swarm.LEADER_ELECTION_SECONDS
    assert not engine.calls_named('update_swarm')


def test_a_write_refused_for_lack_of_a_leader_is_read_again_and_retried(engine, run_module, monkeypatch):
    real_update = engine.update_swarm
    refusals = [api_error(NO_LEADER, 500)]

    def update_swarm(*args, **kwargs):
        if refusals:
            engine.calls.append(('update_swarm_refused',))
            raise refusals.pop()
        return real_update(*args, **kwargs)

    monkeypatch.setattr(engine, 'update_swarm', update_swarm)
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert not result.failed, result.msg
    assert len(engine.calls_named('update_swarm_refused')) == 1
    assert [lock['owner'] for lock in lock_written(engine)] == ['ops@ci:1']
    assert len(engine.calls_named('inspect_swarm')) == 2
