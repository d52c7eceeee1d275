#!/usr/bin/env bash
# Regenerates include/ronn/ronn.h (or writes it to $1) with the pinned cbindgen.
set -euo pipefail
cd "$(dirname "$0")/.."
CBINDGEN="$(bash scripts/install-cbindgen.sh)"
OUT="${1:-include/ronn/ronn.h}"
mkdir -p "$(dirname "$OUT")"
"$CBINDGEN" --quiet --config crates/ronn-capi/cbindgen.toml --crate ronn-capi --output "$OUT" crates/ronn-capi
