"""Shared by every scenario's verifier: the scenario's inventory and ephemeral directory,
and facts read from the lab's engines themselves."""
import json
import os
import re

import testinfra
import testinfra.utils.ansible_runner

# Molecule sets both while it verifies a scenario.
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
INVENTORY_DIR = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
INVENTORY = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY_DIR)
MANAGERS = INVENTORY.get_hosts("swarm_managers")
WORKERS = INVENTORY.get_hosts("swarm_workers")
ALL = MANAGERS + WORKERS


def read(name):
    """Text of a file the scenario's converge left in the ephemeral directory."""
    with open(os.path.join(EPHEMERAL, name)) as handle:
        return handle.read()


def load(name):
    """A file of the ephemeral directory: parsed when it is .json, else its text."""
    text = read(name)
    return json.loads(text) if name.endswith(".json") else text


def recap(log):
    """{host: (changed, failed)} from a playbook run's PLAY RECAP."""
    rows = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", log, re.M)
    return dict((host, (int(changed), int(failed))) for host, changed, failed in rows)


def assert_changed_nothing(log, hosts, name="the run"):
    """A run that succeeded and changed nothing on any host of its PLAY RECAP, and listed every one of ``hosts``."""
    rows = recap(log)
    assert log.rstrip().endswith("RC=0"), "%s did not succeed: %s" % (name, log.rstrip()[-600:])
    missing = sorted(set(hosts) - set(rows))
    assert not missing, "%s: the PLAY RECAP does not list %s (it lists %s)" % (name, missing, sorted(rows))
    changed = dict((host, counts) for host, counts in rows.items() if counts != (0, 0))
    assert not changed, "%s changed or failed on (changed, failed): %s" % (name, changed)


def engine_host(name):
    """testinfra host of an inventory host (its engine is reached through the lab's connection)."""
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY_DIR)


def node_inspect(host):
    """`docker node inspect` of every node, as the given manager's engine reports it."""
    ids = host.check_output("docker node ls --quiet").split()
    return json.loads(host.check_output("docker node inspect %s" % " ".join(ids)))


def running_tasks(host, service):
    """Tasks of a service that run and are meant to run, per the manager's engine."""
    out = host.check_output(
        "docker service ps --filter desired-state=running --format '{{json .}}' %s" % service)
    return [t for t in (json.loads(line) for line in out.splitlines())
            if t["CurrentState"].startswith("Running")]


def http_get(host, port, path="/"):
    """Body of an HTTP GET to a port on the node itself (the node image has no wget)."""
    return host.check_output(
        "python3 -c \"import urllib.request as u; "
        "print(u.urlopen('http://127.0.0.1:%d%s', timeout=5).read().decode().strip())\"" % (port, path))


# ---- measurements over a run's window -------------------------------------------------
# The longest a prober tick may take to follow the one before: 20 Hz ticks with a 1 s GET
# timeout, plus scheduling slack on a loaded controller, without hiding a stall.
PROBE_MAX_GAP = 1.5
# The longest the samplers may all be blind: every sampler reads a manager's engine, and
# while the swarm elects a leader (10 to 20 s in swarmkit) none of them can list services.
# The election's worst case with margin; anything longer is a real gap in the measurement.
SAMPLE_MAX_GAP = 30.0


def rows_of(name):
    """The JSON lines of a sampler's or prober's file."""
    return [json.loads(line) for line in read(name).splitlines() if line.strip()]


def blind_windows(times, start, end, longer_than):
    """(from, to, seconds) for every stretch of [start, end] without a time in ``times`` longer
    than ``longer_than`` seconds, the edges of the window included."""
    inside = sorted(t for t in times if start <= t <= end)
    edges = [start] + inside + [end]
    return [(round(earlier, 1), round(later, 1), round(later - earlier, 1))
            for earlier, later in zip(edges, edges[1:]) if later - earlier > longer_than]


def check_coverage(times, windows, max_gap, what):
    """Problems (texts) with the coverage of each run's window by ``times``: the file must start
    before the window and end after it, with no stretch longer than ``max_gap`` seconds."""
    problems = []
    times = sorted(times)
    if not times:
        return ["%s: no record at all" % what]
    for name, (start, end) in sorted(windows.items()):
        if times[0] > start or times[-1] < end:
            problems.append("%s did not cover run %s (%.1f..%.1f): records from %.1f to %.1f"
                            % (what, name, start, end, times[0], times[-1]))
        blind = blind_windows(times, start, end, max_gap)
        if blind:
            problems.append("%s blind for more than %.1f s during run %s: %s" % (what, max_gap, name, blind))
    return problems


def probe_problems(windows, name="probe.jsonl", port=8080):
    """Problems with an outside prober's record over the runs' windows: its coverage (PROBE_MAX_GAP)
    and every tick inside a window at which no node answered. Returns (problems, ticks inside)."""
    ticks = rows_of(name)
    problems = check_coverage([tick["t"] for tick in ticks], windows, PROBE_MAX_GAP, "the prober")
    inside = [tick for tick in ticks if any(start <= tick["t"] <= end for start, end in windows.values())]
    blind = [tick for tick in inside if not tick["ok"]]
    if blind:
        problems.append("no node served port %d at %d ticks, first: %s" % (port, len(blind), blind[:3]))
    return problems, inside
