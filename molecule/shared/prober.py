#!/usr/bin/env python
"""Probe a service from outside the swarm: an HTTP GET to a host-mode port on every node, ~20 times a second.

Runs on the controller and talks only to the lab's own node addresses (given on the command
line). Each tick sends one GET per address in parallel (timeout --timeout) and writes one JSON
line to OUT: {"t": start, "ok": [addresses that answered 200], "failed": {address: reason}}.
It stops by itself after --max-seconds or --max-ticks, or on SIGTERM, so a scenario that dies
cannot leave it running. The verifier asserts that at every tick at least one node answered.
Usage: prober.py OUT PORT ADDRESS [ADDRESS...] [--interval 0.05] [--timeout 0.5]
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

STOP = threading.Event()


def get(address, port, timeout):
    try:
        with urllib.request.urlopen("http://%s:%d/" % (address, port), timeout=timeout) as answer:
            return answer.status == 200, "" if answer.status == 200 else "HTTP %d" % answer.status
    except Exception as exc:  # refused, reset, timeout: each is a node that did not serve this tick
        return False, type(exc).__name__ + ": " + str(exc)[:80]


def tick(pool, addresses, port, timeout):
    return dict(zip(addresses, pool.map(lambda address: get(address, port, timeout), addresses)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("port", type=int)
    parser.add_argument("addresses", nargs="+")
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=0.5)
    parser.add_argument("--max-seconds", type=float, default=1800)
    parser.add_argument("--max-ticks", type=int, default=200000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    signal.signal(signal.SIGINT, lambda *_: STOP.set())
    # A measurement must not be starved by the scenario that started it at a lower priority.
    if hasattr(os, "nice") and os.nice(0) > 0:
        try:
            os.nice(-os.nice(0))
        except OSError:
            pass
    deadline = time.time() + args.max_seconds
    with open(args.out, "w") as out, ThreadPoolExecutor(max_workers=len(args.addresses)) as pool:
        ticks = 0
        while not STOP.is_set() and time.time() < deadline and ticks < args.max_ticks:
            started = time.time()
            results = tick(pool, args.addresses, args.port, args.timeout)
            out.write(json.dumps({
                "t": started,
                "ok": sorted(address for address, (ok, dummy) in results.items() if ok),
                "failed": dict((address, why) for address, (ok, why) in results.items() if not ok),
            }) + "\n")
            out.flush()
            ticks += 1
            STOP.wait(max(0.0, args.interval - (time.time() - started)))
    sys.exit(0)


if __name__ == "__main__":
    main()
