# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one client of the local Docker engine used by every swarmops.lifecycle module.

PRIVATE to the collection: the interface may change without notice.

It holds the connection (low-level ``docker.APIClient``, plain dicts in and out, the same
on Docker SDK 5.0.3 and 7.x), polling with one deadline per module call, the compare-and-swap
writers, the diff tracker and ``fail()``. The quorum maths (``_quorum``) and the readers of
engine objects (``_objects``) have their own files and are re-exported here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import socket
import time
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

# Quorum maths and the readers of engine objects live in _quorum and _objects; re-exported here.
from ansible_collections.swarmops.lifecycle.plugins.module_utils._quorum import (  # noqa: F401 pylint: disable=unused-import
    Quorum,
    demote_keeps_quorum,
    fault_tolerance,
    has_quorum,
    promote_keeps_quorum,
    quorum_size,
)
from ansible_collections.swarmops.lifecycle.plugins.module_utils._objects import (  # noqa: F401 pylint: disable=unused-import
    LIVE_TASK_STATES,
    ManagerCensus,
    describe_node,
    describe_task,
    find_node,
    is_leader,
    is_raft_member,
    is_reachable_manager,
    manager_status,
    node_availability,
    node_hostname,
    node_label,
    node_role,
    node_state,
    service_mode,
    service_name,
    service_replicas,
    short_node,
    sort_by_hostname,
    stale_manager_entries,
    task_is_live,
    task_is_running,
    task_state,
)

DOCKER_SDK_IMPORT_ERROR = None
try:
    import docker
    from docker.errors import APIError, DockerException, NotFound
except ImportError:
    DOCKER_SDK_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):
        """Stand-in so that except clauses work when the SDK is missing."""

    class APIError(DockerException):
        """Stand-in so that except clauses work when the SDK is missing."""

    class NotFound(APIError):
        """Stand-in so that except clauses work when the SDK is missing."""

try:
    from requests.exceptions import RequestException
except ImportError:
    class RequestException(Exception):
        """Stand-in so that except clauses work when requests is missing."""


DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock'
DEFAULT_TIMEOUT = 300
# One hung request must not eat a long operation's whole budget.
MAX_REQUEST_TIMEOUT = 60
POLL_INTERVAL = 1.0
# An unlock without quorum never answers; the key has been taken long before this.
UNLOCK_ANSWER_SECONDS = 10
# The longest a leader election lasts in swarmkit (election tick 10 x 1 s tick, randomised up to
# twice that: 20 s), with margin. Every module that waits for a leader waits this long, and no
# shorter absence of a leader is ever taken for a lost quorum.
LEADER_ELECTION_SECONDS = 30
# How long a manager's swarm port is given to accept a connection (force_new_cluster's check).
MANAGER_PORT_SECONDS = 2
# After a leader change every node is "unknown" until it reports to the new leader (10-40 s seen).
NODE_SETTLE_SECONDS = 60


def swarm_argument_spec(**module_options):
    """Connection options of the doc fragment ``swarmops.lifecycle.swarm`` plus the module's own."""
    spec = dict(
        docker_host=dict(type='str', default=DEFAULT_DOCKER_HOST, fallback=(env_fallback, ['DOCKER_HOST'])),
        timeout=dict(type='int', default=DEFAULT_TIMEOUT),
    )
    spec.update(module_options)
    return spec


def fail(module, msg, **facts):
    """Fail the module with a message for the operator and the facts behind it."""
    module.fail_json(msg=msg, **facts)


def port_answers(addr, timeout):
    """True when a TCP connection to ``addr`` ("host:port") is accepted within ``timeout`` seconds."""
    host, dummy, port = addr.rpartition(':')
    try:
        connection = socket.create_connection((host.strip('[]'), int(port)), timeout=timeout)
    except (OSError, ValueError):
        return False
    connection.close()
    return True


# Seams for the unit tests (a fake clock makes every wait instant).
def _now():
    return time.monotonic()


def _sleep(seconds):
    time.sleep(seconds)


# ---------------------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------------------

