#!/usr/bin/env bash
# The README's first command: set this machine up, start the five-engine lab, build the
# swarm on it with site.yml, run the rolling maintenance on it, and print the node list.
# INVENTORY=inventories/lab-hosts brings up the machine-like flavour (systemd, SSH) instead.
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
# The manager group is named by swarmops_manager_group (group_vars/all), default swarm_managers.
managers=$(ansible-inventory -i "$inventory" --list 2>/dev/null | python3 -c '
import json, sys
inventory = json.load(sys.stdin)
hostvars = inventory.get("_meta", {}).get("hostvars", {})
print(next(iter(hostvars.values()), {}).get("swarmops_manager_group", "swarm_managers"))')
ansible -i "$inventory" "${managers}[0]" -m ansible.builtin.command -a 'docker node ls'
