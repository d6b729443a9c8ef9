#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests, only when it is missing.
# (Playwright's own browser download cannot be used here.)
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "e2e: /usr/bin/chromium is missing; install it with: sudo apt-get install chromium" >&2
  exit 1
fi
echo "e2e: installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-liberation >/dev/null
/usr/bin/chromium --version >&2
