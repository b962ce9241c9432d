# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The placement model (module_utils/_placement.py) that drain and rebalance share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.module_utils._placement import Placement, platform_matches
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import cluster, make_node, make_service


def node_with(platform=None, resources=None):
    node = cluster(managers=1, workers=0)[0]
    node['Description']['Platform'] = platform or {'OS': 'linux', 'Architecture': 'x86_64'}
    node['Description']['Resources'] = resources or {}
    return node


@pytest.mark.parametrize('wanted, expected', [
    ({'OS': 'linux', 'Architecture': 'amd64'}, True),      # x86_64 is amd64, as swarmkit normalises it
    ({'OS': 'linux', 'Architecture': ''}, True),           # an empty field matches any
    ({'OS': 'windows', 'Architecture': 'amd64'}, False),
    ({'OS': 'linux', 'Architecture': 'arm64'}, False),
    ({'OS': 'Linux', 'Architecture': 'amd64'}, False),     # compared as it is, like the scheduler
])
def test_platforms_match_as_swarmkits_filter(wanted, expected):
    assert platform_matches(node_with(), [wanted]) is expected
    assert platform_matches(node_with(), []) is True


def service_with(placement=None, reservations=None):
    service = make_service('s-x', 'x', replicas=4)
    service['Spec']['TaskTemplate']['Placement'] = placement or {}
    if reservations:
        service['Spec']['TaskTemplate']['Resources'] = {'Reservations': reservations}
    return service


def task_on(node, service, task_id='t1', state='running'):
    return {'ID': task_id, 'ServiceID': service['ID'], 'NodeID': node['ID'], 'DesiredState': 'running',
            'Status': {'State': state}, 'Spec': service['Spec']['TaskTemplate']}


def test_room_counts_own_tasks_against_max_replicas_and_resources():
    node = node_with(resources={'NanoCPUs': 4 * 10 ** 9, 'MemoryBytes': 2 ** 30})
    capped = Placement(service_with(placement={'MaxReplicas': 2}))
    assert capped.room_on(node, []) == 2
    roomy = Placement(service_with(reservations={'NanoCPUs': 10 ** 9}))
    service = service_with(reservations={'NanoCPUs': 10 ** 9})
    tasks = [task_on(node, service, 't1'), task_on(node, service, 't2')]
    # 4 CPUs, two tasks of one CPU each already there: room for four in all.
    assert roomy.room_on(node, tasks) == 4
    # A task that is leaving frees its reservation.
    assert roomy.room_on(node, tasks, leaving=('t1',)) == 4
    assert Placement(service_with()).room_on(node, tasks) is None


def test_named_and_discrete_generic_resources():
    node = node_with(resources={'GenericResources': [
        {'NamedResourceSpec': {'Kind': 'gpu', 'Value': 'GPU-0'}}, {'NamedResourceSpec': {'Kind': 'gpu', 'Value': 'GPU-1'}},
        {'DiscreteResourceSpec': {'Kind': 'ssd', 'Value': 1}}]})
    gpu = Placement(service_with(reservations={'GenericResources': [{'DiscreteResourceSpec': {'Kind': 'gpu', 'Value': 1}}]}))
    assert gpu.room_on(node, []) == 2
    ssd = Placement(service_with(reservations={'GenericResources': [{'DiscreteResourceSpec': {'Kind': 'ssd', 'Value': 2}}]}))
    assert ssd.room_on(node, []) == 0


def test_capacity_names_why_no_other_node_can_run_it():
    nodes = cluster(managers=3, workers=2, unreachable=('w2',))
    placement = Placement(service_with(placement={'Constraints': ['node.role == worker']}))
    count, reason = placement.capacity(nodes, [], exclude=('id-w1',))
    assert count == 0
    assert "it does not match the constraint 'node.role == worker'" in reason and 'it is down' in reason
    assert placement.capacity(nodes, [], exclude=('id-m1',)) == (None, '')


def test_a_host_mode_port_allows_one_task_per_node_and_none_where_another_service_holds_it():
    nodes = [make_node('id-a', 'a'), make_node('id-b', 'b'), make_node('id-c', 'c')]
    solo = make_service('s-solo', 'solo')
    solo['Spec']['EndpointSpec'] = {'Ports': [{'PublishedPort': 8080, 'TargetPort': 80, 'PublishMode': 'host'}]}
    held = {'ID': 't-other', 'ServiceID': 's-other', 'NodeID': 'id-c', 'DesiredState': 'running',
            'Status': {'State': 'running', 'PortStatus': {'Ports': [{'PublishedPort': 8080, 'PublishMode': 'host'}]}}}
    own = {'ID': 't-solo', 'ServiceID': 's-solo', 'NodeID': 'id-a', 'DesiredState': 'running',
           'Status': {'State': 'running', 'PortStatus': {'Ports': [{'PublishedPort': 8080, 'PublishMode': 'host'}]}}}
    placement = Placement(solo)
    assert placement.host_ports == {8080}
    assert [placement.room_on(node, [held, own]) for node in nodes] == [1, 1, 0]
    capacity, reason = placement.capacity(nodes, [held, own], exclude=['id-a'])
    assert capacity == 1 and 'host port 8080' in reason
    # Once the other task is leaving, its node can take one.
    assert placement.room_on(nodes[2], [held, own], leaving=['t-other']) == 1
    # An ingress-published port binds no node.
    solo['Spec']['EndpointSpec']['Ports'][0]['PublishMode'] = 'ingress'
    assert Placement(solo).room_on(nodes[2], [held]) is None
