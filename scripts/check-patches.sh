#!/usr/bin/env bash
# Fails when a crate patched in vendor/ is not the one the build uses: cargo only warns when a
# [patch.crates-io] entry stops applying (e.g. after a `cargo update` past the vendored
# version), and the release would then quietly run without the patch.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
patched = ["engineioxide", "socketioxide-core"]
failed = False
for name in patched:
    sources = [p["source"] for p in meta["packages"] if p["name"] == name]
    if sources != [None]:
        print(f"vendor/{name} is not used: the build resolves {name} from {sources}", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
'
echo "patches: engineioxide and socketioxide-core from vendor/"
