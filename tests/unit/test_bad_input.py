# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bad input (issue 7) without the lab.

- ``timeout`` of 0 or less is refused by every module, before the engine is contacted.
- ``swarm_cluster_bootstrap_host`` is validated by the role (preflight) and a bootstrap host
  that does not take part in the run is refused (bootstrap).
- A dry run of molecule/bad-input/tests/matrix.yml: module rows against the fake engine modelled on
  the lab, and the playbook rows that fail before any module runs (site.yml, recover.yml,
  restore.yml) against local fake hosts whose Python does not exist, in check mode, so that
  nothing can reach an engine. The Molecule scenario runs the same rows on the real lab.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import importlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from ansible_collections.swarmops.lifecycle.plugins.module_utils import swarm
from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import DEFAULT_TIMEOUT, SwarmClient
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import (
    LOCKED,
    NOT_MANAGER,
    api_error,
    make_node,
    make_service,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO_TESTS = os.path.join(REPO, 'molecule', 'bad-input', 'tests')
MODULES = ['cluster_health', 'demote', 'drain', 'force_new_cluster', 'promote', 'quorum_info', 'rebalance', 'swarm_lock']
# What each module needs besides timeout; the node and service do not exist on purpose.
REQUIRED = dict(demote=dict(node='nowhere'), drain=dict(node='nowhere'), promote=dict(node='nowhere'),
                swarm_lock=dict(owner='unit-test', state='absent'))
REAL_CONNECT = SwarmClient._connect

sys.path.insert(0, SCENARIO_TESTS)
badinput = importlib.import_module('badinput')


def load_module(name):
    return importlib.import_module('ansible_collections.swarmops.lifecycle.plugins.modules.%s' % name)


# ---------------------------------------------------------------------------------------
# timeout
# ---------------------------------------------------------------------------------------

@pytest.fixture
def no_engine(monkeypatch):
    """Records every attempt to connect to an engine."""
    attempts = []
    monkeypatch.setattr(SwarmClient, '_connect', lambda self: attempts.append(self.docker_host))
    return attempts


@pytest.mark.parametrize('timeout', [0, -1, -300])
@pytest.mark.parametrize('name', MODULES)
def test_every_module_refuses_a_timeout_that_is_not_positive(no_engine, run_module, name, timeout):
    args = dict(REQUIRED.get(name, {}), timeout=timeout)
    result = run_module(load_module(name), args)
    assert result.failed
    assert result.msg.startswith('timeout must be a positive number of seconds, got %d. Nothing was changed.' % timeout)
    assert 'leave timeout out for the default of %d' % DEFAULT_TIMEOUT in result.msg
    assert no_engine == []
    assert not result.get('changed')


@pytest.mark.parametrize('check_mode', [True, False])
def test_timeout_is_refused_in_check_mode_too(no_engine, run_module, check_mode):
    result = run_module(load_module('drain'), dict(node='w1', timeout=0), check_mode=check_mode)
    assert result.failed and 'got 0' in result.msg and no_engine == []


class FakeModule(object):
    def __init__(self, **params):
        self.params = dict(docker_host='unix:///var/run/docker.sock')
        self.params.update(params)
        self.failures = []

    def fail_json(self, **kwargs):
        self.failures.append(kwargs)
        raise SystemExit(1)


@pytest.mark.parametrize('given, expected', [(1, 1), (45, 45), (None, DEFAULT_TIMEOUT)])
def test_positive_or_absent_timeout_sets_the_deadline(fake_clock, given, expected):
    params = dict() if given is None else dict(timeout=given)
    client = SwarmClient(FakeModule(**params), api=object())
    assert client.timeout == expected
    assert client.deadline == fake_clock.now + expected


def test_explicit_null_timeout_means_the_default(fake_clock):
    client = SwarmClient(FakeModule(timeout=None), api=object())
    assert client.timeout == DEFAULT_TIMEOUT


def test_client_fails_on_zero_before_connecting(no_engine):
    module = FakeModule(timeout=0)
    with pytest.raises(SystemExit):
        SwarmClient(module)
    assert len(module.failures) == 1 and 'got 0' in module.failures[0]['msg'] and no_engine == []


def test_timeout_one_still_works_end_to_end(engine, run_module):
    result = run_module(load_module('quorum_info'), dict(timeout=1))
    assert not result.failed and result['managers_total'] == 3


# ---------------------------------------------------------------------------------------
# Playbooks on local fake hosts (no Python: no module can run, nothing can reach an engine)
# ---------------------------------------------------------------------------------------

LAB_NAMES = dict(m1='node1', m2='node2', m3='node3', w1='node4', w2='node5', s1='node6',
                 other_owner='someone-else@elsewhere', wrong_unlock_key=badinput.wrong_unlock_key())
DEFAULT_GROUPS = dict(swarm_managers=['node1', 'node2', 'node3'], swarm_workers=['node4', 'node5'])


@pytest.fixture(scope='module')
def ansible_env(tmp_path_factory):
    root = tmp_path_factory.mktemp('collections')
    os.makedirs(str(root / 'ansible_collections' / 'swarmops'))
    os.symlink(REPO, str(root / 'ansible_collections' / 'swarmops' / 'lifecycle'))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(root), ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
               ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_ROLES_PATH=os.path.join(REPO, 'roles'), DOCKER_HOST='unix:///nonexistent/docker.sock')
    env.pop('ANSIBLE_INVENTORY', None)
    workdir = tmp_path_factory.mktemp('runs')
    config = workdir / 'ansible.cfg'
    config.write_text(u'[defaults]\ninterpreter_python = auto_silent\n')
    env['ANSIBLE_CONFIG'] = str(config)
    return env, workdir


