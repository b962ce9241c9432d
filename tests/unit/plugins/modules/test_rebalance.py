# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import docker
import pytest

from ansible_collections.swarmops.lifecycle.plugins.module_utils._placement import eligible_nodes, node_satisfies
from ansible_collections.swarmops.lifecycle.plugins.module_utils import swarm
from ansible_collections.swarmops.lifecycle.plugins.modules import rebalance
from ansible_collections.swarmops.lifecycle.plugins.module_utils._rebalance import (
    ServicePlan,
    best_skew,
    convergence,
    node_keys,
    placeable_replicas,
)
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import (
    FakeEngine,
    api_error,
    cluster,
    make_node,
    make_service,
)


# ---------------------------------------------------------------------------------------
# A fake engine that also runs forced updates
# ---------------------------------------------------------------------------------------

class RollingEngine(FakeEngine):
    """FakeEngine whose update_service keeps the whole spec and rolls the tasks over.

    Tasks carry Spec.ForceUpdate. An update replaces UpdateConfig.Parallelism old tasks per
    scheduler step, placing each new task on the least loaded eligible node, then reports
    'completed'. ``outcome[name]`` makes an update end 'paused' / 'rollback_completed', or
    'hang' (never progress).
    """

    def __init__(self, **kwargs):
        super(RollingEngine, self).__init__(**kwargs)
        self.outcome = {}
        self.out_of_sequence = 0

    def add_task(self, service, node, state='running', desired='running', slot=None):
        task = super(RollingEngine, self).add_task(service, node, state=state, desired=desired, slot=slot)
        template = self.service(service)['Spec']['TaskTemplate']
        task['Spec'] = {'ForceUpdate': template.get('ForceUpdate', 0)}
        return task

    def eligible(self, service, for_global=False):
        nodes = super(RollingEngine, self).eligible(service, for_global)
        allowed = service.get('_allowed')
        return [node for node in nodes if allowed is None or node['Description']['Hostname'] in allowed]

    def update_service(self, service, version, **kwargs):
        self.calls.append(('update_service', service, version, copy.deepcopy(kwargs)))
        if self.out_of_sequence:
            self.out_of_sequence -= 1
            raise api_error('rpc error: code = Unknown desc = update out of sequence')
        current = self.service(service)
        assert version == current['Version']['Index'], 'update with a stale version'
        current['Spec'] = dict(Name=kwargs['name'], Labels=kwargs['labels'], TaskTemplate=kwargs['task_template'],
                               Mode=kwargs['mode'], UpdateConfig=kwargs['update_config'],
                               RollbackConfig=kwargs['rollback_config'], EndpointSpec=kwargs['endpoint_spec'])
        current['Version']['Index'] += 1
        current.pop('UpdateStatus', None)
        current['_updating'] = True
        return {'Warnings': None}

    def step(self):
        super(RollingEngine, self).step()
        if self.scheduler_paused:
            return
        for service in self.services_table:
            if service.get('_updating'):
                self.roll(service)

    def roll(self, service):
        outcome = self.outcome.get(service['Spec']['Name'], 'completed')
        if outcome == 'hang':
            service['UpdateStatus'] = {'State': 'updating', 'Message': 'update in progress'}
            return
        if outcome != 'completed':
            service['UpdateStatus'] = {'State': outcome, 'Message': 'update paused due to failure of task x'}
            service['_updating'] = False
            return
        service['UpdateStatus'] = {'State': 'updating', 'Message': 'update in progress'}
        wanted = service['Spec']['TaskTemplate'].get('ForceUpdate', 0)
        own = [task for task in self.tasks_table if task['ServiceID'] == service['ID'] and task['DesiredState'] == 'running']
        old = [task for task in own if task['Spec']['ForceUpdate'] != wanted]
        if not old:
            if all(task['Status']['State'] == 'running' for task in own):
                service['UpdateStatus'] = {'State': 'completed', 'Message': 'update completed'}
                service['_updating'] = False
            return
        for task in old[:(service['Spec'].get('UpdateConfig') or {}).get('Parallelism') or 1]:
            task['DesiredState'] = 'shutdown'
            load = {}
            for other in self.tasks_table:
                if other['ServiceID'] == service['ID'] and other['DesiredState'] == 'running':
                    load[other['NodeID']] = load.get(other['NodeID'], 0) + 1
            target = sorted(self.eligible(service), key=lambda node: (load.get(node['ID'], 0),
                                                                      node['Description']['Hostname']))[0]
            self.add_task(service['ID'], target['ID'], state='pending', slot=task['Slot'])


