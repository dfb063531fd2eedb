#!/usr/bin/env bash
# The fuzz stage (CI runs this; fuzz/README.md): builds the cargo fuzz targets once, then runs
# each for $FUZZ_SECONDS (default 25) from its committed corpus (fuzz/corpus/<target>, read
# only; what a run discovers goes to a scratch directory). A crash, a timeout or an input over
# the memory limit fails the stage; the input is kept in fuzz/artifacts/<target>/ and the
# command that replays it is printed.
#
#   fuzz/run.sh [target ...]          # build, then run; default: every target
#   fuzz/run.sh --build [target ...]  # only build (CI builds beside the suites, niced)
#   fuzz/run.sh --run [target ...]    # only run what --build built
#
# Stable Rust: cargo-fuzz needs `-Z` flags, which RUSTC_BOOTSTRAP=1 allows. No sanitizer: the
# fuzzed code is safe Rust, so AddressSanitizer would add build time and find nothing a panic,
# libFuzzer's -rss_limit_mb and -timeout do not.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
seconds="${FUZZ_SECONDS:-25}"
target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
export RUSTC_BOOTSTRAP=1
say() { echo "fuzz: $*"; }

build=true run=true
case "${1:-}" in
  --build) run=false; shift ;;
  --run) build=false; shift ;;
esac
targets=("$@")
if [ "${#targets[@]}" = 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

if $build; then
  started=$(date +%s)
  for target in "${targets[@]}"; do
    cargo fuzz build --sanitizer none --debug-assertions --target-dir "$target_dir" "$target" \
      2>&1 | grep -v '^ *Compiling ' || true
  done
  say "built ${#targets[@]} targets in $(( $(date +%s) - started ))s"
fi
for target in "${targets[@]}"; do
  binary="$target_dir/x86_64-unknown-linux-gnu/release/$target"
  [ -x "$binary" ] || { say "$target did not build ($binary)"; exit 1; }
done
$run || exit 0

scratch="$(mktemp -d /tmp/minibank-fuzz.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target" "artifacts/$target"
  log="$scratch/$target.log"
  status=0
  "$target_dir/x86_64-unknown-linux-gnu/release/$target" "$scratch/$target" "corpus/$target" \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=5 -max_len=65536 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  coverage="$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+' || echo '?')"
  seeds="$(find "corpus/$target" -type f | wc -l)"
  if [ "$status" = 0 ]; then
    say "$target: $runs executions in ${seconds}s from $seeds corpus inputs, coverage $coverage edges, no failure"
  else
    say "$target: FAILED (exit $status) after $runs executions; its log:"
    tail -n 40 "$log"
    say "replay: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $target artifacts/$target/<file>"
    failed+=("$target")
  fi
done
[ "${#failed[@]}" = 0 ] || { say "failed: ${failed[*]}"; exit 1; }
