#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: swarm_lock
short_description: A cluster-wide lock kept in the swarm's own labels
version_added: 0.1.0
description:
  - Takes, marks or releases a named lock stored as a label of the swarm itself
    (C(swarmops.lock.<name>)), so that two runs of an operation such as C(maintain.yml) cannot
    overlap, whichever controller they start from.
  - Taking the lock is a compare-and-swap on the swarm's version index, so of two runs that
    start together exactly one gets it; the other is refused with who holds it and since when.
  - A lock marked C(failed) by a run that stopped on an error is taken over by the next run,
    which keeps its O(ignore:run) identifier so that work already done is not done again.
  - A lock still marked C(running) is never broken silently. Once it has not been renewed for
    O(ttl) seconds (or taken, when it never was) it can be broken with O(break_stale=true). A run
    longer than O(ttl) keeps its lock alive with O(renew=true) at each step.
  - A swarm without a leader (an election after a manager died) is waited for, up to 30 seconds
    within O(timeout), and a write it refused is read again and retried.
author:
  - swarmops.lifecycle developers (@swarmops)
extends_documentation_fragment:
  - swarmops.lifecycle.swarm
  - swarmops.lifecycle.swarm.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the lock. The swarm label is C(swarmops.lock.<name>).
    type: str
    default: maintenance
    version_added: 0.1.0
  owner:
    description:
      - Who takes or holds the lock, for example C(user@controller:pid). Shown to a run that is refused.
    type: str
    required: true
    version_added: 0.1.0
  state:
    description:
      - V(present) takes the lock (or keeps it when O(owner) holds it already).
      - V(failed) marks the lock held by O(owner) as left by a failed run, so that the next run resumes.
      - V(absent) releases the lock held by O(owner).
    type: str
    choices: [present, failed, absent]
    default: present
    version_added: 0.1.0
  ttl:
    description:
      - Seconds after which a lock still marked C(running) counts as stale (its run probably died).
    type: int
    default: 3600
    version_added: 0.1.0
  break_stale:
    description:
      - Take over a stale lock (older than O(ttl) and still marked C(running)).
      - Only do this when the run that holds it is known to be gone.
    type: bool
    default: false
    version_added: 0.1.0
  renew:
    description:
      - With O(state=present), the owner of the lock records that its run is still alive (the lock's
        C(renewed) time). Staleness is measured from the last renewal. Reports a change each time.
    type: bool
    default: false
    version_added: 0.2.0
seealso:
  - module: swarmops.lifecycle.cluster_health
'''

EXAMPLES = r'''
- name: Take the maintenance lock
  swarmops.lifecycle.swarm_lock:
    owner: "ops@{{ lookup('ansible.builtin.pipe', 'hostname') }}"
  delegate_to: "{{ groups['swarm_managers'][0] }}"
  register: maintenance_lock

- name: Release it
  swarmops.lifecycle.swarm_lock:
    owner: "ops@{{ lookup('ansible.builtin.pipe', 'hostname') }}"
    state: absent
  delegate_to: "{{ groups['swarm_managers'][0] }}"
'''

RETURN = r'''
lock:
  description: The lock after the module ran (in check mode, as it would be); null when free.
  returned: always
  type: dict
  contains:
    owner:
      description: Who holds the lock.
      type: str
    run:
      description: Identifier of the run; kept when a run resumes after a failed one.
      type: str
    since:
      description: Unix time when the current owner took the lock.
      type: float
    status:
      description: C(running) or C(failed).
      type: str
  sample: {owner: ops@ci-7:4242, run: 1764400000-8f3a2c, since: 1764400000.5, status: running}
previous:
  description: The lock before the module ran; null when it was free.
  returned: always
  type: dict
resumed:
  description: Whether the lock was taken over from a run that failed (or from a stale one).
  returned: always
  type: bool