def seven_nodes(**node_changes):
    """m1..m3 managers, w1..w4 workers (all ready and active unless changed)."""
    nodes = cluster(managers=3, workers=4)
    for name, changes in node_changes.items():
        node = [item for item in nodes if item['Description']['Hostname'] == name][0]
        node['Spec'].update(changes.get('spec', {}))
        node['Status'].update(changes.get('status', {}))
    return nodes


@pytest.fixture
def engine(monkeypatch):
    """Overrides the shared fixture: the same fake, plus forced updates."""
    fake = RollingEngine(nodes=seven_nodes())
    monkeypatch.setattr(swarm.SwarmClient, '_connect', lambda self: fake)
    return fake


@pytest.fixture
def crowded(engine):
    """Nodes w3 and w4 joined late: web (10) and api (3 on workers) skewed; even (5) and agent (global) fine."""
    engine.services_table = [make_service('s-web', 'web', replicas=10), make_service('s-api', 'api', replicas=3),
                             make_service('s-even', 'even', replicas=5), make_service('s-agent', 'agent', mode='global')]
    engine.service('api')['Spec']['TaskTemplate']['Placement'] = {'Constraints': ['node.role==worker']}
    engine.service('api')['_allowed'] = ['w1', 'w2', 'w3', 'w4']
    engine.place('web', 'm1', 'm1', 'm2', 'm2', 'm3', 'm3', 'w1', 'w1', 'w2', 'w2')
    engine.place('api', 'w1', 'w1', 'w2')
    engine.place('even', 'm1', 'm2', 'm3', 'w1', 'w2')
    engine.place('agent', 'm1', 'm2', 'm3', 'w1', 'w2', 'w3', 'w4')
    return engine


def forced(engine):
    return engine.calls_named('update_service')


def spread(engine, name):
    service_id = engine.service(name)['ID']
    counts = {}
    for task in engine.tasks_table:
        if task['ServiceID'] == service_id and task['DesiredState'] == 'running' and task['Status']['State'] == 'running':
            host = engine.node(task['NodeID'])['Description']['Hostname']
            counts[host] = counts.get(host, 0) + 1
    return counts


# ---------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('replicas, nodes, max_per_node, expected', [
    (10, 7, 0, 1),    # best is 2/2/2/1/1/1/1
    (14, 7, 0, 0),    # 2 each
    (7, 7, 0, 0),
    (3, 7, 0, 1),     # 1/1/1/0/0/0/0: fewer replicas than nodes
    (1, 7, 0, 1),
    (0, 7, 0, 0),
    (10, 5, 1, 0),    # only 5 can run, one per node
    (10, 7, 1, 0),    # 7 run, 3 stay pending
    (12, 5, 2, 0),    # 10 placeable
    (9, 5, 2, 1),     # 9 placeable over 5 nodes
    (10, 7, 2, 1),    # the cap does not bind
    (5, 0, 0, 0),     # no node at all
])
def test_best_skew(replicas, nodes, max_per_node, expected):
    assert best_skew(replicas, nodes, max_per_node) == expected


def test_placeable_replicas_caps_only_with_max_replicas():
    assert placeable_replicas(10, 7, 0) == 10
    assert placeable_replicas(10, 7, 1) == 7
    assert placeable_replicas(10, 7, 2) == 10