def fake_inventory(path, groups):
    hosts = {}
    for group, members in groups.items():
        hosts[group] = {'hosts': dict((host, {'swarm_advertise_addr': '192.0.2.%d' % (10 + index)})
                                      for index, host in enumerate(members or []))}
    inventory = {'swarmops_lab': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '/nonexistent/python3'},
        'children': hosts}}
    with open(path, 'w') as handle:
        yaml.safe_dump(inventory, handle)
    return path


def run_playbook(env_and_dir, name, playbook, groups, extra_vars=None, limit=None):
    env, workdir = env_and_dir
    inventory = fake_inventory(str(workdir / ('%s-inventory.yml' % name)), groups)
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '--check', playbook]
    if extra_vars:
        argv += ['-e', json.dumps(extra_vars)]
    if limit:
        argv += ['--limit', limit]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(workdir), timeout=300, check=False)
    document = badinput.parse_run(done.stdout)
    messages = [message for dummy, dummy2, message in badinput.failure_messages(document)]
    return done.returncode, messages, done.stdout + done.stderr


def write_role_playbook(workdir, name, tasks_from, play_vars, hosts='swarm_managers:swarm_workers'):
    play = [{'name': name, 'hosts': hosts, 'gather_facts': False, 'vars': play_vars,
             'tasks': [{'name': 'role tasks', 'ansible.builtin.include_role': {
                 'name': 'swarmops.lifecycle.swarm_cluster', 'tasks_from': tasks_from}}]}]
    path = str(workdir / ('%s.yml' % name))
    with open(path, 'w') as handle:
        json.dump(play, handle)
    return path


