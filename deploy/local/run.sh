#!/usr/bin/env bash
# Starts minibank as separate processes on loopback, as fixtures/profiles/local.toml expects:
#   edge 127.0.0.1:8080, auth :8081, ledger :8082, payments :8083, webhooks :8084,
#   trace sink OTLP/gRPC :4317, OTLP/HTTP :4318, Jaeger-shaped query :16686,
#   bank provider sandbox :8090 (unless MINIBANK_PROVIDER_URL is set).
# Databases: SQLite files in a fresh temporary directory (or $MINIBANK_DATA_DIR) unless a URL is
# given, per service ($MINIBANK_AUTH_DATABASE_URL, _LEDGER_, _PAYMENTS_, _WEBHOOKS_) or as a
# template for all ($MINIBANK_DATABASE_URL_TEMPLATE, `{service}` replaced by the service name,
# e.g. postgres://minibank@127.0.0.1:5432/{service}). Ctrl-C stops all.
# Binaries: $MINIBANK_BIN and $TRACE_SINK_BIN, default target/debug/{minibank,trace-sink}.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
minibank="${MINIBANK_BIN:-$root/target/debug/minibank}"
trace_sink="${TRACE_SINK_BIN:-$root/target/debug/trace-sink}"
for bin in "$minibank" "$trace_sink"; do
  [ -x "$bin" ] || { echo "run: $bin not found; cargo build --bin minibank --bin trace-sink" >&2; exit 1; }
done
data="${MINIBANK_DATA_DIR:-$(mktemp -d)}"
logs="$data/logs"; mkdir -p "$logs"

pids=()
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

# Wait until URL answers 2xx (or anything at all with a third argument `any`), at most 30 s;
# show the process's log if it never does.
wait_ready() { # name url [any]
  local code
  for _ in $(seq 300); do
    code="$(curl -sS -o /dev/null -w '%{http_code}' "$2" 2>/dev/null || true)"
    case "$code" in 2??) return 0 ;; 000|"") ;; *) [ "${3:-}" = any ] && return 0 ;; esac
    sleep 0.1
  done
  echo "run: $1 not ready at $2; its log:" >&2; tail -n 30 "$logs/$1.log" >&2; exit 1
}

export MINIBANK_OPERATOR_CLIENT_ID="${MINIBANK_OPERATOR_CLIENT_ID:-local-operator}"
export MINIBANK_OPERATOR_CLIENT_SECRET="${MINIBANK_OPERATOR_CLIENT_SECRET:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
export MINIBANK_TOKEN_SIGNING_KEY="${MINIBANK_TOKEN_SIGNING_KEY:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}"
# webhooks seals merchants' signing secrets with it (32 bytes in base64); a fresh one per run.
export MINIBANK_WEBHOOK_SECRET_KEY="${MINIBANK_WEBHOOK_SECRET_KEY:-$(head -c 32 /dev/urandom | base64)}"
export MINIBANK_AUTH_URL=http://127.0.0.1:8081 MINIBANK_LEDGER_URL=http://127.0.0.1:8082
export MINIBANK_PAYMENTS_URL=http://127.0.0.1:8083 MINIBANK_WEBHOOKS_URL=http://127.0.0.1:8084
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_BSP_SCHEDULE_DELAY=200

TRACE_SINK_GRPC_ADDR=127.0.0.1:4317 TRACE_SINK_HTTP_ADDR=127.0.0.1:4318 \
  TRACE_SINK_QUERY_ADDR=127.0.0.1:16686 "$trace_sink" >"$logs/trace-sink.log" 2>&1 &
pids+=($!)
wait_ready trace-sink "http://127.0.0.1:16686/api/v3/traces/00000000000000000000000000000001" any

if [ -z "${MINIBANK_PROVIDER_URL:-}" ]; then
  python3 "$root/deploy/local/provider_sandbox.py" 127.0.0.1:8090 >"$logs/provider.log" 2>&1 &
  pids+=($!)
  export MINIBANK_PROVIDER_URL=http://127.0.0.1:8090
fi

# Dependencies first: ledger <- auth, webhooks <- payments <- edge.
port=(); port[0]=8082; port[1]=8084; port[2]=8081; port[3]=8083; port[4]=8080
services=(ledger webhooks auth payments edge)
database_url() { # service -> its URL: per-service variable, else the template, else SQLite
  local per_service="MINIBANK_$(echo "$1" | tr '[:lower:]' '[:upper:]')_DATABASE_URL"
  if [ -n "${!per_service:-}" ]; then echo "${!per_service}"
  elif [ -n "${MINIBANK_DATABASE_URL_TEMPLATE:-}" ]; then echo "${MINIBANK_DATABASE_URL_TEMPLATE//\{service\}/$1}"
  else echo "sqlite://$data/$1.db"; fi
}
for i in "${!services[@]}"; do
  svc="${services[$i]}"
  MINIBANK_BIND="127.0.0.1:${port[$i]}" OTEL_SERVICE_NAME="$svc" \
    MINIBANK_DATABASE_URL="$(database_url "$svc")" \
    "$minibank" serve "$svc" >"$logs/$svc.log" 2>&1 &
  pids+=($!)
  wait_ready "$svc" "http://127.0.0.1:${port[$i]}/health/ready"
done

cat <<INFO
run: minibank is up (data and logs in $data). Replay with:
  export MINIBANK_OPERATOR_CLIENT_ID=$MINIBANK_OPERATOR_CLIENT_ID
  export MINIBANK_OPERATOR_CLIENT_SECRET=$MINIBANK_OPERATOR_CLIENT_SECRET
  cargo test --test acceptance -- --driver staging --profile fixtures/profiles/local.toml
Ctrl-C stops everything.
INFO
wait -n "${pids[@]}" || true
echo "run: a process exited; stopping the rest" >&2