def plan_for(counts, replicas, max_skew=1, max_per_node=0, nodes=None):
    """A ServicePlan for a service with ``counts`` running tasks on m1..w4 (in that order)."""
    nodes = nodes or seven_nodes()
    service = make_service('s-x', 'x', replicas=replicas)
    if max_per_node:
        service['Spec']['TaskTemplate']['Placement'] = {'MaxReplicas': max_per_node}
    tasks = []
    for node, count in zip(nodes, counts):
        tasks.extend({'ServiceID': 's-x', 'NodeID': node['ID'], 'DesiredState': 'running',
                      'Status': {'State': 'running'}} for dummy in range(count))
    return ServicePlan(service, nodes, tasks, node_keys(nodes), max_skew)


@pytest.mark.parametrize('counts, replicas, max_skew, skew, skewed', [
    ((2, 2, 2, 1, 1, 1, 1), 10, 1, 1, False),   # the best spread of 10 on 7
    ((2, 2, 2, 1, 1, 1, 1), 10, 0, 1, False),   # max_skew 0 cannot ask for better than the best
    ((2, 2, 2, 2, 2, 0, 0), 10, 1, 2, True),    # two nodes joined late
    ((3, 2, 2, 1, 1, 1, 0), 10, 1, 3, True),
    ((2, 2, 2, 2, 2, 0, 0), 10, 2, 2, False),   # tolerated by max_skew 2
    ((1, 1, 1, 0, 0, 0, 0), 3, 0, 1, False),    # fewer replicas than nodes: 0/1 is balanced
    ((2, 1, 0, 0, 0, 0, 0), 3, 1, 2, True),
    ((2, 2, 2, 2, 2, 2, 2), 14, 0, 0, False),
    ((3, 2, 2, 2, 2, 2, 1), 14, 1, 2, True),
    ((3, 2, 2, 2, 2, 2, 1), 14, 2, 2, False),
    ((2, 2, 2, 2, 2, 2, 1), 14, 0, 1, True),    # 14 divide evenly: skew 1 is not the best with max_skew 0
    ((0, 0, 0, 0, 0, 0, 0), 0, 0, 0, False),
])
def test_skew_decision(counts, replicas, max_skew, skew, skewed):
    plan = plan_for(counts, replicas, max_skew=max_skew)
    assert plan.skew == skew and plan.skewed is skewed
    assert sorted(plan.spread.values(), reverse=True) == sorted(counts, reverse=True)


def test_max_replicas_per_node_with_pending_tasks_is_balanced():
    plan = plan_for((1, 1, 1, 1, 1, 1, 1), 10, max_skew=0, max_per_node=1)
    assert plan.skew == 0 and plan.best_skew == 0 and not plan.skewed and plan.target_running == 7


def test_spread_counts_idle_eligible_nodes_as_zero_and_reports_ineligible_ones():
    nodes = seven_nodes(w3={'spec': {'Availability': 'pause'}}, w4={'status': {'State': 'down'}})
    plan = plan_for((2, 2, 2, 0, 0, 3, 1), 10, nodes=nodes)
    assert plan.spread == {'m1': 2, 'm2': 2, 'm3': 2, 'w1': 0, 'w2': 0}
    assert plan.outside == {'w3': 3, 'w4': 1}
    assert plan.skew == 2 and plan.skewed


def plan_on_two_capable_nodes(placement=None, resources=None, capable=('w1', 'w2'), node_extra=None):
    """x: 4 replicas running 2/2 on the only two nodes that can run it."""
    nodes = seven_nodes()
    for node in nodes:
        node['Description']['Platform'] = {'OS': 'linux', 'Architecture': 'x86_64'}
        node['Description']['Resources'] = {'NanoCPUs': 4 * 10 ** 9, 'MemoryBytes': 8 * 2 ** 30}
        if node['Description']['Hostname'] in capable and node_extra:
            node_extra(node)
    service = make_service('s-x', 'x', replicas=4)
    service['Spec']['TaskTemplate']['Placement'] = placement or {}
    if resources:
        service['Spec']['TaskTemplate']['Resources'] = {'Reservations': resources}
    ids = dict((node['Description']['Hostname'], node['ID']) for node in nodes)
    tasks = [{'ServiceID': 's-x', 'NodeID': ids[name], 'DesiredState': 'running', 'Status': {'State': 'running'},
              'Spec': dict(service['Spec']['TaskTemplate'])} for name in capable for dummy in range(2)]
    return ServicePlan(service, nodes, tasks, node_keys(nodes), 1)


