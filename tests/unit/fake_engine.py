# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake-engine table for the unit tests: nodes, services and tasks behind the low-level
APIClient methods the collection uses, with a tiny scheduler so that waits make progress.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from docker.errors import APIError, NotFound
from requests.exceptions import ReadTimeout


NO_LEADER = ("rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few "
             "managers are online. Make sure more than half of the managers are online.")
NOT_MANAGER = ("This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. "
               "Please run this command on a manager node or promote the current node to a manager.")
LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.'

LIVE = ('pending', 'assigned', 'accepted', 'preparing', 'starting', 'running')


class FakeResponse(object):
    def __init__(self, status_code):
        self.status_code = status_code
        self.reason = 'error'
        self.url = 'http+docker://localhost/v1.41/x'


def api_error(explanation, status_code=500, error_class=APIError):
    return error_class('%d Server Error' % status_code, response=FakeResponse(status_code), explanation=explanation)


# ---------------------------------------------------------------------------------------
# Table builders
# ---------------------------------------------------------------------------------------

def make_node(node_id, hostname, role='worker', availability='active', state='ready',
              reachability=None, leader=False, raft=None, labels=None, addr='10.0.0.99'):
    """A node as ``APIClient.nodes()`` returns it. ``raft`` defaults to role == manager."""
    node = {
        'ID': node_id,
        'Version': {'Index': 10},
        'Spec': {'Labels': dict(labels or {}), 'Role': role, 'Availability': availability},
        'Description': {'Hostname': hostname},
        'Status': {'State': state, 'Addr': addr},
    }
    if raft is None:
        raft = role == 'manager'
    if raft:
        node['ManagerStatus'] = {'Leader': leader, 'Reachability': reachability or 'reachable',
                                 'Addr': '%s:2377' % node['Status']['Addr']}
    return node


def make_service(service_id, name, replicas=1, mode='replicated', pinned_to=None):
    spec = {
        'Name': name,
        'Labels': {'team': 'ops'},
        'TaskTemplate': {'ContainerSpec': {'Image': 'swarmops-lab-workload:latest', 'Env': ['A=1']},
                         'Resources': {}, 'ForceUpdate': 3, 'Runtime': 'container'},
        'Mode': {'Replicated': {'Replicas': replicas}} if mode == 'replicated' else {'Global': {}},
        'UpdateConfig': {'Parallelism': 2, 'Order': 'stop-first'},
        'RollbackConfig': {'Parallelism': 1},
        'EndpointSpec': {'Mode': 'vip'},
    }
    if pinned_to:
        spec['TaskTemplate']['Placement'] = {'Constraints': ['node.hostname == %s' % pinned_to]}
    return {'ID': service_id, 'Version': {'Index': 100}, 'Spec': spec}


def cluster(managers=3, workers=2, unreachable=(), leader='m1'):
    """Nodes m1..mN (managers) and w1..wM (workers); names in ``unreachable`` are unreachable and down."""
    nodes = []
    for index in range(1, managers + 1):
        name = 'm%d' % index
        gone = name in unreachable
        nodes.append(make_node('id-' + name, name, role='manager', state='down' if gone else 'ready',
                               reachability='unreachable' if gone else 'reachable', leader=name == leader,
                               addr='10.0.0.%d' % index))
    for index in range(1, workers + 1):
        name = 'w%d' % index
        nodes.append(make_node('id-' + name, name, state='down' if name in unreachable else 'ready',
                               addr='10.0.1.%d' % index))
    return nodes


# ---------------------------------------------------------------------------------------
# The fake engine
# ---------------------------------------------------------------------------------------

