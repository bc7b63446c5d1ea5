#!/usr/bin/env bash
# Start PostgreSQL and Redis for the test suite if they are not already answering,
# installing them from Debian's packages first when they are missing (needs root or sudo).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT_UPDATED=0

apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

wait_for() {  # wait_for DESCRIPTION COMMAND...
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "ensure-services: $what did not come up" >&2
  return 1
}

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

if ! command -v pg_isready >/dev/null 2>&1 || ! postgres_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "ensure-services: installing PostgreSQL"
    apt_install postgresql
  fi
  echo "ensure-services: starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for "PostgreSQL" postgres_up
  # A fresh install asks for a password over TCP; give the postgres role the one the tests use.
  $SUDO runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'mikrosync-test'" \
    >/dev/null 2>&1 || true
fi

# Parallel test workers, each with worker and serve subprocesses and their pools, need more
# than PostgreSQL's default 100 connections ("sorry, too many clients already").
MIN_PG_CONNECTIONS=300
pg_setting() { psql -h 127.0.0.1 -U postgres -d postgres -Atc "SHOW $1" 2>/dev/null; }
current=$(PGPASSWORD=mikrosync-test pg_setting max_connections || echo 0)
if [ "${current:-0}" -lt "$MIN_PG_CONNECTIONS" ]; then
  echo "ensure-services: PostgreSQL max_connections ${current:-?} -> $MIN_PG_CONNECTIONS (restart)"
  PGPASSWORD=mikrosync-test psql -q -h 127.0.0.1 -U postgres -d postgres \
    -c "ALTER SYSTEM SET max_connections = $MIN_PG_CONNECTIONS"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  wait_for "PostgreSQL" postgres_up
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }

if ! command -v redis-cli >/dev/null 2>&1 || ! redis_up; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "ensure-services: installing Redis"
    apt_install redis-server
  fi
  echo "ensure-services: starting Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for "Redis" redis_up
fi

# The failover suite (tests/failover) runs its own Redis primary, replica and sentinels, and
# its own PostgreSQL cluster (initdb + pg_ctl), on free ports.
if ! command -v redis-sentinel >/dev/null 2>&1; then
  echo "ensure-services: installing redis-sentinel"
  apt_install redis-sentinel
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "ensure-services: installing the PostgreSQL server binaries (initdb)"
  apt_install postgresql
fi
# The web UI tests drive Debian's Chromium through Playwright (no browser download).
if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-services: installing Chromium"
  apt_install chromium
fi
# The voucher sheet test renders a PDF page to PNG with poppler's pdftoppm and reads its QR
# codes back with zbarimg.
if ! command -v pdftoppm >/dev/null 2>&1; then
  echo "ensure-services: installing poppler-utils (pdftoppm)"
  apt_install poppler-utils
fi
if ! command -v zbarimg >/dev/null 2>&1; then
  echo "ensure-services: installing zbar-tools (zbarimg)"
  apt_install zbar-tools
fi
# The metrics test checks /metrics with Prometheus' own promtool (Debian package prometheus).
if ! command -v promtool >/dev/null 2>&1; then
  echo "ensure-services: installing promtool (prometheus)"
  apt_install --no-install-recommends prometheus
fi
# The Node BullMQ test (tests/jobs/node_bullmq.py) runs Node's own BullMQ against our queue;
# it installs its pinned npm packages itself, into a cache directory.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "ensure-services: installing Node.js and npm"
  apt_install nodejs npm
fi
echo "ensure-services: PostgreSQL, Redis, redis-sentinel, Chromium, pdftoppm, zbarimg, promtool and Node.js are ready"
