#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, used by .ci/run and by developers.
#
#   eval "$(bash test/support/start-postgres.sh start DIR)"   # creates DIR/data, starts the server,
#                                                             # prints `export DATABASE_URL=…` lines
#   bash test/support/start-postgres.sh stop DIR              # stops it and deletes DIR
#
# Installs PostgreSQL from Debian packages when no initdb is found (needs root). The cluster
# listens on 127.0.0.1 only, on a free port, with trust authentication (except for the role
# `sia_password_user`, which must give its password: the bad-credentials test uses it). Its
# settings live in DIR/data/postgresql.auto.conf, so `pg_ctl -D DIR/data start` brings it back
# on the same port (the restart tests do that). initdb and postgres refuse to run as root, so
# as root they run as the `postgres` OS user.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
command=$1
dir=$2

find_bin() {
  local found
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return 0
  fi
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$found" ] && [ -x "$found/initdb" ]; then
    echo "$found"
    return 0
  fi
  return 1
}

if [ "$(id -u)" -eq 0 ]; then
  run_as_owner() { runuser -u postgres -- "$@"; }
  owner=postgres
else
  run_as_owner() { "$@"; }
  owner=$(id -un)
fi

case "$command" in
start)
  if ! bin=$(find_bin); then
    if [ "$(id -u)" -ne 0 ]; then
      echo "start-postgres: PostgreSQL is not installed; install it (apt-get install postgresql) or run as root" >&2
      exit 1
    fi
    echo "start-postgres: installing PostgreSQL from Debian packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
  mkdir -p "$dir"
  chown "$owner" "$dir"
  chmod 700 "$dir"
  port=$(node -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  run_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  # Settings in the data folder, so a plain `pg_ctl start` after a stop reuses them.
  run_as_owner tee -a "$dir/data/postgresql.auto.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = '128MB'
EOF
  run_as_owner tee "$dir/data/pg_hba.conf" >/dev/null <<'EOF'
local all all                             trust
host  all sia_password_user 127.0.0.1/32  scram-sha-256
host  all all               127.0.0.1/32  trust
EOF
  run_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
    cat "$dir/server.log" >&2
    exit 1
  }
  url="postgres://postgres@127.0.0.1:$port/postgres"
  {
    echo "export DATABASE_URL='$url'"
    echo "export SIA_PG_DIR='$dir'"
    echo "export SIA_PG_BIN='$bin'"
  } | tee "$dir/env"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    bin=$(find_bin || true)
    if [ -n "$bin" ]; then
      run_as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$dir"
  ;;
*)
  usage
  ;;
esac