age:
  description: Seconds since the previous holder took the lock, when there was one.
  returned: always
  type: float
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  version_added: 0.2.0
'''

import json
import time
import uuid

from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module

LABEL_PREFIX = 'swarmops.lock.'
# Of two runs that read the same version, the second write fails with this; it then re-reads.
ATTEMPTS = 5


class SwarmLock(SwarmModule):
    """Take, renew, mark failed or release a lock in the swarm's own labels, by compare-and-swap."""

    def __init__(self, module, client):
        super(SwarmLock, self).__init__(module, client)
        self.label = LABEL_PREFIX + self.params['name']
        self.result.update(resumed=False, age=None)
        self.last_write_error = None

    @staticmethod
    def check_params(module):
        if module.params['ttl'] <= 0:
            module.fail_json(msg='ttl must be a positive number of seconds, got %d.' % module.params['ttl'])

    def run(self):
        for attempt in range(ATTEMPTS):
            swarm = self.read_swarm()
            current = self.decode(swarm)
            wanted, resumed = self.decide(current)
            self.result.update(previous=current, lock=wanted, resumed=resumed,
                               age=round(time.time() - current['since'], 1) if current else None)
            self.result['changed'] = wanted != current
            if not self.result['changed'] or self.module.check_mode:
                break
            if self.write(swarm, wanted):
                break
            if attempt == ATTEMPTS - 1:
                self.client.fail('Could not update lock %s: the swarm changed (or lost its leader) under every one of '
                                 '%d attempts. %s Try again: each attempt reads the lock first.'
                                 % (self.label, ATTEMPTS, 'Nothing was changed.' if self.last_write_error == 'out of sequence'
                                    else 'The last write may or may not have been committed by the swarm.'))
        self.diff.add(self.label, self.result['previous'], self.result['lock'])
        self.exit()

    def read_swarm(self):
        """The swarm object. An election (a manager just died or restarted) is waited for up to
        LEADER_ELECTION_SECONDS: a failed run's lock must still be marked, and a new run must not be
        refused, because of a few seconds without leader."""
        return self.client.inspect_swarm('read the maintenance lock %s' % self.label)

    def decode(self, swarm):
        raw = ((swarm.get('Spec') or {}).get('Labels') or {}).get(self.label)
        if not raw:
            return None
        try:
            lock = json.loads(raw)
        except ValueError:
            lock = None
        if not isinstance(lock, dict) or 'owner' not in lock:
            self.client.fail('Swarm label %s holds something that is not a lock: %r. Nothing was changed. '
                             'Remove it with the Docker API if nothing uses it.' % (self.label, raw))
        lock.setdefault('since', 0.0)
        lock.setdefault('status', 'running')
        lock.setdefault('run', '')
        return lock

    def decide(self, current):
        """The lock as it should be after this call, and whether a failed or stale run is resumed."""
        owner, state = self.params['owner'], self.params['state']
        mine = current is not None and current['owner'] == owner
        if state == 'absent':
            if current is None:
                return None, False
            if not mine and current['status'] == 'running':
                self.refuse_held(current, 'release')
            return None, False
        if state == 'failed':
            if not mine:
                # Nothing of ours to mark: the failure happened before the lock was taken.
                return current, False
            return dict(current, status='failed'), False
        if mine:
            if self.params['renew']:
                return dict(current, status='running', renewed=round(time.time(), 3)), False
            return dict(current, status='running'), False
        if current is None:
            now = time.time()
            return dict(owner=owner, run='%d-%s' % (now, uuid.uuid4().hex[:6]), since=round(now, 3),
                        status='running'), False
        if current['status'] == 'failed':
            return dict(current, owner=owner, since=round(time.time(), 3), status='running'), True
        age = time.time() - self.last_alive(current)
        if age >= self.params['ttl'] and self.params['break_stale']:
            return dict(current, owner=owner, since=round(time.time(), 3), status='running'), True
        self.refuse_held(current, 'take')
        return current, False  # not reached: refuse_held fails the module

    @staticmethod
    def last_alive(lock):
        """When the run holding the lock was last known alive: its last renewal, else when it took the lock."""
        return max(lock.get('since') or 0.0, lock.get('renewed') or 0.0)

    def refuse_held(self, current, action):
        age = time.time() - self.last_alive(current)
        if age >= self.params['ttl']:
            way_out = ('It is older than ttl=%ds, so its run has probably died: make sure it has, then break it '
                       'with break_stale=true (maintain.yml: -e rolling_maintenance_break_lock=true).'
                       % self.params['ttl'])
        else:
            way_out = ('Wait for that run to finish. If it died, the lock can be broken once it is older than '
                       'ttl=%ds (in %ds).' % (self.params['ttl'], self.params['ttl'] - age))
        renewed = (', last renewed %ds ago' % age) if current.get('renewed') else ''
        self.client.fail(
            'Cannot %s lock %s: %s holds it (run %s, %s since %s, %ds ago%s). Another run is in progress; nothing '
            'was changed. %s' % (
                action, self.label, current['owner'], current['run'], current['status'],
                time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(current['since'])), time.time() - current['since'],
                renewed, way_out),
            lock=current)

    def write(self, swarm, wanted):
        """Compare-and-swap: False when another writer changed the swarm since it was read."""
        spec = dict(swarm.get('Spec') or {})
        labels = dict(spec.get('Labels') or {})
        if wanted is None:
            labels.pop(self.label, None)
        else:
            labels[self.label] = json.dumps(wanted, sort_keys=True)
        spec['Labels'] = labels
        # An election ("no leader"): the write may or may not have been committed. The next attempt
        # re-reads (waiting for a leader) and decides again, which is idempotent.
        self.last_write_error = self.client.write_swarm_spec(
            swarm['Version']['Index'], spec, 'update swarm label %s' % self.label)
        return self.last_write_error is None


def main():
    run_module(SwarmLock, dict(
        name=dict(type='str', default='maintenance'),
        owner=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'failed', 'absent']),
        ttl=dict(type='int', default=3600),
        break_stale=dict(type='bool', default=False),
        renew=dict(type='bool', default=False),
    ))


if __name__ == '__main__':
    main()