def test_a_platform_only_two_nodes_have_makes_a_two_two_spread_balanced():
    # Found in review: rebalance ignored platforms, counted the other five nodes as eligible,
    # force-updated the service up to three times per run and reported changed every run.
    def arm(node):
        node['Description']['Platform'] = {'OS': 'linux', 'Architecture': 'aarch64'}
    plan = plan_on_two_capable_nodes(placement={'Platforms': [{'OS': 'linux', 'Architecture': 'arm64'}]}, node_extra=arm)
    assert plan.eligible_names == ['w1', 'w2'] and plan.spread == {'w1': 2, 'w2': 2}
    assert not plan.skewed


def test_a_generic_resource_only_two_nodes_have_makes_a_two_two_spread_balanced():
    def gpus(node):
        node['Description']['Resources']['GenericResources'] = [{'DiscreteResourceSpec': {'Kind': 'gpu', 'Value': 2}}]
    plan = plan_on_two_capable_nodes(resources={'GenericResources': [{'DiscreteResourceSpec': {'Kind': 'gpu', 'Value': 1}}]},
                                     node_extra=gpus)
    assert plan.eligible_names == ['w1', 'w2'] and not plan.skewed


def test_a_reservation_only_two_nodes_can_hold_makes_a_two_two_spread_balanced():
    def big(node):
        node['Description']['Resources']['MemoryBytes'] = 64 * 2 ** 30
    plan = plan_on_two_capable_nodes(resources={'MemoryBytes': 16 * 2 ** 30}, node_extra=big)
    assert plan.eligible_names == ['w1', 'w2'] and not plan.skewed


def test_duplicate_hostnames_are_told_apart_by_id():
    nodes = [make_node('id-a', 'twin'), make_node('id-b', 'twin'), make_node('id-c', 'solo')]
    assert node_keys(nodes) == {'id-a': 'twin (id-a)', 'id-b': 'twin (id-b)', 'id-c': 'solo'}


# ---------------------------------------------------------------------------------------
# Constraints
# ---------------------------------------------------------------------------------------

def labelled_node():
    node = make_node('id-w1', 'w1', labels={'zone': 'East', 'Disk': 'ssd'})
    node['Description']['Engine'] = {'Labels': {'os': 'debian'}}
    node['Description']['Platform'] = {'OS': 'linux', 'Architecture': 'x86_64'}
    return node


@pytest.mark.parametrize('constraint, expected', [
    ('node.role==worker', True),
    ('node.role==manager', False),
    ('node.role != manager', True),
    ('node.role==WORKER', True),              # values compare case-insensitively
    ('node.hostname==w1', True),
    ('node.hostname!=w1', False),
    ('node.id==id-w1', True),
    ('node.id!=id-w1', False),
    ('node.labels.zone==east', True),
    ('node.labels.zone == west', False),
    ('node.labels.zone!=west', True),
    ('node.labels.Disk==ssd', True),
    ('node.labels.disk==ssd', False),         # label names are case-sensitive
    ('node.labels.rack==r1', False),          # a missing label is an empty value
    ('node.labels.rack!=r1', True),
    ('Node.Labels.zone==east', True),         # the prefix is not case-sensitive
    ('engine.labels.os==debian', True),
    ('engine.labels.os!=debian', False),
    ('engine.labels.kernel==6', False),
    ('node.platform.os==linux', True),
    ('node.platform.arch!=x86_64', False),
    ('node.ip==10.0.0.0/8', None),            # not understood
    ('node.labels.', None),
    ('whatever', None),
])
def test_node_satisfies(constraint, expected):
    assert node_satisfies(labelled_node(), constraint) is expected


