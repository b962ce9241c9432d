# -*- coding: utf-8 -*-
# Copyright (c) swarmops.lifecycle developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared fixtures: the fake engine (tests/unit/fake_engine.py), a fake clock, a module runner.

The client is mocked at its edge: SwarmClient talks to FakeEngine exactly as it talks to
``docker.APIClient``, so everything above the SDK runs for real.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
import tempfile

import pytest


def _make_collection_importable():
    """Plain ``pytest tests/unit`` from a checkout: expose the checkout as swarmops.lifecycle."""
    try:
        import ansible_collections.swarmops.lifecycle.plugins.module_utils.swarm  # noqa: F401 pylint: disable=unused-import
        return
    except ImportError:
        pass
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    base = tempfile.mkdtemp(prefix='swarmops-collections-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'swarmops'))
    os.symlink(repo_root, os.path.join(base, 'ansible_collections', 'swarmops', 'lifecycle'))
    sys.path.insert(0, base)
    for name in [name for name in sys.modules if name == 'ansible_collections' or name.startswith('ansible_collections.')]:
        del sys.modules[name]


_make_collection_importable()

from ansible.module_utils.testing import patch_module_args  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.swarmops.lifecycle.plugins.module_utils import swarm  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.swarmops.lifecycle.tests.unit.fake_engine import FakeClock, FakeEngine  # noqa: E402 pylint: disable=wrong-import-position


# ---------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """No test opens a connection: a manager's swarm port never answers unless a test says so."""
    monkeypatch.setattr(swarm, 'port_answers', lambda addr, timeout: False)


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(swarm, '_now', clock.time)
    monkeypatch.setattr(swarm, '_sleep', clock.sleep)
    return clock


@pytest.fixture
def engine(monkeypatch):
    fake = FakeEngine()
    monkeypatch.setattr(swarm.SwarmClient, '_connect', lambda self: fake)
    return fake


class ModuleResult(dict):
    @property
    def failed(self):
        return bool(self.get('failed'))

    @property
    def msg(self):
        return self.get('msg', '')

    @property
    def warning_texts(self):
        """Warnings as text: ansible-core 2.19 sends them as structured summaries."""
        texts = []
        for warning in self.get('warnings') or []:
            if isinstance(warning, dict):
                warning = (warning.get('event') or {}).get('msg') or warning.get('msg') or str(warning)
            texts.append(warning)
        return texts


@pytest.fixture
def run_module(capsys):
    """run_module(module, args, check_mode=False, diff=False) -> the module's JSON result."""

    def runner(module, args=None, check_mode=False, diff=False):
        module_args = dict(args or {})
        module_args['_ansible_check_mode'] = check_mode
        module_args['_ansible_diff'] = diff
        with patch_module_args(module_args):
            with pytest.raises(SystemExit):
                module.main()
        out = capsys.readouterr().out
        return ModuleResult(json.loads(out))

    return runner
