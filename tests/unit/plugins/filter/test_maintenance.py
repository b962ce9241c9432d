# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maintain.yml's decisions (plugins/filter/_maintenance.py): the order of a run, the manager of a step."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.filter._maintenance import (
    maintenance_batches,
    maintenance_manager,
    maintenance_order,
    maintenance_stop,
)
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import FakeEngine, cluster, make_service

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
    assert (choice['via'], choice['now']) == ('m3', dict(item='m3', **quorum))
    assert (choice['alive'], choice['silent']) == (['m2', 'm3'], ['m1', 'm2'])


def test_the_preferred_manager_answering_is_used_and_the_others_are_not_asked():
    choice = maintenance_manager(dict(has_quorum=True), 'm1', [dict(item='m2', skipped=True)])
    assert (choice['via'], choice['alive'], choice['silent']) == ('m1', ['m1'], [])


def test_during_an_election_no_manager_runs_the_steps_but_the_living_are_known():
    choice = maintenance_manager(dict(has_quorum=False), 'm1', [dict(item='m2', failed=True, msg='down'),
                                                                dict(item='m3', has_quorum=False)])
    assert (choice['via'], choice['alive'], choice['silent']) == ('', ['m1', 'm3'], ['m1', 'm2', 'm3'])


# -- the workers' batches (rolling_maintenance_serial > 1) -----------------------------------
# Found in review (issue 11.1): with serial 2 and a two-replica service constrained to the two
# workers, the batch's parallel drains took the service down. The batch is planned as one and
# split where a service's budget requires it.

def snapshot_of(engine):
    return dict(nodes=engine.nodes(), services=engine.services(), tasks=engine.tasks())


def four_workers():
    engine = FakeEngine(nodes=cluster(workers=4))
    engine.services_table = [make_service('s-web', 'web', replicas=4), make_service('s-edge', 'edge', replicas=2),
                             make_service('s-agent', 'agent', mode='global')]
    engine.place('web', 'w1', 'w2', 'w3', 'w4')
    engine.place('edge', 'w1', 'w2')
    engine.place('agent', 'm1', 'm2', 'm3', 'w1', 'w2', 'w3', 'w4')
    return engine


WORKERS = ['w1', 'w2', 'w3', 'w4']
NODE_IDS = dict((name, 'id-' + name) for name in WORKERS)


def test_batches_of_serial_when_every_budget_holds():
    plan = maintenance_batches(WORKERS, NODE_IDS, 2, snapshot_of(four_workers()), min_available=1, surge=True)
    assert plan == dict(batches=[['w1', 'w2'], ['w3', 'w4']], sizes=[2, 2], splits=[])


def test_serial_one_needs_no_snapshot():
    assert maintenance_batches(WORKERS, NODE_IDS, 1, None)['batches'] == [['w1'], ['w2'], ['w3'], ['w4']]


def test_a_percentage_of_the_workers_rounded_down_at_least_one():
    engine = four_workers()
    assert maintenance_batches(WORKERS, NODE_IDS, '50%', snapshot_of(engine), surge=True)['sizes'] == [2, 2]
    assert maintenance_batches(WORKERS, NODE_IDS, '10%', snapshot_of(engine), surge=True)['sizes'] == [1, 1, 1, 1]
    assert maintenance_batches(WORKERS, NODE_IDS, '100%', snapshot_of(engine), surge=True)['sizes'] == [4]


@pytest.mark.parametrize('surge', [True, False])
def test_a_service_only_the_batch_can_run_splits_it_surge_or_not(surge):
    # The case: edge constrained to w1 and w2 (a label only they carry), serial 2.
    engine = four_workers()
    for name in ('w1', 'w2'):
        engine.node(name)['Spec']['Labels']['tier'] = 'edge'
    engine.constrain('edge', 'node.labels.tier == edge')
    plan = maintenance_batches(WORKERS, NODE_IDS, 2, snapshot_of(engine), min_available=1, surge=surge)
    assert plan['batches'] == [['w1'], ['w2', 'w3'], ['w4']]
    assert plan['splits'] == [
        "w2 is not drained together with w1: edge: 2 replicas, min_available needs 1, but the other nodes can run "
        "only 0 of them (no other node can run it (it does not match the constraint 'node.labels.tier == edge'))"]


