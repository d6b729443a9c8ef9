#!/usr/bin/env bash
# Crash safety under load (`parlor-bench chaos`, see docs/benchmarks.md): nodes killed with
# SIGKILL and started again while visitors and agents chat, then PostgreSQL restarted under
# load; fails unless no acknowledged message was lost or doubled and every client ends holding
# every message. The documented run is the default; `--short` is the test suite's version.
#
#   bash scripts/chaos.sh            # 20 kills of 3 nodes (PostgreSQL + Redis), 20 of 1 SQLite
#                                    # node, 3 PostgreSQL restarts; JSON lines in bench/out/
#   bash scripts/chaos.sh --short    # 3 kills each, 1 PostgreSQL restart
set -euo pipefail
cd "$(dirname "$0")/.."

KILLS=20 PG_RESTARTS=3
if [ "${1:-}" = --short ]; then KILLS=3 PG_RESTARTS=1; fi

# The verdict reads the databases with their own clients, not through Parlor.
if ! command -v sqlite3 >/dev/null; then
  echo "chaos: installing Debian's sqlite3" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
fi
[ -x target/release/parlor ] || cargo build --release --bin parlor
[ -x target/release/parlor-bench ] || cargo build --release -p parlor-bench
bash scripts/services.sh >/dev/null

# Clients and nodes of one run share the machine's open-file limit.
ulimit -n "$(ulimit -Hn)"
OUT=bench/out/chaos.jsonl
B=target/release/parlor-bench
$B chaos --backend postgres --kills "$KILLS" --json-out "$OUT"
$B chaos --backend sqlite --kills "$KILLS" --json-out "$OUT"
$B chaos --backend postgres --kills 0 --pg-restarts "$PG_RESTARTS" --json-out "$OUT"
