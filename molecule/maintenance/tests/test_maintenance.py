"""Verify maintain.yml from the sampler's record and from the engines themselves."""
import json
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import (  # noqa: E402
    ALL,
    MANAGERS,
    PROBE_MAX_GAP,
    SAMPLE_MAX_GAP,
    WORKERS,
    check_coverage,
    engine_host,
    load,
    node_inspect,
    read,
    rows_of,
    running_tasks,
)

# Desired replicas set by converge.yml, and the role's default budget (50%, rounded up).
REPLICATED = {"web": 4, "single": 1, "edge": 2}
BUDGET = {name: int(math.ceil(replicas * 0.5)) for name, replicas in REPLICATED.items()}
testinfra_hosts = ALL


@pytest.fixture(scope="module")
def samples():
    rows = [json.loads(line) for line in read("samples.jsonl").splitlines() if line.strip()]
    return sorted((row for row in rows if "running" in row), key=lambda row: row["t"])


@pytest.fixture(scope="module")
def manager():
    return engine_host(MANAGERS[0])


@pytest.fixture(scope="module")
def windows():
    """Run name -> [start, end] of each maintain.yml run the samplers watched."""
    return load("windows.json")


def test_samplers_covered_every_run_with_bounded_gaps(samples, windows):
    # The samplers read the managers' engines: while the swarm elects a leader they are all
    # blind (rows with "error"), so a gap up to SAMPLE_MAX_GAP is allowed and the outside
    # prober below covers it; a longer gap, or a run not covered from start to end, fails.
    assert set(windows) == {"failed-run", "rerun"}, windows
    problems = check_coverage([row["t"] for row in samples], windows, SAMPLE_MAX_GAP, "the samplers")
    assert not problems, problems
    assert len(samples) > 100, "only %d samples" % len(samples)


def test_single_answered_from_outside_at_every_tick(windows):
    # Issue 14.2: what the manager reports is the signal the drain waits on; the prober asks
    # the service itself, on port 8080 of every node, ~20 times a second.
    ticks = rows_of("probe.jsonl")
    problems = check_coverage([tick["t"] for tick in ticks], windows, PROBE_MAX_GAP, "the prober")
    assert not problems, problems
    blind = [tick for tick in ticks if not tick["ok"]]
    assert blind == [], "no node served port 8080 at %d ticks, first: %s" % (len(blind), blind[:3])
    assert len(ticks) > 1000, len(ticks)


def test_no_service_below_its_budget_at_any_sample(samples):
    lowest = {name: min(row["running"].get(name, 0) for row in samples) for name in REPLICATED}
    for name, budget in BUDGET.items():
        assert lowest[name] >= budget, "%s fell to %d running (budget %d)" % (name, lowest[name], budget)


def test_single_replica_service_never_at_zero(samples):
    zero = [row["t"] for row in samples if row["running"].get("single", 0) == 0]
    assert not zero, "single had no running task at %d samples" % len(zero)


def test_every_node_drained_and_reactivated_exactly_once(samples):
    # Drain periods per node, counted separately for each sampling manager: one manager's
    # view only moves forward (it applies the Raft log in order), while samples merged over
    # managers can interleave a lagging view with a newer one and count a period twice.
    periods = {}
    last = {}
    for row in samples:
        source = row["from"]
        seen = last.setdefault(source, {name: "active" for name in ALL})
        counted = periods.setdefault(source, {name: 0 for name in ALL})
        for name, availability in row["availability"].items():
            if name in seen and availability != seen[name]:
                if availability == "drain":
                    counted[name] += 1
                seen[name] = availability
    assert periods, "no sampler recorded node availability"
    for name in ALL:
        per_source = {source: counted[name] for source, counted in periods.items()}
        # Every manager that saw a drain of this node saw exactly one; at least one saw it
        # (a manager whose engine was restarting may have missed a short period).
        assert max(per_source.values()) == 1, "%s drained %r times (per sampling manager)" % (name, per_source)
        assert all(count in (0, 1) for count in per_source.values()), (name, per_source)
    for source, seen in last.items():
        assert all(state == "active" for state in seen.values()), (source, seen)


