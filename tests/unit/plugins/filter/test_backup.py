# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""backup.yml's decision (plugins/filter/_backup.py): every refusal and every choice of manager."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.swarmops.lifecycle.plugins.filter._backup import backup_plan


def entry(name):
    return dict(id='id-' + name, hostname=name, addr='10.0.0.1:2377')


def view(managers=('m1', 'm2', 'm3'), unreachable=(), leader='m1', autolock=False):
    reachable = [name for name in managers if name not in unreachable]
    return dict(has_quorum=True, managers_total=len(managers), managers_reachable=len(reachable),
                managers_unreachable=len(unreachable), reachable_managers=[entry(name) for name in reachable],
                unreachable_managers=[entry(name) for name in unreachable], leader=entry(leader),
                quorum_size=len(managers) // 2 + 1, autolock=autolock)


def managers(the_view, names=('m1', 'm2', 'm3'), silent=()):
    out = []
    for name in names:
        if name in silent:
            out.append(dict(host=name, node_id='', answer='%s: unreachable: gone' % name, quorum={}))
        else:
            out.append(dict(host=name, node_id='id-' + name, answer='%s: quorum' % name, quorum=the_view))
    return out


def test_the_last_reachable_non_leader_is_backed_up():
    the_view = view()
    plan = backup_plan(managers(the_view))
    assert (plan['target'], plan['via'], plan['refusal']) == ('m3', 'm1', '')
    assert plan['view'] is the_view


def test_a_named_non_leader_is_backed_up():
    assert backup_plan(managers(view()), backup_host='m2')['target'] == 'm2'


@pytest.mark.parametrize('case, kwargs, refusal', [
    ('empty group', dict(managers=[]), "inventory group 'swarm_managers' is empty or missing; set swarmops_manager_group"),
    ('host outside the group', dict(backup_host='w1'),
     "swarm_backup_host=w1 is not a host of 'swarm_managers' (hosts: m1, m2, m3)."),
    ('the leader by name', dict(backup_host='m1'),
     'm1 is the leader: stopping it forces a leader election. Back up a non-leader (m2, m3)'),
    ('autolock without a key', dict(the_view=view(autolock=True)),
     'the swarm is autolocked: m3 comes back locked after its engine restarts'),
])
def test_refusals(case, kwargs, refusal):
    the_view = kwargs.pop('the_view', view())
    seen = kwargs.pop('managers', managers(the_view))
    plan = backup_plan(seen, **kwargs)
    assert plan['refusal'].startswith(refusal), (case, plan['refusal'])


def test_no_manager_with_quorum():
    seen = [dict(host='m1', node_id='id-m1', answer='m1: no quorum', quorum={}),
            dict(host='m2', node_id='', answer='m2: unreachable: gone', quorum={})]
    plan = backup_plan(seen)
    assert plan['refusal'] == ("no manager of 'swarm_managers' answered with quorum (m1: no quorum; m2: unreachable: "
                               "gone). A backup needs a swarm with quorum: recover it first (recover.yml), or restore "
                               "a backup (restore.yml).")


def test_a_named_manager_that_is_not_reachable():
    the_view = view(unreachable=('m3',))
    plan = backup_plan(managers(the_view, silent=('m3',)), backup_host='m3')
    assert plan['refusal'].startswith('swarm_backup_host=m3 is not a reachable manager of this swarm '
                                      '(m3: unreachable: gone; reachable managers: m1, m2).')


def test_stopping_a_manager_that_would_lose_quorum():
    the_view = view(unreachable=('m3',))
    plan = backup_plan(managers(the_view, silent=('m3',)))
    assert plan['target'] == 'm2'
    assert plan['refusal'].startswith('stopping m2 would lose quorum: 2 of 3 managers are reachable and quorum is 2 '
                                      '(unreachable: m3).')


def test_five_managers_with_one_down_keep_quorum_while_one_is_stopped():
    names = ('m1', 'm2', 'm3', 'm4', 'm5')
    the_view = view(managers=names, unreachable=('m5',))
    plan = backup_plan(managers(the_view, names=names, silent=('m5',)))
    assert (plan['target'], plan['refusal']) == ('m4', '')


def test_the_only_manager_is_refused_unless_allowed():
    the_view = view(managers=('m1',))
    plan = backup_plan(managers(the_view, names=('m1',)))
    assert plan['target'] == 'm1'
    assert plan['refusal'].startswith('m1 is the only manager of the swarm: stopping its engine')
    assert backup_plan(managers(the_view, names=('m1',)), allow_only_manager=True)['refusal'] == ''


def test_only_the_leader_reachable_among_three():
    the_view = view(unreachable=('m2', 'm3'))
    the_view['has_quorum'] = True  # a leader that has not stepped down yet
    plan = backup_plan(managers(the_view, silent=('m2', 'm3')))
    assert plan['target'] == ''
    assert plan['refusal'].startswith("no reachable manager of 'swarm_managers' other than the leader (m1) to back up")


def test_autolock_with_a_key_is_allowed():
    assert backup_plan(managers(view(autolock=True)), unlock_key_given=True)['refusal'] == ''


# -- the wait after the engine is started again: it ends naming what is missing ----------

def test_backup_manager_not_back_names_the_node_and_what_the_swarm_says():
    from ansible_collections.swarmops.lifecycle.plugins.filter._backup import backup_manager_not_back
    back = view()
    assert backup_manager_not_back(back, 'id-m1', 'm1', 300) == ''
    # Reachable majority, but this manager is not among the reachable ones yet.
    missing = view(unreachable=('m1',), leader='m2')
    why = backup_manager_not_back(missing, 'id-m1', 'm1', 300)
    assert why.startswith('After 300 s m1 (node id-m1) is not back as a reachable manager')
    assert 'reachable managers: m2, m3' in why
    # No quorum.
    lost = dict(view(unreachable=('m2', 'm3')), has_quorum=False)
    assert '1 of 3 managers reachable, quorum 2' in backup_manager_not_back(lost, 'id-m1', 'm1', 300)
    # The module itself failed (the engine stopped answering again).
    failed = dict(failed=True, msg='Docker engine at unix:///var/run/docker.sock did not answer')
    assert 'quorum_info on it did not answer: Docker engine at' in backup_manager_not_back(failed, 'id-m1', 'm1', 300)