def test_eligible_nodes_need_ready_active_and_matching():
    nodes = seven_nodes(w2={'spec': {'Availability': 'drain'}}, w3={'spec': {'Availability': 'pause'}},
                        w4={'status': {'State': 'down'}})
    eligible, unknown = eligible_nodes(nodes, ['node.role==worker'])
    assert [node['Description']['Hostname'] for node in eligible] == ['w1'] and unknown == []
    eligible, unknown = eligible_nodes(nodes, ['node.role==manager', 'node.ip==10.0.0.0/8'])
    assert [node['Description']['Hostname'] for node in eligible] == ['m1', 'm2', 'm3']
    assert unknown == ['node.ip==10.0.0.0/8']


def test_unknown_constraint_warns_and_counts_every_node(crowded, run_module):
    crowded.service('even')['Spec']['TaskTemplate']['Placement'] = {'Constraints': ['node.ip==10.0.0.0/8']}
    result = run_module(rebalance, dict(services=['even']), check_mode=True)
    assert result['spread_before']['even'] == {'m1': 1, 'm2': 1, 'm3': 1, 'w1': 1, 'w2': 1, 'w3': 0, 'w4': 0}
    assert any('"node.ip==10.0.0.0/8" is not understood' in warning for warning in result.warning_texts)
    assert result['changed'] is False


# ---------------------------------------------------------------------------------------
# The module, four ways
# ---------------------------------------------------------------------------------------

def test_check_mode_lists_what_it_would_touch_and_changes_nothing(crowded, run_module):
    result = run_module(rebalance, {}, check_mode=True, diff=True)
    assert not result.failed and result['changed'] is True
    assert result['rebalanced'] == ['api', 'web'] and forced(crowded) == []
    assert result['spread_before']['web'] == {'m1': 2, 'm2': 2, 'm3': 2, 'w1': 2, 'w2': 2, 'w3': 0, 'w4': 0}
    assert result['spread_before']['api'] == {'w1': 2, 'w2': 1, 'w3': 0, 'w4': 0}
    assert result['spread_after'] == result['spread_before']
    assert result['diff'] == dict(before=dict(api=dict(force_update=3, skew=2), web=dict(force_update=3, skew=2)),
                                  after=dict(api=dict(force_update=4, skew=1), web=dict(force_update=4, skew=1)))
    actions = dict((service['name'], service['action']) for service in result['services'])
    assert actions == dict(agent='skip', api='force_update', even='none', web='force_update')


def test_apply_forces_skewed_services_one_at_a_time_and_waits(crowded, run_module):
    result = run_module(rebalance, {}, diff=True)
    assert not result.failed and result['changed'] is True and result['rebalanced'] == ['api', 'web']
    assert [call[1] for call in forced(crowded)] == ['s-api', 's-web']
    assert result['spread_after']['web'] == spread(crowded, 'web')
    assert sorted(result['spread_after']['web'].values()) == [1, 1, 1, 1, 2, 2, 2]
    assert sorted(result['spread_after']['api'].values()) == [0, 1, 1, 1]
    assert result['spread_after']['even'] == result['spread_before']['even']
    assert result['diff']['after'] == dict(api=dict(force_update=4, skew=1), web=dict(force_update=4, skew=1))
    web = [service for service in result['services'] if service['name'] == 'web'][0]
    assert web['update_state'] == 'completed' and web['skew_after'] == 1 and web['force_update_after'] == 4
    # api was converged before web was touched.
    first_web_update = crowded.calls.index(forced(crowded)[1])
    assert crowded.service('api')['UpdateStatus']['State'] == 'completed'
    assert ('inspect_service', 's-api') in crowded.calls[:first_web_update]


