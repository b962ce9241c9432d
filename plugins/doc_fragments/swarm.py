# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Connection to the local engine, shared by every module of the collection.
    DOCUMENTATION = r'''
options:
  docker_host:
    description:
      - Address of the Docker engine API the module talks to, normally the local engine of the
        manager the task runs on (use C(delegate_to) to pick the manager).
      - When not set, the E(DOCKER_HOST) environment variable of the managed node is used, and
        without it the local socket.
      - Only plain connections are supported (a UNIX socket or an unencrypted C(tcp://) address);
        the modules are meant to run next to the engine.
    type: str
    default: unix:///var/run/docker.sock
    version_added: 0.1.0
  timeout:
    description:
      - Seconds the whole module call may take, waits included (leader election, a node
        becoming reachable, tasks moving off a drained node).
      - When the time is up the module fails and says what is still pending.
      - A single API request is also limited to this value, but to at most 60 seconds.
      - Must be a positive number of seconds; V(0) or a negative value is refused before the engine is contacted.
    type: int
    default: 300
    version_added: 0.1.0
requirements:
  - Docker SDK for Python 5.0.3 or newer on the managed node (Debian package C(python3-docker), or C(docker) from PyPI).
notes:
  - The module talks to one engine only. Operations on another node of the swarm are done
    through the manager the task runs on.
'''

    # Declares what the attributes mean; each module states its support level.
    ATTRIBUTES = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the swarm has not changed in a relevant way in between.
'''

    # For modules that only read.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
'''
