#!/usr/bin/env bash
# make bench: install the load tools from Debian when they are missing, and check that
# PostgreSQL and Redis answer. Nothing else is installed.
set -euo pipefail

missing=()
command -v wrk >/dev/null || missing+=(wrk)
pgbench --version >/dev/null 2>&1 || missing+=(postgresql-contrib)
[ -x /usr/bin/time ] || missing+=(time)
command -v psql >/dev/null || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]} from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y "${missing[@]}" || { $SUDO apt-get update && $SUDO apt-get install -y "${missing[@]}"; }
fi

pg_isready -h 127.0.0.1 -p 5432 -q || { echo "bench: PostgreSQL is not up on 127.0.0.1:5432"; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { echo "bench: Redis is not up on 127.0.0.1:6379"; exit 1; }
