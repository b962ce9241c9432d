# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.modules import swarm_lock
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import LOCKED, NO_LEADER, NOT_MANAGER


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
