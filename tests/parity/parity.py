#!/usr/bin/env python3
"""Parity of RONN's command line with ONNX Runtime on whole models.

usage: tests/parity/parity.py [MODELDIR] [--models a,b] [--cli PATH] [--light] [--keep DIR]

MODELDIR holds one folder per model in the layout of ../shared/bench/make_models.py (and of
tests/parity/make_small_models.py, which writes tests/models):

  MODELDIR/<model>/model.onnx   (+ model.onnx.data when the weights are external)
  MODELDIR/<model>/input_K.npy  the K-th graph input
  MODELDIR/<model>/ref_K.npy    the K-th graph output from onnxruntime (1 thread, ORT_ENABLE_ALL)
  MODELDIR/<model>/meta.json    inputs/outputs (name, file, shape, dtype) and "tolerance":
                                {"rtol", "atol"}: numpy.allclose (NaN equal to NaN), and/or
                                {"rel_l2", "max_abs"}: ||got - ref|| / ||ref|| and max |got - ref| bounds

For each model it runs `ronn run model.onnx --input NAME=input_K.npy ... --outputs-dir TMP`, reads
TMP/output_K.pb (a TensorProto per graph output, in order), checks shape and dtype, compares floats
with the tolerance (other dtypes exactly), and when TMP/<output name>.npy exists checks that it holds
the same tensor. One line per model with its max abs difference.

--light adds the 9 light model-zoo networks shipped in the onnx wheel
(onnx/backend/test/data/light/light_*.onnx): input arange(n)/n as conformance.py makes it, compared
with the shipped light_*_output_0.pb and with onnxruntime's output, rtol 1e-3 (densenet121 2e-3),
atol 1e-7, as conformance.py scores them.

The binary is --cli, else $RONN_CLI, else target/release/ronn. The script runs under the repo's
.venv/bin/python (scripts/setup-python.sh), re-executing itself there if started by another Python.
The last line is "N passed, M failed"; exit status 1 on any mismatch or error, 2 on bad usage.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _use_repo_venv() -> None:
    py = REPO / ".venv" / "bin" / "python"
    if os.environ.get("RONN_VENV_REEXEC") or not py.exists():
        return
    if Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.environ["RONN_VENV_REEXEC"] = "1"
        os.execv(str(py), [str(py), *sys.argv])


_use_repo_venv()

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

try:
    import numpy as np  # noqa: E402
    import onnx  # noqa: E402
    from onnx import numpy_helper  # noqa: E402
except ImportError as e:  # pragma: no cover
    sys.exit(f"parity: {e}: run scripts/setup-python.sh (it creates .venv with numpy, onnx, onnxruntime)")

LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LIGHT_RTOL = {"densenet121": 2e-3}  # as conformance.py
LIGHT_ATOL = 1e-7


class Failure(Exception):
    pass


def usage_error(msg: str) -> None:
    print(f"parity: {msg}", file=sys.stderr)
    sys.exit(2)


def resolve_cli(arg: str | None) -> Path:
    raw = arg or os.environ.get("RONN_CLI")
    p = Path(raw) if raw else REPO / "target" / "release" / "ronn"
    if not p.exists():
        usage_error(f"no RONN binary at {p} (build it with `cargo build --release -p ronn-cli`, "
                 f"or pass --cli / set RONN_CLI)")
    return p.resolve()


def run_cli(cli: Path, model: Path, inputs: list[tuple[str, Path]], n_out: int, out_names: list[str],
            workdir: Path, timeout: float) -> list[np.ndarray]:
    out_dir = workdir / "out"
    cmd = [str(cli), "run", str(model)]
    for name, f in inputs:
        cmd += ["--input", f"{name}={f}"]
    cmd += ["--outputs-dir", str(out_dir)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"timeout after {timeout:.0f} s")
    if p.returncode != 0:
        msg = (p.stderr.strip().splitlines() or p.stdout.strip().splitlines() or [""])[-1]
        raise Failure(f"ronn exit {p.returncode}: {msg}")
    got = []
    for k in range(n_out):
        f = out_dir / f"output_{k}.pb"
        if not f.exists():
            raise Failure(f"ronn wrote no {f.name}")
        t = onnx.TensorProto()
        t.ParseFromString(f.read_bytes())
        arr = numpy_helper.to_array(t)
        npy = out_dir / f"{out_names[k]}.npy"
        if npy.exists():  # the CLI's .npy copy must hold the same tensor
            alt = np.load(npy)
            same = alt.shape == arr.shape and alt.dtype == arr.dtype and np.array_equal(
                alt, arr, equal_nan=arr.dtype.kind in "fc")
            if not same:
                raise Failure(f"{npy.name} and {f.name} differ")
        got.append(arr)
    return got


def compare(name: str, got: np.ndarray, ref: np.ndarray, tol: dict) -> float:
    """Returns max |got - ref|; raises Failure when out of tolerance."""
    if got.shape != ref.shape:
        raise Failure(f"{name}: shape {list(got.shape)}, expected {list(ref.shape)}")
    if got.dtype != ref.dtype:
        raise Failure(f"{name}: dtype {got.dtype}, expected {ref.dtype}")
    if ref.dtype.kind not in "fc":
        if not np.array_equal(got, ref):
            bad = int(np.sum(got != ref))
            raise Failure(f"{name}: {bad} of {ref.size} elements differ (exact compare for {ref.dtype})")
        return 0.0
    if ref.size == 0:
        return 0.0
    g, r = got.astype(np.float64), ref.astype(np.float64)
    diff = np.abs(g - r)
    both_nan = np.isnan(g) & np.isnan(r)
    diff = np.where(both_nan, 0.0, diff)
    max_abs = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))
    if "rtol" in tol or "atol" in tol:
        rtol, atol = float(tol.get("rtol", 0.0)), float(tol.get("atol", 0.0))
        if not np.allclose(g, r, rtol=rtol, atol=atol, equal_nan=True):
            bad = ~np.isclose(g, r, rtol=rtol, atol=atol, equal_nan=True)
            i = np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), ref.shape)
            raise Failure(f"{name}: {int(bad.sum())} of {ref.size} elements outside rtol {rtol:g} atol {atol:g}; "
                          f"max abs diff {max_abs:.3g}, e.g. at {list(map(int, i))}: got {g[i]:.6g}, ref {r[i]:.6g}")
    if "rel_l2" in tol:
        rel = float(np.linalg.norm(np.nan_to_num(g - r)) / max(np.linalg.norm(r), 1e-30))
        if not rel <= float(tol["rel_l2"]):
            raise Failure(f"{name}: relative L2 error {rel:.3g} > {tol['rel_l2']}")
    if "max_abs" in tol and not max_abs <= float(tol["max_abs"]):
        raise Failure(f"{name}: max abs diff {max_abs:.3g} > {tol['max_abs']}")
    return max_abs


def tol_text(tol: dict) -> str:
    return ", ".join(f"{k} {tol[k]:g}" for k in ("rtol", "atol", "rel_l2", "max_abs") if k in tol)


def check_model_dir(d: Path, cli: Path, timeout: float, keep: Path | None) -> str:
    meta_path = d / "meta.json"
    meta = json.loads(meta_path.read_text())
    tol = meta.get("tolerance") or {"rtol": 1e-3, "atol": 1e-4}
    inputs = []
    for k, inp in enumerate(meta["inputs"]):
        f = d / inp.get("file", f"input_{k}.npy")
        if not f.exists():
            raise Failure(f"missing {f}")
        inputs.append((inp["name"], f))
    outs = meta["outputs"]
    with tempfile.TemporaryDirectory(prefix="ronn-parity-", dir=keep) as tmp:
        got = run_cli(cli, d / "model.onnx", inputs, len(outs), [o["name"] for o in outs], Path(tmp), timeout)
    worst = 0.0
    for k, o in enumerate(outs):
        ref = np.load(d / o.get("file", f"ref_{k}.npy"))
        worst = max(worst, compare(o["name"], got[k], ref, tol))
    return f"max abs diff {worst:.3g} ({tol_text(tol)})"


def light_input(vi) -> np.ndarray:
    shape = tuple(dd.dim_value if dd.HasField("dim_value") else 1 for dd in vi.type.tensor_type.shape.dim)
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def ort_run(model: Path, feeds: dict) -> list[np.ndarray]:
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"]).run(None, feeds)


def check_light(model: Path, cli: Path, timeout: float, keep: Path | None) -> str:
    name = model.name[len("light_"):-len(".onnx")]
    tol = {"rtol": LIGHT_RTOL.get(name, 1e-3), "atol": LIGHT_ATOL}
    g = onnx.load(str(model), load_external_data=False).graph
    inits = {i.name for i in g.initializer}
    feeds = {vi.name: light_input(vi) for vi in g.input if vi.name not in inits}
    shipped = onnx.TensorProto()
    shipped.ParseFromString(model.with_name(model.name[:-5] + "_output_0.pb").read_bytes())
    shipped = numpy_helper.to_array(shipped)
    ort_out = ort_run(model, feeds)[0]
    with tempfile.TemporaryDirectory(prefix="ronn-parity-", dir=keep) as tmp:
        files = []
        for k, (n, v) in enumerate(feeds.items()):
            f = Path(tmp) / f"input_{k}.npy"
            np.save(f, v)
            files.append((n, f))
        got = run_cli(cli, model, files, 1, [g.output[0].name.replace("/", "_")], Path(tmp), timeout)[0]
    a = compare(f"{g.output[0].name} vs shipped output", got, shipped, tol)
    b = compare(f"{g.output[0].name} vs onnxruntime", got, ort_out, tol)
    return f"max abs diff {a:.3g} vs shipped, {b:.3g} vs onnxruntime ({tol_text(tol)})"


def model_dirs(root: Path, only: list[str] | None) -> list[Path]:
    if not root.is_dir():
        usage_error(f"{root} is not a folder")
    index = root / "index.json"
    if index.exists():  # make_models.py's order
        names = [n for n in json.loads(index.read_text()).get("models", []) if (root / n / "meta.json").exists()]
        names += sorted(p.parent.name for p in root.glob("*/meta.json") if p.parent.name not in names)
    else:
        names = sorted(p.parent.name for p in root.glob("*/meta.json"))
    if (root / "meta.json").exists():  # MODELDIR is itself one model
        return [root]
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            usage_error(f"no model {unknown} in {root} (has: {', '.join(names) or 'none'})")
        names = [n for n in names if n in only]
    return [root / n for n in names]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modeldir", nargs="?", type=Path, help="folder of model folders (make_models.py layout)")
    ap.add_argument("--models", help="comma-separated model names (default: all in MODELDIR)")
    ap.add_argument("--cli", help="ronn binary (default $RONN_CLI, else target/release/ronn)")
    ap.add_argument("--light", action="store_true", help="also run the 9 light model-zoo networks of the onnx wheel")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per `ronn run` (default 600)")
    ap.add_argument("--keep", type=Path, help="write the CLI's outputs under this folder (kept) instead of /tmp")
    args = ap.parse_args()
    if args.modeldir is None and not args.light:
        ap.error("give MODELDIR, --light, or both")
    cli = resolve_cli(args.cli)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)

    jobs = []
    if args.modeldir is not None:
        only = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
        jobs += [(d.name, check_model_dir, d) for d in model_dirs(args.modeldir, only)]
    if args.light:
        light = sorted(LIGHT_DIR.glob("light_*.onnx"))
        if args.models and args.modeldir is None:
            wanted = {m.strip() for m in args.models.split(",")}
            light = [m for m in light if m.stem in wanted or m.stem[len("light_"):] in wanted]
        if not light:
            usage_error(f"no light_*.onnx in {LIGHT_DIR}")
        jobs += [(f"onnx-wheel/{m.stem}", check_light, m) for m in light]
    if not jobs:
        usage_error("no model to run")

    print(f"parity: {len(jobs)} model(s), {cli}", flush=True)
    passed = failed = 0
    width = max(len(n) for n, _, _ in jobs)
    for name, fn, where in jobs:
        t0 = time.perf_counter()
        try:
            msg = fn(where, cli, args.timeout, args.keep)
            passed += 1
            print(f"{name:<{width}}  ok        {msg}  [{time.perf_counter() - t0:.1f} s]", flush=True)
        except Failure as e:
            failed += 1
            word = "ERROR" if str(e).startswith(("ronn ", "timeout", "missing")) else "MISMATCH"
            print(f"{name:<{width}}  {word:<8}  {e}  [{time.perf_counter() - t0:.1f} s]", flush=True)
        except Exception as e:  # a broken model folder is a failure too, not a crash of the whole run
            failed += 1
            print(f"{name:<{width}}  ERROR     {type(e).__name__}: {e}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
