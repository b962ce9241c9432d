# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The base of every swarmops.lifecycle module: the result, the diff, the exit, and the one place
where an unexpected error is caught.

PRIVATE to the collection: the interface may change without notice.

A module is its documentation, its argument spec and a small subclass of ``SwarmModule``
named after what it does (``Drain``, ``Demote``...) whose ``run()`` ends with ``self.exit()``;
its ``main()`` is ``run_module(Drain, argument_spec)``. Expected refusals and engine errors fail
where they happen, with a message for the operator (``SwarmClient.fail``); anything else that
escapes ``run()`` fails here once, naming the module's step and carrying the traceback, as
community.docker's modules do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm import (
    DockerException,
    DifferenceTracker,
    RequestException,
    SwarmClient,
    swarm_argument_spec,
)


class SwarmModule(object):
    """What every module shares: its parameters, the client of the local engine, the diff and
    the result, and ``exit()``."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.diff = DifferenceTracker()
        self.result = dict(changed=False)
        # What the module is doing, for the message of an unexpected error.
        self.step = 'start'

    @staticmethod
    def check_params(module):
        """Refuse bad parameters before the engine is even reached (module.fail_json)."""

    def run(self):
        raise NotImplementedError

    def exit(self, **facts):
        """Return the result: ``facts`` added, ``changed`` when the diff recorded a change (or
        the result says so), the diff when asked for, and the seconds the call took."""
        self.result.update(facts)
        self.result['changed'] = bool(self.result.get('changed')) or self.diff.has_differences
        if self.module._diff:
            self.result['diff'] = self.diff.as_diff()
        self.result['elapsed'] = self.client.elapsed()
        self.module.exit_json(**self.result)


def run_module(cls, argument_spec, **module_options):
    """The ``main()`` of a module: the common options added to its argument spec, check mode
    supported, and one ``cls`` run; an unexpected Docker SDK or HTTP error fails once, with
    the step it happened in and the traceback."""
    module = AnsibleModule(argument_spec=swarm_argument_spec(**argument_spec), supports_check_mode=True,
                           **module_options)
    cls.check_params(module)
    instance = None
    try:
        instance = cls(module, SwarmClient(module))
        instance.run()
    except (DockerException, RequestException) as exc:
        step = getattr(instance, 'step', 'connect')
        module.fail_json(msg='Unexpected error from the Docker engine at step %r of %s (%s: %s). Nothing after that '
                             'step was done; the traceback is in the result (-vvv). Check the engine, then run again.'
                             % (step, module._name, type(exc).__name__, exc),
                         exception=traceback.format_exc())
