#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer, starting the
# machine's own servers when they are installed but stopped. Exits non-zero when one cannot
# be reached: the full suite needs both.
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

wait_for() {  # name, command...
  local name=$1; shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "error: $name is not reachable" >&2
  return 1
}

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

if ! command -v pg_isready >/dev/null || ! command -v redis-cli >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing PostgreSQL and Redis ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null
  else
    echo "error: PostgreSQL and Redis clients are missing (install postgresql and redis-server)" >&2
    exit 1
  fi
fi

if ! pg_up; then
  echo "Starting PostgreSQL ..."
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    for cluster in /etc/postgresql/*/main; do
      version="${cluster#/etc/postgresql/}"
      pg_ctlcluster --skip-systemctl-redirect "${version%/main}" main start || true
    done
  fi
fi
wait_for "PostgreSQL at $PG_HOST:$PG_PORT" pg_up

# The operations guide's slow-statement query needs pg_stat_statements loaded at start.
preload="$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -Atqc 'SHOW shared_preload_libraries')"
if [[ ",${preload// /}," != *,pg_stat_statements,* ]] && command -v pg_ctlcluster >/dev/null; then
  echo "Loading pg_stat_statements in PostgreSQL (restart) ..."
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -qc \
    "ALTER SYSTEM SET shared_preload_libraries = '${preload:+$preload,}pg_stat_statements'"
  for cluster in /etc/postgresql/*/main; do
    version="${cluster#/etc/postgresql/}"
    pg_ctlcluster --skip-systemctl-redirect "${version%/main}" main restart || true
  done
  wait_for "PostgreSQL at $PG_HOST:$PG_PORT" pg_up
fi

if ! redis_up; then
  echo "Starting Redis ..."
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
wait_for "Redis at $REDIS_HOST:$REDIS_PORT" redis_up
echo "PostgreSQL and Redis are up."
