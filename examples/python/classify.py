"""Classify handwritten digits with RONN's Python SDK.

The model is the one `ronn run` embeds: a small MLP trained on scikit-learn's
8x8 digits (crates/ronn-cli/assets/digits.onnx), input "pixels" float32 [N, 64]
with values 0..16, outputs "probabilities" [N, 10] and "label" [N].

    python examples/python/classify.py [MODEL.onnx]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import ronn

ASSETS = Path(__file__).resolve().parents[2] / "crates" / "ronn-cli" / "assets"


def main() -> int:
    model_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ASSETS / "digits.onnx"
    pixels = np.load(ASSETS / "digits_inputs.npy")  # float32 [16, 64]
    labels = np.load(ASSETS / "digits_labels.npy")  # int64 [16]

    model = ronn.Model.load(model_path)
    for info in model.inputs():
        print(f"input  {info.name}: {info.dtype} {info.shape}")
    for info in model.outputs():
        print(f"output {info.name}: {info.dtype} {info.shape}")

    session = model.create_session(optimization_level="O3", provider="cpu", num_threads=4)
    out = session.run({"pixels": pixels})
    predicted, probs = out["label"], out["probabilities"]

    print(f"ronn {ronn.__version__}: {len(predicted)} digits")
    print("  sample  predicted  confidence  true")
    for i, (p, t) in enumerate(zip(predicted, labels)):
        mark = "" if p == t else "  <- wrong"
        print(f"  {i:>6}  {p:>9}  {probs[i, p] * 100:>9.1f}%  {t:>4}{mark}")
    right = int((predicted == labels).sum())
    print(f"accuracy: {right}/{len(labels)} correct")
    return 0 if right >= len(labels) * 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
