# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The engine role's waits (plugins/filter/_engine.py): when an engine counts as back, and what a
failed wait says."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.filter._engine import engine_not_back


def answered(state):
    return dict(host_info=dict(Swarm=dict(LocalNodeState=state)))


REFUSED = dict(failed=True, msg='Error connecting: No such file or directory')


@pytest.mark.parametrize('result, states, back', [
    (answered('active'), [], True),                  # any answer counts when no state is asked for
    (answered('pending'), [], True),                 # a restored manager without its peers
    (answered('locked'), ['active', 'locked'], True),
    (answered('active'), ['active', 'locked'], True),
    (answered('pending'), ['active', 'locked'], False),
    (answered('locked'), ['active'], False),
    (answered('error'), ['active'], False),
    (REFUSED, [], False),
    (REFUSED, ['active'], False),
    (None, [], False),
    (dict(host_info=None), [], False),
])
def test_an_engine_is_back_only_in_a_state_asked_for(result, states, back):
    assert (engine_not_back(result, 'm1', states) == '') is back


def test_an_engine_that_does_not_answer_names_the_host_the_timeout_the_last_error_and_what_to_do():
    why = engine_not_back(REFUSED, 'w1', ['active', 'locked'], 20, 'restart',
                          'The node stays drained and its tasks run elsewhere.',
                          'run maintain.yml again (or raise rolling_maintenance_engine_timeout)')
    assert why.startswith('The Docker engine on w1 did not come back within 20s after its restart '
                          '(last answer: Error connecting: No such file or directory). '
                          'The node stays drained and its tasks run elsewhere. ')
    assert 'journalctl -u docker), then run maintain.yml again (or raise rolling_maintenance_engine_timeout).' in why
    assert '(last answer: no message)' in engine_not_back(None, 'm1', [], 120, 'start')


def test_an_engine_that_answers_in_another_state_says_which():
    assert 'after its restart (last answer: swarm state pending)' in engine_not_back(
        answered('pending'), 'm2', ['active', 'locked'], 120)
    why = engine_not_back(answered('error'), 'm2', ['active'], 60, 'restart', 'The node stays drained.',
                          'run maintain.yml again')
    assert why == ('The Docker engine on m2 answers but did not rejoin the swarm within 60s (swarm state error). '
                   'The node stays drained. Check "docker info" on it (a locked or pending node, or a network '
                   'problem), then run maintain.yml again.')


def test_without_left_or_then_the_message_ends_with_the_hint():
    why = engine_not_back(REFUSED, 'm1', [], 120, 'start')
    assert why.endswith('(systemctl status docker; journalctl -u docker).')
    assert '  ' not in why
