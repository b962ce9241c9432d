"""After leader loss and recover.yml: checked from the engines and the saved snapshots."""
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import ALL, assert_changed_nothing, engine_host, load, node_inspect, running_tasks  # noqa: E402

testinfra_hosts = ALL
TARGET = 3
NAMES = r"[\w.-]+(?:,\s+[\w.-]+)*"


FACTS = load("facts.json")


def managers(nodes):
    return [n for n in nodes if n["Spec"]["Role"] == "manager"]


def test_after_first_recovery_a_worker_was_promoted_and_no_ghost_is_left():
    nodes = load("after-recovery.json")
    names = [n["Description"]["Hostname"] for n in nodes]
    assert FACTS["leader_before"] not in names, "the departed leader's ghost entry is still listed"
    current = managers(nodes)
    assert len(current) == TARGET
    assert all(n["ManagerStatus"]["Reachability"] == "reachable" for n in current)
    assert len([n for n in current if n["ManagerStatus"].get("Leader")]) == 1
    before = {n["Description"]["Hostname"]: n["Spec"]["Role"] for n in load("before.json")}
    promoted = [n["Description"]["Hostname"] for n in current if before.get(n["Description"]["Hostname"]) == "worker"]
    assert len(promoted) == 1 and promoted[0] in FACTS["workers_before"]
    # The promoted worker was reactivated (the seed drains the worker it promotes).
    assert [n["Spec"]["Availability"] for n in current if n["Description"]["Hostname"] == promoted[0]] == ["active"]


def test_first_recovery_printed_the_plan():
    log = load("recover-leader-gone.log")
    assert "Case: quorum_kept" in log
    # The departed leader left with --force: its entry is either still a raft member that does
    # not answer (a ghost) or, when its leave reached the leader first, a manager entry no longer
    # in raft (stale). The plan must name it as one or the other, and nothing else.
    found = re.search(r"ghosts:\s+(?P<ghosts>%s);\s+stale:\s+(?P<stale>%s)" % (NAMES, NAMES), log)
    assert found, "the plan printed no ghosts/stale line"
    named = [name.strip() for part in found.group("ghosts", "stale") for name in part.split(",")]
    assert FACTS["leader_before"] in named, found.group(0)
    assert sorted(set(named) - {"none"}) == [FACTS["leader_before"]], found.group(0)
    assert log.rstrip().endswith("RC=0")


def test_old_leader_rejoined_as_a_worker_and_the_count_is_odd(host):
    name = host.check_output("hostname")
    assert host.check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "active"
    if name == FACTS["leader_before"]:
        assert host.check_output("docker info --format '{{.Swarm.ControlAvailable}}'") == "false"


@pytest.fixture(scope="module")
def leader_view():
    after = load("after-recovery.json")
    leader = [n["Description"]["Hostname"] for n in managers(after) if n["ManagerStatus"].get("Leader")][0]
    manager = engine_host(leader)
    return manager, node_inspect(manager)


def test_final_swarm_has_target_managers_all_reachable_no_ghosts(leader_view):
    _manager, nodes = leader_view
    assert sorted(n["Description"]["Hostname"] for n in nodes) == sorted(ALL)
    current = managers(nodes)
    assert len(current) == TARGET and TARGET % 2 == 1
    assert all(n["ManagerStatus"]["Reachability"] == "reachable" for n in current)
    assert all(n["Status"]["State"] == "ready" for n in nodes)


def test_services_still_at_desired_count(leader_view):
    manager, _nodes = leader_view
    assert len(running_tasks(manager, "web")) == 4


def test_second_and_third_runs():
    assert load("recover-leader-back.log").rstrip().endswith("RC=0")
    again = load("recover-again.log")
    assert "Case: healthy" in again
    assert_changed_nothing(again, ALL + ["localhost"], "recover.yml on the recovered swarm")