def test_forced_update_sends_the_whole_spec_back_with_only_force_update_raised(crowded, run_module):
    before = copy.deepcopy(crowded.service('web'))
    run_module(rebalance, dict(services=['web']))
    call = forced(crowded)[0]
    assert call[1] == 's-web' and call[2] == before['Version']['Index']
    sent = call[3]
    expected_template = copy.deepcopy(before['Spec']['TaskTemplate'])
    expected_template['ForceUpdate'] = 4
    assert sent['task_template'] == expected_template
    assert sent['update_config'] == {'Parallelism': 2, 'Order': 'stop-first'}   # the service's own, untouched
    assert sent['rollback_config'] == before['Spec']['RollbackConfig']
    assert sent['mode'] == before['Spec']['Mode'] and sent['labels'] == before['Spec']['Labels']
    assert sent['name'] == 'web' and sent['endpoint_spec'] == before['Spec']['EndpointSpec']


def test_second_run_and_check_are_not_changed(crowded, run_module):
    run_module(rebalance, {})
    for check_mode in (False, True):
        result = run_module(rebalance, {}, check_mode=check_mode, diff=True)
        assert not result.failed and result['changed'] is False and result['rebalanced'] == []
        assert result['diff'] == dict(before={}, after={})
    assert len(forced(crowded)) == 2


def test_only_named_services_are_considered(crowded, run_module):
    result = run_module(rebalance, dict(services=['web', 'even']))
    assert result['rebalanced'] == ['web'] and sorted(result['spread_before']) == ['even', 'web']
    assert [call[1] for call in forced(crowded)] == ['s-web']


def test_without_wait_every_skewed_service_is_forced_at_once(crowded, run_module):
    result = run_module(rebalance, dict(wait=False))
    assert result['changed'] is True and [call[1] for call in forced(crowded)] == ['s-api', 's-web']
    assert len(crowded.calls_named('inspect_service')) == 2   # one read per update, no polling


def test_out_of_sequence_is_retried_with_a_fresh_version(crowded, run_module):
    crowded.out_of_sequence = 1
    result = run_module(rebalance, dict(services=['web']))
    assert not result.failed and len(forced(crowded)) == 2


def test_even_replica_count_ends_evenly_spread(engine, run_module):
    engine.services_table = [make_service('s-web', 'web', replicas=14)]
    engine.place('web', 'm1', 'm1', 'm1', 'm2', 'm2', 'm2', 'm3', 'm3', 'w1', 'w1', 'w2', 'w2', 'w3', 'w4')
    assert run_module(rebalance, dict(max_skew=2), check_mode=True)['changed'] is False
    result = run_module(rebalance, dict(max_skew=0))
    assert result['changed'] is True and set(result['spread_after']['web'].values()) == {2}
    assert run_module(rebalance, dict(max_skew=0))['changed'] is False


# ---------------------------------------------------------------------------------------
# Never touched
# ---------------------------------------------------------------------------------------

def test_global_service_is_never_touched_even_when_named(crowded, run_module):
    result = run_module(rebalance, dict(services=['agent']))
    assert result['changed'] is False and forced(crowded) == []
    assert result['services'][0]['action'] == 'skip' and 'global' in result['services'][0]['reason']
    assert any('agent was not rebalanced: global service' in warning for warning in result.warning_texts)


def test_job_and_placement_preferences_are_skipped(engine, run_module):
    job = make_service('s-job', 'job', replicas=1)
    job['Spec']['Mode'] = {'ReplicatedJob': {'MaxConcurrent': 1, 'TotalCompletions': 1}}
    zoned = make_service('s-zoned', 'zoned', replicas=4)
    zoned['Spec']['TaskTemplate']['Placement'] = {'Preferences': [{'Spread': {'SpreadDescriptor': 'node.labels.zone'}}]}
    engine.services_table = [job, zoned]
    engine.place('zoned', 'm1', 'm1', 'm1', 'm1')
    result = run_module(rebalance, {})
    assert result['changed'] is False and forced(engine) == []
    reasons = dict((service['name'], service['reason']) for service in result['services'])
    assert 'job' in reasons['job'] and 'placement preferences' in reasons['zoned']
    assert any('zoned was not rebalanced' in warning for warning in result.warning_texts)