ROLE_CASES = [
    # (id, tasks_from, groups, play vars, hosts pattern, expected message regex or None for success)
    ('preflight-default', 'preflight', DEFAULT_GROUPS, {}, None, None),
    ('preflight-bootstrap-manager', 'preflight', DEFAULT_GROUPS, {'swarm_cluster_bootstrap_host': 'node2'}, None, None),
    ('preflight-bootstrap-worker', 'preflight', DEFAULT_GROUPS, {'swarm_cluster_bootstrap_host': 'node4'}, None,
     r'^swarm_cluster_bootstrap_host=node4 is in swarm_workers, swarmops_lab, not in swarm_managers: only a host of '
     r'swarm_managers \(node1, node2, node3\) can bootstrap the swarm as its first manager\. Nothing was changed\. '
     r'Name a host of swarm_managers, or leave swarm_cluster_bootstrap_host empty to bootstrap on the first one\.$'),
    ('preflight-bootstrap-unknown', 'preflight', DEFAULT_GROUPS, {'swarm_cluster_bootstrap_host': 'nowhere'}, None,
     r'^swarm_cluster_bootstrap_host=nowhere is not a host of the inventory: only a host of swarm_managers'),
    ('preflight-bootstrap-other-group', 'preflight', dict(DEFAULT_GROUPS, spare=['node9']),
     {'swarm_cluster_bootstrap_host': 'node9'}, None,
     r'^swarm_cluster_bootstrap_host=node9 is in spare, swarmops_lab, not in swarm_managers:'),
    ('preflight-empty-group-comes-first', 'preflight', dict(swarm_managers=[], swarm_workers=['node4']),
     {'swarm_cluster_bootstrap_host': 'node4'}, None, r'^Inventory group swarm_managers is empty or missing'),
    ('bootstrap-host-left-out', 'bootstrap', DEFAULT_GROUPS,
     {'swarm_cluster_bootstrap_host': 'node2', '_swarm_cluster_via': '', '_swarm_cluster_members': []},
     'swarm_managers:swarm_workers:!node2',
     r'^No swarm exists yet and swarm_cluster_bootstrap_host=node2 is unreachable or left out of this run \(--limit '
     r'or an earlier failure\), so nothing can initialise it\.'),
    ('bootstrap-no-manager-in-the-run', 'bootstrap', DEFAULT_GROUPS,
     {'_swarm_cluster_via': '', '_swarm_cluster_members': []}, 'swarm_workers',
     r'^No swarm exists yet and no host of swarm_managers takes part in this run, so nothing can initialise it\.'),
]


@pytest.fixture(scope='module')
def role_runs(ansible_env):
    env, workdir = ansible_env

    def one(case):
        name, tasks_from, groups, play_vars, hosts, dummy = case
        playbook = write_role_playbook(workdir, name, tasks_from, play_vars, hosts or 'swarm_managers:swarm_workers')
        return run_playbook(ansible_env, name, playbook, groups)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip([case[0] for case in ROLE_CASES], pool.map(one, ROLE_CASES)))


@pytest.mark.parametrize('case', ROLE_CASES, ids=[case[0] for case in ROLE_CASES])
def test_swarm_cluster_bootstrap_host(role_runs, case):
    name, dummy, dummy2, dummy3, dummy4, expected = case
    rc, messages, output = role_runs[name]
    if expected is None:
        assert rc == 0 and messages == [], output[-3000:]
    else:
        assert rc != 0 and any(re.search(expected, message) for message in messages), (messages, output[-3000:])


