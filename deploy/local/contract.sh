#!/usr/bin/env bash
# The API contract, tested as a stranger would (CI runs this): `minibank up` on loopback ports,
# then schemathesis (from PyPI; `.ci/setup` installs it) over the OpenAPI document edge serves,
# with every check (`--checks all`) and every phase, the stateful one included (it follows the
# document's `links` from each create operation to the reads that use its ids). Each operation
# runs with the credentials of the party it is for (deploy/local/schemathesis.toml): the
# operator's, a customer's (payments) and a merchant's (webhooks), each signed in through the
# API. Everything it started is stopped and its data removed, whatever happens.
#
#   deploy/local/contract.sh
#
# $CONTRACT_SEED replays an earlier run (the seed is printed at the start and the end);
# $CONTRACT_MAX_EXAMPLES (default 10) bounds the cases per operation and phase, which bounds the
# run's time; $CONTRACT_TIMEOUT (default 240 s) stops a run that hangs all the same. Binary: $MINIBANK_BIN, default
# target/release/minibank when built, else target/debug/minibank (built when missing).
# schemathesis: $SCHEMATHESIS, default `st` on PATH or in .ci/setup's virtual environment.
# The document tested is the one edge serves; $CONTRACT_SCHEMA (e.g. services/openapi.json)
# tests another against the same platform, to try a change to the document without a rebuild.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
say() { echo "contract: $*"; }

seed="${CONTRACT_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
max_examples="${CONTRACT_MAX_EXAMPLES:-10}"
time_limit="${CONTRACT_TIMEOUT:-240}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

st="${SCHEMATHESIS:-}"
if [ -z "$st" ]; then
  if command -v st >/dev/null 2>&1; then
    st="$(command -v st)"
  else
    st="${MINIBANK_TOOLS:-$HOME/.cache/minibank-tools}/schemathesis/bin/st"
  fi
fi
[ -x "$st" ] || { say "schemathesis not found ($st); run bash .ci/setup"; exit 1; }

minibank="${MINIBANK_BIN:-}"
if [ -z "$minibank" ]; then
  for candidate in "$target_dir/release/minibank" "$target_dir/debug/minibank"; do
    if [ -x "$candidate" ]; then minibank="$candidate"; break; fi
  done
fi
if [ -z "$minibank" ]; then
  say "building minibank"
  cargo build --locked --bin minibank
  minibank="$target_dir/debug/minibank"
fi

work="$(mktemp -d /tmp/minibank-contract.XXXXXX)"
up_pid=""
cleanup() {
  local status=$?
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
    kill "$up_pid" 2>/dev/null || true # SIGTERM: `up` shuts the platform down
    wait "$up_pid" 2>/dev/null || true
  fi
  if [ "$status" != 0 ] && [ -f "$work/up.log" ]; then
    say "minibank up's last log lines:"
    tail -n 20 "$work/up.log" >&2
  fi
  rm -rf "$work"
  [ "$status" = 0 ] || say "FAILED (exit $status; replay with CONTRACT_SEED=$seed)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the platform: free loopback ports, a provider sandbox, no trace sink (not under test) ---
say "seed $seed; minibank up from $minibank"
"$minibank" up --edge-addr 127.0.0.1:0 --sandbox-addr 127.0.0.1:0 --no-trace-sink \
  --data-dir "$work/data" >"$work/up.log" 2>&1 &
up_pid=$!

# `up` writes up.env once every service listens; then edge must say it is ready.
deadline=$(( $(date +%s) + 60 ))
until [ -s "$work/data/up.env" ]; do
  kill -0 "$up_pid" 2>/dev/null || { say "minibank up exited before it was up"; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || { say "no up.env within 60 s"; exit 1; }
  sleep 0.1
done
# shellcheck disable=SC1091
source "$work/data/up.env" # EDGE, SANDBOX, OPERATOR_ID, OPERATOR_SECRET
until [ "$(curl -sS -o /dev/null -w '%{http_code}' "$EDGE/health/ready" 2>/dev/null || true)" = 200 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { say "edge not ready within 60 s at $EDGE"; exit 1; }
  sleep 0.1
done
say "up: edge $EDGE ready (GET /health/ready answered 200)"

# --- credentials, each party signed in through the API ----------------------------------------
api() { # method path token [body]: the answer's body; fails on a non-2xx status
  curl -sS --fail-with-body -X "$1" "$EDGE$2" -H 'content-type: application/json' \
    ${3:+-H "authorization: Bearer $3"} ${4:+-d "$4"}
}
token_of() { # json with client_id and client_secret
  api POST /v1/tokens "" "$(jq -c '{client_id, client_secret}' <<<"$1")" | jq -er .access_token
}
OPERATOR_TOKEN="$(token_of "$(jq -n --arg id "$OPERATOR_ID" --arg secret "$OPERATOR_SECRET" \
  '{client_id: $id, client_secret: $secret}')")"
customer="$(api POST /v1/customers "$OPERATOR_TOKEN" '{"name": "Contract Customer", "currency": "GBP"}')"
merchant="$(api POST /v1/merchants "$OPERATOR_TOKEN" '{"name": "Contract Merchant", "currency": "GBP"}')"
api POST "/v1/accounts/$(jq -r .account_id <<<"$customer")/top-ups" "$OPERATOR_TOKEN" \
  '{"amount": 100000000, "currency": "GBP"}' >/dev/null
CUSTOMER_TOKEN="$(token_of "$customer")"
MERCHANT_TOKEN="$(token_of "$merchant")"
MERCHANT_ID="$(jq -r .merchant_id <<<"$merchant")"
export OPERATOR_TOKEN CUSTOMER_TOKEN MERCHANT_TOKEN MERCHANT_ID
say "signed in: the operator, customer $(jq -r .customer_id <<<"$customer"), merchant $MERCHANT_ID"

# --- schemathesis -----------------------------------------------------------------------------
say "schemathesis $("$st" --version | awk '{print $NF}'): --checks all, phases examples,coverage,fuzzing,stateful, --max-examples $max_examples, --seed $seed"
schema="${CONTRACT_SCHEMA:-$EDGE/openapi.json}"
if [ -f "$root/$schema" ]; then schema="$root/$schema"; fi
status=0
(
  cd "$work" # its reports and cache stay in the work directory
  timeout "$time_limit" "$st" --config-file "$root/deploy/local/schemathesis.toml" run \
    "$schema" --url "$EDGE" --checks all --phases examples,coverage,fuzzing,stateful \
    --max-examples "$max_examples" --seed "$seed" --generation-database none \
    --workers 2 --no-color
) || status=$?
say "seed $seed: schemathesis exited $status"
exit "$status"
