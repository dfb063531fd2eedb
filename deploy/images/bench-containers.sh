#!/usr/bin/env bash
# The "## Containers" figures of BENCHMARKS.md, from one run:
#   1. image build, cold: no minibank/rotel image, no cached rotel wheel (release binaries
#      already built; their own build time is cargo's and is printed by build-images);
#   2. image build, unchanged: the same build again (content tags found, nothing built);
#   3. the acceptance suite in-process, then against containers, same seed; wall times, the
#      containers boot (ready) time and their ratio.
# Usage: deploy/images/bench-containers.sh [SEED]
set -euo pipefail
cd "$(dirname "$0")/../.."
seed="${1:-42}"
out="$(mktemp -d)"

cargo build -q -p drivers --bin build-images
cargo build -q --release -p minibank --bin minibank -p harness --bin trace-sink
cargo test -q --test acceptance --no-run

for ref in $(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(minibank|rotel):' || true); do
  docker rmi "$ref" >/dev/null 2>&1 || true
done
rm -rf target/images/rotel-*

secs() { python3 -c "import time; print(f'{time.time():.3f}')"; }
t0=$(secs); ./target/debug/build-images --no-cargo-build >"$out/cold.txt"; t1=$(secs)
./target/debug/build-images --no-cargo-build >"$out/unchanged.txt"; t2=$(secs)

export MINIBANK_IMAGES_NO_CARGO_BUILD=1
cargo test -q --test acceptance -- --seed "$seed" >"$out/in-process.txt" 2>&1 || true
cargo test -q --test acceptance -- --driver containers --seed "$seed" >"$out/containers.txt" 2>&1 || true

wall() { grep -oE 'wall time [0-9.]+ s' "$1" | grep -oE '[0-9.]+'; }
boot() { grep -oE 'boot [0-9.]+ ms' "$1" | grep -oE '[0-9.]+'; }
result() { grep -E '^acceptance: [0-9]+ passed' "$1"; }
ip=$(wall "$out/in-process.txt"); ct=$(wall "$out/containers.txt")
echo "image build, cold:      $(python3 -c "print(f'{$t1-$t0:.1f}')") s"; sed 's/^/  /' "$out/cold.txt"
echo "image build, unchanged: $(python3 -c "print(f'{$t2-$t1:.2f}')") s"; sed 's/^/  /' "$out/unchanged.txt"
echo "in-process suite: wall ${ip} s, boot $(boot "$out/in-process.txt") ms; $(result "$out/in-process.txt")"
echo "containers suite: wall ${ct} s, boot (ready) $(boot "$out/containers.txt") ms; $(result "$out/containers.txt")"
grep -E '^containers: booted' "$out/containers.txt" | sed 's/^/  /'
echo "ratio containers / in-process wall time: $(python3 -c "print(f'{$ct/$ip:.2f}')")"
grep -E '^\s+failed:|not run' "$out/containers.txt" | sed 's/^/  /' || true
echo "outputs in $out"
