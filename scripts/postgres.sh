#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback with wal_level=logical, for the change-capture
# source and the Postgres sink of @tributary/connect and their tests.
#
#   scripts/postgres.sh start    install PostgreSQL with apt-get if it is missing (as root),
#                                initdb a fresh cluster in a temp dir, start it, wait until it
#                                accepts connections, print its connection URL
#   scripts/postgres.sh stop     stop it (fast shutdown) and delete its temp dir
#   scripts/postgres.sh restart  restart the same cluster (data kept), print the URL
#   scripts/postgres.sh status   print the URL and exit 0 if it runs, else exit 1
#
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` OS user
# (created by the Debian package). Every start makes a new cluster: nothing survives a stop.
#
# Environment (all optional):
#   TRIBUTARY_PG_PORT    port on 127.0.0.1 (default 55432)
#   TRIBUTARY_PG_STATE   where the cluster and its log live (default
#                        ${TMPDIR:-/tmp}/tributary-pg-<uid>-<port>)
set -euo pipefail

port="${TRIBUTARY_PG_PORT:-55432}"
state="${TRIBUTARY_PG_STATE:-${TMPDIR:-/tmp}/tributary-pg-$(id -u)-${port}}"
data="$state/data"
url="postgres://postgres@127.0.0.1:${port}/postgres"

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

install_postgres() {
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and this is not root: apt-get install -y postgresql"
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and there is no apt-get: install PostgreSQL 13+"
  echo "installing PostgreSQL with apt-get ..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [ -f "$data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

wait_ready() {
  local i
  for i in $(seq 1 120); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then return 0; fi
    sleep 0.5
  done
  cat "$state/postgres.log" >&2 || true
  die "PostgreSQL did not accept connections on 127.0.0.1:$port within 60 s (log above)"
}

bin="$(find_bin || true)"

case "${1:-}" in
  start)
    if [ -z "$bin" ]; then
      install_postgres
      bin="$(find_bin)" || die "apt-get ran but initdb is still missing"
    fi
    if [ -n "$bin" ] && running; then
      echo "$url"
      exit 0
    fi
    rm -rf "$state"
    mkdir -p "$state"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --home "$state" postgres
      chown -R postgres "$state"
      chmod 755 "$state"
    fi
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$state/initdb.log" 2>&1 ||
      { cat "$state/initdb.log" >&2; die "initdb failed (output above)"; }
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$state'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 200
fsync = on
shared_buffers = 128MB
CONF
    echo "host replication all 127.0.0.1/32 trust" >>"$data/pg_hba.conf"
    as_owner "$bin/pg_ctl" -D "$data" -l "$state/postgres.log" -w -t 60 start >/dev/null ||
      { cat "$state/postgres.log" >&2; die "pg_ctl start failed (log above)"; }
    wait_ready
    echo "$url"
    ;;
  restart)
    [ -n "$bin" ] && [ -d "$data" ] || die "no cluster in $state: run start first"
    as_owner "$bin/pg_ctl" -D "$data" -l "$state/postgres.log" -w -t 60 -m fast restart >/dev/null
    wait_ready
    echo "$url"
    ;;
  stop)
    if [ -n "$bin" ] && running; then
      as_owner "$bin/pg_ctl" -D "$data" -w -t 60 -m fast stop >/dev/null || true
    fi
    rm -rf "$state"
    ;;
  status)
    if [ -n "$bin" ] && running; then
      echo "$url"
      exit 0
    fi
    exit 1
    ;;
  *)
    echo "usage: scripts/postgres.sh start|stop|restart|status" >&2
    exit 2
    ;;
esac
