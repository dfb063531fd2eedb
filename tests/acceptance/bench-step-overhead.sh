#!/usr/bin/env bash
# The harness's own overhead per step: runs the acceptance entry point (in-process driver) on a
# generated feature of 1 no-op step and on one of 1 + N no-op steps (`Given nothing happens`),
# RUNS times each, and reports (median(with N) - median(with 1)) / N. Boot, parsing and
# reporting cancel out; what remains is cucumber matching + running + the writers, per step.
# Also per scenario: S scenarios of one no-op step each (world, before hook, namespace).
#
#   tests/acceptance/bench-step-overhead.sh [N=1000] [RUNS=5] [S=200]
set -euo pipefail
N=${1:-1000}
RUNS=${2:-5}
S=${3:-200}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo test -p steps --test acceptance --no-run 2>/dev/null
bin=$(ls -t target/debug/deps/acceptance-* | grep -v '\.d$' | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

write_feature() { # file steps
  { echo "Feature: harness overhead"; echo "  Scenario: no-op steps"
    for _ in $(seq "$2"); do echo "    Given nothing happens"; done; } >"$1"
}
mkdir -p "$work/one" "$work/many" "$work/scenarios"
write_feature "$work/one/one.feature" 1
write_feature "$work/many/many.feature" $((N + 1))
{ echo "Feature: harness overhead per scenario"
  for i in $(seq $((S + 1))); do echo "  Scenario: no-op $i"; echo "    Given nothing happens"; done
} >"$work/scenarios/scenarios.feature"

median_ms() { # dir
  local times=()
  for _ in $(seq "$RUNS"); do
    local start end
    start=$(date +%s%N)
    "$bin" --input "$1/*.feature" --color never >/dev/null
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}
one=$(median_ms "$work/one")
many=$(median_ms "$work/many")
scen=$(median_ms "$work/scenarios")
echo "runs: $RUNS; 1 step: $((one / 1000)) ms; $((N + 1)) steps: $((many / 1000)) ms (medians)"
echo "per-step overhead: $(( (many - one) / N )) µs"
echo "$((S + 1)) one-step scenarios: $((scen / 1000)) ms; per-scenario overhead: $(( (scen - one) / S )) µs"
