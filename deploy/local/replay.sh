#!/usr/bin/env bash
# The staging replay, tested for real (CI runs this): minibank as separate processes on loopback
# (deploy/local/run.sh) with every data-owning service on PostgreSQL, one database each, and the
# staging-safe features replayed through the staging driver (fixtures/profiles/local.toml)
# $REPLAYS times (default 2) against the same deployment, all with one seed ($REPLAY_SEED,
# default random): the second replay makes the same fake data the first one did, finds it there
# and must pass too (ids the platform keeps unique carry a part of each run's own). Everything it started is stopped and its data removed, whatever
# happens.
#
#   deploy/local/replay.sh
#
# PostgreSQL: $MINIBANK_REPLAY_POSTGRES_URL (a superuser URL; databases `replay_<run>_<service>`
# are created in it and dropped afterwards), else a throwaway server (deploy/local/postgres.sh).
# Binaries: target/debug/{minibank,trace-sink} (built when missing). Reports of replay N are
# kept in target/acceptance/staging-replay-N/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
REPLAYS="${REPLAYS:-2}"
REPLAY_SEED="${REPLAY_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
services=(auth ledger payments webhooks)

say() { echo "replay: $*"; }

work="$(mktemp -d /tmp/minibank-replay.XXXXXX)"
chmod 711 "$work" # the throwaway server inside runs as `postgres` when we are root
platform_pid=""
own_postgres=""
created_databases=()
cleanup() {
  local status=$?
  if [ -n "$platform_pid" ] && kill -0 "$platform_pid" 2>/dev/null; then
    kill "$platform_pid" 2>/dev/null || true # run.sh's trap stops every process it started
    wait "$platform_pid" 2>/dev/null || true
  fi
  if [ -n "$own_postgres" ]; then
    "$root/deploy/local/postgres.sh" stop "$own_postgres"
  elif [ "${#created_databases[@]}" -gt 0 ]; then
    for db in "${created_databases[@]}"; do
      psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$work"
  [ "$status" = 0 ] || say "FAILED (exit $status)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the fixed loopback ports of local.toml must be free, or we would test someone else ------
for port in 8080 8081 8082 8083 8084 8090 4317 4318 16686; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    say "port $port on 127.0.0.1 is already in use; stop what listens there (minibank up?) first"
    exit 1
  fi
done

# --- binaries: the debug builds CI already made --------------------------------------------
if [ ! -x target/debug/minibank ] || [ ! -x target/debug/trace-sink ]; then
  say "building minibank and trace-sink"
  cargo build --locked --bin minibank --bin trace-sink
fi

# --- PostgreSQL: one database per data-owning service ----------------------------------------
if [ -n "${MINIBANK_REPLAY_POSTGRES_URL:-}" ]; then
  admin_url="$MINIBANK_REPLAY_POSTGRES_URL"
  say "using PostgreSQL at ${admin_url%%\?*}"
else
  own_postgres="$work/postgres"
  admin_url="$("$root/deploy/local/postgres.sh" start "$own_postgres")"
fi
run_id="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
for svc in "${services[@]}"; do
  db="replay_${run_id}_$svc"
  psql -q -v ON_ERROR_STOP=1 "$admin_url" -c "CREATE DATABASE $db" >/dev/null
  created_databases+=("$db")
done
# run.sh fills `{service}` in for each service.
export MINIBANK_DATABASE_URL_TEMPLATE="${admin_url%/*}/replay_${run_id}_{service}"
say "databases replay_${run_id}_{auth,ledger,payments,webhooks}"

# --- the platform, as separate processes --------------------------------------------------
export MINIBANK_OPERATOR_CLIENT_ID="replay-operator"
MINIBANK_OPERATOR_CLIENT_SECRET="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export MINIBANK_OPERATOR_CLIENT_SECRET
MINIBANK_DATA_DIR="$work/platform" "$root/deploy/local/run.sh" >"$work/run.log" 2>&1 &
platform_pid=$!
say "starting minibank (deploy/local/run.sh, pid $platform_pid)"
deadline=$((SECONDS + 90))
until grep -q '^run: minibank is up' "$work/run.log"; do
  if ! kill -0 "$platform_pid" 2>/dev/null; then
    say "run.sh exited before minibank was up:"; cat "$work/run.log"
    tail -n 20 "$work"/platform/logs/*.log 2>/dev/null || true
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    say "minibank not up within 90 s:"; cat "$work/run.log"; exit 1
  fi
  sleep 0.2
done
say "minibank is up: every service answered /health/ready (run.sh waited for each)"

# --- the replays -----------------------------------------------------------------------------
for n in $(seq "$REPLAYS"); do
  say "replay $n of $REPLAYS: cargo test --test acceptance -- --driver staging --profile fixtures/profiles/local.toml --seed $REPLAY_SEED"
  started=$SECONDS
  status=0
  cargo test --locked --test acceptance -- --driver staging --profile fixtures/profiles/local.toml --seed "$REPLAY_SEED" || status=$?
  kept="target/acceptance/staging-replay-$n"
  rm -rf "$kept"; mkdir -p "$kept"
  cp target/acceptance/junit.xml target/acceptance/cucumber.json "$kept/" 2>/dev/null || true
  say "replay $n took $((SECONDS - started)) s; reports in $kept/"
  if [ "$status" != 0 ]; then
    say "replay $n failed; the services' logs end with:"
    for log in "$work"/platform/logs/*.log; do echo "== $log"; tail -n 15 "$log"; done
    exit "$status"
  fi
  if ! kill -0 "$platform_pid" 2>/dev/null; then
    say "a minibank process died during replay $n:"; cat "$work/run.log"; exit 1
  fi
done
say "all $REPLAYS replays passed against the same PostgreSQL-backed deployment"
