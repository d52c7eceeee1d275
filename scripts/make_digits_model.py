#!/usr/bin/env python3
"""Train the small digit classifier that ships with the `ronn` CLI and export it to ONNX by hand.

Data: scikit-learn's bundled 8x8 digits (sklearn.datasets.load_digits: 1,797 images, no download),
pixels divided by 16 so they lie in [0, 1]; a stratified 75/25 train/held-out split (seeded).
Model: sklearn MLPClassifier 64 -> 64 (ReLU) -> 10 (softmax), random_state fixed.
Export (onnx.helper, opset 17, ir_version 8):

    pixels float32 [N, 64]  (already scaled: value / 16, as trained)
      -> Gemm(W1, b1) -> Relu -> Gemm(W2, b2) = logits
      -> Softmax(axis=1)                     -> probabilities float32 [N, 10]
      -> ArgMax(logits, axis=1, keepdims=0)  -> label int64 [N]

The model is checked with onnx.checker and onnxruntime (which must agree with scikit-learn's
predictions and reach > 90% accuracy on the held-out split), then written with 16 held-out samples:

    crates/ronn-cli/assets/digits.onnx
    crates/ronn-cli/assets/digits_inputs.npy   float32 [16, 64]
    crates/ronn-cli/assets/digits_labels.npy   int64 [16] (true labels)

Deterministic: BLAS runs single-threaded, every seed is fixed, so a rerun writes identical bytes.

usage: scripts/make_digits_model.py [--out DIR] [--check-only]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _use_repo_venv() -> None:
    """Re-run this script under the repo's .venv/bin/python (scripts/setup-python.sh) when started by another one."""
    py = REPO / ".venv" / "bin" / "python"
    if os.environ.get("RONN_VENV_REEXEC") or not py.exists():
        return
    if Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.environ["RONN_VENV_REEXEC"] = "1"
        os.execv(str(py), [str(py), *sys.argv])


_use_repo_venv()

# single-threaded BLAS before numpy loads, so training is bit-reproducible
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

DEFAULT_OUT = REPO / "crates" / "ronn-cli" / "assets"
SEED = 0
N_SAMPLES = 16
MIN_ACCURACY = 0.90


def train():
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    clf = MLPClassifier(hidden_layer_sizes=(64,), activation="relu", solver="adam", alpha=1e-4,
                        max_iter=400, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_tr, y_tr)
    if list(clf.classes_) != list(range(10)):
        raise RuntimeError(f"unexpected classes {clf.classes_}")
    return clf, x_te, y_te


def export(clf) -> onnx.ModelProto:
    w1, w2 = (w.astype(np.float32) for w in clf.coefs_)
    b1, b2 = (b.astype(np.float32) for b in clf.intercepts_)
    inits = [numpy_helper.from_array(w1, "fc1.weight"), numpy_helper.from_array(b1, "fc1.bias"),
             numpy_helper.from_array(w2, "fc2.weight"), numpy_helper.from_array(b2, "fc2.bias")]
    nodes = [
        helper.make_node("Gemm", ["pixels", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1"),
        helper.make_node("Relu", ["fc1"], ["relu1"], name="relu1"),
        helper.make_node("Gemm", ["relu1", "fc2.weight", "fc2.bias"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
        helper.make_node("ArgMax", ["logits"], ["label"], name="argmax", axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])],
        inits)
    graph.doc_string = ("8x8 handwritten digit classifier (scikit-learn digits). Input: 64 pixels row-major, "
                        "each original value 0..16 divided by 16. Outputs: class probabilities and the label 0-9.")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="ronn-make_digits_model", producer_version="1")
    model.ir_version = 8
    model.doc_string = "MLP 64-64-10 trained with sklearn MLPClassifier(random_state=0) by scripts/make_digits_model.py"
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_run(model: onnx.ModelProto, x: np.ndarray):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return s.run(None, {"pixels": x})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--check-only", action="store_true",
                    help="build and check, then compare with the files in --out instead of writing them")
    args = ap.parse_args()

    clf, x_te, y_te = train()
    model = export(clf)
    probs, labels = ort_run(model, x_te)
    acc = float(np.mean(labels == y_te))
    sk_acc = float(clf.score(x_te, y_te))
    agree = float(np.mean(labels == clf.predict(x_te)))
    max_p = float(np.max(np.abs(probs - clf.predict_proba(x_te))))
    print(f"held-out accuracy: onnxruntime {acc * 100:.2f}% ({int(np.sum(labels == y_te))}/{len(y_te)}), "
          f"scikit-learn {sk_acc * 100:.2f}%; label agreement {agree * 100:.1f}%, "
          f"max |prob diff| {max_p:.2e}")
    if acc <= MIN_ACCURACY:
        print(f"error: accuracy {acc:.4f} is not above {MIN_ACCURACY}", file=sys.stderr)
        return 1
    if agree < 1.0 or max_p > 1e-4:
        print("error: onnxruntime disagrees with scikit-learn on the exported model", file=sys.stderr)
        return 1

    samples = np.ascontiguousarray(x_te[:N_SAMPLES], dtype=np.float32)
    sample_labels = np.ascontiguousarray(y_te[:N_SAMPLES], dtype=np.int64)
    _, pred = ort_run(model, samples)
    print(f"samples: {N_SAMPLES} held-out, labels {sample_labels.tolist()}, "
          f"predicted correctly {int(np.sum(pred == sample_labels))}/{N_SAMPLES}")

    files = {"digits.onnx": model.SerializeToString()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, arr in (("digits_inputs.npy", samples), ("digits_labels.npy", sample_labels)):
            np.save(os.path.join(tmp, name), arr)
            files[name] = Path(tmp, name).read_bytes()

    if args.check_only:
        stale = [n for n, data in files.items()
                 if not (args.out / n).exists() or (args.out / n).read_bytes() != data]
        if stale:
            print(f"error: out of date in {args.out}: {', '.join(stale)} (rerun without --check-only)",
                  file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
