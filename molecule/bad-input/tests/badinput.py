"""The bad-input matrix: the lab, its preconditions, state snapshots and one runner per row.

Everything runs from the controller: Ansible for the rows (ansible-playbook with the
ansible.posix.json callback, so the failure messages come back whole), `docker exec` into the
lab's node containers for the snapshots and the preconditions (the lab's own commands from
inventories/lab/group_vars: the engine hold file and the engine restart).

A snapshot is read from a manager's engine by a small script run with the node's python3 and
Docker SDK: the compared part (`state`) holds what a refusal must not touch; `status` (node
states, running tasks) only tells when a precondition has settled. Join tokens never leave
the node; the scratch swarm's unlock key stays in this process and is never written or printed.
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.dirname(HERE)
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY") or os.path.dirname(os.path.dirname(SCENARIO))
MATRIX = os.path.join(HERE, "matrix.yml")
MORE_HOSTS = os.path.join(SCENARIO, "more-hosts.ini")
LAB_HOSTS = os.path.join(PROJECT, "inventories", "lab", "hosts.yml")
LAB_GROUP_VARS = os.path.join(PROJECT, "inventories", "lab", "group_vars")
INVENTORY_DIR = (os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]) if os.environ.get("MOLECULE_INVENTORY_FILE")
                 else os.path.join(PROJECT, "inventories", "lab"))
OUT = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY") or tempfile.gettempdir(), "bad-input")

# Preconditions in the order they are set up; rows are run grouped in this order.
GIVENS = ["healthy", "lock_held", "drained_by_other", "autolocked", "scratch", "scratch_locked", "manager_down"]
ROW_KEYS = {"id", "given", "module", "args", "host", "delegate_to", "playbook", "vars", "inventory", "expect", "ok", "gap"}
OTHER_OWNER = "someone-else@elsewhere"
SCRATCH_POOL = "10.214.0.0/16"  # the scratch swarm's overlay pool: not the lab's (10.213.0.0/16)
ROW_TIMEOUT = 420               # seconds for one row; a row that does not refuse may run a whole playbook
SETTLE_TIMEOUT = 240
ROW_SETTLE_SECONDS = 2          # a row's after-snapshot is read this long after the row ended
STABLE_READS = 2                # a precondition has settled when this many reads 1 s apart agree

SNAPSHOT = r'''
import json
import docker
from docker.errors import APIError
out = {}
try:
    api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto", timeout=30)
    swarm = api.info().get("Swarm") or {}
except Exception as exc:
    print(json.dumps({"error": "engine: %s" % exc}))
    raise SystemExit(0)
out["local"] = {key: swarm.get(key) for key in ("NodeID", "NodeAddr", "LocalNodeState", "ControlAvailable")}
try:
    nodes = api.nodes()
    cluster = api.inspect_swarm()
except APIError as exc:
    out["error"] = str(exc.explanation or exc)
    print(json.dumps(out))
    raise SystemExit(0)
cluster.pop("JoinTokens", None)  # never leaves the node
services = api.services()
tasks = api.tasks(filters={"desired-state": "running"})
names = {item["ID"]: item["Spec"]["Name"] for item in services}
running = dict.fromkeys(names.values(), 0)
running_ids = dict((name, []) for name in names.values())
on_node = {}
for task in tasks:
    if task["Status"]["State"] == "running" and task["ServiceID"] in names:
        running[names[task["ServiceID"]]] += 1
        running_ids[names[task["ServiceID"]]].append(task["ID"])
        on_node[task.get("NodeID")] = on_node.get(task.get("NodeID"), 0) + 1
def replicas(item):
    mode = item["Spec"].get("Mode") or {}
    return (mode.get("Replicated") or {}).get("Replicas") if "Replicated" in mode else "global"
out["state"] = {
    "swarm": {"id": cluster["ID"], "version": cluster["Version"]["Index"], "labels": cluster["Spec"].get("Labels") or {},
              "autolock": bool((cluster["Spec"].get("EncryptionConfig") or {}).get("AutoLockManagers"))},
    "nodes": {n["ID"]: {"hostname": n["Description"]["Hostname"], "role": n["Spec"]["Role"],
                        "availability": n["Spec"]["Availability"], "labels": n["Spec"].get("Labels") or {},
                        "version": n["Version"]["Index"]} for n in nodes},
    "services": {s["ID"]: {"name": s["Spec"]["Name"], "version": s["Version"]["Index"], "replicas": replicas(s)}
                 for s in services},
    "secrets": sorted(item["ID"] for item in api.secrets()),
    "configs": sorted(item["ID"] for item in api.configs()),
    # A refusal stops no task: the running tasks of every service, by ID (a task replaced by a
    # new one keeps the count but not the ID).
    "tasks": dict((name, sorted(ids)) for name, ids in running_ids.items()),
}
out["status"] = {
    "nodes": {n["Description"]["Hostname"]: {"state": n["Status"]["State"], "role": n["Spec"]["Role"],
                                             "availability": n["Spec"]["Availability"],
                                             "reachability": (n.get("ManagerStatus") or {}).get("Reachability"),
                                             "leader": bool((n.get("ManagerStatus") or {}).get("Leader")),
                                             "tasks": on_node.get(n["ID"], 0)} for n in nodes},
    "services": {s["Spec"]["Name"]: {"desired": replicas(s), "running": running[s["Spec"]["Name"]]} for s in services},
}
print(json.dumps(out, sort_keys=True))
'''


class PreconditionFailed(Exception):
    """A precondition could not be set up (or a row found the lab in a state it cannot use)."""


def tool(name):
    """An Ansible command of the Python running the tests (the venv), else from PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


