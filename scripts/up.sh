#!/usr/bin/env bash
# The README's first command: set this machine up, start the five-engine lab, build the
# swarm on it with site.yml, run the rolling maintenance on it, and print the node list.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup-host.sh
bash scripts/collection-path.sh
# shellcheck disable=SC1091
source .venv/bin/activate
inventory=${INVENTORY:-inventories/lab}
ansible-playbook -i "$inventory" playbooks/lab.yml
ansible-playbook -i "$inventory" playbooks/site.yml
if [ -f playbooks/maintain.yml ]; then
  ansible-playbook -i "$inventory" playbooks/maintain.yml
fi
ansible -i "$inventory" 'swarm_managers[0]' -m ansible.builtin.command -a 'docker node ls'
