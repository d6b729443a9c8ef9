#!/usr/bin/env bash
# Starts the services the tests use when they are not answering: PostgreSQL on 127.0.0.1:5432
# (trust auth, user postgres) and Redis on 127.0.0.1:6379. Safe to run again: a service that
# answers is left alone. Exits non-zero if one does not come up within 30 s.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

# wait_until NAME CHECK: polls CHECK every 0.5 s for up to 30 s.
wait_until() {
  local name=$1 check=$2
  for _ in $(seq 60); do
    if "$check"; then
      echo "$name: up"
      return 0
    fi
    sleep 0.5
  done
  echo "$name: not answering after 30 s" >&2
  return 1
}

if pg_up; then
  echo "postgresql: up"
else
  # The newest installed major version's "main" cluster.
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "postgresql: starting cluster $version/main"
  # Fails harmlessly when the cluster is already starting; readiness is what counts.
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_until postgresql pg_up
fi

if redis_up; then
  echo "redis: up"
else
  echo "redis: starting"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_until redis redis_up
fi
