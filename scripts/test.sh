#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script).
#   1. Python venv with the pinned oracles (onnx, onnxruntime)      scripts/setup-python.sh
#   2. crate dependency directions                                  scripts/check_deps.py
#   3. formatting, release build of the CLI, every Rust test + doctests, the criterion
#      benchmarks run once each (no timing), the callgrind instruction-count guard
#                                                                   scripts/perf-guard.sh
#   4. the ONNX backend suite against the allowlist                 tests/conformance/run_conformance.py
#   5. parity with ONNX Runtime: light model zoo + small transformers  tests/parity/parity.py
#   6. the README's main command (`ronn run` on the embedded model)
#   7. the Rust example
#   8. the C header: regenerated with the pinned cbindgen and diffed, version
#      macros vs Cargo.toml, compiled alone as C99 and C++17     scripts/check-header.sh
#   9. ronn-sys against the header (ctest2)                      ronn-sys/systest
#  10. CMake: libronn through cargo (release, same target/), C and C++ tests under
#      ASan, examples, bit-exact C-vs-Rust on the light models, install test
#  11. the Python SDK: abi3 wheel, pip install, pytest, stubtest, examples  scripts/test-python-sdk.sh
#  12. the Node.js SDK: napi addon, node --test, tsc, examples, npm install test  scripts/test-node-sdk.sh
# One cargo target dir (target/) serves every step.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
step() { printf '\n=== %s ===\n' "$*"; }

step "python environment"
bash scripts/setup-python.sh
PY=.venv/bin/python

step "crate dependency directions"
$PY scripts/check_deps.py

step "rustfmt"
cargo fmt --all -- --check

step "release build"
cargo build --release -p ronn-cli
# docs/SUPPORTED_OPS.md must match the registry of this build.
$PY scripts/gen-supported-ops.py --check

step "cargo test"
cargo test --workspace --quiet

step "kernel benchmarks, each run once (criterion test mode, no timing)"
# The test profile: reuses what `cargo test` just built; only the bench binaries compile.
cargo test --workspace --quiet --bench gemm --bench conv --bench ops

step "instruction-count guard (callgrind, against scripts/perf-baseline.json)"
bash scripts/perf-guard.sh

step "ONNX backend conformance"
RONN_CLI=target/release/ronn $PY tests/conformance/run_conformance.py

step "parity with ONNX Runtime"
$PY tests/parity/parity.py tests/models --cli target/release/ronn
$PY tests/parity/parity.py --light --cli target/release/ronn
# com.microsoft transformer ops, one-node models against onnxruntime
$PY tests/parity/contrib_ops.py --cli target/release/ronn

step "README main command and the Rust examples"
target/release/ronn run
cargo run --release --quiet -p ronn --example quickstart -- crates/ronn-cli/assets/digits.onnx
cargo run --release --quiet -p ronn --example serving -- crates/ronn-cli/assets/digits.onnx

step "C header (cbindgen diff, version macros, C99 and C++17 alone)"
bash scripts/check-header.sh

step "ronn-sys against the header (ctest2)"
CARGO_TARGET_DIR="$PWD/target" cargo run --quiet --manifest-path ronn-sys/systest/Cargo.toml

step "CMake: libronn, C and C++ tests (ASan), examples, install test"
if ! command -v cmake >/dev/null; then
    # Not on the machine: the PyPI wheel (TOOLCHAIN.md: 4.x builds this project too).
    .venv/bin/pip install --quiet "cmake>=3.16,<5"
    export PATH="$PWD/.venv/bin:$PATH"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build
ctest --test-dir build --output-on-failure
# The README's C and C++ quickstarts, compiled and run as written.
$PY scripts/check-readme-snippets.py
# ronn-sys with feature `system`: linked against the libronn.so CMake just built.
RONN_LIB_DIR="$PWD/target/release" LD_LIBRARY_PATH="$PWD/target/release" \
    cargo test --quiet -p ronn-sys --no-default-features --features system --test link

step "Python SDK (wheel, pytest, stubs, examples)"
bash scripts/test-python-sdk.sh

step "Node.js SDK (addon, node --test, tsc, examples, npm install)"
bash scripts/test-node-sdk.sh

echo
echo "steps: 12 passed, 0 failed"
