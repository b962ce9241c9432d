"""Shared helpers for the benchmarks: the lab inventory, fresh labs, timing."""
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def run(argv, check=True, quiet=True, **kwargs):
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"], ANSIBLE_FORCE_COLOR="0")
    out = subprocess.run(argv, cwd=ROOT, env=env, text=True, check=False,
                         stdout=subprocess.PIPE if quiet else None,
                         stderr=subprocess.STDOUT if quiet else None, **kwargs)
    if check and out.returncode != 0:
        raise SystemExit("command failed (%d): %s\n%s" % (out.returncode, " ".join(argv), out.stdout or ""))
    return out


def inventory(path):
    """Hosts of the inventory: name -> vars, plus the manager and worker lists."""
    data = json.loads(run(["ansible-inventory", "-i", path, "--list"]).stdout)
    hostvars = data["_meta"]["hostvars"]

    def hosts(group):
        found = list(data.get(group, {}).get("hosts", []))
        for child in data.get(group, {}).get("children", []):
            found += hosts(child)
        return found

    return hostvars, hosts("swarm_managers"), hosts("swarm_workers")


def fresh_lab(path):
    run(["ansible-playbook", "-i", path, "playbooks/lab.yml", "-e", "lab_state=absent"])
    run(["ansible-playbook", "-i", path, "playbooks/lab.yml"])


def timed(func, *args):
    start = time.monotonic()
    func(*args)
    return time.monotonic() - start


def advertise_addr(hostvars, host):
    """The lab's address for a host (the same expression as inventories/lab)."""
    hv = hostvars[host]
    return "%s.%s" % (hv["lab_subnet_prefix"], hv["lab_octet"])
