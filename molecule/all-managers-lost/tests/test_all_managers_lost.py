"""After every manager was lost and recover.yml restored the backup: from the engines."""
import json
import os
import sys

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import http_get, node_inspect, running_tasks  # noqa: E402

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
INVENTORY_DIR = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
INVENTORY = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY_DIR)
MANAGERS = INVENTORY.get_hosts("swarm_managers")
WORKERS = INVENTORY.get_hosts("swarm_workers")
testinfra_hosts = WORKERS


def load(name):
    with open(os.path.join(EPHEMERAL, name)) as handle:
        return json.load(handle) if name.endswith(".json") else handle.read()


def test_workers_kept_serving_while_every_manager_was_gone():
    seen = load("without-managers.json")
    assert len(seen["tasks"]) == len(WORKERS)
    assert all(status.startswith("Up") for status in seen["tasks"]), seen["tasks"]
    assert seen["http"] == ["ok"] * len(WORKERS)


def test_recover_planned_a_restore_and_did_it():
    check = load("recover-check.log")
    assert "Case: all_managers_lost" in check
    assert "Restore: swarm-" in check
    log = load("recover.log")
    assert log.rstrip().endswith("RC=0")
    assert "Recovered: leader" in log


@pytest.fixture(scope="module")
def leader():
    for name in MANAGERS:
        host = testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY_DIR)
        if host.run("docker node ls --filter role=manager --format '{{.Self}} {{.ManagerStatus}}'").stdout.count("true Leader"):
            return host
    raise AssertionError("no manager of the inventory leads")


def test_services_and_secret_back_under_management(leader):
    assert leader.check_output("docker service ls --format '{{.Name}}'").split() == ["web"]
    assert len(running_tasks(leader, "web")) == len(WORKERS)
    assert leader.check_output("docker secret ls --format '{{.Name}}'").split() == ["db-password"]


def test_three_reachable_managers_and_every_node_ready(leader):
    nodes = node_inspect(leader)
    ready = sorted(n["Description"]["Hostname"] for n in nodes if n["Status"]["State"] == "ready")
    assert ready == sorted(MANAGERS + WORKERS)
    managers = [n for n in nodes if n["Spec"]["Role"] == "manager"]
    assert len(managers) == 3 and all(n["ManagerStatus"]["Reachability"] == "reachable" for n in managers)


def test_worker_still_serves(host):
    assert http_get(host, 8080) == "ok"
