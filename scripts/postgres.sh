#!/usr/bin/env bash
# A throwaway PostgreSQL server for the engine's tests and benchmarks, with no manual step:
# installs Debian's `postgresql` if it is missing, creates a cluster in a folder (default
# .cache/postgres), starts it on 127.0.0.1 on a free port, waits until it accepts connections,
# creates the database, and prints the line to eval:
#
#   eval "$(bash scripts/postgres.sh start)"     # exports RIPOSTE_TEST_POSTGRES_URL=postgres://…
#   bash scripts/postgres.sh restart             # stop + start on the same port (fault test)
#   bash scripts/postgres.sh stop                # stop it (the cluster stays for the next start)
#   bash scripts/postgres.sh url                 # print the export line of a running server
#   bash scripts/postgres.sh destroy             # stop it and delete the folder
#
# Every subcommand takes the folder as an optional second argument. Idempotent: `start` on a
# running cluster only prints the line. As root the server runs as the `postgres` user (PostgreSQL
# refuses to run as root). The password is random per cluster, stays in the folder (0600), and
# only ever leaves it inside the printed URL. Logs: FOLDER/server.log.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: $0 start|stop|restart|url|destroy [FOLDER]   (default FOLDER: .cache/postgres)" >&2
  exit 2
}

command_name="${1:-start}"
case "$command_name" in start | stop | restart | url | destroy) ;; *) usage ;; esac
[ "$#" -le 2 ] || usage
dir="${2:-.cache/postgres}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
data="$dir/data"
database=riposte_test
superuser=riposte

say() { printf '%s\n' "$*" >&2; }

# The newest installed server's binaries (Debian keeps them out of PATH, per major version).
find_bindir() {
  local candidate
  candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
    printf '%s\n' "$candidate"
  fi
}

ensure_installed() {
  bindir="$(find_bindir)"
  [ -n "$bindir" ] && return 0
  say "== installing Debian's postgresql (apt-get)"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      say "error: PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq </dev/null >&2
  # Debian's package creates and starts a system cluster on 5432; ours is separate and on its own
  # port, so that one is left as the package set it up.
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql </dev/null >&2
  bindir="$(find_bindir)"
  if [ -z "$bindir" ]; then
    say "error: apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb was found"
    exit 1
  fi
}

# Runs a server binary as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      say "error: running as root but there is no 'postgres' user to own the cluster (PostgreSQL refuses to run as root)"
      exit 1
    fi
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  # Port 0 lets the kernel choose; the small race with another process is handled by retrying start.
  local python
  python="$(command -v python3 || command -v python)"
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

is_running() {
  [ -f "$data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1
}

print_url() {
  local port password
  port="$(cat "$dir/port")"
  password="$(cat "$dir/password")"
  printf 'export RIPOSTE_TEST_POSTGRES_URL=postgres://%s:%s@127.0.0.1:%s/%s\n' \
    "$superuser" "$password" "$port" "$database"
}

init_cluster() {
  [ -f "$data/PG_VERSION" ] && return 0
  say "== initdb $data"
  rm -rf "$data"
  # Hex only, so the URL needs no escaping.
  (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$dir/password")
  local pwfile="$dir/password"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir" "$dir/password"
    chmod 0700 "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      say "error: the postgres user cannot reach $dir (a parent folder is not searchable by it); pick a folder under a world-searchable path"
      exit 1
    fi
  fi
  as_owner "$bindir/initdb" -D "$data" -U "$superuser" --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    say "error: initdb failed; its output:"
    cat "$dir/initdb.log" >&2
    exit 1
  }
}

start_server() {
  if is_running; then
    return 0
  fi
  local attempt port
  for attempt in 1 2 3; do
    # Keep the port of an earlier start, so a restart keeps every client's URL valid.
    if [ ! -s "$dir/port" ] || [ "$attempt" -gt 1 ]; then
      free_port >"$dir/port"
    fi
    port="$(cat "$dir/port")"
    # TCP on loopback only; no Unix socket (its default folder belongs to the system cluster).
    if as_owner "$bindir/pg_ctl" start -D "$data" -w -t 60 -l "$dir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c max_connections=200" \
      >/dev/null 2>&1; then
      break
    fi
    say "warning: PostgreSQL did not start on port $port (attempt $attempt); the end of $dir/server.log:"
    tail -n 5 "$dir/server.log" >&2 || true
    if [ "$attempt" -eq 3 ]; then
      say "error: could not start PostgreSQL"
      exit 1
    fi
  done
  wait_ready
  ensure_database
}

wait_ready() {
  local port i
  port="$(cat "$dir/port")"
  for i in $(seq 1 100); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
      return 0
    fi
    sleep 0.1
  done
  say "error: PostgreSQL on 127.0.0.1:$port did not accept connections within 10 s (see $dir/server.log)"
  exit 1
}

ensure_database() {
  local port
  port="$(cat "$dir/port")"
  export PGPASSWORD
  PGPASSWORD="$(cat "$dir/password")"
  local psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres)
  if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE $database" >/dev/null
  fi
  unset PGPASSWORD
}

stop_server() {
  if is_running; then
    as_owner "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
  fi
}

ensure_installed
case "$command_name" in
  start)
    init_cluster
    start_server
    print_url
    ;;
  restart)
    [ -f "$data/PG_VERSION" ] || {
      say "error: no cluster in $dir; run '$0 start' first"
      exit 1
    }
    stop_server
    start_server
    print_url
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ]; then stop_server; fi
    ;;
  url)
    if ! is_running; then
      say "error: no PostgreSQL running from $dir; run '$0 start'"
      exit 1
    fi
    print_url
    ;;
  destroy)
    if [ -f "$data/PG_VERSION" ]; then stop_server; fi
    rm -rf "$dir"
    ;;
esac
