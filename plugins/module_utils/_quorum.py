# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Quorum maths: the quorum of N managers, fault tolerance, and what a promotion or a
demotion would make of them (the Quorum value). Pure functions, no engine.

PRIVATE to the collection: the interface may change without notice. ``swarm`` re-exports every
name, so that ``from ...module_utils.swarm import quorum_size`` keeps working.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def quorum_size(managers):
    """Managers that must be reachable for raft to have a leader: floor(N/2) + 1.

    >>> [quorum_size(n) for n in range(1, 8)]
    [1, 2, 2, 3, 3, 4, 4]
    """
    return managers // 2 + 1


def has_quorum(managers, reachable):
    """True when R reachable managers out of N still form a majority (R >= floor(N/2) + 1)."""
    return managers > 0 and reachable >= quorum_size(managers)


def fault_tolerance(managers, reachable=None):
    """How many more managers may be lost while keeping quorum.

    With every manager reachable that is floor((N-1)/2). With R reachable it is
    R - quorum_size(N), never below 0.

    >>> [fault_tolerance(n) for n in range(1, 8)]
    [0, 0, 1, 1, 2, 2, 3]
    >>> fault_tolerance(5, 3), fault_tolerance(5, 2)
    (0, 0)
    """
    if managers <= 0:
        return 0
    if reachable is None:
        reachable = managers
    return max(0, reachable - quorum_size(managers))


class Quorum(object):
    """N raft managers of which R are reachable, and what a promotion or a demotion would make of them.

    >>> Quorum(3, 2).after_promote().has, Quorum(3, 2).after_demote(target_reachable=False).has
    (False, True)
    """

    def __init__(self, total, reachable=None):
        self.total = int(total)
        self.reachable = self.total if reachable is None else int(reachable)

    def __eq__(self, other):
        return isinstance(other, Quorum) and (self.total, self.reachable) == (other.total, other.reachable)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return 'Quorum(%d, %d)' % (self.total, self.reachable)

    @property
    def size(self):
        """Managers needed for a majority (0 without managers)."""
        return quorum_size(self.total) if self.total else 0

    @property
    def has(self):
        return has_quorum(self.total, self.reachable)

    @property
    def fault_tolerance(self):
        return fault_tolerance(self.total, self.reachable)

    @property
    def fault_tolerance_max(self):
        """The fault tolerance with every manager reachable."""
        return fault_tolerance(self.total)

    @property
    def odd(self):
        return self.total % 2 == 1

    def after_promote(self):
        """One manager more, which cannot vote until it has joined raft: R stays."""
        return Quorum(self.total + 1, self.reachable)

    def after_demote(self, target_reachable=True):
        """One manager fewer; a reachable one also takes its vote away (a ghost takes none)."""
        return Quorum(self.total - 1, self.reachable - 1 if target_reachable else self.reachable)


def demote_keeps_quorum(managers, reachable, target_reachable):
    """Would the swarm keep quorum after demoting one manager?

    Demoting takes the manager out of raft, so N becomes N-1 and the quorum becomes
    floor((N-1)/2) + 1. A reachable target also takes one vote away: R becomes R-1.
    An unreachable target (a ghost) takes no vote away, so R stays.

    - reachable target:   keeps quorum  <=>  R - 1 >= floor((N-1)/2) + 1
    - unreachable target: keeps quorum  <=>  R     >= floor((N-1)/2) + 1

    Raft needs a leader to commit the change, so the swarm must have quorum now.
    Example: N=3, R=2 (one ghost). Demoting a reachable manager leaves 1 of 2 (quorum 2): refused.
    Demoting the ghost leaves 2 of 2: allowed.
    """
    now = Quorum(managers, reachable)
    return managers > 1 and now.has and now.after_demote(target_reachable).has


def promote_keeps_quorum(managers, reachable):
    """Would the swarm keep quorum without counting the newcomer, after promoting one node?

    Promoting makes N+1 managers, whose quorum is floor((N+1)/2) + 1. Until the new manager has
    joined raft it cannot vote, so the R reachable managers must reach that quorum on their own.
    Example: N=3 with one down (R=2): N=4 needs 3, so quorum would hang on the newcomer.
    """
    now = Quorum(managers, reachable)
    return now.has and now.after_promote().has
