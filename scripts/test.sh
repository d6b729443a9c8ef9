#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests, the protocol suite (official
# socket.io-client against the real binary) and the browser end-to-end suite (Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== services (PostgreSQL, Redis)"
bash scripts/services.sh

echo "== vendored patches in use"
bash scripts/check-patches.sh

echo "== build"
cargo build --release --bins

# Unit tests next to the code, and the integration tier (tests/it) on SQLite and on PostgreSQL
# (services.sh started it). The slow WAL tests are #[ignore]d so that a plain `cargo test` stays
# quick; they run here.
echo "== unit and integration tests"
cargo test --release -- --include-ignored

echo "== web unit tests"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== protocol tests (SQLite)"
(cd tests/protocol && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== protocol tests (PostgreSQL)"
(cd tests/protocol && PARLOR_TEST_BACKEND=postgres npm test)

echo "== browser tests (Debian Chromium)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)
