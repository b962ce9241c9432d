#!/usr/bin/env bash
# Prepare this machine for the collection, its lab and its tests. Safe to run again:
# every step checks first and changes nothing that is already right.
#   - Python venv (.venv) from requirements.txt (reinstalled only when it changes)
#   - Debian packages the lab needs (docker.io when no engine runs, debootstrap, busybox-static,
#     openssh-client for the hosts flavour)
#   - on hosts whose capability bounding set is incomplete, the capability-dropping OCI
#     runtime that lets privileged containers start (docs/lab.md)
#   - a running Docker engine (an engine that already answers is left alone)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf '[setup] %s\n' "$*"; }

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || { log "need root to install: ${missing[*]}"; exit 1; }
  if [ $apt_updated -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Python venv -------------------------------------------------------------------
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating .venv from requirements.txt"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt >.venv/pip.log 2>&1 \
    || { tail -20 .venv/pip.log; exit 1; }
  echo "$want" > "$stamp"
else
  log ".venv is up to date"
fi

# --- packages for the lab images -----------------------------------------------------
apt_install debootstrap busybox-static openssh-client

# --- Docker engine -------------------------------------------------------------------
engine_answers() { timeout 10 docker info >/dev/null 2>&1; }
if ! engine_answers && ! command -v dockerd >/dev/null; then
  apt_install docker.io
fi

# Capabilities missing from the bounding set break privileged containers; register the
# runtime that drops them. Hosts with a full bounding set are left untouched.
capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
last_cap=$(cat /proc/sys/kernel/cap_last_cap)
full=$(printf '%x' $(( (1 << (last_cap + 1)) - 1 )))
runtime_changed=0
if [ "$((16#$capbnd))" -ne "$((16#$full))" ]; then
  log "capability bounding set $capbnd lacks capabilities (full: $full): registering capdrop runtime"
  # The source carries the shebang ansible-test accepts; the runtime gets an explicit python3.
  mkdir -p /usr/local/libexec/swarmops
  py=/usr/bin/python3; [ -x "$py" ] || py=$(command -v python3)
  sed "1s|.*|#!$py|" roles/lab/files/capdrop-runc \
    > /usr/local/libexec/swarmops/capdrop-runc.new
  chmod 0755 /usr/local/libexec/swarmops/capdrop-runc.new
  mv /usr/local/libexec/swarmops/capdrop-runc.new /usr/local/libexec/swarmops/capdrop-runc
  runtime_changed=$(python3 - <<'PY'
import json, os
path = "/etc/docker/daemon.json"
conf = {}
if os.path.exists(path) and os.path.getsize(path):
    with open(path) as f:
        conf = json.load(f)
want = dict(conf)
want.setdefault("runtimes", {})
want["runtimes"] = dict(want["runtimes"], **{"swarmops-capdrop": {"path": "/usr/local/libexec/swarmops/capdrop-runc"}})
want["default-runtime"] = "swarmops-capdrop"
if want != conf:
    os.makedirs("/etc/docker", exist_ok=True)
    with open(path, "w") as f:
        json.dump(want, f, indent=2)
    print(1)
else:
    print(0)
PY
)
else
  log "capability bounding set is complete: no runtime change needed"
fi

if engine_answers; then
  if [ "$runtime_changed" = 1 ]; then
    log "reloading the running engine's configuration (SIGHUP) for the new runtime"
    pkill -HUP -x dockerd || true
    sleep 1
  else
    log "Docker engine already answers: left alone"
  fi
else
  log "starting dockerd"
  mkdir -p /var/log
  setsid nohup dockerd >/var/log/swarmops-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do engine_answers && break; sleep 1; done
  engine_answers || { log "dockerd did not answer within 60 s; see /var/log/swarmops-dockerd.log"; exit 1; }
fi
log "Docker engine $(docker version --format '{{.Server.Version}}') answers"
