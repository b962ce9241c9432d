#!/usr/bin/env bash
# Build the lab's two images from local files only (no registry is reachable):
#   NODE_IMAGE      FLAVOUR "engines" (default): a Docker engine in a container (debootstrap'ed
#                   Debian: dockerd, python3, the Docker SDK, iproute2) with a restarting
#                   supervisor as PID 1, reached with `docker exec`.
#                   FLAVOUR "hosts": a machine-like node: systemd as PID 1, sshd (host keys made
#                   at first boot), docker.service with its data-root at DATA_ROOT, the Docker
#                   SDK, sudo; reached over SSH.
#   WORKLOAD_IMAGE  a 2 MB busybox root that serves HTTP (httpd) for swarm services
# Usage: build-images.sh NODE_IMAGE WORKLOAD_IMAGE [engines|hosts] [DATA_ROOT]
# Each image carries the hash of its recipe as a label and is rebuilt only when the
# recipe changes. Prints one line per image: "<name> cached|built".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
node_image=${1:-swarmops-lab-node:latest}
workload_image=${2:-swarmops-lab-workload:latest}
flavour=${3:-engines}
data_root=${4:-/var/lib/docker}
suite=bookworm
node_packages=docker.io,python3,python3-docker,iproute2,procps,ca-certificates,iptables
host_packages=$node_packages,systemd,systemd-sysv,dbus,openssh-server,sudo
case $flavour in engines|hosts) ;; *) echo "unknown flavour: $flavour (engines or hosts)" >&2; exit 2 ;; esac

current_hash() { docker image inspect --format '{{ index .Config.Labels "swarmops.recipe" }}' "$1" 2>/dev/null || true; }

debian_mirror() {
  # The host's own Debian mirror, so the build goes where apt already goes.
  local uri
  uri=$(grep -rhoE '^(URIs:|deb) +\S+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

debootstrap_root() {
  local packages=$1 dir
  dir=$(mktemp -d /var/tmp/swarmops-node.XXXXXX)
  debootstrap --variant=minbase --include="$packages" "$suite" "$dir" "$(debian_mirror)" \
    >"$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; exit 1; }
  rm -f "$dir.log"
  echo "$dir"
}

build_node() {
  local hash=$1 dir
  dir=$(debootstrap_root "$node_packages")
  install -m 0755 "$here/swarmops-node-init" "$dir/usr/local/sbin/swarmops-node-init"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import \
    --change 'CMD ["/usr/local/sbin/swarmops-node-init"]' \
    --change "LABEL swarmops.recipe=$hash swarmops.lab=image" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$node_image" >/dev/null
  rm -rf "$dir"
}

# A machine as far as Ansible and the collection can tell: systemd runs sshd and docker.service.
build_host() {
  local hash=$1 dir
  dir=$(debootstrap_root "$host_packages")
  # No console in a container; the rest of the boot must end with no failed unit.
  ln -sf /dev/null "$dir/etc/systemd/system/getty@tty1.service"
  ln -sf /dev/null "$dir/etc/systemd/system/console-getty.service"
  # The engine of the lab: no registry is reachable, so tasks use the image the engine has.
  mkdir -p "$dir/etc/systemd/system/docker.service.d" "$dir/etc/docker"
  printf '[Service]\nEnvironment=DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1\n' \
    > "$dir/etc/systemd/system/docker.service.d/swarmops-lab.conf"
  printf '{"data-root": "%s"}\n' "$data_root" > "$dir/etc/docker/daemon.json"
  # Every node gets its own host keys, made at its first boot, not baked into the image.
  rm -f "$dir"/etc/ssh/ssh_host_*
  cat > "$dir/etc/systemd/system/ssh-host-keys.service" <<'UNIT'
[Unit]
Description=Generate this machine's SSH host keys at its first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
  ln -sf /etc/systemd/system/ssh-host-keys.service "$dir/etc/systemd/system/multi-user.target.wants/ssh-host-keys.service"
  printf 'PasswordAuthentication no\nUseDNS no\n' > "$dir/etc/ssh/sshd_config.d/swarmops-lab.conf"
  install -d -m 0700 "$dir/root/.ssh"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import \
    --change 'CMD ["/sbin/init"]' \
    --change 'ENV container=docker' \
    --change "LABEL swarmops.recipe=$hash swarmops.lab=image" \
    - "$node_image" >/dev/null
  rm -rf "$dir"
}

build_workload() {
  local hash=$1 dir busybox
  busybox=$(command -v busybox)
  dir=$(mktemp -d /var/tmp/swarmops-workload.XXXXXX)
  mkdir -p "$dir/bin" "$dir/www" "$dir/tmp"
  cp "$busybox" "$dir/bin/busybox"
  for applet in sh ls cat echo sleep hostname httpd wget ps kill env date mkdir; do
    ln -s busybox "$dir/bin/$applet"
  done
  echo ok > "$dir/www/index.html"
  tar -C "$dir" -c . | docker import \
    --change 'CMD ["/bin/httpd", "-f", "-p", "80", "-h", "/www"]' \
    --change "LABEL swarmops.recipe=$hash swarmops.lab=image" \
    --change 'ENV PATH=/bin' \
    - "$workload_image" >/dev/null
  rm -rf "$dir"
}

ensure() {
  local name=$1 builder=$2 hash=$3
  if [ "$(current_hash "$name")" = "$hash" ]; then
    echo "$name cached"
  else
    "$builder" "$hash"
    echo "$name built"
  fi
}

if [ "$flavour" = hosts ]; then
  ensure "$node_image" build_host \
    "$(printf 'hosts %s %s %s\n' "$suite" "$host_packages" "$data_root" | cat - "$0" | sha256sum | cut -c1-16)"
else
  ensure "$node_image" build_node \
    "$(printf '%s %s\n' "$suite" "$node_packages" | cat - "$here/swarmops-node-init" "$0" | sha256sum | cut -c1-16)"
fi
ensure "$workload_image" build_workload \
  "$(printf 'busybox %s\n' "$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null)" | cat - "$0" | sha256sum | cut -c1-16)"
# Drop the images that a rebuild left without a tag.
docker image prune --force --filter label=swarmops.lab=image >/dev/null