def test_service_in_the_middle_of_an_update_is_skipped(crowded, run_module):
    crowded.service('web')['UpdateStatus'] = {'State': 'updating'}
    result = run_module(rebalance, {})
    assert result['rebalanced'] == ['api'] and [call[1] for call in forced(crowded)] == ['s-api']
    assert any('web was not rebalanced: an update is in progress' in warning for warning in result.warning_texts)


def test_service_without_eligible_node_is_skipped(crowded, run_module):
    crowded.service('api')['Spec']['TaskTemplate']['Placement'] = {'Constraints': ['node.labels.zone==mars']}
    result = run_module(rebalance, dict(services=['api']))
    assert result['changed'] is False and 'no eligible node' in result['services'][0]['reason']
    assert result['services'][0]['running_on_ineligible_nodes'] == {'w1': 2, 'w2': 1}


# ---------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------

def test_unknown_service_is_refused_before_anything_changes(crowded, run_module):
    result = run_module(rebalance, dict(services=['web', 'nope', 'gone']))
    assert result.failed and forced(crowded) == []
    assert 'Services nope, gone not found' in result.msg and 'agent, api, even, web' in result.msg


@pytest.mark.parametrize('check_mode', [False, True])
def test_negative_max_skew_is_refused(crowded, run_module, check_mode):
    result = run_module(rebalance, dict(max_skew=-1), check_mode=check_mode)
    assert result.failed and 'max_skew must be 0 or more, got -1' in result.msg and forced(crowded) == []


@pytest.mark.parametrize('state', ['paused', 'rollback_paused'])
def test_skewed_service_with_a_stuck_update_is_refused_before_anything_changes(crowded, run_module, state):
    crowded.service('web')['UpdateStatus'] = {'State': state, 'Message': 'update paused due to failure'}
    result = run_module(rebalance, {})
    assert result.failed and forced(crowded) == []
    assert 'web: last update %s (update paused due to failure)' % state in result.msg
    assert 'Nothing was changed' in result.msg


def test_balanced_service_with_a_paused_update_is_left_alone(crowded, run_module):
    crowded.service('even')['UpdateStatus'] = {'State': 'paused'}
    result = run_module(rebalance, dict(services=['even']))
    assert not result.failed and result['changed'] is False


@pytest.mark.parametrize('outcome', ['paused', 'rollback_completed'])
def test_update_ending_paused_or_rolled_back_stops_the_run(crowded, run_module, outcome):
    crowded.outcome['api'] = outcome
    result = run_module(rebalance, {})
    assert result.failed and result['changed'] is True
    assert 'The forced update of service api ended %s: update paused due to failure of task x' % outcome in result.msg
    assert 'Services not touched: web' in result.msg
    assert [call[1] for call in forced(crowded)] == ['s-api'] and result['rebalanced'] == ['api']
    assert result['pending']['update_state'] == outcome
    assert all(service['spread_after'] is None for service in result['services'])   # not measured


def test_timeout_names_what_is_pending_and_leaves_the_rest(crowded, run_module, fake_clock):
    crowded.outcome['api'] = 'hang'
    result = run_module(rebalance, dict(timeout=30))
    assert result.failed and 'Timed out after 30' in result.msg
    assert 'api: update state updating, 3 of 3 running, 3 still from before the forced update' in result.msg
    assert 'Services not touched: web' in result.msg and [call[1] for call in forced(crowded)] == ['s-api']
    assert result['pending'] == dict(update_state='updating', update_message='update in progress', running=3,
                                     target=3, old_tasks_running=3)


