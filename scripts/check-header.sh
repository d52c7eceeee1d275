#!/usr/bin/env bash
# Checks include/ronn/ronn.h:
#   1. a fresh generation with the pinned cbindgen equals the committed header;
#   2. RONN_VERSION_MAJOR/MINOR/PATCH equal the workspace version in Cargo.toml;
#   3. the header compiles on its own as C99 and as C++17 (and ronn.hpp as C++17).
set -euo pipefail
cd "$(dirname "$0")/.."
HEADER=include/ronn/ronn.h
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

bash scripts/gen-header.sh "$tmp/ronn.h"
if ! diff -u "$HEADER" "$tmp/ronn.h"; then
    echo "check-header: $HEADER is stale; run scripts/gen-header.sh and commit it" >&2
    exit 1
fi

version="$(sed -n 's/^version = "\([0-9]*\.[0-9]*\.[0-9]*\)"$/\1/p' Cargo.toml | head -1)"
IFS=. read -r major minor patch <<<"$version"
for pair in "MAJOR $major" "MINOR $minor" "PATCH $patch"; do
    set -- $pair
    got="$(sed -n "s/^#define RONN_VERSION_$1 \([0-9]*\)$/\1/p" "$HEADER")"
    if [ "$got" != "$2" ]; then
        echo "check-header: RONN_VERSION_$1 is '$got' in $HEADER but Cargo.toml says $version" >&2
        exit 1
    fi
done

printf '#include <ronn/ronn.h>\n' >"$tmp/alone.c"
cc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -Iinclude "$tmp/alone.c"
c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -Iinclude -x c++ "$tmp/alone.c"
printf '#include <ronn/ronn.hpp>\n' >"$tmp/alone.cpp"
c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -Iinclude -Isdk/cpp/include "$tmp/alone.cpp"
echo "check-header: $HEADER is current, versions match $version, compiles as C99 and C++17"
