"""The capability-dropping OCI runtime shim: spec edits and argument parsing."""
import importlib.machinery
import importlib.util
import json
import os

import pytest

SHIM = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "lab", "files", "capdrop-runc")


@pytest.fixture(scope="module")
def shim():
    loader = importlib.machinery.SourceFileLoader("capdrop_runc", SHIM)
    spec = importlib.util.spec_from_loader("capdrop_runc", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def status_with_capbnd(tmp_path, mask):
    path = tmp_path / "status"
    path.write_text("Name:\tx\nCapBnd:\t%016x\nCapAmb:\t0\n" % mask)
    return str(path)


def test_missing_caps_reads_the_bounding_set(shim, tmp_path, monkeypatch):
    full = (1 << 41) - 1
    without_sys_resource = full & ~(1 << 24)
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: real_open(
        status_with_capbnd(tmp_path, without_sys_resource) if p == "/proc/self/status" else p, *a, **k))
    assert shim.missing_caps() == {"CAP_SYS_RESOURCE"}


def test_full_bounding_set_misses_nothing(shim, tmp_path, monkeypatch):
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: real_open(
        status_with_capbnd(tmp_path, (1 << 41) - 1) if p == "/proc/self/status" else p, *a, **k))
    assert shim.missing_caps() == set()


def test_create_bundle_config_loses_only_missing_caps(shim, tmp_path):
    config = tmp_path / "config.json"
    caps = ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_NET_ADMIN"]
    config.write_text(json.dumps({"process": {"capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")}}}))
    shim.edit(str(config), lambda spec: spec.get("process", {}).get("capabilities"), {"CAP_SYS_RESOURCE"})
    edited = json.loads(config.read_text())["process"]["capabilities"]
    assert edited == {k: ["CAP_CHOWN", "CAP_NET_ADMIN"] for k in ("bounding", "effective", "permitted")}


def test_exec_process_file_is_edited_at_top_level(shim, tmp_path):
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["sh"], "capabilities": {"bounding": ["CAP_SYS_RESOURCE", "CAP_KILL"]}}))
    shim.edit(str(process), lambda spec: spec.get("capabilities"), {"CAP_SYS_RESOURCE"})
    assert json.loads(process.read_text())["capabilities"] == {"bounding": ["CAP_KILL"]}


@pytest.mark.parametrize("args, expected", [
    (["--root", "/r", "create", "--bundle", "/b", "id"], "/b"),
    (["create", "--bundle=/b2", "id"], "/b2"),
    (["create", "-b", "/b3", "id"], "/b3"),
    (["create", "id"], None),
])
def test_bundle_option_forms(shim, args, expected):
    assert shim.option(args, "--bundle", "-b") == expected