# ---------------------------------------------------------------------------------------
# Convergence and the SDK
# ---------------------------------------------------------------------------------------

def running_task(force_update, state='running'):
    return {'ServiceID': 's-web', 'NodeID': 'id-m1', 'DesiredState': 'running', 'Status': {'State': state},
            'Spec': {'ForceUpdate': force_update}}


@pytest.mark.parametrize('status, tasks, done', [
    (None, [running_task(3), running_task(3)], False),            # update accepted, not started: old tasks
    ({'State': 'updating'}, [running_task(4), running_task(4)], False),
    ({'State': 'completed'}, [running_task(4), running_task(4)], True),
    (None, [running_task(4), running_task(4)], True),             # no update in progress, all new
    ({'State': 'completed'}, [running_task(4)], False),           # one replica still missing
    ({'State': 'completed'}, [running_task(4), running_task(4, 'starting')], False),
    ({'State': 'completed'}, [running_task(4), running_task(4), running_task(3)], False),   # start-first overlap
])
def test_convergence(status, tasks, done):
    service = {'ID': 's-web'}
    if status:
        service['UpdateStatus'] = status
    assert convergence(service, tasks, 4, 2)[0] is done


@pytest.mark.parametrize('version', ['1.41', '1.45'])
def test_kwargs_fit_the_sdk_low_level_update(crowded, mocker, version):
    """The real docker.APIClient.update_service turns the kwargs into the whole spec, unchanged but ForceUpdate."""
    api = docker.APIClient(base_url='unix:///nonexistent.sock', version=version)
    post = mocker.patch.object(api, '_post_json', return_value=mocker.MagicMock(status_code=200))
    mocker.patch.object(api, '_result', return_value={'Warnings': None})
    mocker.patch.object(api, 'inspect_service', side_effect=crowded.inspect_service)
    module = mocker.MagicMock(params=dict(docker_host='unix:///nonexistent.sock', timeout=30))
    service = crowded.service('web')
    service['Spec']['TaskTemplate']['Networks'] = [{'Target': 'net1'}]
    before = copy.deepcopy(service['Spec'])
    client = swarm.SwarmClient(module, api=api)
    plan = ServicePlan(crowded.service('web'), crowded.nodes_table, crowded.tasks_table, node_keys(crowded.nodes_table), 1)
    assert rebalance.Rebalance(module, client).force_update(plan) == 4
    args, kwargs = post.call_args
    assert kwargs['params'] == {'version': 100}
    expected = copy.deepcopy(before)
    expected['TaskTemplate']['ForceUpdate'] = 4
    assert kwargs['data'] == expected


def test_a_service_still_skewed_after_one_pass_is_forced_again(crowded, run_module):
    # The first rolling pass puts the replacements back on the crowded nodes (the scheduler
    # may do that while old tasks still count); the module sees the skew and forces again.
    crowded.service('web')['_allowed'] = ['m1', 'm2', 'm3', 'w1', 'w2']
    real_roll = crowded.roll

    def roll_then_free(service):
        real_roll(service)
        if service['Spec']['Name'] == 'web' and (service.get('UpdateStatus') or {}).get('State') == 'completed':
            service.pop('_allowed', None)

    crowded.roll = roll_then_free
    result = run_module(rebalance, dict(services=['web']))
    assert not result.failed and result['changed'] is True and result['rebalanced'] == ['web']
    assert [call[1] for call in forced(crowded)] == ['s-web', 's-web']
    assert sorted(result['spread_after']['web'].values()) == [1, 1, 1, 1, 2, 2, 2]


def test_a_service_that_stays_skewed_is_forced_at_most_three_times(crowded, run_module):
    crowded.service('web')['_allowed'] = ['m1', 'm2', 'm3', 'w1', 'w2']
    result = run_module(rebalance, dict(services=['web']))
    assert [call[1] for call in forced(crowded)] == ['s-web'] * rebalance.ROUNDS
    assert result['rebalanced'] == ['web']