def load_matrix(path=MATRIX):
    with open(path) as handle:
        return yaml.safe_load(handle)["rows"]


def matrix_problems(rows):
    """What is wrong with the matrix itself (no lab needed)."""
    problems, seen = [], set()
    for index, row in enumerate(rows):
        name = row.get("id") or "row %d" % index
        if name in seen:
            problems.append("%s: duplicate id" % name)
        seen.add(name)
        unknown = set(row) - ROW_KEYS
        if unknown:
            problems.append("%s: unknown keys %s (quote on, yes, no: YAML reads them as booleans)"
                            % (name, ", ".join(sorted(repr(key) for key in unknown))))
        if row.get("given") not in GIVENS:
            problems.append("%s: given %r is not one of %s" % (name, row.get("given"), ", ".join(GIVENS)))
        if ("module" in row) == ("playbook" in row):
            problems.append("%s: needs exactly one of module and playbook" % name)
        if "module" in row and ({"vars", "inventory"} & set(row)):
            problems.append("%s: vars and inventory are for playbook rows" % name)
        if "playbook" in row and ({"args", "host", "delegate_to"} & set(row)):
            problems.append("%s: args, host and delegate_to are for module rows" % name)
        if "playbook" in row and not os.path.isfile(os.path.join(PROJECT, "playbooks", row["playbook"])):
            problems.append("%s: no playbook playbooks/%s" % (name, row["playbook"]))
        if not row.get("expect"):
            problems.append("%s: no expect" % name)
        else:
            try:
                re.compile(row["expect"])
            except re.error as exc:
                problems.append("%s: expect is not a valid regex: %s" % (name, exc))
    return problems


def ordered(rows):
    return sorted(rows, key=lambda row: GIVENS.index(row["given"]) if row.get("given") in GIVENS else len(GIVENS))


def wrong_unlock_key():
    """An unlock key of the right shape (SWMKEY-1- and 32 bytes in base64) that no swarm has:
    made afresh for each run, so that no key-like string is kept in the repository."""
    return "SWMKEY-1-" + base64.b64encode(os.urandom(32)).decode().rstrip("=")


def fake_archives(directory, live_host, live_addr):
    """Archives as backup.yml leaves them (swarm-*.tar.gz with its .sha256 and .json), made up
    for the restore refusals: each is refused by the preflight before anything is changed, so
    its content is never unpacked. 192.0.2.10 is TEST-NET-1: no host of any inventory has it."""
    meta = dict(cluster_id="fakeclusterid", created="2026-01-01T00:00:00Z", engine_version="20.10.24+dfsg1",
                autolock=False, node=dict(hostname="gone-manager", advertise_addr="192.0.2.10", node_id="fakenodeid"),
                managers=[dict(hostname="gone-manager", addr="192.0.2.10:2377")])
    archives = {
        "swarm-wrong-checksum.tar.gz": (meta, "0" * 64),
        "swarm-autolocked.tar.gz": (dict(meta, autolock=True), None),
        "swarm-other-address.tar.gz": (meta, None),
        "swarm-live-target.tar.gz": (dict(meta, node=dict(meta["node"], hostname=live_host, advertise_addr=live_addr)), None),
    }
    for name, (record, checksum) in archives.items():
        path = os.path.join(directory, name)
        with tarfile.open(path, "w:gz") as tar:
            info = tarfile.TarInfo("swarm")
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        with open(path + ".sha256", "w") as handle:
            handle.write("%s  %s\n" % (checksum or digest, name))
        with open(path + ".json", "w") as handle:
            json.dump(record, handle)
    return directory


