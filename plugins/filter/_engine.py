# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""[INTERNAL] The engine role's waits (role engine, tasks_from restart | wait): whether an engine
(re)started by a role is back, and if not, the message that says so.

PRIVATE to the collection: only its roles call this filter, and it may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NO_ANSWER_HINT = 'Start the engine by hand and read its log (systemctl status docker; journalctl -u docker)'
NOT_MEMBER_HINT = 'Check "docker info" on it (a locked or pending node, or a network problem)'


def _state(result):
    info = result.get('host_info') if isinstance(result, dict) else None
    if not isinstance(info, dict):
        return None
    return (info.get('Swarm') or {}).get('LocalNodeState') or ''


def _then(left, hint, then):
    parts = [left.strip()] if left and left.strip() else []
    parts.append('%s, then %s.' % (hint, then.strip().rstrip('.')) if then and then.strip() else hint + '.')
    return ' '.join(parts)


def engine_not_back(result, host, states=(), timeout=0, verb='restart', left='', then=''):
    """Why the engine of ``host`` is not back ('' when it is), from ``result``, the last
    docker_host_info result a wait read.

    ``states``: the swarm states (LocalNodeState) that count as back; empty: any answer does.
    ``verb``: what was done to the engine (restart, start); ``left``: in what state the caller's
    failure leaves things; ``then``: what to do once the engine is fixed.
    """
    state = _state(result)
    states = list(states or [])
    if state is not None and (not states or state in states):
        return ''
    if state is not None and states == ['active']:
        return ('The Docker engine on %s answers but did not rejoin the swarm within %ss (swarm state %s). %s'
                % (host, timeout, state or 'unknown', _then(left, NOT_MEMBER_HINT, then)))
    if state is None:
        last = ((result or {}).get('msg') if isinstance(result, dict) else None) or 'no message'
        hint = NO_ANSWER_HINT
    else:
        last, hint = 'swarm state %s' % (state or 'unknown'), NOT_MEMBER_HINT
    return ('The Docker engine on %s did not come back within %ss after its %s (last answer: %s). %s'
            % (host, timeout, verb, last, _then(left, hint, then)))


class FilterModule(object):
    """The engine role's waits."""

    def filters(self):
        return {'_engine_not_back': engine_not_back}
