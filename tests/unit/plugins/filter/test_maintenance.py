# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maintain.yml's decisions (plugins/filter/_maintenance.py): the order of a run, the manager of a step."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmops.lifecycle.plugins.filter._maintenance import maintenance_manager, maintenance_order

HOSTS = [dict(host=name, node_id='id-' + name, manager=name.startswith('m')) for name in ('m1', 'm2', 'm3', 'w1', 'w2')]


def test_a_fresh_run_takes_workers_first_then_managers_with_the_leader_last():
    order = maintenance_order(HOSTS, {}, 'r1', leader_id='id-m1')
    assert order == dict(done=[], resume=[], workers=['w1', 'w2'], managers=['m2', 'm3', 'm1'])


def test_a_resumed_run_takes_the_interrupted_node_first_and_skips_the_done_ones():
    marks = {'id-w1': 'r1:done', 'id-w2': 'r1:started', 'id-m2': 'r0:done'}
    order = maintenance_order(HOSTS, marks, 'r1', leader_id='id-m3')
    assert order == dict(done=['w1'], resume=['w2'], workers=[], managers=['m1', 'm2', 'm3'])


def test_the_leader_done_or_started_is_not_taken_again():
    order = maintenance_order(HOSTS, {'id-m1': 'r1:started'}, 'r1', leader_id='id-m1')
    assert order['resume'] == ['m1'] and order['managers'] == ['m2', 'm3']


def test_a_leader_that_is_not_a_host_of_the_run_changes_nothing():
    order = maintenance_order(HOSTS, {}, 'r1', leader_id='id-elsewhere')
    assert order['managers'] == ['m1', 'm2', 'm3']


def test_the_first_manager_that_answers_with_quorum_runs_the_steps():
    quorum = dict(has_quorum=True, leader=dict(id='id-m2'))
    choice = maintenance_manager(dict(unreachable=True, msg='gone'), 'm1', [
        dict(item='m2', has_quorum=False), dict(item='m3', **quorum)])
    assert (choice['delegate'], choice['now']) == ('m3', dict(item='m3', **quorum))
    assert (choice['alive'], choice['silent']) == (['m2', 'm3'], ['m1', 'm2'])


def test_the_preferred_manager_answering_is_used_and_the_others_are_not_asked():
    choice = maintenance_manager(dict(has_quorum=True), 'm1', [dict(item='m2', skipped=True)])
    assert (choice['delegate'], choice['alive'], choice['silent']) == ('m1', ['m1'], [])


def test_during_an_election_no_manager_runs_the_steps_but_the_living_are_known():
    choice = maintenance_manager(dict(has_quorum=False), 'm1', [dict(item='m2', failed=True, msg='down'),
                                                                dict(item='m3', has_quorum=False)])
    assert (choice['delegate'], choice['alive'], choice['silent']) == ('', ['m1', 'm3'], ['m1', 'm2', 'm3'])