def test_without_surge_a_batch_holding_every_running_replica_is_split():
    plan = maintenance_batches(WORKERS, NODE_IDS, 2, snapshot_of(four_workers()), min_available=1, surge=False)
    assert plan['batches'] == [['w1'], ['w2', 'w3'], ['w4']]
    assert plan['splits'] == ['w2 is not drained together with w1: edge: 2 of 2 replicas running, 2 on these nodes, '
                              '0 would keep running, min_available needs 1']


def test_a_percentage_budget_counts_every_node_the_batch_takes_away():
    # web 4 replicas, one per worker: a batch of two keeps 2 of 4 (50% holds, 75% does not).
    engine = four_workers()
    engine.services_table = [service for service in engine.services_table if service['ID'] != 's-edge']
    engine.tasks_table = [task for task in engine.tasks_table if task['ServiceID'] != 's-edge']
    assert maintenance_batches(WORKERS, NODE_IDS, 2, snapshot_of(engine), '50%', surge=False)['sizes'] == [2, 2]
    plan = maintenance_batches(WORKERS, NODE_IDS, 2, snapshot_of(engine), '75%', surge=False)
    assert plan['sizes'] == [1, 1, 1, 1] and len(plan['splits']) == 3
    assert 'web: 4 of 4 replicas running, 2 on these nodes, 2 would keep running, min_available needs 3' in plan['splits'][0]


# --- the message that stops a run (node.yml's rescue) ---

def test_the_stop_names_the_node_step_and_cause_and_the_way_on():
    text = maintenance_stop('w1', 'id-w1', 'drain', 'Drain the node', 'timed out after 300s',
                            used='m1', silent=[], alive=['m1', 'm2'], state='availability drain, status ready')
    assert text.startswith("Maintenance stopped on w1 (swarm node id-w1) at step 'drain' (task: Drain the node): "
                           "timed out after 300s")
    assert 'left as it is: availability drain, status ready.' in text
    assert 'run maintain.yml again' in text
    assert 'recover.yml' not in text and 'break_lock' not in text


def test_the_stop_says_run_recover_when_no_manager_answers_with_quorum():
    # Quorum lost mid-run: the two managers left answer without quorum, the third not at all.
    text = maintenance_stop('m2', 'id-m2', 'restart', 'Wait for the engine', 'no leader',
                            used='m1', silent=['m1', 'm3'], alive=['m3'])
    assert 'No manager answers with quorum (asked: m1, m3; engines that answered without quorum: m3)' in text
    assert 'no other node was touched' in text and 'run recover.yml' in text
    assert 'The manager that ran this step, m1, no longer answers.' in text
    # One manager silent while another still has quorum: no recover.yml advice.
    text = maintenance_stop('m2', 'id-m2', 'restart', 'Wait', 'x', used='m1', silent=['m1'],
                            alive=['m3'])
    assert 'recover.yml' not in text and 'Managers not answering with quorum: m1.' in text


def test_the_stop_says_how_to_break_a_lock_it_could_not_mark():
    text = maintenance_stop('w1', 'id-w1', 'drain', 'Drain', 'x', silent=['m1'], alive=[],
                            lock_marked=False)
    assert 'rolling_maintenance_break_lock=true' in text and 'no engine answered' in text


def test_the_stop_blames_the_manager_only_for_the_steps_it_ran_and_never_prints_none():
    text = maintenance_stop('m2', 'id-m2', 'maintenance', 'Wait', 'engine not back', used='m1', silent=['m1'],
                            alive=['m3'], state=None)
    assert 'no longer answers' not in text and 'state unknown' in text and 'None' not in text
    text = maintenance_stop('m2', 'id-m2', 'reactivate', 'Reactivate', 'x', used='m1', silent=['m1'], alive=['m3'],
                            state='None')
    assert 'The manager that ran this step, m1, no longer answers.' in text and 'None' not in text
