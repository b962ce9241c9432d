# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.module_utils import swarm
from ansible_collections.swarmops.lifecycle.plugins.module_utils._drain import (
    describe_pending,
    drain_progress,
    parse_min_available,
    plan_drain,
    required_running,
    surge_replicas,
)
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    DifferenceTracker,
    ManagerCensus,
    SwarmClient,
    demote_keeps_quorum,
    fault_tolerance,
    find_node,
    has_quorum,
    quorum_size,
    wait_until,
)
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import (
    LOCKED,
    NO_LEADER,
    NOT_MANAGER,
    FakeEngine,
    api_error,
    cluster,
    make_node,
    make_service,
)


# ---------------------------------------------------------------------------------------
# Quorum maths, 1..7 managers with 0..N unreachable
# ---------------------------------------------------------------------------------------

ALL_CASES = [(managers, unreachable) for managers in range(1, 8) for unreachable in range(0, managers + 1)]


def test_quorum_size_is_floor_half_plus_one():
    assert [quorum_size(managers) for managers in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize('managers, unreachable', ALL_CASES)
def test_has_quorum_needs_a_strict_majority(managers, unreachable):
    reachable = managers - unreachable
    # Majority: more than half of N reachable.
    assert has_quorum(managers, reachable) == (2 * reachable > managers)


@pytest.mark.parametrize('managers, unreachable', ALL_CASES)
def test_fault_tolerance_over_reachable(managers, unreachable):
    reachable = managers - unreachable
    expected = max(0, reachable - (managers // 2 + 1))
    assert fault_tolerance(managers, reachable) == expected
    if unreachable == 0:
        assert fault_tolerance(managers) == (managers - 1) // 2


def test_fault_tolerance_table():
    assert [fault_tolerance(managers) for managers in range(1, 8)] == [0, 0, 1, 1, 2, 2, 3]
    # An even count tolerates no more failures than one manager fewer.
    for managers in (2, 4, 6):
        assert fault_tolerance(managers) == fault_tolerance(managers - 1)


@pytest.mark.parametrize('managers, unreachable', ALL_CASES)
def test_demote_keeps_quorum_matches_the_rule(managers, unreachable):
    reachable = managers - unreachable
    new_quorum = (managers - 1) // 2 + 1
    now_ok = 2 * reachable > managers and managers > 1
    if reachable > 0:
        # Demoting a reachable manager: R-1 >= floor((N-1)/2)+1.
        assert demote_keeps_quorum(managers, reachable, True) == (now_ok and reachable - 1 >= new_quorum)
    if unreachable > 0:
        # Demoting an unreachable manager (a ghost): R >= floor((N-1)/2)+1.
        assert demote_keeps_quorum(managers, reachable, False) == (now_ok and reachable >= new_quorum)


@pytest.mark.parametrize('managers, reachable, target_reachable, expected', [
    (1, 1, True, False),   # the last manager
    (2, 2, True, True),    # 1 of 1 left
    (2, 1, False, True),   # drop the ghost of a 2-manager swarm... which has no quorum: see below
    (3, 3, True, True),    # 2 of 2 left
    (3, 2, True, False),   # 1 of 2 left: lost
    (3, 2, False, True),   # ghost removed: 2 of 2
    (4, 3, True, True),    # 2 of 3 left
    (5, 3, True, False),   # 2 of 4 left: lost
    (5, 4, True, True),    # 3 of 4 left
    (5, 3, False, True),   # ghost removed: 3 of 4
    (7, 4, True, False),   # 3 of 6 left: lost
    (7, 5, True, True),    # 4 of 6 left
])
def test_demote_keeps_quorum_examples(managers, reachable, target_reachable, expected):
    if (managers, reachable) == (2, 1):
        # 1 of 2 reachable has no quorum now, so nothing can be demoted.
        expected = False
    assert demote_keeps_quorum(managers, reachable, target_reachable) is expected


# ---------------------------------------------------------------------------------------
# Drain budget and surge arithmetic
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    (1, ('count', 1)), ('2', ('count', 2)), (0, ('count', 0)), ('50%', ('percent', 50.0)),
    (' 100% ', ('percent', 100.0)), ('0%', ('percent', 0.0)),
])
def test_parse_min_available(value, expected):
    assert parse_min_available(value) == expected


@pytest.mark.parametrize('value', ['-1', '150%', 'abc', True, '%', '1.5'])
def test_parse_min_available_rejects(value):
    with pytest.raises(ValueError):
        parse_min_available(value)


@pytest.mark.parametrize('min_available, desired, expected', [
    (1, 1, 1), (1, 4, 1), (2, 1, 1), (5, 3, 3), (0, 5, 0),
    ('50%', 3, 2), ('50%', 4, 2), ('100%', 4, 4), ('34%', 3, 2), ('33%', 3, 1),
    ('25%', 1, 1), ('0%', 5, 0), ('75%', 4, 3),
])
def test_required_running(min_available, desired, expected):
    assert required_running(min_available, desired) == expected


def test_surge_replicas_adds_one_per_task_on_node():
    assert surge_replicas(1, 1) == 2
    assert surge_replicas(4, 2) == 6


def drain_table():
    engine = FakeEngine(nodes=cluster(managers=3, workers=2))
    engine.services_table = [make_service('s-web', 'web', replicas=4), make_service('s-solo', 'solo', replicas=1),
                             make_service('s-agent', 'agent', mode='global'), make_service('s-far', 'far', replicas=2)]
    engine.place('web', 'w1', 'w1', 'w2', 'm1')
    engine.place('solo', 'w1')
    engine.place('agent', 'm1', 'm2', 'm3', 'w1', 'w2')
    engine.place('far', 'm2', 'm3')
    return engine


def test_plan_drain_budget_numbers():
    engine = drain_table()
    moves = dict((move.name, move) for move in plan_drain('id-w1', engine.services_table, engine.tasks_table, 1))
    assert sorted(moves) == ['agent', 'solo', 'web']  # far has nothing on w1
    web, solo, agent = moves['web'], moves['solo'], moves['agent']
    assert (web.desired, web.running_before, web.running_on_node, web.running_during_move) == (4, 4, 2, 2)
    assert (solo.desired, solo.running_during_move, solo.required) == (1, 0, 1)
    assert solo.breaks_budget and not web.breaks_budget
    assert not agent.budgeted and not agent.breaks_budget
    # Surge: one extra task per task on the node; the extras must run elsewhere first.
    assert surge_replicas(solo.desired, solo.surge_by) == 2
    assert solo.surge_target_elsewhere == 1
    assert surge_replicas(web.desired, web.surge_by) == 6
    assert web.surge_target_elsewhere == 4


@pytest.mark.parametrize('min_available, breaking', [
    (0, []), (1, ['solo']), (2, ['solo']), (3, ['solo', 'web']), ('50%', ['solo']), ('51%', ['solo', 'web']),
    ('100%', ['solo', 'web']),
])
def test_plan_drain_which_services_break_the_budget(min_available, breaking):
    engine = drain_table()
    moves = plan_drain('id-w1', engine.services_table, engine.tasks_table, min_available)
    assert [move.name for move in moves if move.breaks_budget] == breaking


def test_plan_drain_counts_only_running_tasks_as_serving():
    engine = drain_table()
    # One of web's tasks elsewhere is still starting: it does not serve during the move.
    engine.add_task('web', 'm2', state='starting')
    engine.service('web')['Spec']['Mode']['Replicated']['Replicas'] = 5
    web = [move for move in plan_drain('id-w1', engine.services_table, engine.tasks_table, 3) if move.name == 'web'][0]
    assert (web.running_before, web.running_during_move, web.breaks_budget) == (4, 2, True)


def test_drain_progress_waits_until_a_scaled_back_service_stops_its_extra_tasks():
    engine = drain_table()
    services = dict((service['ID'], service) for service in engine.services_table)
    # web: 4 tasks meant to run; scaled back to 3, the orchestrator has not stopped one yet.
    done, pending = drain_progress('id-nowhere', engine.tasks_table, {'s-web': 3}, services,
                                   require_empty_node=False, at_most={'s-web': 3})
    assert not done
    assert pending['services_above_count'] == [dict(name='web', id='s-web', tasks=4, count=3)]
    assert 'web still means to run 4 tasks, not 3' in describe_pending(pending)
    done, pending = drain_progress('id-nowhere', engine.tasks_table, {'s-web': 3}, services,
                                   require_empty_node=False, at_most={'s-web': 4})
    assert done


def test_drain_progress_reports_tasks_and_services():
    engine = drain_table()
    services = dict((service['ID'], service) for service in engine.services_table)
    done, pending = drain_progress('id-w1', engine.tasks_table, {'s-web': 4, 's-solo': 1}, services)
    assert not done
    assert sorted(task['service'] for task in pending['tasks_on_node']) == ['agent', 'solo', 'web', 'web']
    assert pending['services_below_target'] == [
        dict(name='solo', id='s-solo', running=0, target=1), dict(name='web', id='s-web', running=2, target=4)]
    done, pending = drain_progress('id-w1', engine.tasks_table, {'s-far': 2}, services, require_empty_node=False)
    assert done and pending == dict(tasks_on_node=[], services_below_target=[], services_above_count=[])


# ---------------------------------------------------------------------------------------
# Nodes, census, diff, waits
# ---------------------------------------------------------------------------------------

def test_find_node_by_id_name_and_prefix():
    nodes = cluster()
    assert find_node(nodes, 'id-m2')[0]['ID'] == 'id-m2'
    assert find_node(nodes, 'w1')[0]['ID'] == 'id-w1'
    assert find_node(nodes, 'id-w2')[0]['ID'] == 'id-w2'
    assert find_node(nodes, 'id-w')[0] is None and 'matches 2 nodes' in find_node(nodes, 'id-w')[1]
    assert find_node(nodes, 'nope') == (None, None)
    twins = nodes + [make_node('id-x', 'w1')]
    node, reason = find_node(twins, 'w1')
    assert node is None and 'used by 2 nodes' in reason and 'id-w1' in reason


def test_manager_census():
    nodes = cluster(managers=5, unreachable=('m4', 'm5'))
    nodes.append(make_node('id-old', 'old', role='manager', raft=False, state='unknown'))
    census = ManagerCensus(nodes)
    assert (census.total, census.reachable_count, census.quorum_size, census.fault_tolerance) == (5, 3, 3, 0)
    assert census.has_quorum and census.leader['ID'] == 'id-m1'
    assert [node['ID'] for node in census.unreachable] == ['id-m4', 'id-m5']
    assert [node['ID'] for node in census.not_in_raft] == ['id-old']


def test_difference_tracker():
    diff = DifferenceTracker()
    diff.add('node', 'w1', 'w1')
    assert not diff.has_differences
    diff.add('availability', 'active', 'drain')
    assert diff.has_differences and diff.changed_names() == ['availability']
    assert diff.as_diff() == dict(before=dict(node='w1', availability='active'), after=dict(node='w1', availability='drain'))


def test_wait_until_succeeds_after_polls(fake_clock):
    answers = iter([(False, 1), (False, 2), (True, 3)])
    result = wait_until(lambda: next(answers), deadline=fake_clock.now + 10)
    assert result.done and result.progress == 3 and len(fake_clock.sleeps) == 2


def test_wait_until_times_out_with_last_progress(fake_clock):
    result = wait_until(lambda: (False, fake_clock.now), deadline=fake_clock.now + 5)
    assert not result.done and result.elapsed >= 5


def test_wait_until_checks_once_even_without_time(fake_clock):
    calls = []
    result = wait_until(lambda: (calls.append(1) or False, 'x'), deadline=fake_clock.now - 1)
    assert not result.done and calls == [1] and fake_clock.sleeps == []


# ---------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------

class FailCalled(Exception):
    pass


class FakeModule(object):
    def __init__(self, **params):
        self.params = dict(docker_host='unix:///var/run/docker.sock', timeout=60)
        self.params.update(params)
        self.failures = []

    def fail_json(self, **kwargs):
        self.failures.append(kwargs)
        raise FailCalled(kwargs['msg'])


def make_client(engine=None, **params):
    engine = engine or FakeEngine()
    return SwarmClient(FakeModule(**params), api=engine), engine


def test_scale_service_keeps_every_other_part_of_the_spec():
    engine = FakeEngine()
    engine.services_table = [make_service('s-web', 'web', replicas=4)]
    original = engine.service('web')['Spec']
    client, engine = make_client(engine)
    client.scale_service('s-web', 6)
    name, service_id, version, kwargs = engine.calls_named('update_service')[0]
    assert (service_id, version) == ('s-web', 100)
    assert kwargs['mode'] == {'Replicated': {'Replicas': 6}}
    assert kwargs['task_template'] == original['TaskTemplate']  # ForceUpdate untouched: no redeploy
    assert kwargs['name'] == 'web' and kwargs['labels'] == {'team': 'ops'}
    assert kwargs['update_config'] == original['UpdateConfig']
    assert kwargs['rollback_config'] == original['RollbackConfig']
    assert kwargs['endpoint_spec'] == original['EndpointSpec']


def test_scale_service_retries_when_the_service_changed_meanwhile():
    engine = FakeEngine()
    engine.services_table = [make_service('s-web', 'web', replicas=4)]
    real_update = engine.update_service
    answers = [api_error('update out of sequence', 500)]

    def flaky(service, version, **kwargs):
        if answers:
            engine.calls.append(('update_service_refused', service, version))
            raise answers.pop()
        return real_update(service, version, **kwargs)

    engine.update_service = flaky
    client, engine = make_client(engine)
    client.scale_service('s-web', 5)
    assert engine.service('web')['Spec']['Mode']['Replicated']['Replicas'] == 5
    assert len(engine.calls_named('inspect_service')) == 2


def test_update_node_spec_keeps_labels_and_role():
    engine = FakeEngine(nodes=[make_node('id-m1', 'm1', role='manager', leader=True, labels={'zone': 'a'})])
    client, engine = make_client(engine)
    client.update_node_spec(engine.node('m1'), Availability='drain')
    spec = engine.calls_named('update_node')[0][3]
    assert spec == {'Labels': {'zone': 'a'}, 'Role': 'manager', 'Availability': 'drain'}


@pytest.mark.parametrize('explanation, hint', [
    (NO_LEADER, 'force_new_cluster'),
    (NOT_MANAGER, 'delegate_to'),
    (LOCKED, 'docker swarm unlock'),
])
def test_nodes_failure_explains_the_way_out(explanation, hint):
    client, engine = make_client()
    engine.nodes_error = explanation
    with pytest.raises(FailCalled) as failure:
        client.nodes('read the node list')
    assert hint in str(failure.value) and '10.0.0.1' in str(failure.value)


def test_unlock_that_does_not_answer_returns_false_and_restores_timeout():
    client, engine = make_client()
    engine.unlock_behaviour = 'timeout'
    assert client.unlock('SWMKEY-1-x') is False
    assert engine.timeout == 60


def test_unlock_with_a_wrong_key_fails():
    client, engine = make_client()
    engine.unlock_behaviour = 'invalid'
    with pytest.raises(FailCalled) as failure:
        client.unlock('SWMKEY-1-x')
    assert 'refused the unlock key' in str(failure.value)


def test_autolock_and_raft_dir_from_the_data_root(tmp_path):
    client, engine = make_client()
    engine.docker_root = str(tmp_path)
    assert client.autolock_enabled(engine.info()) is None
    assert client.raft_dir_missing(engine.info()) is True
    (tmp_path / 'swarm' / 'raft').mkdir(parents=True)
    (tmp_path / 'swarm' / 'certificates').mkdir()
    key = tmp_path / 'swarm' / 'certificates' / 'swarm-node.key'
    key.write_text(u'-----BEGIN PRIVATE KEY-----\nkek-version: 0\n')
    assert client.autolock_enabled(engine.info()) is False
    assert client.raft_dir_missing(engine.info()) is False
    key.write_text(u'-----BEGIN ENCRYPTED PRIVATE KEY-----\nkek-version: 3\n')
    assert client.autolock_enabled(engine.info()) is True
    engine.local_state = 'locked'
    assert client.autolock_enabled(engine.info()) is True


def test_autolock_from_the_cluster_spec_only_when_it_is_real():
    client, engine = make_client()
    engine.swarm_extra = {'Cluster': {'ID': '', 'Spec': {'EncryptionConfig': {'AutoLockManagers': False}}}}
    assert client.autolock_enabled(engine.info()) is None  # empty spec: no quorum, no truth
    engine.swarm_extra = {'Cluster': {'ID': 'c1', 'Spec': {'EncryptionConfig': {'AutoLockManagers': True}}}}
    assert client.autolock_enabled(engine.info()) is True


def test_missing_sdk_fails_with_missing_required_lib(monkeypatch):
    monkeypatch.setattr(swarm, 'DOCKER_SDK_IMPORT_ERROR', 'Traceback: No module named docker')
    module = FakeModule()
    with pytest.raises(FailCalled) as failure:
        SwarmClient(module)
    assert 'Docker SDK for Python' in str(failure.value)
    assert module.failures[0]['exception'].startswith('Traceback')


def test_unreachable_engine_fails_with_the_address(monkeypatch):
    def refuse(**kwargs):
        raise swarm.DockerException('Error while fetching server API version: connection refused')

    monkeypatch.setattr(swarm.docker, 'APIClient', refuse)
    with pytest.raises(FailCalled) as failure:
        SwarmClient(FakeModule(docker_host='unix:///nowhere.sock'))
    assert 'unix:///nowhere.sock' in str(failure.value) and 'delegate_to' in str(failure.value)


def test_request_timeout_is_capped(monkeypatch):
    seen = {}

    def capture(**kwargs):
        seen.update(kwargs)
        return FakeEngine()

    monkeypatch.setattr(swarm.docker, 'APIClient', capture)
    SwarmClient(FakeModule(timeout=900))
    assert seen == dict(base_url='unix:///var/run/docker.sock', version='auto', timeout=60)


# -- issue 14.1: the node update retries a lost compare-and-swap ----------------------------

def test_a_node_update_that_loses_the_race_once_is_read_again_and_retried():
    client, engine = make_client()
    node = client.inspect_node('id-w1')
    read_at = node['Version']['Index']
    engine.node('id-w1')['Version']['Index'] += 1          # someone else wrote the node since it was read
    client.update_node_spec(node, Availability='drain')
    assert [call[2] for call in engine.calls_named('update_node')] == [read_at, read_at + 1]
    assert engine.node('id-w1')['Spec']['Availability'] == 'drain'


def test_a_node_update_that_always_loses_the_race_fails_naming_the_node():
    client, engine = make_client()
    real_update = engine.update_node

    def racing(node_id, version, node_spec=None):
        engine.node(node_id)['Version']['Index'] += 1
        return real_update(node_id, version, node_spec)

    engine.update_node = racing
    with pytest.raises(FailCalled) as failure:
        client.update_node_spec(client.inspect_node('id-w1'), Availability='drain')
    assert str(failure.value).startswith('Docker engine refused to update node w1 (id-w1) (Availability=drain)')
    assert 'out of sequence' in str(failure.value) and len(engine.calls_named('update_node')) == 3


# --- Quorum: the census and what a promotion or a demotion would make of it ---

@pytest.mark.parametrize('total, reachable, size, has, tolerance, tolerance_max, odd', [
    (1, 1, 1, True, 0, 0, True),
    (2, 2, 2, True, 0, 0, False),
    (3, 3, 2, True, 1, 1, True),
    (3, 2, 2, True, 0, 1, True),
    (3, 1, 2, False, 0, 1, True),
    (4, 3, 3, True, 0, 1, False),
    (5, 5, 3, True, 2, 2, True),
    (5, 2, 3, False, 0, 2, True),
    (0, 0, 0, False, 0, 0, False),
])
def test_quorum_values(total, reachable, size, has, tolerance, tolerance_max, odd):
    quorum = swarm.Quorum(total, reachable)
    assert (quorum.size, quorum.has, quorum.fault_tolerance, quorum.fault_tolerance_max, quorum.odd) == (
        size, has, tolerance, tolerance_max, odd)


@pytest.mark.parametrize('total, reachable, target_reachable, after, keeps', [
    (3, 3, True, (2, 2), True),
    (3, 2, True, (2, 1), False),   # one ghost: demoting a live manager leaves 1 of 2
    (3, 2, False, (2, 2), True),   # demoting the ghost leaves 2 of 2
    (5, 3, True, (4, 2), False),
    (5, 4, False, (4, 4), True),
])
def test_after_demote(total, reachable, target_reachable, after, keeps):
    result = swarm.Quorum(total, reachable).after_demote(target_reachable)
    assert result == swarm.Quorum(*after)
    assert result.has is keeps
    assert swarm.demote_keeps_quorum(total, reachable, target_reachable) is keeps


@pytest.mark.parametrize('total, reachable, after, keeps', [
    (3, 3, (4, 3), True),
    (3, 2, (4, 2), False),   # four managers need three: quorum would hang on the newcomer
    (1, 1, (2, 1), False),   # two need two: the first promotion hangs on the newcomer too
    (5, 4, (6, 4), True),
])
def test_after_promote(total, reachable, after, keeps):
    result = swarm.Quorum(total, reachable).after_promote()
    assert result == swarm.Quorum(*after)
    assert result.has is keeps
    assert swarm.promote_keeps_quorum(total, reachable) is keeps


def test_the_census_what_ifs_count_a_ghost_as_no_vote():
    nodes = [make_node('id-m1', 'm1', role='manager', leader=True), make_node('id-m2', 'm2', role='manager'),
             make_node('id-m3', 'm3', role='manager', reachability='unreachable', state='down')]
    census = swarm.ManagerCensus(nodes)
    assert census.quorum == swarm.Quorum(3, 2)
    assert census.after_demote(nodes[2]) == swarm.Quorum(2, 2)
    assert census.after_demote(nodes[1]) == swarm.Quorum(2, 1)
    assert census.after_promote() == swarm.Quorum(4, 2)
