# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake engine enforces what the Docker API enforces (issue 14.6): task filters here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from docker.errors import APIError

from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import FakeEngine, make_service


@pytest.fixture
def fake():
    engine = FakeEngine(services=[make_service('s-web', 'web', replicas=2), make_service('s-db', 'db', replicas=1)])
    engine.scheduler_paused = True
    engine.place('s-web', 'w1', 'w2')
    engine.place('s-db', 'w1')
    engine.add_task('s-web', 'm1', state='shutdown', desired='shutdown')
    return engine


def ids(tasks):
    return sorted(task['ID'] for task in tasks)


def test_task_filters_match_as_the_engine_does(fake):
    everything = fake.tasks()
    assert len(everything) == 4
    web = [task for task in everything if task['ServiceID'] == 's-web']
    assert ids(fake.tasks(filters={'service': 'web'})) == ids(web)
    assert ids(fake.tasks(filters={'service': 's-web'})) == ids(web)
    assert ids(fake.tasks(filters={'service': ['web', 'db']})) == ids(everything)
    running = [task for task in everything if task['DesiredState'] == 'running']
    assert ids(fake.tasks(filters={'desired-state': 'running'})) == ids(running)
    assert len(fake.tasks(filters={'desired-state': 'shutdown'})) == 1
    assert len(fake.tasks(filters={'service': 'web', 'desired-state': 'running', 'node': 'w1'})) == 1
    assert fake.tasks(filters={'node': 'id-m2'}) == []


@pytest.mark.parametrize('filters', [{'services': 'web'}, {'desired-state': 'complete'}])
def test_a_filter_the_engine_does_not_know_is_refused(fake, filters):
    with pytest.raises(APIError):
        fake.tasks(filters=filters)


def running_nodes(engine, service_id):
    return sorted(engine.node(task['NodeID'])['Description']['Hostname'] for task in engine.tasks_table
                  if task['ServiceID'] == service_id and task['DesiredState'] == 'running' and task['NodeID'])


def test_the_scheduler_places_by_the_services_own_placement_fields():
    engine = FakeEngine(services=[make_service('s-app', 'app', replicas=4)])
    engine.node('w1')['Spec']['Labels']['tier'] = 'app'
    engine.node('w2')['Spec']['Labels']['tier'] = 'app'
    engine.constrain('s-app', 'node.labels.tier == app', 'node.role != manager', MaxReplicas=1)
    for dummy in range(4):
        engine.tasks()
    # Two nodes match, one replica each; the other two wait without a node, as on an engine.
    assert running_nodes(engine, 's-app') == ['w1', 'w2']
    assert len([task for task in engine.tasks_table if task['ServiceID'] == 's-app' and not task['NodeID']]) == 1
    # A constraint it does not model is an error in the test, not silently satisfied.
    engine.constrain('s-app', 'engine.labels.x == y')
    engine.tasks_table = []
    with pytest.raises(ValueError):
        engine.tasks()