def test_injected_failure_stopped_the_run_on_that_node():
    log = read("failed-run.log")
    failed_host = WORKERS[1]
    assert "Maintenance stopped on %s" % failed_host in log
    assert "injected failure during maintenance of %s" % failed_host in log
    assert "at step 'maintenance'" in log
    # Managers come after workers: none of them was touched by the failed run.
    for name in MANAGERS:
        assert "Moved off %s" % name not in log


def test_serial_two_split_the_batch_of_the_only_nodes_edge_may_run_on():
    # Issue 11.1: drained in parallel, the two workers took edge (2 replicas, tier=edge on both
    # workers only) down. The plan splits the batch and says why; each worker is drained alone.
    log = read("failed-run.log")
    plan = [line for line in log.splitlines() if "Worker batches (rolling_maintenance_serial=2" in line]
    assert plan, log[-3000:]
    assert "%s -> %s" % (WORKERS[0], WORKERS[1]) in plan[0]
    assert ("split: %s is not drained together with %s: edge: 2 replicas, min_available needs 1, but the other "
            "nodes can run only 0 of them" % (WORKERS[1], WORKERS[0])) in plan[0]
    assert "Moved off %s:" % WORKERS[0] in log
    assert "Moved off %s, %s" % (WORKERS[0], WORKERS[1]) not in log


def test_rerun_resumed_with_the_failed_node_and_completed():
    log = read("rerun.log")
    assert log.rstrip().endswith("RC=0"), log[-3000:]
    assert "resumed after a failed run" in log
    order_line = [line for line in log.splitlines() if "Order:" in line][0]
    assert order_line.split("Order:")[1].strip().startswith(WORKERS[1])
    assert WORKERS[0] not in order_line, "the worker done before the failure was maintained again"


def test_concurrent_run_was_refused_by_the_lock():
    log = read("concurrent-run.log")
    assert "Cannot take lock swarmops.lock.maintenance" in log
    assert "Another run is in progress; nothing was changed" in log


def test_node_ends_ready_and_active(host):
    assert host.check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "active"


def test_swarm_ends_with_three_reachable_managers_and_a_leader(manager):
    nodes = node_inspect(manager)
    managers = [n for n in nodes if n["Spec"]["Role"] == "manager"]
    assert len(managers) == 3
    assert all(n["ManagerStatus"]["Reachability"] == "reachable" for n in managers)
    assert len([n for n in managers if n["ManagerStatus"].get("Leader")]) == 1
    assert all(n["Spec"]["Availability"] == "active" and n["Status"]["State"] == "ready" for n in nodes)


def test_services_back_at_desired_count(manager):
    for name, replicas in REPLICATED.items():
        spec = json.loads(manager.check_output("docker service inspect %s" % name))[0]["Spec"]
        assert spec["Mode"]["Replicated"]["Replicas"] == replicas, "%s replicas not restored" % name
        assert len(running_tasks(manager, name)) == replicas
    assert len(running_tasks(manager, "agent")) == len(ALL)


def test_lock_released(manager):
    labels = json.loads(manager.check_output("docker info --format '{{json .Swarm.Cluster.Spec.Labels}}'")) or {}
    assert "swarmops.lock.maintenance" not in labels


def test_check_mode_planned_every_node_and_changed_nothing_on_the_engines():
    log = read("maintain-check.log")
    assert log.rstrip().endswith("RC=0")
    assert "planned (check mode)" in log
    versions = json.loads(read("check-versions.json"))
    # One line per node and per service, and the swarm's own: the same object versions after.
    assert len(versions["before"]) == len(ALL) + len(REPLICATED) + 2, versions["before"]
    assert versions["after"] == versions["before"]
