#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback, for the staging replay and the services' PostgreSQL tests.
#
#   deploy/local/postgres.sh start DIR   # initdb into DIR, start on a free port, print its URL
#   deploy/local/postgres.sh stop DIR    # stop it and remove DIR
#
# The URL (also written to DIR/url) names the `postgres` database of superuser `postgres`,
# trusted on loopback only: create one database per service from it. When PostgreSQL's server
# binaries are missing they are installed from Debian's packages (`apt-get install postgresql`).
# Run as root (as CI does), the server runs as the `postgres` user, which refuses root.
set -euo pipefail

say() { echo "postgres: $*" >&2; }

server_bin() { # the directory holding initdb and pg_ctl, or nothing
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  else
    # Debian keeps the server binaries out of PATH; take the newest installed major version.
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
  fi
}

as_owner() { # run a command as the data directory's owner
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

start() {
  local dir="$1" bin port
  bin="$(server_bin)"
  if [ -z "$bin" ]; then
    say "server binaries missing; installing Debian's postgresql package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin="$(server_bin)"
    [ -n "$bin" ] || { say "installing postgresql gave no initdb/pg_ctl"; exit 1; }
  fi
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    as_owner "test -w '$dir'" || { say "user postgres cannot reach $dir (its parents must be searchable)"; exit 1; }
  fi
  say "initdb into $dir/data ($("$bin/postgres" --version))"
  as_owner "'$bin/initdb' -D '$dir/data' -U postgres -A trust --no-sync >'$dir/initdb.log' 2>&1" \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # fsync off: the data is thrown away; -w waits (up to -t seconds) until it accepts connections.
  say "starting on 127.0.0.1:$port"
  as_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 30 start \
    -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300\"" >/dev/null \
    || { say "did not start within 30 s; its log:"; cat "$dir/server.log" >&2; exit 1; }
  echo "$bin" > "$dir/bin"
  echo "postgres://postgres@127.0.0.1:$port/postgres" | tee "$dir/url"
}

stop() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  if [ -f "$dir/bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "'$(cat "$dir/bin")/pg_ctl' -D '$dir/data' -m fast -w -t 30 stop" >/dev/null 2>&1 \
      || say "pg_ctl stop failed (see $dir/server.log)"
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:?usage: postgres.sh start DIR}" ;;
  stop) stop "${2:?usage: postgres.sh stop DIR}" ;;
  *) echo "usage: postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