class DifferenceTracker(object):
    """Records (name, before, after) once per fact and renders Ansible's diff."""

    def __init__(self):
        self._entries = []

    def add(self, name, before, after):
        self._entries.append((name, before, after))

    @property
    def has_differences(self):
        return any(before != after for dummy, before, after in self._entries)

    def changed_names(self):
        return [name for name, before, after in self._entries if before != after]

    def before(self):
        return dict((name, before) for name, before, dummy in self._entries)

    def after(self):
        return dict((name, after) for name, dummy, after in self._entries)

    def as_diff(self):
        return dict(before=self.before(), after=self.after())


# ---------------------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------------------

class WaitResult(object):
    def __init__(self, done, progress, elapsed):
        self.done = done
        self.progress = progress
        self.elapsed = elapsed


def wait_until(check, deadline, interval=POLL_INTERVAL):
    """Call ``check()`` until it returns ``(True, progress)`` or the deadline (a ``_now()`` value) passes.

    ``check`` is always called at least once, even with no time left, so callers get fresh progress.
    """
    started = _now()
    while True:
        done, progress = check()
        if done:
            return WaitResult(True, progress, _now() - started)
        if _now() >= deadline:
            return WaitResult(False, progress, _now() - started)
        _sleep(max(0.0, min(interval, deadline - _now())))


# ---------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------

class SwarmUnavailable(Exception):
    """The engine answered but cannot serve cluster state (no leader, not a manager, locked)."""

    def __init__(self, reason, status_code=None):
        super(SwarmUnavailable, self).__init__(reason)
        self.reason = reason
        self.status_code = status_code

    @property
    def no_leader(self):
        text = self.reason.lower()
        return 'does not have a leader' in text or 'no leader' in text or 'deadline exceeded' in text

    @property
    def not_manager(self):
        return 'not a swarm manager' in self.reason.lower()

    @property
    def locked(self):
        return 'locked' in self.reason.lower() or 'unlock' in self.reason.lower()


def api_error_text(exc):
    explanation = getattr(exc, 'explanation', None)
    if explanation:
        return explanation.decode('utf-8', 'replace') if isinstance(explanation, bytes) else str(explanation)
    return str(exc)


