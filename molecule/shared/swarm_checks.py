"""Facts read from the lab's engines themselves, shared by every scenario's verifier."""
import json


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