class FakeEngine(object):
    """Low-level APIClient stand-in backed by a table, with a tiny scheduler.

    Every ``tasks()`` call advances the scheduler by one step, so waits make progress:
    tasks on drained nodes are told to shut down, then stop; missing replicas are created
    on eligible nodes (fewest tasks of the service first), then start running.
    """

    def __init__(self, nodes=None, services=(), local_id='id-m1', local_state='active', control=True):
        self.nodes_table = copy.deepcopy(nodes if nodes is not None else cluster())
        self.services_table = [copy.deepcopy(service) for service in services]
        self.tasks_table = []
        self.secrets_table = [{'ID': 'sec1', 'Spec': {'Name': 'db_pass'}}]
        self.configs_table = [{'ID': 'cfg1', 'Spec': {'Name': 'app_conf'}}]
        self.local_id = local_id
        self.local_state = local_state
        self.control = control
        self.nodes_error = None          # explanation raised by nodes()
        self.nodes_errors_left = None    # raise only this many times, then answer
        self.swarm_extra = {}
        self.docker_root = None
        self.timeout = 60
        self.calls = []
        self.swarm_version = 10
        # The whole swarm spec persists, labels included, as on a real engine.
        self.swarm_spec = {'Name': 'default', 'Labels': {}, 'Raft': {'SnapshotInterval': 10000}}
        self.before_update_swarm = None  # hook(engine) run just before a swarm update is applied
        self.running_history = {}        # service ID -> running counts seen after each step
        self.scheduler_paused = False
        self.failing_starts = {}         # service ID -> how many of its next task starts fail
        self.slow_stops = {}             # task ID -> steps it keeps running after being told to stop
        # As swarmkit's replicated orchestrator, which applies a lower replica count after the update
        # returns: the steps a scale-down waits before the extra tasks are told to stop.
        self.scale_down_lag = 0
        self._scale_down_wait = {}       # service ID -> steps left before its scale-down applies
        self.after_update_node = None    # hook(engine, node_id, spec)
        self.on_poll = None              # hook(engine) run by nodes() and inspect_node()
        # As swarmkit's role manager: a demoted node leaves raft a few polls after the update, not
        # at once (a demoted leader hands over after a short election). None: never (a hook does it).
        self.raft_removal_polls = 2
        self._leaving_raft = {}          # node ID -> polls left before it leaves raft
        self.unlock_behaviour = 'ok'     # ok | timeout | invalid
        self.init_result = 'ok'
        self._task_counter = 0

    # -- table helpers ---------------------------------------------------------------------

    def node(self, name_or_id):
        for node in self.nodes_table:
            if node['ID'] == name_or_id or node['Description']['Hostname'] == name_or_id:
                return node
        raise KeyError(name_or_id)

    def service(self, name_or_id):
        for service in self.services_table:
            if service['ID'] == name_or_id or service['Spec']['Name'] == name_or_id:
                return service
        raise KeyError(name_or_id)

    def add_task(self, service, node, state='running', desired='running', slot=None):
        self._task_counter += 1
        service = self.service(service)
        task = {'ID': 'task%03d' % self._task_counter, 'ServiceID': service['ID'],
                'NodeID': self.node(node)['ID'] if node else '', 'DesiredState': desired,
                'Status': {'State': state}, 'Slot': slot}
        if node and self.host_ports(service):
            # A task with a node holds its host-mode ports there, as the engine reports them.
            task['Status']['PortStatus'] = {'Ports': [
                {'Protocol': 'tcp', 'TargetPort': 80, 'PublishedPort': port, 'PublishMode': 'host'}
                for port in sorted(self.host_ports(service))]}
        self.tasks_table.append(task)
        return task

    def place(self, service, *node_names):
        """Running tasks of a service on the given nodes (slots numbered in order)."""
        for slot, name in enumerate(node_names, start=1):
            self.add_task(service, name, slot=slot if self.service(service)['Spec']['Mode'].get('Replicated') is not None else None)

    def running(self, service, exclude=None):
        service_id = self.service(service)['ID']
        exclude_id = self.node(exclude)['ID'] if exclude else None
        return len([task for task in self.tasks_table if task['ServiceID'] == service_id
                    and task['Status']['State'] == 'running' and task['DesiredState'] == 'running'
                    and task['NodeID'] != exclude_id])

    def calls_named(self, name):
        return [call for call in self.calls if call[0] == name]

    # -- scheduler ---------------------------------------------------------------------------

    def eligible(self, service, for_global=False):
        """Ready, active nodes that satisfy the service's placement constraints (node.id, node.hostname,
        node.role, node.labels.*; == and !=) and have room under Placement.MaxReplicas. Written apart
        from the modules' own placement code, so that a mistake there is not repeated here."""
        placement = service['Spec'].get('TaskTemplate', {}).get('Placement') or {}
        nodes = [node for node in self.nodes_table if node['Status']['State'] == 'ready'
                 and node['Spec']['Availability'] == 'active'
                 and all(self.satisfies(node, text) for text in placement.get('Constraints') or [])]
        wanted = self.reserves(service['Spec'].get('TaskTemplate'))
        if any(wanted):
            nodes = [node for node in nodes if self.has_room(node, wanted)]
        ports = self.host_ports(service)
        if ports:
            # swarmkit's HostPortFilter: a node whose live tasks hold one of the ports cannot take the task.
            nodes = [node for node in nodes if not [
                task for task in self.tasks_table if task['NodeID'] == node['ID'] and task['Status']['State'] in LIVE
                and task['DesiredState'] == 'running' and ports & self.host_ports(task['ServiceID'])]]
        limit = placement.get('MaxReplicas') or 0
        if limit and not for_global:
            nodes = [node for node in nodes if len([task for task in self.tasks_table if task['ServiceID'] == service['ID']
                                                    and task['NodeID'] == node['ID']
                                                    and task['DesiredState'] == 'running']) < limit]
        return nodes

    def host_ports(self, service):
        """The ports a service publishes in host mode (EndpointSpec.Ports with PublishMode host)."""
        service = self.service(service) if not isinstance(service, dict) else service
        return set(int(port.get('PublishedPort')) for port in ((service['Spec'].get('EndpointSpec') or {}).get('Ports') or [])
                   if port.get('PublishMode') == 'host' and port.get('PublishedPort'))

    def publish_host_port(self, service, port):
        """Publish a port of the service in host mode, as ``--publish mode=host,published=PORT,target=80`` does."""
        spec = self.service(service)['Spec']
        spec['EndpointSpec'] = {'Mode': 'vip', 'Ports': [
            {'Protocol': 'tcp', 'TargetPort': 80, 'PublishedPort': port, 'PublishMode': 'host'}]}

    @staticmethod
    def reserves(template):
        reservations = ((template or {}).get('Resources') or {}).get('Reservations') or {}
        return int(reservations.get('NanoCPUs') or 0), int(reservations.get('MemoryBytes') or 0)

    def has_room(self, node, wanted):
        """CPU and memory the node has (Description.Resources) minus what its live tasks reserve."""
        have = (node['Description'].get('Resources') or {})
        free = [int(have.get('NanoCPUs') or 0), int(have.get('MemoryBytes') or 0)]
        for task in self.tasks_table:
            if task['NodeID'] != node['ID'] or task['Status']['State'] not in LIVE:
                continue
            service = next((item for item in self.services_table if item['ID'] == task['ServiceID']), None)
            used = self.reserves(task.get('Spec') or (service['Spec'].get('TaskTemplate') if service else None))
            free = [free[0] - used[0], free[1] - used[1]]
        return free[0] >= wanted[0] and free[1] >= wanted[1]

    @staticmethod
    def satisfies(node, text):
        operator = '==' if '==' in text else '!='
        key, value = [part.strip() for part in text.split(operator, 1)]
        if key == 'node.id':
            have = node['ID']
        elif key == 'node.hostname':
            have = node['Description']['Hostname']
        elif key == 'node.role':
            have = node['Spec'].get('Role')
        elif key.startswith('node.labels.'):
            have = (node['Spec'].get('Labels') or {}).get(key[len('node.labels.'):], '')
        else:
            raise ValueError('the fake engine does not know the constraint %r' % text)
        return (have == value) == (operator == '==')

    def constrain(self, service, *constraints, **placement):
        """Set a service's placement as a user would: constraints, and MaxReplicas=N."""
        spec = self.service(service)['Spec']
        spec['TaskTemplate']['Placement'] = dict(placement, Constraints=list(constraints))

    def step(self):
        if self.scheduler_paused:
            return
        drained = set(node['ID'] for node in self.nodes_table if node['Spec']['Availability'] == 'drain')
        # Tasks told to stop on the previous step stop now; new tasks start.
        for task in self.tasks_table:
            if task['DesiredState'] in ('shutdown', 'remove') and task['Status']['State'] in LIVE:
                if self.slow_stops.get(task['ID']):
                    # A container slow to stop (a long stop grace period): still running.
                    self.slow_stops[task['ID']] -= 1
                    continue
                task['Status']['State'] = 'shutdown'
            elif task['DesiredState'] == 'running' and task['Status']['State'] == 'pending' and task['NodeID']:
                if self.failing_starts.get(task['ServiceID']):
                    # The container exits at start ("task: non-zero exit"); the scheduler replaces it.
                    self.failing_starts[task['ServiceID']] -= 1
                    task['Status']['State'], task['DesiredState'] = 'failed', 'shutdown'
                    continue
                task['Status']['State'] = 'running'
        for task in self.tasks_table:
            if task['NodeID'] in drained and task['DesiredState'] == 'running':
                task['DesiredState'] = 'shutdown'
        for service in self.services_table:
            mode = service['Spec']['Mode']
            if 'Replicated' not in mode:
                continue
            wanted = mode['Replicated']['Replicas']
            live = [task for task in self.tasks_table if task['ServiceID'] == service['ID']
                    and task['DesiredState'] == 'running']
            if len(live) > wanted and self._scale_down_wait.get(service['ID']):
                self._scale_down_wait[service['ID']] -= 1
            elif len(live) > wanted:
                # Scale down: drop non-running tasks first, as swarmkit does.
                live.sort(key=lambda task: task['Status']['State'] == 'running')
                for task in live[:len(live) - wanted]:
                    task['DesiredState'] = 'remove'
            for dummy in range(wanted - len(live)):
                candidates = self.eligible(service)
                if not candidates:
                    # Unschedulable: the task waits without a node.
                    if not [task for task in self.tasks_table if task['ServiceID'] == service['ID']
                            and task['NodeID'] == '' and task['DesiredState'] == 'running']:
                        self.add_task(service['ID'], None, state='pending')
                    continue
                load = dict((node['ID'], 0) for node in candidates)
                for task in self.tasks_table:
                    if task['ServiceID'] == service['ID'] and task['DesiredState'] == 'running' and task['NodeID'] in load:
                        load[task['NodeID']] += 1
                target = sorted(candidates, key=lambda node: (load[node['ID']], node['Description']['Hostname']))[0]
                self.add_task(service['ID'], target['ID'], state='pending')
        for service in self.services_table:
            self.running_history.setdefault(service['ID'], []).append(self.running(service['ID']))

    # -- APIClient surface -----------------------------------------------------------------

    def info(self):
        self.calls.append(('info',))
        # A locked or inactive engine knows nothing about the swarm.
        knows = self.local_state not in ('locked', 'inactive')
        swarm = {'NodeID': self.local_id if knows else '', 'NodeAddr': '10.0.0.1',
                 'LocalNodeState': self.local_state, 'ControlAvailable': self.control and knows,
                 'Error': self.nodes_error or '',
                 'RemoteManagers': [{'NodeID': node['ID'], 'Addr': node['ManagerStatus']['Addr']}
                                    for node in self.nodes_table if node.get('ManagerStatus')] if knows else None}
        swarm.update(self.swarm_extra)
        info = {'Swarm': swarm}
        if self.docker_root:
            info['DockerRootDir'] = self.docker_root
        return info

    def role_manager_step(self):
        for node_id in list(self._leaving_raft):
            self._leaving_raft[node_id] -= 1
            if self._leaving_raft[node_id] > 0:
                continue
            del self._leaving_raft[node_id]
            node = next((item for item in self.nodes_table if item['ID'] == node_id), None)
            if node is None or node['Spec'].get('Role') != 'worker':
                continue
            was_leader = (node.get('ManagerStatus') or {}).get('Leader')
            node.pop('ManagerStatus', None)
            if was_leader:
                self.nodes_error, self.nodes_errors_left = NO_LEADER, 2  # a short election
                for other in self.nodes_table:
                    if other.get('ManagerStatus') and other['ManagerStatus'].get('Reachability') == 'reachable':
                        other['ManagerStatus']['Leader'] = True
                        break

    def nodes(self, filters=None):
        self.no_filters(filters)
        self.calls.append(('nodes',))
        self.role_manager_step()
        if self.on_poll:
            self.on_poll(self)
        if self.nodes_error:
            if self.nodes_errors_left is None or self.nodes_errors_left > 0:
                if self.nodes_errors_left is not None:
                    self.nodes_errors_left -= 1
                raise api_error(self.nodes_error, 503 if self.nodes_error != NO_LEADER else 500)
        return copy.deepcopy(self.nodes_table)

    def inspect_node(self, node_id):
        self.calls.append(('inspect_node', node_id))
        self.role_manager_step()
        if self.on_poll:
            self.on_poll(self)
        try:
            return copy.deepcopy(self.node(node_id))
        except KeyError:
            raise api_error('node %s not found' % node_id, 404, NotFound)

    @property
    def snapshot_interval(self):
        return (self.swarm_spec.get('Raft') or {}).get('SnapshotInterval')

    @snapshot_interval.setter
    def snapshot_interval(self, value):
        self.swarm_spec.setdefault('Raft', {})['SnapshotInterval'] = value

    def update_node(self, node_id, version, node_spec=None):
        self.calls.append(('update_node', node_id, version, copy.deepcopy(node_spec)))
        node = self.node(node_id)
        if version != node['Version']['Index']:
            raise api_error('rpc error: code = Unknown desc = update out of sequence')
        if node['Spec'].get('Role') == 'manager' and (node_spec or {}).get('Role') == 'worker':
            self.check_demotion(node)
        demoted = node['Spec'].get('Role') == 'manager' and (node_spec or {}).get('Role') == 'worker'
        node['Spec'] = copy.deepcopy(node_spec)
        node['Version']['Index'] += 1
        if demoted and self.raft_removal_polls is not None:
            self._leaving_raft[node['ID']] = self.raft_removal_polls
        if self.after_update_node:
            self.after_update_node(self, node_id, node_spec)
        return True

    def check_demotion(self, node):
        """swarmkit's demotion checks (controlapi UpdateNode): not the last manager, a raft member,
        and raft can lose it (the reachable members left are a quorum of the members left)."""
        managers = [item for item in self.nodes_table if item['Spec'].get('Role') == 'manager']
        if len(managers) == 1 and managers[0]['ID'] == node['ID']:
            raise api_error('rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm')
        if not node.get('ManagerStatus'):
            raise api_error("rpc error: code = NotFound desc = can't find manager in raft memberlist", 404, NotFound)
        members = [item for item in self.nodes_table if item.get('ManagerStatus')]
        reachable_left = [item for item in members if item['ID'] != node['ID']
                          and item['ManagerStatus'].get('Reachability') == 'reachable']
        if len(reachable_left) < (len(members) - 1) // 2 + 1:
            raise api_error("rpc error: code = FailedPrecondition desc = can't remove member from the raft: this "
                            "would result in a loss of quorum")

    def remove_node(self, node_id, force=False):
        """As swarmkit's RemoveNode: a raft member whose desired role is manager is refused even with
        force (demote it first); a ready node is refused without force."""
        self.calls.append(('remove_node', node_id, force))
        try:
            node = self.node(node_id)
        except KeyError:
            raise api_error('node %s not found' % node_id, 404)
        if node['Spec'].get('Role') == 'manager' and node.get('ManagerStatus'):
            raise api_error('rpc error: code = FailedPrecondition desc = node %s is a cluster manager and is a member '
                            'of the raft cluster. It must be demoted to worker before removal' % node_id)
        if not force and node['Status'].get('State') == 'ready':
            raise api_error("rpc error: code = FailedPrecondition desc = node %s is not down and can't be removed"
                            % node_id)
        self.nodes_table = [item for item in self.nodes_table if item['ID'] != node_id]
        return True

    def services(self, filters=None):
        self.no_filters(filters)
        self.calls.append(('services',))
        return copy.deepcopy(self.services_table)

    def inspect_service(self, service, insert_defaults=None):
        self.calls.append(('inspect_service', service))
        return copy.deepcopy(self.service(service))

    def update_service(self, service, version, **kwargs):
        self.calls.append(('update_service', service, version, copy.deepcopy(kwargs)))
        current = self.service(service)
        if version != current['Version']['Index']:
            raise api_error('rpc error: code = Unknown desc = update out of sequence')
        spec = current['Spec']
        before = (spec['Mode'].get('Replicated') or {}).get('Replicas')
        after = (kwargs['mode'].get('Replicated') or {}).get('Replicas')
        if before is not None and after is not None and after < before and self.scale_down_lag:
            self._scale_down_wait[current['ID']] = self.scale_down_lag
        spec['Mode'] = copy.deepcopy(kwargs['mode'])
        if kwargs.get('labels') is not None:
            spec['Labels'] = copy.deepcopy(kwargs['labels'])
        current['Version']['Index'] += 1
        return {'Warnings': None}

    def tasks(self, filters=None):
        self.calls.append(('tasks',))
        self.step()
        return copy.deepcopy([task for task in self.tasks_table if self.task_matches(task, filters)])

    @staticmethod
    def no_filters(filters):
        """Only task filters are modelled: a filter on another list would be ignored, so it is an error."""
        if filters:
            raise NotImplementedError('the fake engine does not apply filters %r here; model them first' % (filters,))

    TASK_FILTERS = ('id', 'name', 'service', 'node', 'label', 'desired-state')

    def task_matches(self, task, filters):
        """As the engine's task filters: each key's values are alternatives, keys must all match;
        an unknown key is refused."""
        for key, wanted in (filters or {}).items():
            if key not in self.TASK_FILTERS:
                raise api_error("invalid filter '%s'" % key, 400)
            values = set([wanted] if isinstance(wanted, str) else wanted)
            if key == 'service':
                service = next((item for item in self.services_table if item['ID'] == task['ServiceID']), None)
                have = set([task['ServiceID'], service['Spec']['Name'] if service else None])
            elif key == 'node':
                node = next((item for item in self.nodes_table if item['ID'] == task['NodeID']), None)
                have = set([task['NodeID'], node['Description']['Hostname'] if node else None])
            elif key == 'desired-state':
                if not values <= set(['running', 'shutdown', 'accepted']):
                    raise api_error('Invalid desired-state filter: %s' % ', '.join(sorted(values)), 400)
                # "shutdown" matches every state past running, as in swarmkit.
                have = set([task['DesiredState'], 'shutdown' if task['DesiredState'] in ('shutdown', 'remove') else None])
            elif key == 'id':
                have = set([task['ID']])
            else:
                have = set()
            if not values & have:
                return False
        return True

    def secrets(self, filters=None):
        self.no_filters(filters)
        return copy.deepcopy(self.secrets_table)

    def configs(self, filters=None):
        self.no_filters(filters)
        return copy.deepcopy(self.configs_table)

    def unlock_swarm(self, key):
        self.calls.append(('unlock_swarm', key))
        if self.unlock_behaviour == 'invalid':
            raise api_error('swarm could not be unlocked: invalid key provided', 400)
        if self.unlock_behaviour == 'timeout':
            self.local_state = 'pending'
            raise ReadTimeout('Read timed out. (read timeout=%s)' % self.timeout)
        self.local_state = 'active'
        return True

    def inspect_swarm(self):
        self.calls.append(('inspect_swarm',))
        if self.nodes_error and (self.nodes_errors_left is None or self.nodes_errors_left > 0):
            # A worker, a locked engine or a swarm without leader refuses this as it refuses the node list.
            if self.nodes_errors_left is not None:
                self.nodes_errors_left -= 1
            raise api_error(self.nodes_error, 503 if self.nodes_error != NO_LEADER else 500)
        return {'ID': 'cluster-1', 'Version': {'Index': self.swarm_version}, 'Spec': copy.deepcopy(self.swarm_spec),
                'JoinTokens': {'Worker': 'SWMTKN-fake-worker', 'Manager': 'SWMTKN-fake-manager'}}

    def update_swarm(self, version, swarm_spec=None, **kwargs):
        """Compare-and-swap on the swarm's version, as swarmkit does; the spec sent replaces the old one."""
        self.calls.append(('update_swarm', version, copy.deepcopy(swarm_spec)))
        if self.before_update_swarm:
            self.before_update_swarm(self)
        if version != self.swarm_version:
            raise api_error('rpc error: code = Unknown desc = update out of sequence')
        self.swarm_version += 1
        self.swarm_spec = copy.deepcopy(swarm_spec or {})

    def init_swarm(self, **kwargs):
        self.calls.append(('init_swarm', kwargs))
        if self.init_result != 'ok':
            raise api_error(self.init_result)
        # Force-new-cluster: this node leads alone; the other managers leave raft.
        for node in self.nodes_table:
            if node['ID'] == self.local_id:
                node['ManagerStatus'] = {'Leader': True, 'Reachability': 'reachable', 'Addr': '10.0.0.1:2377'}
            elif node.get('ManagerStatus'):
                del node['ManagerStatus']
                node['Status']['State'] = 'unknown'
        self.nodes_error = None
        self.local_state = 'active'
        return self.local_id


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.001)
