"""Faults in the manager phase of maintain.yml on the machine-like hosts: judged from the runs'
outputs, the outside prober and the engines (reached over SSH, as Ansible reached them)."""
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import INVENTORY, SAMPLE_MAX_GAP, check_coverage, load, probe_problems, rows_of  # noqa: E402

MANAGERS = INVENTORY.get_hosts("docker_managers")
WORKERS = INVENTORY.get_hosts("docker_workers")
ALL = MANAGERS + WORKERS
testinfra_hosts = MANAGERS[:1]

FACTS = load("facts.json")
DRAIN_TASK = "TASK [swarmops.lifecycle.rolling_maintenance : Drain the node"


def flat(log):
    """The log with every run of whitespace made one space (YAML output folds long lines)."""
    return " ".join(log.split())


def stop_message(log):
    """The text of the run's 'Maintenance stopped on ...' failure, as one line ('' when there is none)."""
    match = re.search(r"Maintenance stopped on .*?(?=\n\n|PLAY RECAP)", log, re.S)
    return flat(match.group(0)) if match else ""


def drained_hosts(log):
    """The hosts whose drain task ran, in the order the run drained them."""
    hosts = []
    for part in log.split(DRAIN_TASK)[1:]:
        match = re.search(r"^(?:changed|ok|fatal): \[([^\]\s]+)", part, re.M)
        if match:
            hosts.append(match.group(1))
    return hosts


def stopped_on(name, host):
    """The stop message of a faulted run, which must have failed and stopped on ``host`` and drained
    no node after it; returns (log, message)."""
    log = load(name)
    assert rc_of(log) != "0", log[-2000:]
    message = stop_message(log)
    assert message.startswith("Maintenance stopped on %s" % host), message or log[-3000:]
    assert drained_hosts(log)[-1] == host, drained_hosts(log)
    return log, message


def short(host):
    return host.split(".")[0]


def rc_of(log):
    return log.rstrip().rsplit("RC=", 1)[-1]


def test_the_faults_hit_the_manager_phase():
    # Every faulted run got past the workers: each drained both workers before the faulted manager.
    for name in ("fault1-run.log", "fault2-run.log", "fault4-run.log", "fault3-run.log"):
        drained = drained_hosts(load(name))
        assert set(WORKERS) <= set(drained), (name, drained)
        assert drained[-1] in MANAGERS, (name, drained)


def test_an_engine_that_does_not_come_back_stops_the_run_naming_the_node():
    # stopped_on: the run touched no manager after the one whose engine failed.
    dummy, message = stopped_on("fault1-run.log", FACTS["target"])
    assert "at step 'maintenance'" in message and "docker.service" in message, message


def test_quorum_lost_mid_run_stops_without_touching_another_node_and_says_run_recover():
    dummy, message = stopped_on("fault2-run.log", FACTS["target"])
    assert "No manager answers with quorum" in message and "run recover.yml" in message, message
    for name in FACTS["stopped"]:
        assert name in message, (name, message)
    assert FACTS["untouched"], FACTS
    # Without quorum nobody could mark the lock as failed: the message says how to break it.
    assert "rolling_maintenance_break_lock=true" in message, message
    # The way out the message gives: recover.yml, once the machines are back, then a re-run.
    assert rc_of(load("fault2-recover.log")) == "0"


def test_the_lock_left_running_was_refused_until_broken_after_its_ttl():
    # Issue 12.4: break_lock after the TTL. The re-run broke the stopped run's lock (it resumed it).
    log = load("fault2-rerun.log")
    assert rc_of(log) == "0", log[-2000:]
    assert "(resumed after a failed run)" in log, log[-3000:]


