#!/usr/bin/env bash
# Measures what apigate adds to booting a compose project: the time from the start of
# `apigate scan --compose` to its first probe, against `docker compose up` alone for the
# same project (with --wait where the service has a healthcheck, as apigate waits for it
# too). The goal is no more than up + 1 s. Run from anywhere: scripts/bench-compose.sh
# RUNS=n sets the runs per fixture (default 3). Needs Docker and the compose v2 plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/ctx"
CGO_ENABLED=0 go build -trimpath -o "$work/apigate" ./cmd/apigate
CGO_ENABLED=0 go build -trimpath -o "$work/ctx/server" ./testdata/compose/server
cp testdata/compose/server/Dockerfile "$work/ctx/"
DOCKER_BUILDKIT=0 docker build -q -t apigate-fixture/server:test "$work/ctx" >/dev/null 2>&1

now_ms() { date +%s%3N; }

# bare FIXTURE UPFLAGS...: milliseconds of docker compose up alone.
bare() {
  local fixture=$1 project="apigate-bench-$RANDOM$RANDOM"
  shift
  local file="testdata/compose/$fixture/compose.yml" t0 t1
  t0=$(now_ms)
  docker compose -p "$project" -f "$file" up -d --build "$@" >/dev/null 2>&1
  t1=$(now_ms)
  docker compose -p "$project" -f "$file" down -v --remove-orphans -t 1 >/dev/null 2>&1
  echo $((t1 - t0))
}

# apigate FIXTURE: "first-probe-ms up-ms total-ms" of one apigate scan --compose.
apigate() {
  local file="testdata/compose/$1/compose.yml" t0 t1 first up
  t0=$(now_ms)
  "$work/apigate" scan --compose "$file" --service api -v --format json --fail-on none \
    >/dev/null 2>"$work/stderr" || true
  t1=$(now_ms)
  first=$(sed -n 's/^time=\([^ ]*\) level=DEBUG msg="probe starting".*/\1/p' "$work/stderr" | head -1)
  up=$(sed -n 's/.*msg="compose up finished" seconds=\([0-9.]*\).*/\1/p' "$work/stderr" | head -1)
  if [ -z "$first" ] || [ -z "$up" ]; then
    echo "bench: apigate did not reach its first probe:" >&2
    tail -20 "$work/stderr" >&2
    exit 1
  fi
  echo "$(($(date -d "$first" +%s%3N) - t0)) $(awk -v s="$up" 'BEGIN{printf "%d", s*1000}') $((t1 - t0))"
}

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
secs() { awk -v ms="$1" 'BEGIN{printf "%.2f", ms/1000}'; }

printf '%-8s %-26s %9s %9s %11s %9s %8s\n' fixture "compose alone" "up alone" "up in run" "first probe" \
  "overhead" "run"
for case in "plain:" "healthy:--wait"; do
  fixture=${case%%:*}
  flags=${case#*:}
  : >"$work/bare" && : >"$work/first" && : >"$work/inrun" && : >"$work/total" && : >"$work/over"
  for _ in $(seq "$runs"); do
    # shellcheck disable=SC2086 # flags is empty or one word
    bare "$fixture" $flags >>"$work/bare"
    read -r first up total < <(apigate "$fixture")
    echo "$first" >>"$work/first"
    echo "$up" >>"$work/inrun"
    echo "$total" >>"$work/total"
    echo $((first - up)) >>"$work/over"
  done
  printf '%-8s %-26s %8ss %8ss %10ss %8ss %7ss\n' "$fixture" "up -d --build $flags" \
    "$(secs "$(median <"$work/bare")")" "$(secs "$(median <"$work/inrun")")" \
    "$(secs "$(median <"$work/first")")" "$(secs "$(median <"$work/over")")" \
    "$(secs "$(median <"$work/total")")"
done
cat <<'TXT'
Medians of the runs. up alone: docker compose up by itself. up in run: the compose up
inside apigate's run. first probe: from the start of the apigate command to its first
probe. overhead: first probe - up in run, i.e. everything apigate adds before probing
(reading the compose file, finding the CLI, waiting for readiness, the health interval
where there is a healthcheck, API discovery). run: the whole run, teardown included.
TXT
