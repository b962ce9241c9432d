"""Verify the five-node swarm from the engines: every assertion reads a real engine."""
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import (  # noqa: E402
    INVENTORY, MANAGERS, WORKERS, assert_changed_nothing, engine_host, http_get, load, node_inspect, running_tasks)

# The inventory directory: molecule's generated file plus the lab inventory it links.
testinfra_hosts = MANAGERS + WORKERS


def test_engine_is_an_active_swarm_member(host):
    state = host.check_output("docker info --format '{{.Swarm.LocalNodeState}}'")
    assert state == "active"


def test_role_matches_inventory_group(host):
    control = host.check_output("docker info --format '{{.Swarm.ControlAvailable}}'")
    name = host.check_output("hostname")
    expected = "true" if name in MANAGERS else "false"
    assert control == expected, "%s: ControlAvailable=%s" % (name, control)


def lab_host(name):
    return engine_host(name)


@pytest.fixture(scope="module")
def manager():
    return lab_host(MANAGERS[0])


@pytest.fixture(scope="module")
def nodes(manager):
    return node_inspect(manager)


def test_five_nodes_ready_and_active(nodes):
    assert len(nodes) == len(MANAGERS) + len(WORKERS) == 5
    for node in nodes:
        assert node["Status"]["State"] == "ready", node["Description"]["Hostname"]
        assert node["Spec"]["Availability"] == "active", node["Description"]["Hostname"]


def test_three_reachable_managers_one_leader(nodes):
    managers = [n for n in nodes if n["Spec"]["Role"] == "manager"]
    assert sorted(n["Description"]["Hostname"] for n in managers) == sorted(MANAGERS)
    assert len(managers) == 3
    assert all(n["ManagerStatus"]["Reachability"] == "reachable" for n in managers)
    assert len([n for n in managers if n["ManagerStatus"].get("Leader")]) == 1


def test_workers_have_no_manager_status(nodes):
    workers = [n for n in nodes if n["Description"]["Hostname"] in WORKERS]
    assert len(workers) == 2
    for node in workers:
        assert node["Spec"]["Role"] == "worker"
        assert "ManagerStatus" not in node


def test_node_labels_from_inventory(nodes):
    checked = 0
    for node in nodes:
        name = node["Description"]["Hostname"]
        want = INVENTORY.get_variables(name).get("swarm_node_labels", {})
        have = node["Spec"].get("Labels") or {}
        assert {k: have.get(k) for k in want} == want, name
        checked += len(want)
    assert checked > 0, "the inventory sets no swarm_node_labels to check"


def test_replicated_service_runs_and_serves(manager):
    spec = json.loads(manager.check_output("docker service inspect web"))[0]["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"].startswith("swarmops-lab-workload")
    replicas = spec["Mode"]["Replicated"]["Replicas"]
    tasks = running_tasks(manager, "web")
    assert len(tasks) == replicas == 3
    # Each running task answers HTTP on its node's host-mode port.
    for task in tasks:
        assert http_get(lab_host(task["Node"]), 8080) == "ok"


def test_site_demoted_the_worker_promoted_by_hand_and_then_changed_nothing(nodes):
    # Issue 12.4: "site.yml demotes hosts of the worker group that are managers".
    log = load("site-after-hand-promotion.log")
    assert log.rstrip().endswith("RC=0"), log[-2000:]
    worker = WORKERS[0]
    demoted = log.split("TASK [swarmops.lifecycle.swarm_cluster : Demote hosts of the worker group that are managers")[1]
    assert re.search(r"^changed: \[%s " % re.escape(worker), demoted.split("TASK [")[0], re.M), demoted[:1500]
    by_name = dict((node["Description"]["Hostname"], node) for node in nodes)
    assert by_name[worker]["Spec"]["Role"] == "worker" and "ManagerStatus" not in by_name[worker]
    assert_changed_nothing(load("site-after-hand-promotion-again.log"), MANAGERS + WORKERS, "site.yml after that")
