"""After quorum loss and recover.yml: checked from every engine and the saved snapshot."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import ALL, assert_changed_nothing, engine_host, load, node_inspect, running_tasks  # noqa: E402

testinfra_hosts = ALL


FACTS = load("facts.json")


def test_recover_forced_a_new_cluster_on_the_surviving_non_leader():
    log = load("recover-quorum-lost.log")
    assert "Case: quorum_lost" in log
    assert "Survivor with the most recent raft state: %s" % FACTS["survivor"] in log
    assert "New cluster led by %s" % FACTS["survivor"] in log
    assert log.rstrip().endswith("RC=0")


def test_the_forced_cluster_grew_back_to_three_managers():
    nodes = load("after-recovery.json")
    managers = [n for n in nodes if n["Spec"]["Role"] == "manager"]
    assert len(managers) == 3
    assert all(n["ManagerStatus"]["Reachability"] == "reachable" for n in managers)
    names = [n["Description"]["Hostname"] for n in managers]
    assert FACTS["survivor"] in names
    assert not set(FACTS["stopped"]) & set(names), "a stopped manager is still listed as a manager"


@pytest.fixture(scope="module")
def leader():
    manager = engine_host(FACTS["survivor"])
    return manager


def test_one_swarm_with_every_host_ready_and_three_reachable_managers(leader):
    nodes = node_inspect(leader)
    assert sorted(n["Description"]["Hostname"] for n in nodes) == sorted(ALL)
    assert all(n["Status"]["State"] == "ready" for n in nodes)
    managers = [n for n in nodes if n["Spec"]["Role"] == "manager"]
    assert len(managers) == 3 and all(n["ManagerStatus"]["Reachability"] == "reachable" for n in managers)
    assert len([n for n in managers if n["ManagerStatus"].get("Leader")]) == 1


def test_services_secret_and_config_survived(leader):
    assert leader.check_output("docker service ls --format '{{.Name}}'").split() == ["web"]
    assert len(running_tasks(leader, "web")) == 4
    assert leader.check_output("docker secret ls --format '{{.Name}}'").split() == ["db-password"]
    assert leader.check_output("docker config ls --format '{{.Name}}'").split() == ["app-conf"]


def test_every_engine_is_in_the_same_swarm(host, leader):
    # No split: every manager's engine names the same leader as the survivor's.
    assert host.check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "active"
    if host.check_output("docker info --format '{{.Swarm.ControlAvailable}}'") == "true":
        mine = host.check_output("docker node ls --filter role=manager --format '{{.Hostname}} {{.ManagerStatus}}'")
        theirs = leader.check_output("docker node ls --filter role=manager --format '{{.Hostname}} {{.ManagerStatus}}'")
        assert [line for line in mine.splitlines() if "Leader" in line] == [line for line in theirs.splitlines() if "Leader" in line]


def test_second_run_brought_the_stopped_managers_back():
    log = load("recover-managers-back.log")
    assert log.rstrip().endswith("RC=0")


def test_a_third_run_finds_the_swarm_healthy_and_changes_nothing():
    again = load("recover-again.log")
    assert "Case: healthy" in again, again[-2000:]
    assert_changed_nothing(again, ALL + ["localhost"], "recover.yml after the recovery")
