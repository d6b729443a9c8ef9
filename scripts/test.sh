#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests, the vendored crates' own tests, the web
# front end's unit tests, the protocol suite (official socket.io-client against the real binary)
# and the browser end-to-end suite (Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== services (PostgreSQL, Redis)"
bash scripts/services.sh

# The tests that need S3 start their own server on a free port with this script; installing it
# here keeps that install (a minute on a fresh machine) out of the tests' time limits.
echo "== S3-compatible test server (moto, into .venv-s3)"
bash scripts/s3-server.sh install

echo "== vendored patches in use"
bash scripts/check-patches.sh

echo "== build"
cargo build --release --bins
# The load tools are a package of their own (bench/); built here so that they keep compiling.
cargo build --release -p parlor-bench

# Unit tests next to the code, the integration tier (tests/it) on SQLite and on PostgreSQL
# (services.sh started it), and the vendored crates' own suites, which the patches in vendor/
# must keep green (their integration tests need engineioxide's test harness). One invocation,
# so the dependencies are compiled once with the tests' features (tokio's test-util). The slow
# WAL tests are #[ignore]d so that a plain `cargo test` stays quick; they run here.
echo "== unit, integration and vendored crates' tests"
cargo test --release --workspace --features engineioxide/__test_harness -- --include-ignored

echo "== web unit tests"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== protocol tests (SQLite)"
(cd tests/protocol && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== protocol tests (PostgreSQL)"
(cd tests/protocol && PARLOR_TEST_BACKEND=postgres npm test)

echo "== browser tests (Debian Chromium)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)

# Last, because it restarts the PostgreSQL server that the suites above use.
echo "== chaos, short (kill -9 under load; PostgreSQL restarted under load)"
bash scripts/chaos.sh --short
