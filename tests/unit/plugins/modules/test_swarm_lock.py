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


# -- issue 14.1: the compare-and-swap, against a fake engine that keeps labels and versions -

LABEL = 'swarmops.lock.maintenance'


def current_lock(engine):
    raw = (engine.swarm_spec.get('Labels') or {}).get(LABEL)
    return json.loads(raw) if raw else None


def write_lock_as_another_run(engine, owner='other@ci:2', status='running', since=None):
    """What a second run's write does: its own lock, at the version it read."""
    spec = dict(engine.swarm_spec, Labels=dict(engine.swarm_spec.get('Labels') or {}))
    spec['Labels'][LABEL] = json.dumps(dict(owner=owner, run='r-other', since=since or 1.0, status=status))
    engine.before_update_swarm = None
    engine.update_swarm(engine.swarm_version, swarm_spec=spec)


def test_a_written_lock_is_read_back(engine, run_module):
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert not result.failed and result['changed'] is True
    assert current_lock(engine)['owner'] == 'ops@ci:1' and current_lock(engine)['status'] == 'running'
    assert run_module(swarm_lock, dict(owner='ops@ci:1'))['changed'] is False


def test_two_runs_that_read_before_either_writes_only_one_wins(engine, run_module):
    # read (A), read (B), write (B), write (A): A's write carries the version it read and is
    # refused as out of sequence; A reads again, finds B's lock and is refused. Exactly one wins.
    engine.before_update_swarm = write_lock_as_another_run
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert result.failed and 'other@ci:2 holds it' in result.msg, result.msg
    assert current_lock(engine)['owner'] == 'other@ci:2'
    writes = engine.calls_named('update_swarm')
    assert len(writes) == 2 and writes[0][1] == 10 and writes[1][1] == 10  # A's attempt and B's, same version


def test_a_lock_held_by_another_run_is_refused_and_left_alone(engine, run_module):
    write_lock_as_another_run(engine, since=9e9)
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert result.failed and 'Another run is in progress; nothing was changed' in result.msg
    assert current_lock(engine)['owner'] == 'other@ci:2' and len(engine.calls_named('update_swarm')) == 1


def test_a_failed_runs_lock_is_resumed_with_its_run(engine, run_module):
    write_lock_as_another_run(engine, status='failed')
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert not result.failed and result['resumed'] is True
    assert (current_lock(engine)['owner'], current_lock(engine)['run'], current_lock(engine)['status']) == (
        'ops@ci:1', 'r-other', 'running')


@pytest.mark.parametrize('break_stale, broken', [(True, True), (False, False)])
def test_a_stale_lock_is_broken_only_when_asked(engine, run_module, break_stale, broken):
    write_lock_as_another_run(engine, since=1.0)  # decades old
    result = run_module(swarm_lock, dict(owner='ops@ci:1', ttl=60, break_stale=break_stale))
    assert result.failed is not broken
    assert current_lock(engine)['owner'] == ('ops@ci:1' if broken else 'other@ci:2')
    if not broken:
        assert 'break it with break_stale=true' in result.msg


def test_release_of_another_runs_lock_is_refused_and_ones_own_removes_it(engine, run_module):
    write_lock_as_another_run(engine, since=9e9)
    result = run_module(swarm_lock, dict(owner='ops@ci:1', state='absent'))
    assert result.failed and 'Cannot release lock' in result.msg and current_lock(engine)['owner'] == 'other@ci:2'
    result = run_module(swarm_lock, dict(owner='other@ci:2', state='absent'))
    assert not result.failed and result['changed'] is True and current_lock(engine) is None
    assert LABEL not in engine.swarm_spec['Labels']


def test_retries_exhausted_when_every_write_loses_the_race(engine, run_module):
    def someone_else_writes_first(engine):
        engine.swarm_version += 1

    engine.before_update_swarm = someone_else_writes_first
    result = run_module(swarm_lock, dict(owner='ops@ci:1'))
    assert result.failed
    assert result.msg.startswith('Could not update lock swarmops.lock.maintenance: the swarm changed (or lost its '
                                 'leader) under every one of 5 attempts. Nothing was changed.'), result.msg
    assert current_lock(engine) is None and len(engine.calls_named('update_swarm')) == 5


def test_other_labels_of_the_swarm_are_kept(engine, run_module):
    engine.swarm_spec['Labels'] = {'team': 'platform'}
    run_module(swarm_lock, dict(owner='ops@ci:1'))
    run_module(swarm_lock, dict(owner='ops@ci:1', state='absent'))
    assert engine.swarm_spec['Labels'] == {'team': 'platform'}


# -- issue 11.5: a long run renews its lock; staleness counts from the last renewal ---------

def test_the_owner_renews_its_lock(engine, run_module, monkeypatch):
    monkeypatch.setattr(swarm_lock.time, 'time', lambda: 5000.0)
    run_module(swarm_lock, dict(owner='ops@ci:1'))
    monkeypatch.setattr(swarm_lock.time, 'time', lambda: 9000.0)
    result = run_module(swarm_lock, dict(owner='ops@ci:1', renew=True))
    assert not result.failed and result['changed'] is True
    lock = current_lock(engine)
    assert (lock['since'], lock['renewed'], lock['status']) == (5000.0, 9000.0, 'running')


def test_a_lock_renewed_lately_is_not_stale_however_old_it_is(engine, run_module, monkeypatch):
    # A run longer than ttl (20 workers) looked dead, and the refusal invited break_stale.
    monkeypatch.setattr(swarm_lock.time, 'time', lambda: 100000.0)
    lock = dict(owner='other@ci:2', run='r-other', since=1000.0, renewed=99990.0, status='running')
    spec = dict(engine.swarm_spec, Labels={LABEL: json.dumps(lock)})
    engine.update_swarm(engine.swarm_version, swarm_spec=spec)
    result = run_module(swarm_lock, dict(owner='ops@ci:1', ttl=3600, break_stale=True))
    assert result.failed and current_lock(engine)['owner'] == 'other@ci:2'
    assert 'last renewed 10s ago' in result.msg and 'Wait for that run to finish' in result.msg, result.msg


def test_renew_of_a_lock_held_by_another_run_is_refused(engine, run_module):
    write_lock_as_another_run(engine, since=9e9)
    result = run_module(swarm_lock, dict(owner='ops@ci:1', renew=True))
    assert result.failed and 'other@ci:2 holds it' in result.msg
