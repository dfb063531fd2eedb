#!/usr/bin/env bash
# The harness's own overhead per step: runs the acceptance entry point (in-process driver) on a
# generated feature of 1 no-op step and on one of 1 + N no-op steps (`Given nothing happens`),
# RUNS times each, and reports (median(with N) - median(with 1)) / N. Boot, parsing and
# reporting cancel out; what remains is cucumber matching + running + the writers, per step.
#
#   tests/acceptance/bench-step-overhead.sh [N=1000] [RUNS=5]
set -euo pipefail
N=${1:-1000}
RUNS=${2:-5}
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
mkdir -p "$work/one" "$work/many"
write_feature "$work/one/one.feature" 1
write_feature "$work/many/many.feature" $((N + 1))

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
echo "runs: $RUNS; 1 step: $((one / 1000)) ms; $((N + 1)) steps: $((many / 1000)) ms (medians)"
echo "per-step overhead: $(( (many - one) / N )) µs"
