#!/usr/bin/env bash
# Load an image of this machine's engine into the engine inside a lab node container,
# unless that engine already has the same image ID. Prints "present" or "loaded".
set -euo pipefail
image=$1 container=$2
want=$(docker image inspect --format '{{.Id}}' "$image")
have=$(docker exec "$container" docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
if [ "$want" = "$have" ]; then echo present; exit 0; fi
docker save "$image" | docker exec -i "$container" docker load >/dev/null
echo loaded