def test_bootstrap_host_is_documented():
    with open(os.path.join(REPO, 'roles', 'swarm_cluster', 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(REPO, 'roles', 'swarm_cluster', 'meta', 'argument_specs.yml')) as handle:
        spec = yaml.safe_load(handle)['argument_specs']['main']['options']
    assert defaults['swarm_cluster_bootstrap_host'] == ''
    assert spec['swarm_cluster_bootstrap_host']['type'] == 'str' and spec['swarm_cluster_bootstrap_host']['default'] == ''


# ---------------------------------------------------------------------------------------
# The matrix, dry
# ---------------------------------------------------------------------------------------

MATRIX = badinput.load_matrix(os.path.join(SCENARIO_TESTS, 'matrix.yml'))
# Playbook rows that fail on the controller before any module runs.
OFFLINE_PLAYBOOKS = ('site.yml', 'recover.yml', 'restore.yml')
# Restore rows whose refusal needs the hosts' addresses or engines: run on the lab only.
ENGINE_ROWS = ('restore-archive-of-an-address-no-host-has', 'restore-onto-a-live-swarm')
PLAYBOOK_ROWS = [row for row in MATRIX if row.get('playbook') in OFFLINE_PLAYBOOKS and not row.get('gap')
                 and row['id'] not in ENGINE_ROWS]
MODULE_ROWS = [row for row in MATRIX if 'module' in row]


def test_matrix_is_well_formed():
    assert badinput.matrix_problems(MATRIX) == []
    assert len(set(row['given'] for row in MATRIX)) == len(badinput.GIVENS)


def test_matrix_covers_the_issue():
    ids = set(row['id'] for row in MATRIX)
    for wanted in ('drain-unknown-node', 'demote-the-last-manager', 'demote-that-loses-quorum', 'site-even-manager-count',
                   'force-new-cluster-on-healthy-cluster', 'force-new-cluster-wrong-unlock-key', 'site-empty-manager-group',
                   'site-host-in-both-groups', 'site-worker-as-bootstrap-host', 'drain-impossible-budget-percent',
                   'drain-on-a-locked-engine', 'drain-timeout-zero', 'delegate-to-a-manager-whose-engine-is-down'):
        assert wanted in ids


def names_for(tmp_path, archives=''):
    return dict(LAB_NAMES, empty_dir=str(tmp_path), archives=archives)


@pytest.fixture(scope='module')
def playbook_runs(ansible_env, tmp_path_factory):
    empty = tmp_path_factory.mktemp('empty')
    archives = badinput.fake_archives(str(tmp_path_factory.mktemp('archives')), LAB_NAMES['m1'], '192.0.2.11')

    def one(row):
        names = names_for(empty, archives)
        groups = badinput.substitute(row['inventory'], names) if row.get('inventory') is not None else DEFAULT_GROUPS
        rc, messages, output = run_playbook(ansible_env, row['id'], os.path.join(REPO, 'playbooks', row['playbook']), groups,
                                            badinput.substitute(row.get('vars'), names))
        return rc, messages, output, badinput.substitute(row['expect'], names, escape=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip([row['id'] for row in PLAYBOOK_ROWS], pool.map(one, PLAYBOOK_ROWS)))


@pytest.mark.parametrize('row', PLAYBOOK_ROWS, ids=[row['id'] for row in PLAYBOOK_ROWS])
def test_matrix_playbook_row_dry(playbook_runs, row):
    rc, messages, output, expect = playbook_runs[row['id']]
    assert rc != 0
    assert any(re.search(expect, message, re.DOTALL) for message in messages), (expect, messages, output[-3000:])


def lab_nodes(down=(), unreachable=()):
    nodes = []
    for index, name in enumerate(['node1', 'node2', 'node3', 'node4', 'node5'], start=1):
        manager = index <= 3
        nodes.append(make_node('idnode%d' % index, name, role='manager' if manager else 'worker',
                               state='down' if name in down else 'ready',
                               reachability=('unreachable' if name in unreachable else 'reachable') if manager else None,
                               leader=name == 'node1', addr='172.30.213.%d' % (10 + index)))
    return nodes


def model(engine, monkeypatch, tmp_path, row):
    """Make the fake engine look like the lab in the row's precondition, seen from the host the row runs on."""
    given = row['given']
    default_host = '<s1>' if given.startswith('scratch') else '<m1>'
    target = badinput.substitute(row.get('delegate_to') or row.get('host') or default_host, LAB_NAMES)
    if given.startswith('scratch'):
        engine.nodes_table = [make_node('idnode6', 'node6', role='manager', leader=True, addr='172.30.213.16')]
        engine.services_table = []
        engine.local_id = 'idnode6'
    else:
        down = ('node3', 'node5') if given == 'manager_down' else ()
        engine.nodes_table = lab_nodes(down=down, unreachable=down)
        engine.services_table = [make_service('sweb', 'web', replicas=5), make_service('ssingle', 'single', replicas=1)]
        # As molecule/bad-input/converge.yml places them: web at most one per node, single pinned to the last worker.
        engine.constrain('web', MaxReplicas=1)
        engine.constrain('single', 'node.hostname == node5')
        engine.place('web', 'node1', 'node2', 'node3', 'node4', 'node5')
        engine.place('single', 'node5')
        engine.local_id = 'id' + target
    if given == 'lock_held':
        lock = json.dumps(dict(owner=LAB_NAMES['other_owner'], run='1700000000-abcdef', since=1700000000.0,
                               status='running'), sort_keys=True)
        real = engine.inspect_swarm

        def with_lock():
            swarm_object = copy.deepcopy(real())
            swarm_object['Spec']['Labels'] = {'swarmops.lock.maintenance': lock}
            return swarm_object

        engine.inspect_swarm = with_lock
    if given == 'scratch_locked':
        engine.local_state = 'locked'
        engine.nodes_error = LOCKED
        engine.unlock_behaviour = 'invalid'

        def locked():
            raise api_error(LOCKED, 503)

        engine.inspect_swarm = locked
    if target in ('node4', 'node5'):
        engine.control = False
        engine.nodes_error = NOT_MANAGER
        engine.docker_root = str(tmp_path)  # a worker that never was a manager: no swarm/raft
    if given == 'manager_down' and target == 'node3':
        # Its engine is stopped: the client cannot connect at all.
        monkeypatch.setattr(SwarmClient, '_connect', REAL_CONNECT)

        def refuse(**kwargs):
            raise swarm.DockerException('Error while fetching server API version: connection refused')

        monkeypatch.setattr(swarm.docker, 'APIClient', refuse)


# Every call of the fake engine's API surface that changes the swarm. An unlock with a wrong
# key is refused by the engine and changes nothing.
WRITES = ('init_swarm', 'remove_node', 'update_node', 'update_service', 'update_swarm', 'unlock_swarm')


def writes(engine):
    return [call for call in engine.calls if call[0] in WRITES
            and not (call[0] == 'unlock_swarm' and engine.unlock_behaviour == 'invalid')]


@pytest.mark.parametrize('row', MODULE_ROWS, ids=[row['id'] for row in MODULE_ROWS])
def test_matrix_module_row_against_the_fake_engine(engine, monkeypatch, tmp_path, run_module, row):
    model(engine, monkeypatch, tmp_path, row)
    names = names_for(tmp_path)
    result = run_module(load_module(row['module']), badinput.substitute(row.get('args') or {}, names))
    expect = badinput.substitute(row['expect'], names, escape=True)
    if row.get('ok'):
        assert not result.failed, result.msg
        assert re.search(expect, json.dumps(dict(result), sort_keys=True))
    else:
        assert result.failed, dict(result)
        assert re.search(expect, badinput.normalise(result.msg), re.DOTALL), result.msg
        assert not result.get('changed')
    # Not only "changed: false": the engine was sent nothing that writes.
    assert writes(engine) == [], writes(engine)


# ---------------------------------------------------------------------------------------
# The scenario's row checks, on made-up ansible.posix.json documents
# ---------------------------------------------------------------------------------------

def document(*results, **stats):
    tasks = [{'task': {'name': name}, 'hosts': {host: result}} for name, host, result in results]
    return {'plays': [{'tasks': tasks}], 'stats': stats}


@pytest.fixture
def checker(tmp_path):
    lab = badinput.Lab.__new__(badinput.Lab)
    lab.names = names_for(tmp_path)
    return lab


def test_refusal_with_our_message_passes(checker):
    doc = document(('refuse', 'node1', {'failed': True, 'msg': 'Node  no-such-node is not\n in the swarm.'}))
    row = dict(id='r', expect=r'Node no-such-node is not in the swarm\.')
    assert checker.check_outcome(row, 2, doc, '', '') == []


def test_success_or_another_message_fails(checker):
    row = dict(id='r', expect=r'Node <w1> is not in the swarm')
    problems = checker.check_outcome(row, 0, document(('ok', 'node1', {'changed': False})), '', '')
    assert any('succeeded' in problem for problem in problems) and any('ended the run' in problem for problem in problems)
    problems = checker.check_outcome(row, 2, document(('x', 'node1', {'failed': True, 'msg': 'Node node5 is not in the swarm'})),
                                     '', '')
    assert problems and 'node4' in problems[0]


def test_ok_row_matches_the_result(checker):
    row = dict(id='r', ok=True, expect='"locked": true')
    doc = document(('r', 'node6', {'changed': False, 'locked': True}))
    assert checker.check_outcome(row, 0, doc, '', '') == []
    assert checker.check_outcome(row, 0, document(('r', 'node6', {'locked': False})), '', '')


def test_no_json_output_is_matched_as_text(checker):
    row = dict(id='r', expect='Could not match')
    assert checker.check_outcome(row, 1, None, 'ERROR! Could not\nmatch it', '') == []
    assert checker.check_outcome(row, 0, None, 'Could not match', '')


def test_changed_tasks_and_differences():
    doc = document(('a', 'node1', {'changed': True}), ('b', 'node2', {'changed': True, 'skipped': True}))
    assert badinput.changed_tasks(doc) == ['a on node1']
    before = {'main': {'nodes': {'n1': {'availability': 'active', 'version': 3}}, 'secrets': ['s']}}
    after = {'main': {'nodes': {'n1': {'availability': 'drain', 'version': 4}}, 'secrets': []}}
    assert badinput.differences(before, after) == [
        'main.nodes.n1.availability: "active" -> "drain"', 'main.nodes.n1.version: 3 -> 4', 'main.secrets: ["s"] -> []']
    assert badinput.differences(before, before) == []


# ---------------------------------------------------------------------------------------
# Inventories shaped like users' own (issue 10): group names and role variables from group_vars
# ---------------------------------------------------------------------------------------

def user_inventory(workdir, name, group_vars):
    """An inventory directory with groups of its own naming and a group_vars/all file."""
    top = workdir / name
    (top / 'group_vars').mkdir(parents=True)
    hosts = {'mgrs': {'hosts': {'a.example': None, 'b.example': None, 'c.example': None}},
             'apps': {'hosts': {'d.example': None}},
             'all': {'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '/nonexistent/python3'}}}
    (top / 'hosts.yml').write_text(yaml.safe_dump(hosts))
    (top / 'group_vars' / 'all.yml').write_text(yaml.safe_dump(group_vars))
    return str(top)


def hosts_by_play(document):
    return dict((play['play']['name'], sorted(set(host for task in play['tasks'] for host in task['hosts'])))
                for play in (document or {}).get('plays', []))


@pytest.mark.parametrize('playbook, play', [
    ('site.yml', 'Docker Swarm from the inventory'),
    ('maintain.yml', 'Preflight, lock and plan'),
    ('recover.yml', 'Diagnose every node'),
])
def test_playbooks_take_their_hosts_from_the_group_variables_in_group_vars(ansible_env, playbook, play):
    env, workdir = ansible_env
    inventory = user_inventory(workdir, 'groups-' + playbook, dict(swarmops_manager_group='mgrs', swarmops_worker_group='apps'))
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '--check',
                           os.path.join(REPO, 'playbooks', playbook)], capture_output=True, text=True, env=env,
                          cwd=str(workdir), timeout=300, check=False)
    plays = hosts_by_play(badinput.parse_run(done.stdout))
    assert plays.get(play) == ['a.example', 'b.example', 'c.example', 'd.example'], (plays, done.stdout[-2000:])


def test_backup_and_rebalance_take_the_manager_group_from_group_vars(ansible_env):
    env, workdir = ansible_env
    inventory = user_inventory(workdir, 'groups-managers', dict(swarmops_manager_group='mgrs'))
    for playbook, play, want in (('backup.yml', "Back up a manager's swarm state", ['a.example', 'b.example', 'c.example']),
                                 ('rebalance.yml', 'Rebalance services', ['a.example'])):
        done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
                               '--check', os.path.join(REPO, 'playbooks', playbook)], capture_output=True, text=True,
                              env=env, cwd=str(workdir), timeout=300, check=False)
        assert hosts_by_play(badinput.parse_run(done.stdout)).get(play) == want, done.stdout[-2000:]


