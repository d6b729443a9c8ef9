#!/usr/bin/env bash
# The whole test suite: Rust unit tests, the vendored crates' own tests, the protocol suite
# (official socket.io-client against the real binary) and the browser end-to-end suite (Debian's
# Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== services (PostgreSQL, Redis)"
bash scripts/services.sh

echo "== vendored patches in use"
bash scripts/check-patches.sh

echo "== build"
cargo build --release --bins
# The load tools are a package of their own (bench/); built here so that they keep compiling.
cargo build --release -p parlor-bench

echo "== unit tests"
cargo test --release

echo "== vendored crates' tests"
# Their own suites, as upstream's CI runs them (every feature: the integration tests need the
# crate's test harness); the patches in vendor/ must keep them green.
cargo test --release -p engineioxide -p socketioxide-core --all-features

echo "== protocol tests (SQLite)"
(cd tests/protocol && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== protocol tests (PostgreSQL)"
(cd tests/protocol && PARLOR_TEST_BACKEND=postgres npm test)

echo "== browser tests (Debian Chromium)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)
