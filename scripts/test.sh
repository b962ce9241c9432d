#!/usr/bin/env bash
# The README's second command: every test of the collection, on this machine.
#   unit (pytest) -> sanity (ansible-test) -> lint (ansible-lint, production profile)
#   -> build (galaxy build + install + resolve) -> every Molecule scenario on the lab.
# Sets the machine up first (scripts/setup-host.sh is safe to run twice).
# Pick stages with STAGES="unit sanity" and scenarios with SCENARIOS="default modules".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup-host.sh || exit 1
bash scripts/collection-path.sh
# shellcheck disable=SC1091
source .venv/bin/activate
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1

stages=${STAGES:-unit sanity lint build molecule}
passed=0 failed=0 failures=()
# Each stage's output is also kept, so that a failed stage's reasons can be printed again at
# the very end, where a long log's reader (or a CI page that shows only its tail) finds them.
logs=$(mktemp -d /tmp/swarmops-test-logs.XXXXXX)
stage() {
  local name=$1; shift
  local start=$SECONDS log="$logs/${1//\//_}-$((passed + failed)).log"
  printf '\n==== %s ====\n' "$name"
  "$@" 2>&1 | tee "$log"
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then
    passed=$((passed + 1)); printf '==== %s: passed (%ss)\n' "$name" $((SECONDS - start))
  else
    failed=$((failed + 1)); failures+=("$name"); printf '==== %s: FAILED (%ss)\n' "$name" $((SECONDS - start))
    digests+=("$name" "$log")
  fi
}
digests=()

