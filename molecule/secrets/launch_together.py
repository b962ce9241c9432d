#!/usr/bin/env python
"""Start one or more commands at the same moment, wait for all of them, keep their output.

Usage: launch_together.py SPEC.json

SPEC: {"dir": DIR, "runs": [{"name": NAME, "argv": [...]}, ...], "timeout": SECONDS}

Every command is started (Popen) before any is waited for, so two runs of a playbook really
overlap. For each run, DIR/NAME.log (mode 0600) gets its stdout and stderr as they were
written, then a last line RC=<exit code>; DIR/NAME.json records name, argv, log, rc, started
and ended (Unix times) and, for a run that failed, its first error lines. The same records
are printed on stdout as one JSON list. A command still running after SPEC's timeout is
stopped (its own process group, started here) and recorded with rc null and timed_out true.
Exit status: 0 when every command ran to its end, whatever its code; 3 when one was stopped.
"""
import json
import os
import signal
import subprocess
import sys
import time


def open_private(path):
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")


def error_lines(log, limit=5, width=400):
    """The first error lines of a failed run, for the message that reports it."""
    found = []
    with open(log, "rb") as handle:
        for line in handle:
            text = line.decode("utf-8", "replace").rstrip()
            if text.startswith(("[ERROR]", "fatal: [", "ERROR!")):
                found.append(text[:width])
                if len(found) == limit:
                    break
    return found


def main(spec_path):
    with open(spec_path) as handle:
        spec = json.load(handle)
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", PYTHONUNBUFFERED="1")
    runs = []
    for run in spec["runs"]:
        log = os.path.join(spec["dir"], run["name"] + ".log")
        runs.append(dict(name=run["name"], argv=[str(arg) for arg in run["argv"]], log=log, handle=open_private(log)))
    # Start every command before waiting for any.
    for run in runs:
        run["started"] = time.time()
        run["process"] = subprocess.Popen(run["argv"], stdout=run["handle"], stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.time() + float(spec.get("timeout", 900))
    pending = list(runs)
    while pending:
        for run in list(pending):
            rc = run["process"].poll()
            if rc is not None:
                run.update(rc=rc, ended=time.time(), timed_out=False)
                pending.remove(run)
        if pending and time.time() > deadline:
            for run in pending:
                os.killpg(run["process"].pid, signal.SIGTERM)
                run["process"].wait()
                run.update(rc=None, ended=time.time(), timed_out=True)
            pending = []
        time.sleep(0.2)
    records = []
    for run in runs:
        run["handle"].write(("\nRC=%s\n" % ("timeout" if run["timed_out"] else run["rc"])).encode())
        run["handle"].close()
        record = {key: run[key] for key in ("name", "argv", "log", "rc", "started", "ended", "timed_out")}
        record["errors"] = [] if run["rc"] == 0 else error_lines(run["log"])
        with open_private(os.path.join(spec["dir"], run["name"] + ".json")) as handle:
            handle.write(json.dumps(record, indent=2, sort_keys=True).encode())
        records.append(record)
    print(json.dumps(records, sort_keys=True))
    return 3 if any(run["timed_out"] for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
