#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on 127.0.0.1 for the tests (installing
# Debian's package first when no server is on the machine) and prints its
# URL. Used by .ci/run; run it by hand to get the same server:
#   export AGNO_PG_URL=$(bash scripts/postgres.sh)
# Set AGNO_PG_DIR / AGNO_PG_PORT to move it.
set -euo pipefail
dir=${AGNO_PG_DIR:-/tmp/agno-events-pg}
port=${AGNO_PG_PORT:-54329}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ]; then
  echo "installing PostgreSQL from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

# PostgreSQL refuses to run as root: as root, run it as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "'$bin/initdb' -D '$dir' -A trust -U postgres -E UTF8" >&2
fi
if ! as_pg "'$bin/pg_ctl' -D '$dir' status" >/dev/null 2>&1; then
  as_pg "'$bin/pg_ctl' -D '$dir' -w -l '$dir/server.log' -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200\" start" >&2
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