def test_rolling_maintenance_serial_is_read_from_group_vars(ansible_env):
    # A play keyword sees only extra vars: serial: "{{ rolling_maintenance_serial }}" silently
    # ignored the value in group_vars. The plan reads it from a worker's variables and gives the
    # workers' hosts the batch sizes it made; the workers play takes its serial from there. Run
    # the plan's tasks and the play's hosts and serial as they are, and count the batches.
    env, workdir = ansible_env
    with open(os.path.join(REPO, 'playbooks', 'maintain.yml')) as handle:
        workers_play = [play for play in yaml.safe_load(handle) if play.get('hosts') == '_swarmops_maintenance_workers'][0]
    with open(os.path.join(REPO, 'roles', 'rolling_maintenance', 'tasks', 'plan.yml')) as handle:
        plan = dict((task['name'], task) for task in yaml.safe_load(handle))
    wanted = ("The workers' serial", "Plan the workers' batches", 'Workers next')
    plan_tasks = [plan[name] for name in plan if name.startswith(wanted)]
    assert len(plan_tasks) == 3, sorted(plan)
    inventory = user_inventory(workdir, 'serial', dict(rolling_maintenance_serial=2))
    with open(os.path.join(inventory, 'hosts.yml')) as handle:
        hosts = yaml.safe_load(handle)
    hosts['apps']['hosts'] = dict((name, {'_rolling_maintenance_node': 'id-' + name})
                                  for name in ('d.example', 'e.example', 'f.example'))
    with open(os.path.join(inventory, 'hosts.yml'), 'w') as handle:
        yaml.safe_dump(hosts, handle)
    playbook = workdir / 'serial-play.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'plan', 'hosts': 'localhost', 'gather_facts': False,
        'vars_files': [os.path.join(REPO, 'roles', 'rolling_maintenance', 'vars', 'main.yml')],
        # The role's defaults, the order the plan worked out, and no snapshot (nothing to split).
        'vars': {'rolling_maintenance_serial': 1, 'rolling_maintenance_min_available': 1, 'rolling_maintenance_surge': True,
                 '_rolling_maintenance_workers': ['d.example', 'e.example', 'f.example'],
                 '_rolling_maintenance_snapshot': {'skipped': True}},
        'tasks': plan_tasks}, {
        'name': 'batches', 'hosts': workers_play['hosts'], 'serial': workers_play['serial'], 'gather_facts': False,
        'tasks': [{'name': 'batch size', 'ansible.builtin.debug': {'msg': '{{ ansible_play_batch | length }}'}}]}]))
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
                           str(playbook)], capture_output=True, text=True, env=env, cwd=str(workdir), timeout=120,
                          check=False)
    batches = [str(result['msg']) for name, dummy, result in badinput.task_results(badinput.parse_run(done.stdout))
               if name == 'batch size']
    assert batches == ['2', '2', '1'], (batches, done.stdout[-2000:])