def test_a_manager_cut_off_during_the_maintenance_is_replaced_and_the_health_gate_names_it():
    # The manager that ran the target's first steps was cut off while the target's engine was
    # restarting: the run picked another manager after the maintenance, reactivated the target
    # through it, and stopped at the health gate, which waited for the cut manager.
    dummy, message = stopped_on("fault4-run.log", FACTS["target"])
    assert "at step 'health gate'" in message, message
    assert "Managers not answering with quorum: %s." % FACTS["delegate"] in message, message
    assert "The node is left as it is: availability active" in message, message


def test_the_leader_killed_while_draining_stops_the_run_naming_it_or_is_ridden_out():
    log = load("fault3-run.log")
    drained = drained_hosts(log)
    # The leader is maintained last: its drain was the run's last one.
    assert drained[-1] == FACTS["leader3"], drained
    message = stop_message(log)
    if rc_of(log) != "0":
        assert message.startswith("Maintenance stopped on %s" % FACTS["leader3"]), message or log[-3000:]


@pytest.mark.parametrize("name", ["fault1-rerun.log", "fault2-rerun.log", "fault4-rerun.log", "fault3-rerun.log"])
def test_the_rerun_after_the_repair_completes(name):
    log = load(name)
    assert rc_of(log) == "0", log[-2000:]
    assert re.search(r"Run \S+: complete", log), log[-2000:]


def test_solo_answered_from_outside_at_every_tick_through_every_fault():
    problems, inside = probe_problems(load("windows.json"))
    assert not problems, problems
    assert len(inside) > 1000, len(inside)


# web: 4 replicas; maintain.yml's default budget, rolling_maintenance_min_available 50%, keeps 2.
WEB_BUDGET = 2


def test_web_kept_its_budget_through_every_run_on_a_whole_swarm():
    # The runs whose fault stops machines (fault 2's three, fault 3's leader) or cuts one off the
    # network (fault 4) lose the tasks on them to the fault, not to a drain: judged are fault 1's
    # run (its engine fault stops nothing) and every re-run after a repair.
    windows = dict((name, window) for name, window in load("runs.json").items()
                   if name == "fault1-run.log" or name.endswith("-rerun.log"))
    assert sorted(windows) == ["fault1-rerun.log", "fault1-run.log", "fault2-rerun.log", "fault3-rerun.log",
                               "fault4-rerun.log"], sorted(windows)
    samples = [row for row in rows_of("samples.jsonl") if "error" not in row]
    problems = check_coverage([row["t"] for row in samples], windows, SAMPLE_MAX_GAP, "the samplers")
    assert not problems, problems
    inside = [row for row in samples if any(start <= row["t"] <= end for start, end in windows.values())]
    assert len(inside) > 200, len(inside)
    below = [(row["t"], row["from"], row["running"].get("web", 0)) for row in inside
             if row["running"].get("web", 0) < WEB_BUDGET]
    assert not below, "web ran fewer than %d tasks at %d samples, first: %s" % (WEB_BUDGET, len(below), below[:3])


def test_the_swarm_is_whole_after_the_faults(host):
    nodes = json.loads(host.check_output(
        "docker node inspect $(docker node ls -q) --format '{{json .}}' | paste -sd, | sed 's/^/[/;s/$/]/'"))
    assert sorted(node["Description"]["Hostname"] for node in nodes) == sorted(short(name) for name in ALL)
    assert all(node["Status"]["State"] == "ready" and node["Spec"]["Availability"] == "active" for node in nodes), [
        (node["Description"]["Hostname"], node["Status"]["State"], node["Spec"]["Availability"]) for node in nodes]
    managers = [node for node in nodes if node["Spec"]["Role"] == "manager"]
    assert len(managers) == 5 and all(node["ManagerStatus"]["Reachability"] == "reachable" for node in managers)
    replicas = dict(line.split() for line in host.check_output(
        "docker service ls --format '{{.Name}} {{.Replicas}}'").splitlines())
    assert replicas.get("web") == "4/4" and replicas.get("solo") == "1/1", replicas
    assert "slow-stop" not in replicas, replicas
