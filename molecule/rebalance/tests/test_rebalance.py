"""After scale-out and rebalance.yml: spread read from the engines, dips from the sampler."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import (  # noqa: E402
    INVENTORY,
    MANAGERS,
    PROBE_MAX_GAP,
    SAMPLE_MAX_GAP,
    check_coverage,
    load,
    read,
    rows_of,
    running_tasks,
)

NEW = ["node6", "node7"]  # the hosts of more-hosts.ini
testinfra_hosts = [MANAGERS[0]]
REPLICAS = 10
CALM = 3  # one replica on each manager: balanced, and nothing new can run it


@pytest.fixture(scope="module")
def spread(host):
    tasks = running_tasks(host, "web")
    counts = {}
    for task in tasks:
        counts[task["Node"]] = counts.get(task["Node"], 0) + 1
    return counts


def test_new_nodes_joined_as_workers(host):
    roles = host.check_output("docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'")
    for name in NEW:
        assert [line.strip() for line in roles.splitlines() if line.split()[0] == name] == ["%s Ready" % name]


def test_new_nodes_run_tasks_and_spread_is_within_max_skew(spread):
    assert sum(spread.values()) == REPLICAS
    workers = INVENTORY.get_hosts("swarm_workers") + NEW
    per_worker = [spread.get(name, 0) for name in workers]
    assert all(spread.get(name, 0) > 0 for name in NEW), spread
    assert max(per_worker) - min(per_worker) <= 1, spread


def test_never_below_the_full_count_during_the_move():
    # web is replaced one task at a time, start-first: a new task runs before an old one stops,
    # so the service never has fewer than its 10 replicas running, whatever the budget allows.
    rows = [json.loads(line) for line in read("samples.jsonl").splitlines() if line.strip()]
    samples = [row for row in rows if "running" in row]
    assert len(samples) > 20
    problems = check_coverage([row["t"] for row in samples], load("windows.json"), SAMPLE_MAX_GAP, "the samplers")
    assert not problems, problems
    assert min(row["running"]["web"] for row in samples) >= REPLICAS
    assert min(row["running"]["calm"] for row in samples) >= CALM


def test_the_single_replica_service_answered_from_outside_at_every_tick():
    # Issue 14.2: rebalance.yml force-updates the skewed services only; a service it leaves
    # alone keeps serving, as seen from outside on port 8080 of every node at ~20 Hz.
    ticks = rows_of("probe.jsonl")
    problems = check_coverage([tick["t"] for tick in ticks], load("windows.json"), PROBE_MAX_GAP, "the prober")
    assert not problems, problems
    blind = [tick for tick in ticks if not tick["ok"]]
    assert blind == [], "no node served port 8080 at %d ticks, first: %s" % (len(blind), blind[:3])
    assert len(ticks) > 100, len(ticks)


def by_name(services):
    return dict((service["Spec"]["Name"], service) for service in services)


def test_the_balanced_service_was_not_touched():
    seen = json.loads(read("services.json"))
    before, after = by_name(seen["before"])["calm"], by_name(seen["after"])["calm"]
    assert after["Version"]["Index"] == before["Version"]["Index"]
    assert after["Spec"]["TaskTemplate"].get("ForceUpdate", 0) == before["Spec"]["TaskTemplate"].get("ForceUpdate", 0)


def test_the_moved_service_kept_its_update_config():
    seen = json.loads(read("services.json"))
    before, after = by_name(seen["before"])["web"], by_name(seen["after"])["web"]
    assert after["Spec"]["UpdateConfig"] == before["Spec"]["UpdateConfig"]
    assert after["Spec"]["UpdateConfig"]["Parallelism"] == 1 and after["Spec"]["UpdateConfig"]["Order"] == "start-first"
    assert after["Spec"]["TaskTemplate"].get("ForceUpdate", 0) > before["Spec"]["TaskTemplate"].get("ForceUpdate", 0)


def test_check_mode_listed_web_and_the_run_moved_it():
    assert "Would rebalance: web" in read("rebalance-check.log")
    assert "Rebalanced: web" in read("rebalance.log")


def test_second_run_touches_nothing():
    again = read("rebalance-again.log")
    assert "Rebalanced: nothing" in again
    assert "changed=0" in again.split("PLAY RECAP")[1]


def test_site_yml_with_swarm_cluster_rebalance_spread_the_crowded_service():
    # late was placed while the new workers were paused (all six on the old workers), then
    # site.yml ran with -e swarm_cluster_rebalance=true: its rebalance play moved late.
    late = load("late.json")
    before = [line.split()[0] for line in late["before"] if " Running " in line]
    after = [line.split()[0] for line in late["after"] if " Running " in line]
    assert len(before) == 6 and not set(before) & set(NEW), before
    log = read("site-rebalance.log")
    assert "RC=0" in log
    rebalance_task = log.split("TASK [Rebalance skewed services]")[1].split("PLAY RECAP")[0]
    assert "changed: [" in rebalance_task, rebalance_task
    workers = INVENTORY.get_hosts("swarm_workers") + NEW
    per_worker = [after.count(name) for name in workers]
    assert len(after) == 6 and all(after.count(name) > 0 for name in NEW), after
    assert max(per_worker) - min(per_worker) <= 1, after