def normalise(text):
    return re.sub(r"\s+", " ", str(text)).strip()


def substitute(value, names, escape=False):
    """Replace <m1> ... <s1>, <other_owner>, <empty_dir>, <archives>, <wrong_unlock_key> in every string of a row value."""
    if isinstance(value, dict):
        return {key: substitute(item, names, escape) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, names, escape) for item in value]
    if not isinstance(value, str):
        return value

    def one(match):
        if match.group(1) not in names:
            return match.group(0)
        text = names[match.group(1)]
        return re.escape(text) if escape else text

    return re.sub(r"<([a-z][a-z0-9_]*)>", one, value)


# ---------------------------------------------------------------------------------------
# Comparing snapshots
# ---------------------------------------------------------------------------------------

def comparable(snapshot, versions=True):
    """The part of a snapshot a refusal must not change. A locked or stopped engine has only its local view."""
    if snapshot.get("state") is None:
        return {"local": snapshot.get("local"), "answers": False}
    state = json.loads(json.dumps(snapshot["state"]))
    if not versions:
        # Across preconditions (an engine stopped and started again), tasks are legitimately replaced:
        # their IDs are compared only from one row to the next, within a precondition.
        state.pop("tasks", None)
        state["swarm"].pop("version", None)
        for entry in list(state["nodes"].values()) + list(state["services"].values()):
            entry.pop("version", None)
    return state


def differences(before, after, where=""):
    """Readable differences between two comparable snapshots (nested dicts and lists)."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in sorted(set(before) | set(after), key=str):
            path = "%s.%s" % (where, key) if where else str(key)
            if key not in after:
                lines.append("%s: gone (was %s)" % (path, json.dumps(before[key], sort_keys=True)))
            elif key not in before:
                lines.append("%s: new (%s)" % (path, json.dumps(after[key], sort_keys=True)))
            else:
                lines.extend(differences(before[key], after[key], path))
        return lines
    return ["%s: %s -> %s" % (where, json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True))]


# ---------------------------------------------------------------------------------------
# Ansible results
# ---------------------------------------------------------------------------------------

def parse_run(stdout):
    """The ansible.posix.json document printed by ansible-playbook, or None."""
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        # raw_decode: other callbacks may print after the document.
        return json.JSONDecoder().raw_decode(stdout[start:])[0]
    except ValueError:
        return None


def task_results(document):
    """(task name, host, result) for every result of the run, loop items included."""
    for play in (document or {}).get("plays", []):
        for task in play.get("tasks", []):
            for host, result in (task.get("hosts") or {}).items():
                yield task["task"]["name"], host, result
                for item in result.get("results") or []:
                    if isinstance(item, dict):
                        yield task["task"]["name"], host, item


def failure_messages(document):
    return [(name, host, normalise(result.get("msg", "")))
            for name, host, result in task_results(document)
            if result.get("failed") or result.get("unreachable")]


def ending_failures(document):
    """(task name, host, message) of the result that ended each host's run: a host's last result,
    when it failed or was unreachable. Failures a later task went on from (ignore_errors, a block's
    rescue that then succeeded) are not among them; a failed loop gives its failed items' messages too."""
    last = {}
    for play in (document or {}).get("plays", []):
        for task in play.get("tasks", []):
            for host, result in (task.get("hosts") or {}).items():
                last[host] = (task["task"]["name"], result)
    endings = []
    for host, (name, result) in sorted(last.items()):
        if not (result.get("failed") or result.get("unreachable")):
            continue
        endings.append((name, host, normalise(result.get("msg", ""))))
        for item in result.get("results") or []:
            if isinstance(item, dict) and (item.get("failed") or item.get("unreachable")):
                endings.append((name, host, normalise(item.get("msg", ""))))
    return endings


def changed_tasks(document):
    return sorted(set("%s on %s" % (name, host) for name, host, result in task_results(document)
                      if result.get("changed") and not result.get("skipped")))


# ---------------------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------------------

