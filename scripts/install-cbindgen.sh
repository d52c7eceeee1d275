#!/usr/bin/env bash
# Installs the pinned cbindgen into the cargo target dir (cached between CI runs)
# and prints its path. The header is generated only with this version.
set -euo pipefail
cd "$(dirname "$0")/.."
CBINDGEN_VERSION=0.29.4
TD="${CARGO_TARGET_DIR:-$PWD/target}"
ROOT="$TD/tools/cbindgen-$CBINDGEN_VERSION"
if [ ! -x "$ROOT/bin/cbindgen" ]; then
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --root "$ROOT" --quiet >&2
fi
echo "$ROOT/bin/cbindgen"
