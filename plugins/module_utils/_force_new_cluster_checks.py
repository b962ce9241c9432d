# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The force_new_cluster module's checks and refusals: raft state present, autolock, a wedged
unlock, quorum lost for longer than the longest election, a majority still answering.

PRIVATE to the collection: the interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    LEADER_ELECTION_SECONDS,
    ManagerCensus,
    SwarmUnavailable,
    node_label,
    quorum_size,
    short_node,
)


class ForceNewClusterChecks(object):
    """Mixed into the force_new_cluster module's class (a ``SwarmModule``): uses its client, module,
    params, result, diff, ``fail()``, ``exit()``, ``where``, ``local_id`` and ``read_local_node()``."""

    def check_has_raft_state(self, info, swarm):
        state = swarm.get('LocalNodeState') or 'inactive'
        if state == 'locked':
            if not self.params['unlock_key']:
                self.fail(
                    'Refusing to force a new cluster on %s: the engine is locked (autolock) and no unlock_key was '
                    'given. Nothing was changed. Pass unlock_key (from "docker swarm unlock-key -q", kept with your '
                    'backups).' % self.where)
        elif state not in ('active', 'pending') or not self.local_id:
            self.fail(
                'Refusing to force a new cluster on %s: the engine is not in a swarm (LocalNodeState=%s%s), so it has '
                'no raft state to recover from. Nothing was changed. Run it on a surviving manager, or restore a '
                'manager\'s /var/lib/docker/swarm from a backup first.'
                % (self.where, state, ', error: %s' % swarm['Error'] if swarm.get('Error') else ''))
        if self.client.raft_dir_missing(info):
            self.fail(
                'Refusing to force a new cluster on %s: %s/swarm/raft does not exist, so there is no raft state to '
                'recover from. Nothing was changed. Restore it from a backup or run on another manager.'
                % (self.where, info.get('DockerRootDir')))

    def refuse_autolock(self, census):
        managers = census.total if census is not None else len(self.result['managers_before'])
        self.fail(
            'Refusing to force a new cluster on %s: the swarm is autolocked, and the engine cannot force a new cluster '
            'on an autolocked manager: it restarts the node without the unlock key, fails with "Swarm is encrypted and '
            'needs to be unlocked" and leaves this engine out of the swarm (Docker engine limitation, moby/moby#36852). '
            'Nothing was changed. Start and unlock enough of the other managers to restore quorum (%d of %d), or, '
            'while the swarm has quorum, turn autolock off ("docker swarm update --autolock=false") so that a forced '
            'recovery stays possible.' % (self.where, quorum_size(managers) if managers else 1, managers),
            managers_before=self.result['managers_before'])

    def refuse_wedged_unlock(self, swarm):
        # The engine holds the unlock request until it reaches a leader and serialises swarm init
        # behind it (moby/moby#36852), so init --force-new-cluster would hang.
        self.read_local_node(swarm)
        self.fail(
            'The engine on %s took the unlock key but cannot finish unlocking: it reports LocalNodeState=%s (%s). An '
            'autolocked manager finishes unlocking only once it reaches a leader, and until then the engine refuses '
            'to run swarm init, so a new cluster cannot be forced on it (Docker engine limitation, moby/moby#36852). '
            'The swarm has lost quorum. Start enough of the other managers and unlock them to restore quorum; it '
            'then completes by itself. A restart of this engine locks it again.'
            % (self.where, swarm.get('LocalNodeState'), swarm.get('Error') or 'no leader'),
            managers_before=self.result['managers_before'])

    def wait_until_unlocked(self):
        def unlocked():
            swarm = self.client.swarm_info()
            # Without quorum an unlocked manager stays "pending": it cannot reach a leader.
            return swarm.get('LocalNodeState') in ('active', 'pending'), swarm

        outcome = self.client.wait_until(unlocked)
        if not outcome.done:
            self.fail('Unlocked %s but its engine reports LocalNodeState=%s after %ss.'
                      % (self.where, (outcome.progress or {}).get('LocalNodeState'), self.client.elapsed()))
        return outcome.progress

    def census_or_quorum_loss(self):
        """The census when the swarm has quorum; None when its loss lasted the longest election.

        Lost quorum shows as "no leader", or, for a few seconds after the other managers went
        away, as a node list (from a leader that has not stepped down yet, or with no leader at
        all) with fewer reachable managers than the quorum. Each counts as lost once it lasts
        LEADER_ELECTION_SECONDS: an ordinary election after a leader crash lasts 10-20 s. A list
        with a reachable majority but no leader is an election: when it lasts the whole window
        its census is returned, and the swarm is refused as one that has quorum.
        """
        confirm_until = min(self.client.deadline, self.client.started + LEADER_ELECTION_SECONDS)
        last_quorate = None
        while True:
            try:
                census = ManagerCensus(self.client.nodes_or_unavailable())
                if census.has_quorum and census.leader is not None:
                    return census
                if census.has_quorum:
                    # Every manager it needs is reachable, none is leader yet: an election. Waited for;
                    # if it lasts the whole window, refused below (a majority is there).
                    self.result['engine_error'] = ('no manager is leader, %d of %d managers reachable'
                                                   % (census.reachable_count, census.total))
                    last_quorate = census
                else:
                    # A leader that still answers, or a node list with no leader, with fewer reachable
                    # managers than the quorum: raft has not noticed yet, or it never will.
                    self.result['engine_error'] = (
                        '%s sees %d of %d managers reachable, below the quorum of %d'
                        % ('leader %s' % node_label(census.leader) if census.leader else 'with no leader, the swarm',
                           census.reachable_count, census.total, census.quorum_size))
                    last_quorate = None
            except SwarmUnavailable as exc:
                if not exc.no_leader:
                    self.fail('Refusing to force a new cluster on %s: the engine cannot serve cluster state for '
                              'another reason than a lost quorum: %s. Nothing was changed.' % (self.where, exc.reason))
                self.result['engine_error'] = exc.reason
                last_quorate = None
            if self.client.remaining() <= 0 or self.client.deadline_passed(confirm_until):
                return last_quorate
            self.client.sleep(1.0)

    def refuse_answering_majority(self, swarm):
        """No leader for the whole election window: still refuse while a majority of the managers
        this engine knows accept connections on their swarm port. They can still elect a leader,
        or they are cut off from this node: forcing here would split the swarm in two."""
        managers = swarm.get('RemoteManagers') or []
        others = [item for item in managers if item.get('NodeID') != self.local_id]
        answering = [item for item in others if self.client.manager_port_answers(item.get('Addr') or '')]
        count = len(answering) + (1 if len(others) < len(managers) else 0)
        if managers and count >= quorum_size(len(managers)):
            self.fail(
                'Refusing to force a new cluster on %s: the swarm has had no leader for %ss, but %d of %d managers answer '
                'on their swarm port (this one and %s), a majority that can still elect a leader, or that is cut off '
                'from this node. Forcing now would split the swarm in two. Nothing was changed. Check the managers '
                'and the network between them (swarmops.lifecycle.quorum_info on each), wait for their election, or '
                'stop the managers that are not to be kept; use force: true only for a split you have diagnosed.'
                % (self.where, self.client.elapsed(), count, len(managers),
                   ', '.join('%s at %s' % (item.get('NodeID'), item.get('Addr')) for item in answering)),
                answering_managers=[dict(id=item.get('NodeID'), addr=item.get('Addr')) for item in answering])

    def is_own_single_manager_cluster(self, census):
        return census.total == 1 and census.leader is not None and census.leader['ID'] == self.local_id

    def refuse_quorum(self, census):
        leader = census.leader
        self.fail(
            'Refusing to force a new cluster on %s: the swarm still has quorum (leader %s, %d of %d managers reachable, '
            'quorum %d). Forcing would drop the other %d manager(s) from raft. Nothing was changed. Fix single managers '
            'with swarmops.lifecycle.demote (remove: true for ghosts) and promote; use force: true only for a split '
            'you have diagnosed.'
            % (self.where, '%s (%s)' % (short_node(leader)['hostname'], leader['ID']) if leader else 'unknown',
               census.reachable_count, census.total, census.quorum_size, census.total - 1),
            managers=census.summary())

    def predict_locked(self):
        self.module.warn('The engine on %s is locked; check mode does not unlock it, so it cannot tell whether the '
                         'swarm still has quorum. The run would unlock it, and then refuse to force a new cluster if '
                         'quorum is lost, since the swarm is autolocked.' % self.where)
        self.result['changed'] = True
        self.diff.add('locked', True, False)
        return self.exit()
