#!/usr/bin/env bash
# Creates .venv (ignored) with the pinned Python packages the tests need:
# onnx (the conformance oracle and model builder), onnxruntime (the parity oracle),
# numpy and scikit-learn (the embedded digit model's training data).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.ronn-reqs
if ! cmp -s scripts/requirements-test.txt "$stamp" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt "$stamp"
fi