class SwarmClient(object):
    """The local engine, seen as a swarm. Every API call goes through ``self.api`` (a low-level APIClient)."""

    def __init__(self, module, api=None):
        self.module = module
        self.docker_host = module.params.get('docker_host') or DEFAULT_DOCKER_HOST
        timeout = module.params.get('timeout')
        if timeout is not None and timeout <= 0:
            # Before any connection: 0 used to mean the default and a negative value a deadline already passed.
            fail(module, 'timeout must be a positive number of seconds, got %s. Nothing was changed. Give the seconds '
                         'the whole operation may take (waits included), or leave timeout out for the default of %d.'
                 % (timeout, DEFAULT_TIMEOUT))
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.started = _now()
        self.deadline = self.started + self.timeout
        self.api = api if api is not None else self._connect()

    # -- connection and errors ----------------------------------------------------------

    def _connect(self):
        if DOCKER_SDK_IMPORT_ERROR is not None:
            self.module.fail_json(
                msg=missing_required_lib('Docker SDK for Python (Debian: python3-docker, PyPI: docker)'),
                exception=DOCKER_SDK_IMPORT_ERROR)
        try:
            return docker.APIClient(base_url=self.docker_host, version='auto',
                                    timeout=max(1, min(self.timeout, MAX_REQUEST_TIMEOUT)))
        except (DockerException, RequestException) as exc:
            self.fail('Cannot reach the Docker engine at %s: %s. Run the module on a host whose engine is up '
                      '(delegate_to a manager) or set docker_host.' % (self.docker_host, exc))

    def fail(self, msg, **facts):
        fail(self.module, msg, **facts)

    def call(self, what, method, *args, **kwargs):
        """Run one API call; an unexpected engine error fails the module with ``what`` was attempted."""
        try:
            return method(*args, **kwargs)
        except APIError as exc:
            self.fail('Docker engine at %s refused to %s: %s' % (self.docker_host, what, api_error_text(exc)))
        except (DockerException, RequestException) as exc:
            self.fail('Docker engine at %s did not answer while trying to %s: %s' % (self.docker_host, what, exc))

    # How many times a wait found the swarm without a leader (an election) and went on waiting.
    leaderless_polls = 0

    def poll(self, what, method, *args, **kwargs):
        """Like call(), for one poll of a wait: when the swarm has no leader for a moment (an election
        after a manager died or was cut off) it returns None instead of failing, and the wait goes on
        until its deadline. Any other engine error fails as in call()."""
        try:
            return method(*args, **kwargs)
        except APIError as exc:
            text = api_error_text(exc)
            if not SwarmUnavailable(text).no_leader:
                self.fail('Docker engine at %s refused to %s: %s' % (self.docker_host, what, text))
            self.leaderless_polls += 1
            return None
        except (DockerException, RequestException) as exc:
            self.fail('Docker engine at %s did not answer while trying to %s: %s' % (self.docker_host, what, exc))

    def elapsed(self):
        return round(_now() - self.started, 1)

    @staticmethod
    def manager_port_answers(addr):
        """Whether a manager's swarm port ("host:port") accepts a connection."""
        return port_answers(addr, MANAGER_PORT_SECONDS)

    def remaining(self):
        return max(0.0, self.deadline - _now())

    def deadline_passed(self, moment=None):
        return _now() >= (self.deadline if moment is None else moment)

    @staticmethod
    def sleep(seconds):
        _sleep(seconds)

    def wait_until(self, check, interval=POLL_INTERVAL, limit=None):
        """wait_until() within the module's deadline, or within ``limit`` seconds from now if sooner."""
        deadline = self.deadline if limit is None else min(self.deadline, _now() + limit)
        return wait_until(check, deadline, interval=interval)

    # -- engine and swarm state ----------------------------------------------------------

    def info(self):
        return self.call('read engine info', self.api.info)

    def swarm_info(self):
        return (self.info() or {}).get('Swarm') or {}

    def nodes_or_unavailable(self):
        """The node list, or raise SwarmUnavailable with the engine's reason (no quorum, worker, locked)."""
        return self.cluster_call_or_unavailable('listing nodes', self.api.nodes)

    def cluster_call_or_unavailable(self, doing, method, *args, **kwargs):
        """One call for cluster state; an engine refusal raises SwarmUnavailable with its reason
        (no quorum, worker, locked), an engine that does not answer fails the module."""
        try:
            return method(*args, **kwargs)
        except APIError as exc:
            raise SwarmUnavailable(api_error_text(exc), getattr(exc, 'status_code', None))
        except (DockerException, RequestException) as exc:
            self.fail('Docker engine at %s did not answer while %s: %s' % (self.docker_host, doing, exc))

    def inspect_swarm(self, purpose):
        """The swarm object, without its join tokens. A swarm without a leader (an election after a
        manager died or restarted) is waited for up to LEADER_ELECTION_SECONDS; any other refusal
        (a worker, a locked engine) fails with the way out. ``purpose`` completes "Cannot ... from"."""
        def read():
            try:
                return True, self.cluster_call_or_unavailable('trying to ' + purpose, self.api.inspect_swarm)
            except SwarmUnavailable as exc:
                if exc.no_leader:
                    return False, exc
                self.fail_unavailable(exc, purpose)

        outcome = self.wait_until(read, limit=LEADER_ELECTION_SECONDS)
        if not outcome.done:
            self.fail_unavailable(outcome.progress, purpose)
        swarm = outcome.progress
        swarm.pop('JoinTokens', None)
        return swarm

    def write_swarm_spec(self, version, spec, what, refused_suffix=''):
        """Compare-and-swap write of the swarm's spec, read at ``version``. Returns None when written;
        'out of sequence' when another writer changed the swarm since it was read (nothing written);
        'no leader' when an election left it unknown whether the write was committed. Either way the
        caller reads again and decides again. Any other refusal fails the module: "Docker engine
        refused to <what>: <reason><refused_suffix>"."""
        try:
            self.api.update_swarm(version=version, swarm_spec=spec)
        except APIError as exc:
            text = api_error_text(exc)
            if 'out of sequence' in text:
                return 'out of sequence'
            if SwarmUnavailable(text).no_leader:
                return 'no leader'
            self.fail('Docker engine refused to %s: %s%s' % (what, text, refused_suffix))
        return None

    def set_raft_snapshot_interval(self, value):
        """Set the swarm spec's Raft.SnapshotInterval through the compare-and-swap writer (read, change
        only the interval, write at the version read; again when another writer came first).
        Returns the interval it replaced."""
        what = 'set the raft snapshot interval to %d' % value
        for dummy in range(5):
            swarm = self.inspect_swarm(what)
            spec = dict(swarm.get('Spec') or {})
            before = (spec.get('Raft') or {}).get('SnapshotInterval') or 10000
            spec['Raft'] = dict(spec.get('Raft') or {}, SnapshotInterval=value)
            if self.write_swarm_spec(swarm['Version']['Index'], spec, what) is None:
                return before
            self.sleep(0.2)
        self.fail('Could not %s: the swarm kept changing under five compare-and-swap writes in a row.' % what)

    def nodes_across_election(self):
        """The node list, an election in progress (no leader: a manager just restarted or died)
        waited out for up to LEADER_ELECTION_SECONDS so that it is not taken for a lost quorum.
        Raises SwarmUnavailable with the last refusal otherwise."""
        def listed():
            try:
                return True, self.nodes_or_unavailable()
            except SwarmUnavailable as exc:
                if not exc.no_leader:
                    raise
                return False, exc

        outcome = self.wait_until(listed, limit=LEADER_ELECTION_SECONDS)
        if outcome.done:
            return outcome.progress
        raise outcome.progress

    def nodes(self, purpose):
        """The node list; fails with the reason and the way out when the swarm cannot serve it."""
        try:
            return self.nodes_or_unavailable()
        except SwarmUnavailable as exc:
            self.fail_unavailable(exc, purpose)

    def fail_unavailable(self, exc, purpose):
        local = self.swarm_info()
        where = 'node %s (%s)' % (local.get('NodeAddr') or self.docker_host, local.get('NodeID') or 'not in a swarm')
        if exc.no_leader:
            hint = ('the swarm has no leader (quorum lost). Check with swarmops.lifecycle.quorum_info; if most managers '
                    'are gone for good, recover with swarmops.lifecycle.force_new_cluster on a surviving manager')
        elif exc.locked:
            hint = 'the engine is locked (autolock). Unlock it with "docker swarm unlock" first'
        elif exc.not_manager:
            hint = 'it is not a swarm manager. Run the task on a manager (delegate_to a host of swarm_managers)'
        else:
            hint = 'the engine cannot serve cluster state'
        self.fail('Cannot %s from %s: %s. Engine said: %s' % (purpose, where, hint, exc.reason),
                  engine_error=exc.reason)

    def require_node(self, nodes, name_or_id):
        node, reason = find_node(nodes, name_or_id)
        if node is None:
            known = ', '.join(sorted(node_hostname(item) or item.get('ID') for item in nodes))
            self.fail('Node %s is not in the swarm%s. Known nodes: %s. Give a hostname or ID from "docker node ls".'
                      % (name_or_id, (': ' + reason) if reason else '', known or 'none'))
        return node

    def inspect_node(self, node_id):
        try:
            return self.api.inspect_node(node_id)
        except NotFound:
            return None
        except APIError as exc:
            self.fail('Docker engine at %s refused to inspect node %s: %s' % (self.docker_host, node_id, api_error_text(exc)))
        except (DockerException, RequestException) as exc:
            self.fail('Docker engine at %s did not answer while inspecting node %s: %s' % (self.docker_host, node_id, exc))

    def settle_node(self, node, limit=NODE_SETTLE_SECONDS):
        """The node once its status is known again: "unknown" right after a leader change says nothing.

        Waits at most ``limit`` seconds (within the module's deadline) and returns the last node seen.
        """
        if node_state(node) != 'unknown':
            return node

        def known():
            current = self.inspect_node(node['ID']) or node
            return node_state(current) != 'unknown', current

        return wait_until(known, min(self.deadline, _now() + limit)).progress

    def services(self):
        return self.call('list services', self.api.services) or []

    def tasks(self, filters=None):
        return self.call('list tasks', self.api.tasks, filters=filters) or []

    def secrets(self):
        return self.call('list secrets', self.api.secrets) or []

    def configs(self):
        return self.call('list configs', self.api.configs) or []

    # -- changes -------------------------------------------------------------------------

    def update_node_spec(self, node, **changes):
        """Change fields of a node's Spec, keeping the rest (labels, name) as they are.

        Retries when the node changed between read and write ("update out of sequence").
        """
        current = node
        for attempt in range(3):
            spec = copy.deepcopy(current.get('Spec') or {})
            spec.update(changes)
            try:
                return self.api.update_node(current['ID'], current['Version']['Index'], spec)
            except APIError as exc:
                text = api_error_text(exc)
                if 'out of sequence' not in text or attempt == 2:
                    self.fail('Docker engine refused to update node %s (%s): %s'
                              % (node_label(node), ', '.join('%s=%s' % item for item in sorted(changes.items())), text))
            except (DockerException, RequestException) as exc:
                self.fail('Docker engine did not answer while updating node %s: %s' % (node_label(node), exc))
            current = self.inspect_node(node['ID']) or current

    def remove_node(self, node, force):
        return self.call('remove node %s' % node_label(node), self.api.remove_node, node['ID'], force=force)

    def remove_stale_manager_entries(self, keep_id):
        """Remove every entry with the manager role that is not a raft member, other than ``keep_id``.

        Right after a forced new cluster these are the old cluster's managers. One whose engine
        still runs is told by the new raft that it was removed, drops its raft data and asks the
        new cluster's CA for a certificate: while its entry has the manager role it gets a
        manager's and joins the new raft by itself, as a member nobody planned for. Removing the
        entries at once (with force: a live one may show ready) makes their engines wait to be
        rejoined. An entry that became a raft member before its removal is kept: it is a manager
        of the new cluster now. Returns (removed IDs, kept nodes).
        """
        removed, joined = [], []
        for node in stale_manager_entries(self.nodes('read the node list of the new cluster'), keep_id):
            try:
                self.api.remove_node(node['ID'], force=True)
                removed.append(node['ID'])
                continue
            except NotFound:
                continue
            except APIError as exc:
                current = self.inspect_node(node['ID'])
                if current is None or not is_raft_member(current):
                    self.fail('Docker engine at %s refused to remove the stale manager entry %s: %s'
                              % (self.docker_host, node_label(node), api_error_text(exc)))
                joined.append(current)
            except (DockerException, RequestException) as exc:
                self.fail('Docker engine at %s did not answer while removing the stale manager entry %s: %s'
                          % (self.docker_host, node_label(node), exc))
        return removed, joined

    def update_service(self, service_id, mutate, doing, **facts):
        """Change a service's spec with ``mutate(spec)`` (in place) and send it back, retried when the
        service changed between read and write ("update out of sequence"). Returns the spec sent.

        The low-level update replaces the whole spec, so every part of the current spec is sent back
        as it is (SDK ``Service.update()`` would rebuild parts of it). ``doing`` names the change in
        a failure ("scale service {name} to 3 replicas", {name} the service's name); ``facts`` go into
        the failure's result.
        """
        for attempt in range(3):
            service = self.call('inspect service %s' % service_id, self.api.inspect_service, service_id)
            spec = copy.deepcopy(service['Spec'])
            mutate(spec)
            kwargs = dict(
                task_template=spec.get('TaskTemplate') or {},
                name=spec.get('Name'),
                labels=spec.get('Labels') or {},
                mode=spec.get('Mode'),
                update_config=spec.get('UpdateConfig'),
                rollback_config=spec.get('RollbackConfig'),
                endpoint_spec=spec.get('EndpointSpec'),
            )
            if spec.get('Networks') and not kwargs['task_template'].get('Networks'):
                kwargs['networks'] = spec['Networks']
            what = doing.format(name=service_name(service))
            try:
                self.api.update_service(service['ID'], service['Version']['Index'], **kwargs)
                return spec
            except APIError as exc:
                text = api_error_text(exc)
                if 'out of sequence' not in text or attempt == 2:
                    self.fail('Docker engine refused to %s: %s' % (what, text), **facts)
            except (DockerException, RequestException) as exc:
                self.fail('Docker engine did not answer while trying to %s: %s' % (what, exc), **facts)

    def scale_service(self, service_id, replicas, set_labels=None, remove_labels=()):
        """Set Spec.Mode.Replicated.Replicas of a service (and, in the same update, the service labels
        given) and nothing else."""
        def scale(spec):
            spec.setdefault('Mode', {}).setdefault('Replicated', {})['Replicas'] = int(replicas)
            labels = dict(spec.get('Labels') or {})
            labels.update(set_labels or {})
            for key in remove_labels:
                labels.pop(key, None)
            spec['Labels'] = labels

        return self.update_service(service_id, scale, 'scale service {name} to %s replicas' % replicas)

    def unlock(self, unlock_key, answer_within=UNLOCK_ANSWER_SECONDS):
        """Unlock the local engine. Returns False when the engine took the key but did not answer in time.

        Without quorum the engine accepts the key, then holds the request until it reaches a
        leader, which never happens; the caller polls ``info()`` instead of waiting for it.
        """
        saved_timeout = self.api.timeout
        self.api.timeout = min(saved_timeout, answer_within)
        try:
            self.api.unlock_swarm(unlock_key)
            return True
        except APIError as exc:
            self.fail('Docker engine at %s refused the unlock key: %s. Give the key printed by '
                      '"docker swarm unlock-key -q" (kept with your backups).' % (self.docker_host, api_error_text(exc)))
        except RequestException:
            return False
        except DockerException as exc:
            self.fail('Docker engine at %s did not answer while unlocking: %s' % (self.docker_host, exc))
        finally:
            self.api.timeout = saved_timeout

    def force_new_cluster(self, advertise_addr):
        return self.call('run swarm init --force-new-cluster', self.api.init_swarm,
                         advertise_addr=advertise_addr, force_new_cluster=True)

    # -- local facts ---------------------------------------------------------------------

    def _local_swarm_path(self, info, *parts):
        """A path under the engine's swarm directory, or None when this host cannot see it."""
        if not self.docker_host.startswith('unix://'):
            return None
        root = info.get('DockerRootDir')
        if not root or not os.path.isdir(root):
            return None
        return os.path.join(root, 'swarm', *parts)

    def autolock_enabled(self, info):
        """True/False when known, None when it cannot be told.

        Without quorum ``info()`` returns an empty cluster spec (AutoLockManagers false whatever
        the truth), so the node's TLS key, encrypted under autolock, is the better witness.
        """
        swarm = info.get('Swarm') or {}
        if swarm.get('LocalNodeState') == 'locked':
            return True
        key_path = self._local_swarm_path(info, 'certificates', 'swarm-node.key')
        if key_path and os.path.isfile(key_path):
            try:
                with open(key_path) as key_file:
                    return 'ENCRYPTED' in key_file.readline()
            except (IOError, OSError):
                pass
        cluster = swarm.get('Cluster') or {}
        if cluster.get('ID'):
            return bool(((cluster.get('Spec') or {}).get('EncryptionConfig') or {}).get('AutoLockManagers'))
        return None

    def raft_newest(self, info):
        """Modification time of the newest file of the engine's raft state; 0 when none can be seen."""
        raft_path = self._local_swarm_path(info, 'raft')
        newest = 0.0
        if raft_path is None or not os.path.isdir(raft_path):
            return newest
        for top, dummy, files in os.walk(raft_path):
            for name in files:
                try:
                    newest = max(newest, os.path.getmtime(os.path.join(top, name)))
                except OSError:
                    pass
        return newest

    def raft_dir_missing(self, info):
        """True only when we can see the engine's data dir and it has no swarm/raft directory."""
        raft_path = self._local_swarm_path(info, 'raft')
        return raft_path is not None and not os.path.isdir(raft_path)
