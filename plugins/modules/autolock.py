#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: autolock
short_description: Turn a swarm's autolock on or off, keeping the rest of its spec
version_added: 0.2.0
description:
  - Sets C(EncryptionConfig.AutoLockManagers) of the swarm's spec and changes nothing else. The
    spec is read, that one field changed and written back with the version it was read at
    (compare-and-swap), as C(docker swarm update --autolock) does. The swarm's labels, where
    M(swarmops.lifecycle.swarm_lock) keeps the maintenance lock, its Raft, CA and dispatcher
    settings are kept.
  - C(community.docker.docker_swarm) with O(enabled) alone sends a spec built only from its own
    options, which drops the labels of the swarm (and so a maintenance lock held at that moment).
  - Never returns or logs the unlock key. Read it with C(docker swarm unlock-key -q) on a manager.
  - A swarm without a leader is waited for, up to 30 seconds within O(timeout); a write that lost
    a race with another writer is read again and retried.
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
  enabled:
    description:
      - Whether managers lock their Raft keys when their engine restarts (autolock).
    type: bool
    required: true
    version_added: 0.2.0
notes:
  - Run it on a manager (delegate_to a host of the manager group).
'''

EXAMPLES = r'''
- name: Turn autolock on (the unlock key is not returned; read it once on a manager)
  swarmops.lifecycle.autolock:
    enabled: true
  delegate_to: "{{ groups['docker_managers'][0] }}"
  run_once: true
'''

RETURN = r'''
autolock:
  description: Autolock as the swarm has it after the call (in check mode, as it would have it).
  returned: success
  type: bool
  sample: true
previous:
  description: Autolock before the call.
  returned: success
  type: bool
  sample: false
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  version_added: 0.2.0
'''

from ansible_collections.swarmops.lifecycle.plugins.module_utils._module import SwarmModule, run_module

ATTEMPTS = 5


class Autolock(SwarmModule):
    """Turn autolock on or off, changing nothing else of the swarm's spec."""

    def __init__(self, module, client):
        super(Autolock, self).__init__(module, client)
        self.wanted = module.params['enabled']
        self.result['autolock'] = self.wanted

    def run(self):
        for attempt in range(ATTEMPTS):
            swarm = self.client.inspect_swarm('read the swarm spec to set autolock')
            spec = dict(swarm.get('Spec') or {})
            previous = bool((spec.get('EncryptionConfig') or {}).get('AutoLockManagers'))
            self.result.update(previous=previous, changed=previous != self.wanted)
            if not self.result['changed'] or self.module.check_mode:
                break
            spec['EncryptionConfig'] = dict(spec.get('EncryptionConfig') or {}, AutoLockManagers=self.wanted)
            if self.client.write_swarm_spec(swarm['Version']['Index'], spec, 'set autolock=%s' % self.wanted,
                                            '. Nothing was changed.') is None:
                break
            if attempt == ATTEMPTS - 1:
                self.client.fail('Could not set autolock=%s: the swarm changed (or lost its leader) under every one of '
                                 '%d attempts. The last write may or may not have been committed. Try again: each '
                                 'attempt reads the swarm first.' % (self.wanted, ATTEMPTS))
        self.diff.add('autolock', self.result['previous'], self.wanted)
        self.exit()


def main():
    run_module(Autolock, dict(enabled=dict(type='bool', required=True)))


if __name__ == '__main__':
    main()
