#!/usr/bin/env bash
# Build the lab's two images from local files only (no registry is reachable):
#   NODE_IMAGE      a Docker engine in a container (debootstrap'ed Debian: dockerd,
#                   python3, the Docker SDK, iproute2) with a restarting supervisor as PID 1
#   WORKLOAD_IMAGE  a 2 MB busybox root that serves HTTP (httpd) for swarm services
# Each image carries the hash of its recipe as a label and is rebuilt only when the
# recipe changes. Prints one line per image: "<name> cached|built".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
node_image=${1:-swarmops-lab-node:latest}
workload_image=${2:-swarmops-lab-workload:latest}
suite=bookworm
node_packages=docker.io,python3,python3-docker,iproute2,procps,ca-certificates,iptables

current_hash() { docker image inspect --format '{{ index .Config.Labels "swarmops.recipe" }}' "$1" 2>/dev/null || true; }

debian_mirror() {
  # The host's own Debian mirror, so the build goes where apt already goes.
  local uri
  uri=$(grep -rhoE '^(URIs:|deb) +\S+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build_node() {
  local hash=$1 dir
  dir=$(mktemp -d /var/tmp/swarmops-node.XXXXXX)
  debootstrap --variant=minbase --include="$node_packages" "$suite" "$dir" "$(debian_mirror)" \
    >"$dir.log" 2>&1 || { tail -20 "$dir.log"; exit 1; }
  rm -f "$dir.log"
  install -m 0755 "$here/swarmops-node-init" "$dir/usr/local/sbin/swarmops-node-init"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import \
    --change 'CMD ["/usr/local/sbin/swarmops-node-init"]' \
    --change "LABEL swarmops.recipe=$hash swarmops.lab=image" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
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

ensure "$node_image" build_node \
  "$(printf '%s %s\n' "$suite" "$node_packages" | cat - "$here/swarmops-node-init" "$0" | sha256sum | cut -c1-16)"
ensure "$workload_image" build_workload \
  "$(printf 'busybox %s\n' "$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null)" | cat - "$0" | sha256sum | cut -c1-16)"
# Drop the images that a rebuild left without a tag.
docker image prune --force --filter label=swarmops.lab=image >/dev/null
