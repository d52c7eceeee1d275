#!/usr/bin/env bash
# The Python SDK, as CI runs it (scripts/test.sh calls this script):
#   1. .venv-sdk (ignored, reused) with the pinned test tools; onnx and
#      onnxruntime at the versions scripts/requirements-test.txt pins
#   2. rustfmt of bindings/python; the abi3 wheel: maturin build --release (sdk/python), into target/wheels-python
#   3. pip installs that wheel into .venv-sdk (as a user would)
#   4. pytest sdk/python/tests, mypy.stubtest of ronn._ronn, mypy --strict of the package
#   5. examples/python/*.py and the README's Python quickstart
# CARGO_TARGET_DIR defaults to ./target, shared with the rest of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
step() { printf '\n--- python sdk: %s ---\n' "$*"; }

VENV=.venv-sdk
PY=$VENV/bin/python
step "venv ($VENV)"
if [ ! -x "$PY" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
# One stamp over every pin: the venv is rebuilt only when a pin changes.
pins=$(printf '%s\n' "maturin==1.16.0" "pytest==9.2.0" "mypy==2.4.1" \
  "$(grep -E '^(onnx|onnxruntime|numpy)[=<>]' scripts/requirements-test.txt)")
stamp=$VENV/.ronn-sdk-pins
if [ "$(cat "$stamp" 2>/dev/null)" != "$pins" ]; then
  # shellcheck disable=SC2086
  $VENV/bin/pip install --quiet --disable-pip-version-check $pins
  printf '%s' "$pins" > "$stamp"
fi

step "rustfmt (bindings/python is outside the workspace)"
cargo fmt --manifest-path bindings/python/Cargo.toml -- --check

step "wheel (maturin build --release)"
WHEELS="$CARGO_TARGET_DIR/wheels-python"
rm -rf "$WHEELS"
(cd sdk/python && "../../$VENV/bin/maturin" build --release --quiet --out "$WHEELS")
wheel=$(ls "$WHEELS"/ronn-*-abi3-*.whl)
echo "$wheel"

step "pip install"
$VENV/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
# Import from a neutral directory so that only the installed package can be found.
(cd / && "$OLDPWD/$PY" -c 'import ronn, sys; assert ronn.__file__.startswith(sys.prefix), ronn.__file__; print("ronn", ronn.__version__, "from", ronn.__file__)')

step "pytest"
$PY -m pytest sdk/python/tests -q -p no:cacheprovider

step "stubs (mypy.stubtest ronn._ronn, mypy --strict ronn)"
(cd / && "$OLDPWD/$PY" -m mypy.stubtest ronn._ronn)
$PY -m mypy --strict --no-incremental sdk/python/python/ronn

step "examples/python"
for ex in examples/python/*.py; do
  echo "$ex"
  $PY "$ex" > /dev/null
done
step "README's Python quickstart, as written"
$PY scripts/check-readme-snippets.py --python "$PY"
echo "python sdk: all passed"
