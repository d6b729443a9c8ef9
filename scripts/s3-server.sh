#!/usr/bin/env bash
# A real S3-compatible server for the tests: moto in server mode (PyPI), in a virtualenv under
# the checkout (.venv-s3/, git-ignored).
#
#   bash scripts/s3-server.sh install      # create or update the virtualenv; fast when it is
#                                          # already there
#   bash scripts/s3-server.sh serve [PORT] # install if needed, then serve on 127.0.0.1:PORT
#                                          # (0, the default, picks a free port); prints
#                                          # "s3 on http://127.0.0.1:PORT" once it answers
#
# `serve` stops when its standard input reaches end of file, or on SIGTERM/SIGINT: a test
# starts it with a pipe as standard input, so the server goes away with the test process
# however that ends. Moto keeps everything in memory and accepts any credentials.
set -euo pipefail
cd "$(dirname "$0")/.."

# What .venv-s3 holds; changing this line reinstalls.
REQUIREMENT='moto[server]==5.2.1'
VENV=.venv-s3

installed() {
  [ -x "$VENV/bin/moto_server" ] && [ "$(cat "$VENV/.requirement" 2>/dev/null)" = "$REQUIREMENT" ]
}

install() {
  installed && return 0
  # Several test processes may ask at once: one installs, the others wait for it. The lock is
  # held in a subshell, so that no server started afterwards inherits it.
  (
    flock 9
    installed && exit 0
    echo "s3: installing $REQUIREMENT into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$REQUIREMENT" >&2
    echo "$REQUIREMENT" >"$VENV/.requirement"
  ) 9>".venv-s3.lock"
}

serve() {
  local port=${1:-0}
  install
  log=$(mktemp)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  pid=$!
  cat <&0 >/dev/null &
  reader=$!
  trap 'kill "$pid" "$reader" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
  trap 'exit 143' TERM INT HUP
  # Werkzeug prints the port it bound (port 0 included) once it listens.
  for _ in $(seq 300); do
    if line=$(grep -o 'Running on http://127\.0\.0\.1:[0-9]*' "$log"); then
      echo "s3 on ${line#Running on }"
      break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2
      echo "s3: moto_server exited" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ -z "${line:-}" ]; then
    cat "$log" >&2
    echo "s3: moto_server did not start within 30 s" >&2
    exit 1
  fi
  # Until the server dies or whoever started us closes our standard input.
  wait -n "$pid" "$reader" || true
}

case "${1:-}" in
  install) install ;;
  serve) serve "${2:-0}" ;;
  *)
    echo "usage: $0 install | serve [PORT]" >&2
    exit 2
    ;;
esac
