# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cluster_health: the health gate of maintain.yml, and its refusals."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmops.lifecycle.plugins.modules import cluster_health
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import cluster, make_service


def test_a_healthy_swarm(engine, run_module):
    engine.services_table = [make_service('s-web', 'web', replicas=2)]
    engine.step()
    engine.step()
    result = run_module(cluster_health, dict(wait=True))
    assert not result.failed and result['healthy'] is True and result['problems'] == []
    assert (result['leader'], result['managers_total'], result['managers_reachable']) == ('m1', 3, 3)


def test_a_down_worker_that_is_still_listed_names_the_way_out(engine, run_module):
    # Issue 11.7: the refusal blocked maintain.yml's preflight without saying how to go on.
    engine.nodes_table = cluster(unreachable=('w2',))
    result = run_module(cluster_health, dict())
    assert result.failed and result['healthy'] is False
    assert ('node w2 (id-w2) is down, not ready: bring it back, or, if it is gone for good, remove it with '
            '"docker node rm w2" (a manager: recover.yml)') in result.msg, result.msg
    assert 'Nothing was changed' in result.msg


def test_an_unreachable_manager_names_recover(engine, run_module):
    engine.nodes_table = cluster(unreachable=('m3',))
    result = run_module(cluster_health, dict())
    assert result.failed
    assert ('manager m3 (id-m3) is unreachable, not reachable: bring it back, or run recover.yml to remove it and '
            'restore the manager count') in result.msg, result.msg


def test_a_service_short_of_replicas_is_named_with_its_numbers(engine, run_module):
    engine.services_table = [make_service('s-web', 'web', replicas=3)]
    engine.scheduler_paused = True
    result = run_module(cluster_health, dict())
    assert result.failed and 'service web runs 0 of 3 replicas' in result.msg
