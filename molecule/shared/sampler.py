#!/usr/bin/env python
"""Sample, every ~200 ms, the running task count per service and each node's availability.

Runs on the controller. For each manager container given, it starts a small sampler inside
it (`docker exec ... python3`) that reads its own engine through the Docker SDK, so that a
manager whose engine is restarting does not stop the sampling: the others go on. Every
sample is one JSON line in OUT: {"t", "from", "running": {service: n}, "desired": {...},
"availability": {node: ...}} or {"t", "from", "error"}. Stops on SIGTERM or after --max-seconds.
What the inner samplers write on stderr goes to OUT.stderr, so that a sampler that could not
start says why.
Usage: sampler.py OUT CONTAINER [CONTAINER...] [--interval 0.2] [--max-seconds 1800] [--reattach]
"""
import argparse
import signal
import subprocess
import sys
import threading
import time

INNER = r'''
import json, sys, time
import docker
interval, deadline = float(sys.argv[1]), time.time() + float(sys.argv[2])
api = None
while time.time() < deadline:
    started = time.time()
    try:
        if api is None:
            api = docker.APIClient(base_url="unix://var/run/docker.sock", timeout=2)
        services = api.services()
        tasks = api.tasks(filters={"desired-state": "running"})
        nodes = api.nodes()
        names = {s["ID"]: s["Spec"]["Name"] for s in services}
        running = {name: 0 for name in names.values()}
        for task in tasks:
            if task["Status"]["State"] == "running" and task["ServiceID"] in names:
                running[names[task["ServiceID"]]] += 1
        desired = {s["Spec"]["Name"]: (s["Spec"]["Mode"].get("Replicated") or {}).get("Replicas") for s in services}
        availability = {n["Description"]["Hostname"]: n["Spec"]["Availability"] for n in nodes}
        sample = {"t": started, "running": running, "desired": desired, "availability": availability}
    except Exception as exc:  # an engine restarting or without a leader: note it and go on
        api = None
        sample = {"t": started, "error": str(exc)[:200]}
    print(json.dumps(sample), flush=True)
    time.sleep(max(0.0, interval - (time.time() - started)))
'''


def pump(process, container, out, lock):
    for line in process.stdout:
        line = line.strip()
        if line.startswith("{"):
            with lock:
                out.write('{"from": "%s", %s\n' % (container, line[1:]))
                out.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("containers", nargs="+")
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--max-seconds", type=float, default=1800)
    parser.add_argument("--reattach", action="store_true",
                        help="start a container's inner sampler again when it ends (its machine was stopped and "
                             "comes back); without it the sampler ends once every inner one has ended")
    args = parser.parse_args()
    lock = threading.Lock()
    processes = {}
    stopping = threading.Event()
    deadline = time.time() + args.max_seconds

    # Re-attached by container ID: a container of the same name made later (the next scenario's
    # lab) is never sampled, and its engine never woken through its socket.
    ids = {}
    for container in args.containers:
        found = subprocess.run(["docker", "inspect", "--format", "{{.Id}}", container],
                               capture_output=True, text=True, check=False)
        ids[container] = found.stdout.strip() or container

    def start(container, errors):
        return subprocess.Popen(
            ["docker", "exec", "-i", ids[container], "python3", "-u", "-c", INNER,
             str(args.interval), str(max(1.0, deadline - time.time()))],
            stdout=subprocess.PIPE, stderr=errors, text=True)

    def follow(container, out, errors):
        while True:
            pump(processes[container], container, out, lock)
            processes[container].wait()
            if not args.reattach or stopping.wait(1.0) or time.time() >= deadline:
                return
            with lock:
                if stopping.is_set():
                    return
                processes[container] = start(container, errors)

    # A new file every time: samples left by an earlier run (an interrupted scenario keeps its
    # ephemeral directory) must never be counted with this one.
    with open(args.out, "w") as out, open(args.out + ".stderr", "w") as errors:
        threads = []
        for container in args.containers:
            processes[container] = start(container, errors)
            threads.append(threading.Thread(target=follow, args=(container, out, errors), daemon=True))
            threads[-1].start()

        def stop(*_):
            stopping.set()
            with lock:
                for process in processes.values():
                    process.terminate()
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while time.time() < deadline and any(thread.is_alive() for thread in threads):
            time.sleep(0.5)
        stop()


if __name__ == "__main__":
    main()