class Lab(object):
    """The lab's engines, the scenario's inventory, the current precondition, and the row runner."""

    def __init__(self):
        os.makedirs(OUT, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="rows-", dir=OUT)
        self.empty_dir = tempfile.mkdtemp(prefix="empty-", dir=OUT)
        listing = self.ansible_inventory()
        self.hostvars = listing["_meta"]["hostvars"]
        managers = self.group_hosts(listing, "swarm_managers")
        workers = self.group_hosts(listing, "swarm_workers")
        scratch = self.group_hosts(listing, "scratch")
        if len(managers) < 3 or len(workers) < 2 or not scratch:
            raise PreconditionFailed("the inventory needs 3 managers, 2 workers and a scratch host, got %s / %s / %s"
                                     % (managers, workers, scratch))
        self.m1, self.m2, self.m3 = managers[:3]
        self.w1, self.w2 = workers[:2]
        self.s1 = scratch[0]
        # <m1>'s lab address, as the lab's group_vars derive swarm_advertise_addr from it.
        m1_vars = self.hostvars[self.m1]
        self.archives = fake_archives(tempfile.mkdtemp(prefix="archives-", dir=OUT), self.m1,
                                      "%s.%s" % (m1_vars["lab_subnet_prefix"], m1_vars["lab_octet"]))
        self.names = dict(m1=self.m1, m2=self.m2, m3=self.m3, w1=self.w1, w2=self.w2, s1=self.s1,
                          other_owner=OTHER_OWNER, empty_dir=self.empty_dir, archives=self.archives,
                          wrong_unlock_key=wrong_unlock_key())
        with open(os.path.join(LAB_GROUP_VARS, "swarmops_lab.yml")) as handle:
            self.lab_vars = yaml.safe_load(handle)
        self.current = None
        self.broken = {}
        self.unlock_key = None
        self.scratch_before_lock = None
        self.scratch_unlock_differences = None
        self.first_healthy = None
        self.last = {}
        self.last_row = None     # (row id, given, its after-snapshot): checked again at the next row's start
        self.late = {}           # row id -> differences found after it ended

    # -- inventory -----------------------------------------------------------------------

    @staticmethod
    def sources():
        return [INVENTORY_DIR, MORE_HOSTS]

    def ansible_inventory(self):
        argv = [tool("ansible-inventory"), "--list"]
        for source in self.sources():
            argv += ["-i", source]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise PreconditionFailed("ansible-inventory failed: %s" % done.stderr[-2000:])
        return json.loads(done.stdout)

    @staticmethod
    def group_hosts(listing, group):
        hosts = list((listing.get(group) or {}).get("hosts") or [])
        for child in (listing.get(group) or {}).get("children") or []:
            hosts += [host for host in Lab.group_hosts(listing, child) if host not in hosts]
        return hosts

    def container(self, host):
        return self.hostvars[host]["ansible_host"]

    def lab_host_vars(self):
        """Host-level variables of the lab inventory (hosts.yml), for generated inventories."""
        with open(LAB_HOSTS) as handle:
            tree = yaml.safe_load(handle)
        found = {}

        def walk(group):
            for host, hostvars in ((group or {}).get("hosts") or {}).items():
                found.setdefault(host, dict(hostvars or {}))
            for child in ((group or {}).get("children") or {}).values():
                walk(child)

        for group in tree.values():
            walk(group)
        return found

    def write_inventory(self, name, groups):
        """An inventory with only the given groups (under swarmops_lab, for the lab's group_vars)."""
        directory = os.path.join(self.tmp, "inventory-" + name)
        os.makedirs(directory, exist_ok=True)
        hostvars = self.lab_host_vars()
        # Hosts of more-hosts.ini (the scratch engine) keep their connection too.
        for host, listed in self.hostvars.items():
            if host not in hostvars:
                hostvars[host] = dict((key, listed[key]) for key in ("ansible_host", "lab_octet") if key in listed)
        children = {}
        for group, hosts in groups.items():
            children[group] = {"hosts": {host: hostvars.get(host, {}) for host in hosts or []}}
        with open(os.path.join(directory, "hosts.yml"), "w") as handle:
            yaml.safe_dump({"swarmops_lab": {"children": children}}, handle, default_flow_style=False)
        link = os.path.join(directory, "group_vars")
        if not os.path.exists(link):
            os.symlink(LAB_GROUP_VARS, link)
        return directory

    # -- engines -------------------------------------------------------------------------

    def docker_exec(self, host, argv, stdin=None, timeout=120, check=True):
        command = ["docker", "exec"] + (["-i"] if stdin is not None else []) + [self.container(host)] + list(argv)
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise PreconditionFailed("%s on %s failed (rc %d): %s" % (" ".join(argv), host, done.returncode,
                                                                      (done.stderr or done.stdout)[-1000:]))
        return done

    def snapshot(self, host):
        done = self.docker_exec(host, ["python3", "-"], stdin=SNAPSHOT, timeout=90, check=False)
        if done.returncode != 0:
            return {"error": "snapshot on %s failed: %s" % (host, (done.stderr or done.stdout)[-500:])}
        try:
            return json.loads(done.stdout)
        except ValueError:
            return {"error": "snapshot on %s printed no JSON: %s" % (host, done.stdout[-500:])}

    def targets(self, given):
        return {"main": self.m1, "scratch": self.s1} if given.startswith("scratch") else {"main": self.m1}

    def snapshots(self, given):
        return {name: self.snapshot(host) for name, host in self.targets(given).items()}

    def stable_snapshots(self, given):
        """Snapshots that do not change between two reads (a precondition may still be settling)."""
        previous = self.last.get(given)
        reads = [] if previous is None else [previous]
        current = self.snapshots(given)
        if self.last_row is not None and self.last_row[1] == given:
            # What the previous row left, read again: a change since its after-snapshot is its
            # late side effect, not this row's baseline.
            late = differences(self.compare(self.last_row[2]), self.compare(current))
            if late:
                self.late.setdefault(self.last_row[0], []).extend(late)
        self.last_row = None
        for attempt in range(12 + STABLE_READS):
            if attempt:
                current = self.snapshots(given)
            if reads and self.compare(reads[-1]) != self.compare(current):
                reads = []
            reads.append(current)
            if len(reads) >= STABLE_READS:
                return current
            time.sleep(1)
        raise PreconditionFailed("the swarm does not settle for precondition %s: %s"
                                 % (given, "; ".join(differences(self.compare(previous), self.compare(self.snapshots(given))))))

    @staticmethod
    def compare(snapshots, versions=True):
        return {name: comparable(snapshot, versions) for name, snapshot in snapshots.items()}

    def wait_for(self, what, host, check, timeout=SETTLE_TIMEOUT):
        """Poll the snapshot of `host` until check(snapshot) is true; fail with the last one."""
        deadline = time.time() + timeout
        while True:
            snapshot = self.snapshot(host)
            try:
                if check(snapshot):
                    return snapshot
            except (KeyError, TypeError):
                pass
            if time.time() >= deadline:
                raise PreconditionFailed("timed out after %ds waiting until %s; last seen from %s: %s"
                                         % (timeout, what, host, json.dumps(snapshot.get("status")
                                                                            or snapshot.get("local") or snapshot)[:1500]))
            time.sleep(2)

    def healthy(self, snapshot):
        status = snapshot.get("status")
        if not status:
            return False
        nodes = status["nodes"]
        main = [self.m1, self.m2, self.m3, self.w1, self.w2]
        return (all(nodes.get(host, {}).get("state") == "ready" and nodes[host]["availability"] == "active"
                    for host in main)
                and all(nodes[host]["reachability"] == "reachable" for host in (self.m1, self.m2, self.m3))
                and any(node["leader"] for node in nodes.values())
                and all(service["running"] == service["desired"] for service in status["services"].values()
                        if service["desired"] != "global"))

    def run_command_var(self, name):
        value = self.lab_vars[name]
        if not isinstance(value, list):
            raise PreconditionFailed("%s in the lab's group_vars is not an argv list" % name)
        return value

    def stop_engine(self, host):
        # The lab's hold file keeps the engine down (the node's supervisor would restart it).
        self.docker_exec(host, self.run_command_var("swarm_backup_engine_stop_command"), timeout=120)

    def start_engine(self, host):
        self.docker_exec(host, self.run_command_var("swarm_backup_engine_start_command"), timeout=60)

    def restart_engine(self, host):
        # dockerd exits; the node's supervisor starts it again at once.
        self.docker_exec(host, self.run_command_var("rolling_maintenance_engine_restart_command"), timeout=120)

    # -- modules ---------------------------------------------------------------------------

    def module_playbook(self, name, target, module, args, delegate_to=None):
        task = {"name": name, "swarmops.lifecycle." + module: args or {}}
        if delegate_to:
            task["delegate_to"] = delegate_to
        play = [{"name": "bad input: " + name, "hosts": target, "gather_facts": False, "tasks": [task]}]
        path = os.path.join(self.tmp, re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".yml")
        with open(path, "w") as handle:
            json.dump(play, handle, indent=2)
        return path

    def ansible_playbook(self, name, playbook, sources, extra_vars=None):
        argv = [tool("ansible-playbook")]
        for source in sources:
            argv += ["-i", source]
        argv.append(playbook)
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
        # Only the JSON callback may write on stdout (an empty list here is an error in ansible-core 2.19).
        env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
        env.pop("ANSIBLE_VERBOSITY", None)
        started = time.time()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=ROW_TIMEOUT, env=env, check=False,
                                  cwd=PROJECT)
            rc, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:
            rc, stdout, stderr = None, exc.stdout or "", (exc.stderr or "") + "\n(killed after %ds)" % ROW_TIMEOUT
            stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
            stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
        with open(os.path.join(OUT, re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".log"), "w") as handle:
            handle.write("$ %s\n\nRC=%s after %.1fs\n\n--- stdout\n%s\n--- stderr\n%s\n"
                         % (" ".join(argv), rc, time.time() - started, stdout, stderr))
        return rc, parse_run(stdout), stdout, stderr

    def module(self, name, target, module, args, delegate_to=None):
        """Run one module task on `target` (a setup step, not a row): its result, failing on failure."""
        path = self.module_playbook(name, target, module, args, delegate_to)
        rc, document, stdout, stderr = self.ansible_playbook(name, path, self.sources())
        failures = failure_messages(document)
        if rc != 0 or failures:
            raise PreconditionFailed("%s failed (rc %s): %s" % (name, rc, failures or (stderr or stdout)[-1500:]))
        return [result for task, host, result in task_results(document) if task == name][0]

    # -- preconditions ---------------------------------------------------------------------

    def enter(self, given):
        if given in self.broken:
            raise PreconditionFailed("precondition %s could not be set up: %s" % (given, self.broken[given]))
        if self.current == given:
            return
        try:
            if self.current is not None:
                previous, self.current = self.current, None
                getattr(self, "leave_" + previous)()
            getattr(self, "setup_" + given)()
        except Exception as exc:  # reported on every row of this precondition
            self.broken[given] = "%s: %s" % (type(exc).__name__, exc)
            raise PreconditionFailed("precondition %s could not be set up: %s" % (given, self.broken[given]))
        self.current = given

    def restore(self):
        """Back to the healthy five-node swarm (node engines started, no foreign lock, nothing drained)."""
        if self.current is not None:
            previous, self.current = self.current, None
            getattr(self, "leave_" + previous)()
        self.ensure_healthy()

    def ensure_healthy(self):
        snapshot = self.snapshot(self.m1)
        if not self.healthy(snapshot):
            for host in (self.m3, self.w2):
                # Leftovers of manager_down (also from an interrupted earlier run).
                self.start_engine(host)
            status = (snapshot.get("status") or {}).get("nodes") or {}
            if status.get(self.w2, {}).get("availability") == "drain":
                self.docker_exec(self.m1, ["docker", "node", "update", "--availability", "active", self.w2])
        labels = ((snapshot.get("state") or {}).get("swarm") or {}).get("labels") or {}
        if OTHER_OWNER in labels.get("swarmops.lock.maintenance", ""):
            self.module("release the foreign lock", self.m1, "swarm_lock", {"owner": OTHER_OWNER, "state": "absent"})
        snapshot = self.wait_for("the five-node swarm is healthy (nodes ready and active, managers reachable, "
                                 "services converged)", self.m1, self.healthy)
        if self.first_healthy is None:
            self.first_healthy = {"main": snapshot}

    def setup_healthy(self):
        self.ensure_healthy()

    def leave_healthy(self):
        pass

    def setup_lock_held(self):
        self.ensure_healthy()
        self.module("take the lock as another run", self.m1, "swarm_lock", {"owner": OTHER_OWNER})
        self.wait_for("the lock label is set", self.m1,
                      lambda s: OTHER_OWNER in s["state"]["swarm"]["labels"].get("swarmops.lock.maintenance", ""), 30)

    def leave_lock_held(self):
        self.module("release the lock of the other run", self.m1, "swarm_lock", {"owner": OTHER_OWNER, "state": "absent"})

    def setup_drained_by_other(self):
        self.ensure_healthy()
        self.docker_exec(self.m1, ["docker", "node", "update", "--availability", "drain", self.w2])
        self.wait_for("%s is drained and runs no task" % self.w2, self.m1,
                      lambda s: s["status"]["nodes"][self.w2]["availability"] == "drain"
                      and s["status"]["nodes"][self.w2]["tasks"] == 0, 120)

    def leave_drained_by_other(self):
        self.docker_exec(self.m1, ["docker", "node", "update", "--availability", "active", self.w2])

    def setup_autolocked(self):
        # The five-node swarm with autolock on; every engine keeps running (unlocked). The key
        # printed by the update is never kept: the rows give no key or a wrong one.
        self.ensure_healthy()
        self.docker_exec(self.m1, ["docker", "swarm", "update", "--autolock=true"])
        self.wait_for("the swarm is autolocked", self.m1,
                      lambda s: ((s.get("state") or {}).get("swarm") or {}).get("autolock") is True, 60)

    def leave_autolocked(self):
        self.docker_exec(self.m1, ["docker", "swarm", "update", "--autolock=false"])
        self.wait_for("autolock is off again", self.m1,
                      lambda s: ((s.get("state") or {}).get("swarm") or {}).get("autolock") is False, 60)

    def setup_scratch(self):
        self.ensure_healthy()
        found = subprocess.run(["docker", "inspect", "--type", "container", self.container(self.s1)],
                               capture_output=True, text=True, check=False)
        if found.returncode != 0:
            raise PreconditionFailed("container %s does not exist: converge creates it (lab.yml with more-hosts.ini)"
                                     % self.container(self.s1))
        local = self.snapshot(self.s1).get("local") or {}
        if local.get("LocalNodeState") == "locked":
            if not self.unlock_key:
                raise PreconditionFailed("the scratch engine is locked by an earlier run whose key is gone: "
                                         "recreate the lab (molecule destroy, then converge)")
            self.unlock_scratch()
        elif local.get("LocalNodeState") == "inactive":
            address = "%s.%s" % (self.hostvars[self.s1]["lab_subnet_prefix"], self.hostvars[self.s1]["lab_octet"])
            self.docker_exec(self.s1, ["docker", "swarm", "init", "--advertise-addr", address,
                                       "--default-addr-pool", SCRATCH_POOL])
        self.wait_for("%s leads a single-node swarm of its own" % self.s1, self.s1,
                      lambda s: s["local"]["ControlAvailable"] and list(s["status"]["nodes"]) == [self.s1]
                      and s["status"]["nodes"][self.s1]["leader"], 120)

    def leave_scratch(self):
        pass

    def setup_scratch_locked(self):
        self.setup_scratch()
        # The key is printed by the update: keep it in this process only.
        self.docker_exec(self.s1, ["docker", "swarm", "update", "--autolock=true"])
        key = self.docker_exec(self.s1, ["docker", "swarm", "unlock-key", "--quiet"]).stdout.strip()
        if not key.startswith("SWMKEY-"):
            raise PreconditionFailed("could not read the scratch swarm's unlock key")
        self.unlock_key = key
        self.scratch_before_lock = self.snapshot(self.s1)
        self.restart_engine(self.s1)
        self.wait_for("the scratch engine comes back locked", self.s1,
                      lambda s: (s.get("local") or {}).get("LocalNodeState") == "locked", 120)

    def unlock_scratch(self):
        self.docker_exec(self.s1, ["docker", "swarm", "unlock"], stdin=self.unlock_key + "\n", timeout=60)
        return self.wait_for("the scratch engine is unlocked and serves its swarm", self.s1,
                             lambda s: s["local"]["LocalNodeState"] == "active" and s["local"]["ControlAvailable"]
                             and s.get("state") is not None, 120)

    def leave_scratch_locked(self):
        after = self.unlock_scratch()
        # An engine restart rewrites its node (status) and a new leadership the swarm object (keys):
        # compare without versions.
        self.scratch_unlock_differences = differences(comparable(self.scratch_before_lock, versions=False),
                                                      comparable(after, versions=False))
        self.docker_exec(self.s1, ["docker", "swarm", "update", "--autolock=false"])

    def setup_manager_down(self):
        self.ensure_healthy()
        for host in (self.m3, self.w2):
            self.stop_engine(host)
        self.wait_for("%s is an unreachable manager that is down and %s is down" % (self.m3, self.w2), self.m1,
                      lambda s: s["status"]["nodes"][self.m3]["reachability"] == "unreachable"
                      and s["status"]["nodes"][self.m3]["state"] == "down"
                      and s["status"]["nodes"][self.w2]["state"] == "down", 180)

    def leave_manager_down(self):
        for host in (self.m3, self.w2):
            self.start_engine(host)
        self.ensure_healthy()

    # -- one row -----------------------------------------------------------------------------

    def run_row(self, row):
        """Run one row in its precondition. Returns (problems, gap_problems): the second list holds the
        failed refusal checks of a known-gap row, which are reported as xfail instead."""
        given = row["given"]
        self.enter(given)
        names = self.names
        before = self.stable_snapshots(given)
        if "module" in row:
            target = substitute(row.get("host") or ("<s1>" if given.startswith("scratch") else "<m1>"), names)
            path = self.module_playbook(row["id"], target, row["module"], substitute(row.get("args") or {}, names),
                                        substitute(row.get("delegate_to"), names))
            rc, document, stdout, stderr = self.ansible_playbook(row["id"], path, self.sources())
        else:
            sources = self.sources()
            if row.get("inventory") is not None:
                sources = [self.write_inventory(row["id"], substitute(row["inventory"], names))]
            rc, document, stdout, stderr = self.ansible_playbook(
                row["id"], os.path.join(PROJECT, "playbooks", row["playbook"]), sources, substitute(row.get("vars"), names))
        # A side effect may land a moment after the run ended (a drain the engine carries out, a
        # task that is replaced): read after a settle window, and again at the next row's start.
        time.sleep(ROW_SETTLE_SECONDS)
        after = self.snapshots(given)
        self.last[given] = after
        self.last_row = (row["id"], given, after)
        problems = ["the swarm changed: " + line
                    for line in differences(self.compare(before), self.compare(after))]
        if problems:
            self.repair(before, after)
        # Playbooks preview some steps in check mode (reported as changed): the snapshot judges them.
        changed = changed_tasks(document) if "module" in row else []
        if changed:
            problems.append("the module reported a change: %s" % ", ".join(changed))
        refusal = self.check_outcome(row, rc, document, stdout, stderr)
        if row.get("gap"):
            return problems, refusal
        return problems + refusal, []

    def check_outcome(self, row, rc, document, stdout, stderr):
        expect = substitute(row["expect"], self.names, escape=True)
        log = "(whole output: %s)" % os.path.join(OUT, re.sub(r"[^A-Za-z0-9_.-]", "_", row["id"]) + ".log")
        if document is None:
            text = normalise(stdout + " " + stderr)
            if rc not in (None, 0) and not row.get("ok") and re.search(expect, text, re.DOTALL):
                return []
            return ["rc %s and no JSON output; expected a message matching %r; output ends: %s %s"
                    % (rc, expect, text[-1500:], log)]
        if row.get("ok"):
            results = [result for task, host, result in task_results(document) if task == row["id"]]
            text = json.dumps(results[0], sort_keys=True) if results else ""
            problems = [] if rc == 0 else ["expected success, got rc %s: %s %s"
                                           % (rc, failure_messages(document), log)]
            if not re.search(expect, text, re.DOTALL):
                problems.append("expected the result to match %r, got %s %s" % (expect, text[:1500], log))
            return problems
        # The refusal must be what ended the run, not a failure the run went on from.
        endings = ending_failures(document)
        problems = []
        if rc == 0:
            problems.append("expected a refusal, but the run succeeded")
        if not any(re.search(expect, message, re.DOTALL) for dummy, dummy2, message in endings):
            others = [item for item in failure_messages(document) if item not in endings]
            problems.append("no message of a task that ended the run matches %r; those were: %s; other failures: %s"
                            % (expect, "; ".join("[%s on %s] %s" % item for item in endings) or "none",
                               "; ".join("[%s on %s] %s" % item for item in others) or "none"))
        if problems:
            problems.append(log)
        return problems

    def repair(self, before, after):
        """Put node availability back after a row that changed it, so that the next rows start from their
        precondition (a refusal that did not happen; the row has failed already)."""
        was = (before.get("main") or {}).get("state") or {}
        now = (after.get("main") or {}).get("state") or {}
        for node_id, node in (now.get("nodes") or {}).items():
            old = (was.get("nodes") or {}).get(node_id)
            if old and old["availability"] != node["availability"]:
                self.docker_exec(self.m1, ["docker", "node", "update", "--availability", old["availability"], node_id],
                                 check=False)
        self.last.pop(self.current, None)
        self.last_row = None
