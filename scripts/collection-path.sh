#!/usr/bin/env bash
# Make swarmops.lifecycle.* resolve from this checkout: Ansible finds collections only under
# .../ansible_collections/<namespace>/<name>, so link the repository there (ansible.cfg
# puts .cache/collections first on collections_path).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
link="$root/.cache/collections/ansible_collections/swarmops/lifecycle"
mkdir -p "$(dirname "$link")"
[ "$(readlink "$link" 2>/dev/null)" = "$root" ] || ln -sfn "$root" "$link"