def test_the_refusal_is_matched_on_the_task_that_ended_the_run(checker):
    row = dict(id='r', expect=r'Node node4 is not in the swarm')
    # The message came from a failure the run went on from (ignore_errors): not a refusal.
    doc = document(('probe', 'node1', {'failed': True, 'msg': 'Node node4 is not in the swarm'}),
                   ('later', 'node1', {'failed': True, 'msg': 'something else broke'}))
    problems = checker.check_outcome(row, 2, doc, '', '')
    assert problems and 'ended the run' in problems[0] and 'something else broke' in problems[0]
    assert 'other failures: [probe on node1]' in problems[0]
    # The same message on the task that ended the run passes.
    doc = document(('probe', 'node1', {'failed': True, 'msg': 'ignored'}),
                   ('refuse', 'node1', {'failed': True, 'msg': 'Node node4 is not in the swarm'}))
    assert checker.check_outcome(row, 2, doc, '', '') == []
    # A host that went on after its failure did not end there.
    doc = document(('refuse', 'node1', {'failed': True, 'msg': 'Node node4 is not in the swarm'}),
                   ('next', 'node1', {'changed': False}), ('stop', 'node2', {'failed': True, 'msg': 'other'}))
    assert badinput.ending_failures(doc) == [('stop', 'node2', 'other')]
    assert checker.check_outcome(row, 2, doc, '', '')


def test_a_late_change_fails_the_row_that_made_it(checker, monkeypatch):
    state = {'swarm': {'version': 1, 'labels': {}}, 'nodes': {'n1': {'availability': 'active', 'version': 1}},
             'services': {}, 'tasks': {'web': ['t1']}}
    later = json.loads(json.dumps(state))
    later['tasks']['web'] = ['t2']  # the task was replaced after the row's after-snapshot
    reads = iter([{'main': {'state': later}}] * 10)
    monkeypatch.setattr(checker, 'snapshots', lambda given: next(reads), raising=False)
    monkeypatch.setattr(badinput.time, 'sleep', lambda seconds: None)
    checker.last = {'healthy': {'main': {'state': state}}}
    checker.last_row = ('row-a', 'healthy', {'main': {'state': state}})
    checker.late = {}
    baseline = checker.stable_snapshots('healthy')
    assert baseline == {'main': {'state': later}}
    assert checker.late == {'row-a': ['main.tasks.web: ["t1"] -> ["t2"]']}
    # Read again for the next row: nothing new is attributed.
    checker.last_row = ('row-b', 'healthy', baseline)
    checker.stable_snapshots('healthy')
    assert list(checker.late) == ['row-a']
