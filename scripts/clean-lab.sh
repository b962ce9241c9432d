#!/usr/bin/env bash
# Remove every container, network and volume that any lab left on this machine (they all
# carry the label swarmops.lab). Images stay: they are cached by recipe.
set -uo pipefail
timeout 10 docker info >/dev/null 2>&1 || exit 0
containers=$(docker ps -aq --filter label=swarmops.lab)
[ -n "$containers" ] && docker rm -f -v $containers >/dev/null
networks=$(docker network ls -q --filter label=swarmops.lab)
[ -n "$networks" ] && docker network rm $networks >/dev/null
volumes=$(docker volume ls -q --filter label=swarmops.lab)
[ -n "$volumes" ] && docker volume rm -f $volumes >/dev/null
echo "[clean] removed $(echo $containers | wc -w) containers, $(echo $networks | wc -w) networks, $(echo $volumes | wc -w) volumes labelled swarmops.lab"
