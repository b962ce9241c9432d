"""Issue 7: no secret of the swarm in anything the collection's playbooks print or write, and
two maintain.yml runs started together: exactly one runs, the other is refused by the lock.

The secrets searched for are read by converge.yml (leakcheck/known/): the join tokens as built
and after the CA rotation (each whole and its secret part), the unlock key (whole and without
SWMKEY-1-) and the private key of the root CA the swarm was rotated to (its base64 body, each
body line that is not public-key material, and the whole PEM file base64-encoded).

Where: every run's output (-vvv, --diff), every file in the backup directory (archives
unpacked, every member scanned), every other file written since the runs started under the
ephemeral directory, the project, ~/.ansible and ~/.ansible_async, and the files in /tmp,
/var/tmp and /root of every node. Each haystack is searched as it is and squeezed (whitespace,
backslashes and \\n escapes removed), so a secret folded by YAML or escaped in JSON is found
too. Messages name the file and the kind of secret, never its value. Counts go to
leakcheck/summary.json and summary.txt and to a warning shown in pytest's summary.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
import warnings

import pytest
import testinfra.utils.ansible_runner

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
from swarm_checks import node_inspect  # noqa: E402

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY",
                         os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
INVENTORY_DIR = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
INVENTORY = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY_DIR)
MANAGERS = INVENTORY.get_hosts("swarm_managers")
WORKERS = INVENTORY.get_hosts("swarm_workers")
ALL = MANAGERS + WORKERS
testinfra_hosts = ALL

WORK = os.path.join(EPHEMERAL, "leakcheck")
KNOWN = os.path.join(WORK, "known")
RUNS = os.path.join(WORK, "runs")
BACKUPS = os.path.join(WORK, "backups")
MARKER = os.path.join(WORK, "started")

# Runs that must succeed, and the two concurrent maintain.yml runs (converge.yml).
SINGLE_RUNS = ["site-build", "site-again", "backup", "recover-check", "recover"]
CONCURRENT_RUNS = ["maintain-a", "maintain-b"]
ALL_RUNS = SINGLE_RUNS + CONCURRENT_RUNS
# site-build runs before the unlock key is read; every later run gets it vaulted.
VAULTED_RUNS = [name for name in ALL_RUNS if name != "site-build"]
# Hosts each playbook's PLAY RECAP must list.
RECAP_HOSTS = {"backup": MANAGERS}

LOCK_REFUSAL = re.compile(
    r"Cannot take lock swarmops\.lock\.maintenance: (?P<owner>\S+) holds it \(run (?P<run>[^,\s]+),")
PLAN_LINE = re.compile(r"Run (?P<run>\d+-[0-9a-f]+) by (?P<owner>\S+?)(?: \(resumed after a failed run\))?[\"',\s]")
RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)", re.M)
# Task files of maintain.yml past its preflight: a run refused by the lock must reach none.
PAST_PREFLIGHT = re.compile(
    r"task path: \S*/(rolling_maintenance/tasks/(plan|node|step\w*|stop|restart_engine|finish|pick_manager)"
    r"|engine/tasks/(restart|wait|unlock))\.yml:")
SQUEEZE = re.compile(rb"\\[nr]|\\|\s+")
PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN (?P<type>[A-Z0-9 ]*PRIVATE KEY)-----(?P<body>.*?)-----END", re.S)
# Directories of the project never written by a playbook run (or too large to walk).
SKIP_DIRS = {".git", ".venv", ".cache", "__pycache__", ".pytest_cache", "node_modules"}
MAX_FILE_BYTES = 256 * 1024 * 1024

SUMMARY = {"scanned": {}, "findings": [], "notes": []}


# -- the secrets -----------------------------------------------------------------------------

def pem_body(text):
    """Base64 lines of a PEM block (no BEGIN/END lines, no headers)."""
    return [line.strip() for line in text.strip().splitlines()
            if line.strip() and not line.startswith("-----") and ":" not in line]


def pem_der(text):
    return base64.b64decode("".join(pem_body(text)))


def load_secrets():
    """[(label, bytes)], and notes on what was left out. Labels never carry a value."""
    with open(os.path.join(KNOWN, "secrets.json")) as handle:
        known = json.load(handle)
    secrets = []
    for generation, values in sorted(known["generations"].items()):
        for kind in ("worker_token", "manager_token"):
            token = values[kind]
            secrets.append(("%s %s" % (kind.replace("_", " "), generation), token))
            secrets.append(("%s %s, secret part" % (kind.replace("_", " "), generation), token.rsplit("-", 1)[1]))
        key = values["unlock_key"]
        secrets.append(("unlock key %s" % generation, key))
        secrets.append(("unlock key %s without SWMKEY-1-" % generation, key[len("SWMKEY-1-"):]))
    with open(known["ca_key"]) as handle:
        ca_key = handle.read()
    with open(known["ca_cert"]) as handle:
        ca_cert = handle.read()
    # A key line made only of public-key bytes also appears in what the engines show to anyone:
    # the CA certificate and its public key (docker info TLSInfo.CertIssuerPublicKey, the
    # SubjectPublicKeyInfo in base64), so such a line is not searched. Checked at the three
    # byte alignments they can have relative to the key's base64 lines.
    spki = subprocess.run(["openssl", "pkey", "-in", known["ca_key"], "-pubout", "-outform", "DER"],
                          capture_output=True, check=True).stdout
    public = [base64.b64encode(b"\0" * shift + der).decode()
              for der in (pem_der(ca_cert), spki) for shift in range(3)]
    body = pem_body(ca_key)
    secrets.append(("CA private key, base64 body", "".join(body)))
    left_out = []
    for number, line in enumerate(body, 1):
        if any(line in encoded for encoded in public):
            left_out.append("CA key body line %d (%d chars): public-key bytes only, shown openly (certificate, public key)" % (number, len(line)))
        elif len(line) < 16:
            left_out.append("CA key body line %d (%d chars): too short to search" % (number, len(line)))
        else:
            secrets.append(("CA private key, body line %d" % number, line))
    secrets.append(("CA private key, whole PEM file base64-encoded", base64.b64encode(ca_key.encode()).decode()))
    # One entry per distinct value; a value read in both generations keeps both names.
    labels = {}
    for label, value in secrets:
        labels.setdefault(value, []).append(label)
    unique = [(" = ".join(names), value.encode()) for value, names in labels.items()]
    return unique, left_out, known


@pytest.fixture(scope="module")
def secrets():
    if not os.path.exists(os.path.join(KNOWN, "secrets.json")):
        pytest.fail("%s is missing: converge did not read the swarm's secrets" % os.path.join(KNOWN, "secrets.json"))
    found, left_out, known = load_secrets()
    SUMMARY["secrets"] = {"count": len(found), "labels": [label for label, dummy in found],
                          "lengths": {label: len(value) for label, value in found}, "left_out": left_out}
    return found


def find_secrets(secrets, data):
    """Labels of the secrets in data, as it is or squeezed (folded YAML, escaped JSON)."""
    squeezed = SQUEEZE.sub(b"", data)
    return [label for label, value in secrets if value in data or value in squeezed]


def scan(secrets, kind, name, data):
    """Search one haystack, count it under kind, return the findings (label list)."""
    counted = SUMMARY["scanned"].setdefault(kind, {"files": 0, "bytes": 0})
    counted["files"] += 1
    counted["bytes"] += len(data)
    found = find_secrets(secrets, data)
    for label in found:
        SUMMARY["findings"].append({"where": kind, "file": name, "secret": label})
    return found


def fail_on(findings):
    """findings: {file: [labels]}. The message names files and kinds of secret, never values."""
    findings = {name: labels for name, labels in findings.items() if labels}
    if findings:
        pytest.fail("secrets found: " + "; ".join("%s: %s" % (name, ", ".join(labels))
                                                  for name, labels in sorted(findings.items())), pytrace=False)


# -- the runs --------------------------------------------------------------------------------

def read_log(name):
    path = os.path.join(RUNS, name + ".log")
    if not os.path.exists(path):
        pytest.fail("no output of %s at %s: converge did not run it" % (name, path), pytrace=False)
    with open(path, "rb") as handle:
        return handle.read()


def record(name):
    with open(os.path.join(RUNS, name + ".json")) as handle:
        return json.load(handle)


def flat(data):
    """Text with every run of whitespace made one space (YAML folds long messages)."""
    return " ".join(data.decode("utf-8", "replace").split())


def recap(text):
    return {match.group("host"): {key: int(match.group(key)) for key in ("ok", "changed", "unreachable", "failed")}
            for match in RECAP_LINE.finditer(text.split("PLAY RECAP")[-1])}


# -- what the secrets are --------------------------------------------------------------------

def test_secrets_to_search_for_are_known(secrets):
    labels = [label for label, dummy in secrets]
    assert len(secrets) >= 12, "only %d secret strings to search for: %s" % (len(secrets), labels)
    short = [label for label, value in secrets if len(value) < 16]
    assert not short, "secret strings too short to search without false matches: %s" % short
    for kind in ("worker token", "manager token", "unlock key", "CA private key, base64 body", "CA private key, body line 1"):
        assert any(label.startswith(kind) for label in labels), "nothing of kind %r to search for" % kind


def test_ca_rotation_issued_new_join_tokens():
    known = load_secrets()[2]
    built, rotated = known["generations"]["built"], known["generations"]["rotated"]
    for kind in ("worker_token", "manager_token"):
        if built[kind] == rotated[kind]:
            pytest.fail("the %s did not change with the root CA rotation: was the CA rotated?" % kind, pytrace=False)
    if built["unlock_key"] != rotated["unlock_key"]:
        SUMMARY["notes"].append("the unlock key changed with the CA rotation; both are searched")


@pytest.fixture(scope="module")
def manager():
    return testinfra.get_host("ansible://%s" % MANAGERS[0], ansible_inventory=INVENTORY_DIR)


def test_swarm_root_ca_is_the_scenario_ca(manager):
    with open(os.path.join(KNOWN, "ca-cert.pem")) as handle:
        ours = pem_der(handle.read())
    assert pem_der(manager.check_output("docker swarm ca")) == ours, \
        "the swarm's root CA is not the one whose key is searched for"


def test_searched_tokens_and_key_are_the_swarm_current_ones(manager):
    # Only digests cross the wire: the values never reach a test report.
    known = load_secrets()[2]
    rotated = known["generations"]["rotated"]
    commands = {"worker_token": "docker swarm join-token -q worker", "manager_token": "docker swarm join-token -q manager",
                "unlock_key": "docker swarm unlock-key -q"}
    for kind, command in commands.items():
        live = manager.check_output('printf %%s "$(%s)" | sha256sum | cut -d" " -f1' % command).strip()
        if live != hashlib.sha256(rotated[kind].encode()).hexdigest():
            pytest.fail("the swarm's current %s is not the one searched for (changed after converge read it?)" % kind,
                        pytrace=False)


def test_scanner_finds_secrets_wherever_they_were_planted(secrets):
    # The check must be able to fail: every secret is found where it was put, as the
    # playbooks' output could carry it (plain, JSON-escaped, folded by YAML).
    with open(os.path.join(KNOWN, "secrets.json"), "rb") as handle:
        planted_json = handle.read()
    with open(os.path.join(KNOWN, "ca-key.pem"), "rb") as handle:
        planted_pem = handle.read()
    for label, value in secrets:
        middle = len(value) // 2
        variants = {
            "plain": b"msg: before " + value + b" after",
            "json-escaped": json.dumps({"x": "k\n" + value.decode() + "\nz"}).encode(),
            "yaml-folded": b'msg: "' + value[:middle] + b'\\\n        ' + value[middle:] + b'"',
        }
        for variant, data in variants.items():
            assert label in find_secrets(secrets, data), "%s not found %s" % (label, variant)
    json_escaped_pem = json.dumps({"key": planted_pem.decode()}).encode()
    for label, dummy in secrets:
        if label.startswith(("worker", "manager", "unlock")):
            assert label in find_secrets(secrets, planted_json), "%s not found in secrets.json" % label
        elif "whole PEM file" not in label:
            assert label in find_secrets(secrets, planted_pem), "%s not found in ca-key.pem" % label
            assert label in find_secrets(secrets, json_escaped_pem), "%s not found in the JSON-escaped key" % label


# -- the runs' output ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL_RUNS)
def test_run_happened_loud(name):
    text = read_log(name).decode("utf-8", "replace")
    argv = record(name)["argv"]
    assert len(text) > 2000, "%s printed only %d characters" % (name, len(text))
    assert "PLAY RECAP" in text, "%s did not get to its PLAY RECAP" % name
    assert "-vvv" in argv and "--diff" in argv, argv
    assert "task path: " in text and "Using module file " in text, "%s output is not at -vvv" % name
    hosts = recap(text)
    assert set(RECAP_HOSTS.get(name, ALL)) <= set(hosts), "%s recap lists %s" % (name, sorted(hosts))
    if name in VAULTED_RUNS:
        assert "--vault-password-file" in argv and "@%s" % os.path.join(KNOWN, "vault.yml") in argv, argv
    if name in SINGLE_RUNS:
        assert record(name)["rc"] == 0 and text.rstrip().endswith("RC=0"), "%s ended with rc %s" % (name, record(name)["rc"])
        failed = {host: counts for host, counts in hosts.items() if counts["failed"] or counts["unreachable"]}
        assert not failed, "%s: %s" % (name, failed)
    SUMMARY.setdefault("runs", {})[name] = {
        "rc": record(name)["rc"], "seconds": round(record(name)["ended"] - record(name)["started"], 1),
        "bytes": len(text), "changed": sum(counts["changed"] for counts in hosts.values())}


@pytest.mark.parametrize("name", ["site-again", "recover"])
def test_a_second_run_changes_nothing_on_any_host(name):
    """site.yml on the swarm it built (autolock and vaulted key included) and recover.yml on a healthy swarm."""
    text = read_log(name).decode("utf-8", "replace")
    hosts = recap(text)
    assert set(ALL) <= set(hosts), "%s recap lists %s" % (name, sorted(hosts))
    changed = {host: counts for host, counts in hosts.items() if counts["changed"] or counts["failed"]}
    assert not changed, "%s changed something: %s" % (name, changed)


def test_recover_found_the_swarm_healthy_and_check_mode_said_so():
    for name in ("recover-check", "recover"):
        assert "Case: healthy" in flat(read_log(name)), "%s did not diagnose a healthy swarm" % name
    assert "--check" in record("recover-check")["argv"]


def test_backup_run_wrote_an_autolocked_archive():
    text = flat(read_log("backup"))
    assert "Archive: %s/swarm-" % BACKUPS in text, "backup.yml did not report an archive in %s" % BACKUPS
    assert "Autolock: true" in text


@pytest.mark.parametrize("name", ALL_RUNS)
def test_no_secret_in_run_output(secrets, name):
    fail_on({os.path.join(RUNS, name + ".log"): scan(secrets, "run outputs", name + ".log", read_log(name))})


# -- concurrency -----------------------------------------------------------------------------

def concurrent():
    runs = {name: record(name) for name in CONCURRENT_RUNS}
    logs = {name: read_log(name) for name in CONCURRENT_RUNS}
    return runs, logs


def test_concurrent_maintain_runs_overlapped():
    runs = concurrent()[0]
    a, b = (runs[name] for name in CONCURRENT_RUNS)
    assert abs(a["started"] - b["started"]) < 1.0, "started %.2fs apart" % abs(a["started"] - b["started"])
    assert max(a["started"], b["started"]) < min(a["ended"], b["ended"]), "the runs did not overlap"
    SUMMARY["concurrency"] = {"start_skew_seconds": round(abs(a["started"] - b["started"]), 3),
                              "rc": {name: runs[name]["rc"] for name in CONCURRENT_RUNS},
                              "owner_mode": "distinct" if any("rolling_maintenance_owner" in " ".join(runs[name]["argv"])
                                                              for name in CONCURRENT_RUNS) else "role default"}


def winner_and_loser():
    runs, logs = concurrent()
    succeeded = [name for name in CONCURRENT_RUNS if runs[name]["rc"] == 0]
    if len(succeeded) != 1:
        plans = {name: sorted({match.group("owner") for match in PLAN_LINE.finditer(flat(logs[name]))})
                 for name in CONCURRENT_RUNS}
        same_owner = len(succeeded) == 2 and plans[CONCURRENT_RUNS[0]] == plans[CONCURRENT_RUNS[1]]
        pytest.fail(
            "%d of the two concurrent maintain.yml runs ended with rc 0 (rc %s; owners each run planned under: %s)%s" % (
                len(succeeded), {name: runs[name]["rc"] for name in CONCURRENT_RUNS}, plans,
                ". Both took the lock as the same owner: the role's owner is rolling_maintenance_owner plus the"
                " whole second the preflight started (roles/rolling_maintenance/tasks/preflight.yml), the same for"
                " two runs of one user on one controller started within a second, and swarm_lock treats the"
                " holder's own owner string as its own lock" if same_owner else
                "; errors: %s" % {name: runs[name].get("errors") for name in CONCURRENT_RUNS}),
            pytrace=False)
    winner = succeeded[0]
    loser = [name for name in CONCURRENT_RUNS if name != winner][0]
    return winner, loser, logs


def test_exactly_one_maintain_run_completed():
    winner, loser, logs = winner_and_loser()
    plans = PLAN_LINE.findall(flat(logs[winner]))
    assert plans, "the run that succeeded (%s) printed no plan" % winner
    assert "restart_engine.yml:" in logs[winner].decode("utf-8", "replace"), \
        "%s did not run the default maintenance (engine restart)" % winner
    SUMMARY.setdefault("concurrency", {}).update(winner=winner, loser=loser, winner_run=plans[0][0])


def test_the_other_run_was_refused_by_the_lock_naming_the_holder():
    winner, loser, logs = winner_and_loser()
    text = flat(logs[loser])
    refusal = LOCK_REFUSAL.search(text)
    assert refusal, "%s failed, but not with the lock refusal" % loser
    assert "Another run is in progress; nothing was changed" in text
    held_by = {match.group("run"): match.group("owner") for match in PLAN_LINE.finditer(flat(logs[winner]))}
    assert held_by.get(refusal.group("run")) == refusal.group("owner"), (
        "the refusal names %s (run %s), not the run that went ahead (%s)" % (
            refusal.group("owner"), refusal.group("run"), held_by))
    SUMMARY.setdefault("concurrency", {}).update(holder_named=refusal.group("owner"))


def test_the_refused_run_changed_nothing(manager):
    winner, loser, logs = winner_and_loser()
    reached = sorted(set(PAST_PREFLIGHT.findall(logs[loser].decode("utf-8", "replace"))))
    assert not reached, "%s, refused by the lock, still ran %s" % (loser, reached)
    # Every node carries the mark of the run that went ahead, and the lock is released.
    run = PLAN_LINE.search(flat(logs[winner])).group("run")
    marks = {node["Description"]["Hostname"]: (node["Spec"].get("Labels") or {}).get("swarmops.maintenance")
             for node in node_inspect(manager)}
    assert marks == {name: run + ":done" for name in ALL}, marks
    labels = json.loads(manager.check_output("docker info --format '{{json .Swarm.Cluster.Spec.Labels}}'")) or {}
    assert "swarmops.lock.maintenance" not in labels, labels


# -- files written ---------------------------------------------------------------------------

def backup_files():
    if not os.path.isdir(BACKUPS):
        pytest.fail("backup.yml wrote no directory %s" % BACKUPS, pytrace=False)
    return sorted(os.path.join(BACKUPS, name) for name in os.listdir(BACKUPS))


def test_backup_files_are_complete_and_private():
    assert stat.S_IMODE(os.stat(BACKUPS).st_mode) == 0o700, oct(os.stat(BACKUPS).st_mode)
    files = backup_files()
    archives = [path for path in files if path.endswith(".tar.gz")]
    assert len(archives) == 1, files
    archive = archives[0]
    assert files == sorted([archive, archive + ".json", archive + ".sha256"]), files
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "%s has mode %o" % (path, stat.S_IMODE(os.stat(path).st_mode))
    with open(archive, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    with open(archive + ".sha256") as handle:
        assert handle.read().split() == [digest, os.path.basename(archive)]
    with open(archive + ".json") as handle:
        metadata = json.load(handle)
    assert metadata["autolock"] is True, metadata.get("autolock")


def test_no_secret_in_backup_metadata_and_checksum(secrets):
    findings = {}
    for path in backup_files():
        if not path.endswith(".tar.gz"):
            with open(path, "rb") as handle:
                findings[path] = scan(secrets, "backup files", os.path.basename(path), handle.read())
    assert SUMMARY["scanned"].get("backup files", {}).get("files", 0) >= 2
    fail_on(findings)


def archive_members(path):
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile():
                yield member.name, archive.extractfile(member).read()


def test_no_secret_in_backup_archive_members(secrets):
    # The archive is /var/lib/docker/swarm of a manager: with autolock on, the node's TLS key
    # and the raft data (which holds the join tokens and the CA key) are encrypted on disk.
    findings, members = {}, []
    for path in backup_files():
        if path.endswith(".tar.gz"):
            with open(path, "rb") as handle:
                findings[path] = scan(secrets, "backup files", os.path.basename(path), handle.read())
            for name, data in archive_members(path):
                findings["%s!%s" % (os.path.basename(path), name)] = scan(secrets, "archive members", name, data)
                members.append({"member": name, "bytes": len(data)})
    SUMMARY["archive_members"] = members
    assert members, "no file in the backup archive"
    assert any(member["member"].endswith("swarm-node.key") for member in members), [m["member"] for m in members]
    fail_on(findings)


def test_backup_archive_private_keys_are_encrypted_by_autolock():
    keys = []
    for path in backup_files():
        if path.endswith(".tar.gz"):
            for name, data in archive_members(path):
                for block in PEM_PRIVATE_KEY.finditer(data):
                    headers = [line.split(b":", 1)[0].decode() for line in block.group("body").splitlines() if b":" in line]
                    keys.append({"member": name, "type": block.group("type").decode(), "headers": headers,
                                 "encrypted": b"ENCRYPTED" in block.group(0)})
    SUMMARY["archive_private_keys"] = keys
    assert keys, "no PEM private key in the archive (expected the node's TLS key)"
    clear = [key["member"] for key in keys if not key["encrypted"]]
    assert not clear, "private keys in clear in an autolocked backup: %s" % clear


def scan_file(secrets, kind, path):
    """Scan a file, and each member of it when it is a (tar.)gz archive."""
    with open(path, "rb") as handle:
        data = handle.read()
    findings = {path: scan(secrets, kind, path, data)}
    try:
        if path.endswith((".tar.gz", ".tgz")):
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                for member in archive.getmembers():
                    if member.isfile():
                        findings["%s!%s" % (path, member.name)] = scan(
                            secrets, kind, "%s!%s" % (path, member.name), archive.extractfile(member).read())
        elif path.endswith(".gz"):
            findings[path + "!"] = scan(secrets, kind, path + "!", gzip.decompress(data))
    except (OSError, EOFError, tarfile.TarError) as exc:
        SUMMARY["notes"].append("could not unpack %s: %s" % (path, exc))
    return findings


def written_since_the_runs_started(already_scanned):
    """Files modified since converge marked the start, except the known secrets and the files
    scanned by the tests above."""
    since = os.stat(MARKER).st_mtime
    roots = [EPHEMERAL, PROJECT, os.path.expanduser("~/.ansible"), os.path.expanduser("~/.ansible_async")]
    found = set()
    for root in roots:
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = [name for name in subdirs if name not in SKIP_DIRS
                          and not os.path.islink(os.path.join(directory, name))
                          and os.path.join(directory, name) != KNOWN]
            for name in files:
                path = os.path.join(directory, name)
                if path in already_scanned:
                    continue
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode) and info.st_mtime >= since and info.st_size <= MAX_FILE_BYTES:
                    found.add(path)
    return sorted(found)


def test_no_secret_in_other_files_written_during_the_runs(secrets):
    already_scanned = {os.path.join(RUNS, name + ".log") for name in ALL_RUNS}
    if os.path.isdir(BACKUPS):
        already_scanned.update(os.path.join(BACKUPS, name) for name in os.listdir(BACKUPS))
    paths = written_since_the_runs_started(already_scanned)
    findings = {}
    for path in paths:
        findings.update(scan_file(secrets, "other files written during the runs", path))
    SUMMARY["other_files"] = [os.path.relpath(path, EPHEMERAL) if path.startswith(EPHEMERAL + os.sep) else path
                              for path in paths]
    # The walk must reach what the runs left next to their output: the launch specs and records.
    expected = {os.path.join(RUNS, name + ".json") for name in ALL_RUNS}
    assert expected <= set(paths), "the walk missed %s" % sorted(expected - set(paths))
    fail_on(findings)


def test_vault_file_is_encrypted(secrets):
    with open(os.path.join(KNOWN, "vault.yml"), "rb") as handle:
        data = handle.read()
    assert data.startswith(b"$ANSIBLE_VAULT;"), "vault.yml is not vault-encrypted"
    fail_on({"vault.yml": find_secrets(secrets, data)})


# Every file under /tmp, /var/tmp and /root of a node, as "path<TAB>base64 of its bytes" lines.
NODE_FILES = ("find /tmp /var/tmp /root -xdev -type f -size -64M 2>/dev/null | "
              "while IFS= read -r f; do printf '%s\\t' \"$f\"; base64 -w0 \"$f\"; echo; done")


def test_no_secret_left_on_node(secrets, host):
    # Temporary files of the runs (module payloads, the backup's archive before fetching) and
    # the scenario's own copy of the CA key must all be gone from the nodes.
    out = host.run("sh -c %s", NODE_FILES)
    assert out.rc == 0, out.stderr
    findings, names = {}, []
    for line in out.stdout.splitlines():
        if "\t" not in line:
            continue
        path, encoded = line.split("\t", 1)
        names.append(path)
        findings["%s:%s" % (host.backend.hostname, path)] = scan(
            secrets, "node files", path, base64.b64decode(encoded))
    SUMMARY.setdefault("node_files", {})[host.backend.hostname] = names
    leftovers = [path for path in names if re.search(r"/swarm-[^/]*\.tar\.gz$|/swarmops-secrets-ca/", path)]
    assert not leftovers, "left on the node: %s" % leftovers
    fail_on(findings)


# -- the swarm afterwards --------------------------------------------------------------------

def test_swarm_ends_whole_and_still_autolocked(manager):
    nodes = node_inspect(manager)
    assert sorted(node["Description"]["Hostname"] for node in nodes) == sorted(ALL)
    assert all(node["Status"]["State"] == "ready" and node["Spec"]["Availability"] == "active" for node in nodes), \
        [(n["Description"]["Hostname"], n["Status"]["State"], n["Spec"]["Availability"]) for n in nodes]
    managers = [node for node in nodes if node["Spec"]["Role"] == "manager"]
    assert len(managers) == 3 and all(node["ManagerStatus"]["Reachability"] == "reachable" for node in managers)
    assert len([node for node in managers if node["ManagerStatus"].get("Leader")]) == 1
    # The managers were restarted by maintain.yml and backup.yml and came back locked: that
    # they are reachable again means the runs unlocked them with the vaulted key.
    assert manager.check_output("docker info --format '{{json .Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}'") == "true"


def test_zz_summary_written():
    scanned = SUMMARY["scanned"]
    total_files = sum(kind["files"] for kind in scanned.values())
    total_bytes = sum(kind["bytes"] for kind in scanned.values())
    line = "leak check: %d secret strings searched in %d files (%d bytes): %s; findings: %d" % (
        SUMMARY.get("secrets", {}).get("count", 0), total_files, total_bytes,
        ", ".join("%s %d files/%d bytes" % (kind, counts["files"], counts["bytes"]) for kind, counts in sorted(scanned.items())),
        len(SUMMARY["findings"]))
    SUMMARY["line"] = line
    with open(os.path.join(WORK, "summary.json"), "w") as handle:
        json.dump(SUMMARY, handle, indent=2, sort_keys=True)
    with open(os.path.join(WORK, "summary.txt"), "w") as handle:
        handle.write(line + "\n")
        for finding in SUMMARY["findings"]:
            handle.write("found %(secret)s in %(where)s: %(file)s\n" % finding)
        for note in SUMMARY["notes"]:
            handle.write("note: %s\n" % note)
    warnings.warn(line)
    assert total_files > 0