# Why a stage failed, in at most 45 lines (a CI page may show only the end of the output):
# the last Ansible failures that were not ignored ("[ERROR]: Task failed ..." holds the message
# on one line; "fatal: [host]" names the host), pytest's one-line failure summaries and error
# lines, each with its line number in the stage's output, folded to 200 columns.
digest() {
  awk '
    function keep() { if (pending != "") fatal[++n] = pending; pending = "" }
    /^\.\.\.ignoring/ { pending = ""; next }
    /^\[ERROR\]: / { keep(); pending = FNR ": " $0; next }
    /^(fatal|failed): \[/ { if (pending !~ /\[ERROR\]/) { keep(); pending = FNR ": " $0 } next }
    /^TASK \[|^PLAY |^RUNNING HANDLER/ { keep() }
    /^FAILED |^ERROR|^CRITICAL/ { other[++m] = FNR ": " $0 }
    END {
      keep()
      for (i = (n > 4 ? n - 3 : 1); i <= n; i++) print fatal[i]
      for (i = 1; i <= m && i <= 10; i++) print other[i]
    }' "$2" | fold -w 200 | head -45
}

run_unit() {
  python -m pytest tests/unit -q -p no:cacheprovider
}

run_sanity() {
  # ansible-test needs the tree at .../ansible_collections/<namespace>/<name>.
  local top
  top=$(mktemp -d /tmp/swarmops-sanity.XXXXXX)
  local dest=$top/ansible_collections/swarmops/lifecycle
  mkdir -p "$dest"
  git ls-files -co --exclude-standard -z | xargs -0 tar -cf - | tar -C "$dest" -xf -
  # ansible-test downloads a pip bootstrap script from a host CI cannot reach.
  local pip_version
  pip_version=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; print(g(type("P", (), {"version": "3.11"})())["pip"])')
  mkdir -p ~/.ansible/test/cache
  cp tests/sanity/get_pip_offline.py ~/.ansible/test/cache/get_pip_"${pip_version//./_}".py
  (cd "$dest" && ansible-test sanity --python 3.11 --color no)
  local rc=$?
  rm -rf "$top"
  return $rc
}

run_lint() {
  ansible-lint --profile production --nocolor
}

run_build() {
  # The built tarball must install and resolve swarmops.lifecycle.* names.
  local out
  out=$(mktemp -d /tmp/swarmops-build.XXXXXX)
  ansible-galaxy collection build --force --output-path "$out" . || { rm -rf "$out"; return 1; }
  # From the output folder, with only that folder on the path: the checkout must not be found.
  (
    cd "$out" && export ANSIBLE_COLLECTIONS_PATH="$out/collections" &&
    ansible-galaxy collection install --no-deps "$out"/swarmops-lifecycle-*.tar.gz &&
    ansible-galaxy collection list swarmops.lifecycle &&
    ansible-doc -t role swarmops.lifecycle.swarm_cluster >/dev/null &&
    ansible-playbook --syntax-check -i localhost, swarmops.lifecycle.site &&
    for module in collections/ansible_collections/swarmops/lifecycle/plugins/modules/*.py; do
      [ -e "$module" ] || continue
      name=$(basename "$module" .py)
      ansible-doc "swarmops.lifecycle.$name" >/dev/null || exit 1
      echo "ansible-doc swarmops.lifecycle.$name: ok"
    done
  )
  local rc=$?
  rm -rf "$out"
  return $rc
}

# Each scenario runs on the lab its molecule.yml links (inventories/lab unless it names another:
# inventories/lab-b, a second engines lab, or inventories/lab-hosts, the "hosts" flavour). Each
# lab has its own network, containers and names, so the labs run side by side, each lab's
# scenarios one after another: inventories/lab in the foreground, every other lab in the
# background, reported after the foreground ones, all at the same priority (the machine is
# shared by labs that each time elections). PARALLEL_LABS=0 runs everything in turn.
lab_of() {
  local lab
  lab=$(grep -o 'inventories/[A-Za-z0-9_-]*/hosts.yml' "molecule/$1/molecule.yml" | head -1)
  lab=${lab%/hosts.yml}
  echo "${lab:-inventories/lab}"
}

# "default" first: it is the foundation every other scenario builds on. "chaos" last on its lab:
# its faults land at timed moments.
ordered() {
  printf '%s\n' "$@" | awk '$0=="default"{print "0 " $0; next} $0=="chaos"{print "2 " $0; next} {print "1 " $0}' |
    sort | cut -d' ' -f2
}

run_chain() {
  # The scenarios given, in turn, each logged to $logs/bg-<scenario>.log with its rc and seconds.
  local scenario start
  for scenario in "$@"; do
    start=$SECONDS
    molecule test -s "$scenario" >"$logs/bg-$scenario.log" 2>&1
    echo "$? $((SECONDS - start))" >"$logs/bg-$scenario.rc"
  done
}

run_molecule() {
  local scenarios=${SCENARIOS:-$(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | sort)}
  local rc=0 background=() foreground=() scenario lab labs
  if [ "${PARALLEL_LABS:-1}" = 0 ]; then
    mapfile -t foreground < <(ordered $scenarios)
  else
    labs=$(for scenario in $scenarios; do lab_of "$scenario"; done | sort -u)
    for lab in $labs; do
      local members=()
      for scenario in $(ordered $scenarios); do
        [ "$(lab_of "$scenario")" = "$lab" ] && members+=("$scenario")
      done
      if [ "$lab" = inventories/lab ]; then
        foreground=("${members[@]}")
      else
        background+=("${members[@]}")
        printf '\n==== on %s, in the background (output after the others): %s ====\n' "$lab" "${members[*]}"
        run_chain "${members[@]}" &
      fi
    done
  fi
  for scenario in "${foreground[@]}"; do
    stage "molecule:$scenario" molecule test -s "$scenario" || rc=1
  done
  wait
  for scenario in "${background[@]}"; do
    stage "molecule:$scenario" report_background "$scenario" || rc=1
  done
  return $rc
}

report_background() {
  local rc seconds
  cat "$logs/bg-$1.log"
  read -r rc seconds <"$logs/bg-$1.rc" || rc=1
  printf '(ran in the background for %ss)\n' "${seconds:-?}"
  return "${rc:-1}"
}

for s in $stages; do
  case $s in
    unit) stage unit run_unit ;;
    sanity) stage sanity run_sanity ;;
    lint) stage lint run_lint ;;
    build) stage build run_build ;;
    molecule) run_molecule ;;
    *) echo "unknown stage: $s"; exit 2 ;;
  esac
done

printf '\n'
for ((i = 0; i < ${#digests[@]}; i += 2)); do
  printf '\n==== why %s failed (line numbers of its own output) ====\n' "${digests[i]}"
  digest "${digests[i]}" "${digests[i + 1]}"
done
rm -rf "$logs"
[ ${#failures[@]} -gt 0 ] && printf 'failed stages: %s\n' "${failures[*]}"
printf 'stages: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
