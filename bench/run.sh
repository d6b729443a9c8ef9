#!/usr/bin/env bash
# The documented benchmark run: Parlor and the parlor-relay baseline side by side.
#
#   bench/run.sh                 # everything, results appended to bench/out/results.jsonl
#   HOLD=600 bench/run.sh        # hold the sockets 10 minutes (default 120 s)
#   STAGES="startup chat" bench/run.sh
#   STAGES=uploads bench/run.sh  # 50 concurrent uploads of 1, 10, 50 MiB (not in the default
#                                # stages: it writes 2.5 GiB to bench/out and to /dev/shm)
#
# Loopback only (127.0.0.0/8), bounded in count and time. Needs `ulimit -n` >= 20000.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-bench/out}
RESULTS=${RESULTS:-$OUT/results.jsonl}
HOLD=${HOLD:-120}
SOCKETS=${SOCKETS:-19000}
CHECKPOINTS=${CHECKPOINTS:-1000,5000,19000}
SITES=${SITES:-10}
AGENTS=${AGENTS:-2}
VISITORS=${VISITORS:-1000}
CHAT_RATE=${CHAT_RATE:-2000}
CHAT_SECS=${CHAT_SECS:-20}
RATES=${RATES:-250,500,1000,2000,4000,8000,12000,16000,20000,25000,30000}
STEP_SECS=${STEP_SECS:-10}
STAGES=${STAGES:-startup connect chat ramp}
UPLOADS=${UPLOADS:-50}
UPLOAD_SIZES=${UPLOAD_SIZES:-1MiB,10MiB,50MiB}
# Other work on the machine competes for the 2 cores; NICE=-10 gives server and generator
# the same head start over it (the JSON lines carry the load average either way).
NICE=${NICE:-0}
# PROFILE=profiling: the same code with line tables, for `perf` (Cargo.toml).
PROFILE=${PROFILE:-release}
B=target/$PROFILE

mkdir -p "$OUT"
# Two builds, not one: built together, the server would get the bench crate's dependency
# features too, and be a different binary from the one `cargo build --release` ships.
cargo build --profile "$PROFILE" --bin parlor
cargo build --profile "$PROFILE" -p parlor-bench

export PARLOR_DEMO=false RUST_LOG=warn
export PARLOR_RATE_NEW_VISITORS=1000000000 PARLOR_RATE_MESSAGES=1000000000
export PARLOR_RATE_PROFILE=1000000000 PARLOR_RATE_LOGIN=1000000000
# Thousands of sockets from a few loopback addresses: lift the per-address bounds too.
export PARLOR_RATE_LOGIN_PER_ADDRESS=1000000000 PARLOR_RATE_HANDSHAKES=1000000000
export PARLOR_MAX_CONNECTIONS_PER_ADDRESS=1000000000
export PARLOR_RATE_SYNC=1000000000 PARLOR_RATE_READ=1000000000 PARLOR_RATE_RECONNECTS=1000000000

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME PORT: a fresh server (fresh database for Parlor); sets SERVER_PID.
start() {
  local name=$1 port=$2 bin
  local db="$OUT/$name.db"
  case $OUT in /*) ;; *) db="$PWD/$db" ;; esac
  rm -f "$db" "$db-wal" "$db-shm"
  export PARLOR_DATABASE_URL="sqlite://$db" PARLOR_LISTEN="127.0.0.1:$port"
  if [ "$name" = relay ]; then bin=$B/parlor-relay; else bin=$B/parlor; fi
  nice -n "$NICE" "$bin" serve >"$OUT/$name.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 100); do grep -q "listening on" "$OUT/$name.log" && break; sleep 0.05; done
  grep -q "listening on" "$OUT/$name.log" || { cat "$OUT/$name.log"; exit 1; }
  if [ "$name" = relay ]; then
    $B/parlor-bench setup --relay --sites "$SITES" --agents "$AGENTS" --out "$OUT/setup-$name.json"
  else
    $B/parlor-bench setup --server "127.0.0.1:$port" --sites "$SITES" --agents "$AGENTS" \
      --parlor "$B/parlor" --out "$OUT/setup-$name.json"
  fi
}

stop() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

bench() { nice -n "$NICE" $B/parlor-bench "$@"; }

for stage in $STAGES; do
  for name in parlor relay; do
    port=18080; [ "$name" = relay ] && port=18090
    common=(--server "127.0.0.1:$port" --label "$name" --json-out "$RESULTS")
    case $stage in
      startup)
        bin=$B/parlor; [ "$name" = relay ] && bin=$B/parlor-relay
        bench startup --bin "$bin" --label "$name" --dir "$OUT" --json-out "$RESULTS" ;;
      connect)
        start "$name" "$port"
        bench connect "${common[@]}" --setup "$OUT/setup-$name.json" --pid "$SERVER_PID" \
          --sockets "$SOCKETS" --checkpoints "$CHECKPOINTS" --hold "$HOLD" --sources 4
        stop ;;
      chat)
        start "$name" "$port"
        bench chat "${common[@]}" --setup "$OUT/setup-$name.json" --pid "$SERVER_PID" \
          --visitors "$VISITORS" --rate "$CHAT_RATE" --duration "$CHAT_SECS" --drain 30
        stop ;;
      ramp)
        start "$name" "$port"
        bench ramp "${common[@]}" --setup "$OUT/setup-$name.json" --pid "$SERVER_PID" \
          --visitors "$VISITORS" --rates "$RATES" --step-secs "$STEP_SECS"
        stop ;;
      uploads)
        # Parlor only; it starts a fresh server per size itself, files on the disk, then on tmpfs.
        [ "$name" = relay ] && continue
        for where in "disk $OUT/uploads-files" "tmpfs /dev/shm/parlor-bench-upload-files"; do
          set -- $where
          bench uploads --parlor $B/parlor --uploads "$UPLOADS" --sizes "$UPLOAD_SIZES" \
            --label "$1" --files-dir "$2" --json-out "$RESULTS"
        done ;;
    esac
  done
done
mkdir -p docs
python3 bench/plot.py "$RESULTS" docs/benchmarks-latency-vs-rate.png || echo "plot skipped (pip install matplotlib)"
