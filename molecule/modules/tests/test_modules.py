"""After the modules scenario: read the outcome from the engines and the sampler's record."""
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import MANAGERS, load, node_inspect, read, running_tasks  # noqa: E402

# The survivor of the quorum loss: converge stopped the other two managers.
testinfra_hosts = [MANAGERS[0]]


def test_survivor_leads_a_new_single_manager_cluster(host):
    nodes = node_inspect(host)
    live_managers = [n for n in nodes if n.get("ManagerStatus", {}).get("Reachability") == "reachable"]
    assert [n["Description"]["Hostname"] for n in live_managers] == [MANAGERS[0]]
    assert live_managers[0]["ManagerStatus"]["Leader"] is True
    assert host.check_output("docker info --format '{{.Swarm.ControlAvailable}}'") == "true"


def test_services_survived_and_still_run(host):
    names = host.check_output("docker service ls --format '{{.Name}}'").split()
    assert sorted(names) == ["single", "web"]
    for name, replicas in (("web", 4), ("single", 1)):
        spec = json.loads(host.check_output("docker service inspect %s" % name))[0]["Spec"]
        assert spec["Mode"]["Replicated"]["Replicas"] == replicas, name
        # Tasks on the stopped managers are rescheduled only once the new cluster marks those
        # nodes down (that can take minutes); the tasks on live nodes never stopped.
        assert len(running_tasks(host, name)) >= 1, name


def test_secret_made_before_the_failure_is_present(host):
    assert host.check_output("docker secret ls --format '{{.Name}}'").split() == ["db-password"]


def test_surged_drain_never_left_single_without_a_running_task():
    rows = [json.loads(line) for line in read("surge-samples.jsonl").splitlines() if line.strip()]
    samples = [row for row in rows if "running" in row]
    assert len(samples) > 10
    assert min(row["running"]["single"] for row in samples) >= 1
    # The surge really happened: at some sample two tasks of single ran at once.
    assert max(row["running"]["single"] for row in samples) == 2


def test_the_batch_drain_never_left_single_without_a_running_task():
    rows = [json.loads(line) for line in read("batch-samples.jsonl").splitlines() if line.strip()]
    samples = [row for row in rows if "running" in row]
    assert len(samples) > 10
    assert min(row["running"]["single"] for row in samples) >= 1
    assert min(row["running"]["web"] for row in samples) >= 1
    # One surge for the batch: two tasks of single ran at once, never three.
    assert max(row["running"]["single"] for row in samples) == 2


@pytest.mark.parametrize("refusal", [
    "drain under the budget", "drain a batch holding every node a service may run on", "unknown node", "force_new_cluster on a healthy cluster",
    "force_new_cluster on a worker", "force_new_cluster without raft state", "demote to an even count", "demote that would lose quorum",
    "demote the last manager",
])
def test_refusal_was_tried_for_real(refusal):
    assert refusal in load("refusals.json")


def test_both_autolock_toggles_happened_and_the_lock_label_survived_them():
    # Converge asserted the lock against the engine; here, that each toggle really changed the swarm.
    for value in ("true", "false"):
        log = read("site-autolock-%s.log" % value)
        assert log.rstrip().endswith("RC=0")
        toggle = log.split("TASK [swarmops.lifecycle.swarm_cluster : Set autolock on the swarm")[1].split("TASK [")[0]
        assert re.search(r"^changed: \[", toggle, re.M), toggle
    assert load("lock-after-autolock-toggles.json")["owner"] == "autolock-toggle@molecule"
