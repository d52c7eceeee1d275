#!/usr/bin/env python3
"""RONN's `ronn bench` against ONNX Runtime, side by side in one run.

usage: scripts/bench_vs_ort.py MODELDIR [--models a,b] [--threads 1,2] [--seconds 5] [--repeat 1]
                                [--cli target/release/ronn] [--md OUT]

MODELDIR is a folder in the layout of ../shared/bench/make_models.py (model.onnx, input_K.npy,
meta.json). For every model and thread count, ONNX Runtime (CPUExecutionProvider,
intra_op_num_threads=T, inter_op 1, sequential, ORT_ENABLE_ALL) and `ronn bench --threads T` each
warm up, then run for --seconds; each reports its median latency. The two alternate, --repeat
times, and each keeps its best median (the machine is shared and noisy). ../shared/bench/bench.py
measures RONN through the Python SDK; this script measures the command line until that SDK lands.
Prints a markdown table with the ratio RONN / ORT (< 1 is faster than ORT).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def ort_median(model_dir: Path, meta: dict, threads: int, seconds: float) -> tuple[float, float]:
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    s = ort.InferenceSession(str(model_dir / "model.onnx"), so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    feeds = {i["name"]: np.load(model_dir / i["file"]) for i in meta["inputs"]}
    for _ in range(3):
        s.run(None, feeds)
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t = time.perf_counter()
        s.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), load_ms


def ronn_median(cli: str, model_dir: Path, meta: dict, threads: int, seconds: float) -> tuple[float, float]:
    cmd = [cli, "bench", str(model_dir / "model.onnx"), "--threads", str(threads), "--seconds", str(seconds)]
    for i in meta["inputs"]:
        cmd += ["--input", f"{i['name']}={model_dir / i['file']}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError((p.stderr.strip().splitlines() or ["failed"])[-1])
    med = float(re.search(r"median ([0-9.]+)", p.stdout).group(1))
    load = re.search(r"load:\s+([0-9.]+) ms\s+session creation: ([0-9.]+) ms", p.stdout)
    return med, float(load.group(1)) + float(load.group(2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("modeldir")
    ap.add_argument("--models")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cli", default="target/release/ronn")
    ap.add_argument("--md")
    a = ap.parse_args()
    root = Path(a.modeldir)
    names = a.models.split(",") if a.models else json.loads((root / "index.json").read_text())["models"]
    rows = []
    for name in names:
        d = root / name
        meta = json.loads((d / "meta.json").read_text())
        for t in [int(x) for x in a.threads.split(",")]:
            best = {"ort": None, "ronn": None}
            loads = {}
            err = None
            for _ in range(a.repeat):
                try:
                    m, l = ort_median(d, meta, t, a.seconds)
                    best["ort"] = m if best["ort"] is None else min(best["ort"], m)
                    loads["ort"] = l
                    m, l = ronn_median(a.cli, d, meta, t, a.seconds)
                    best["ronn"] = m if best["ronn"] is None else min(best["ronn"], m)
                    loads["ronn"] = l
                except Exception as e:  # report and go on with the next model
                    err = str(e)[:200]
                    break
            ratio = best["ronn"] / best["ort"] if best["ronn"] and best["ort"] else None
            gflop = meta.get("gflop") or 0
            row = (name, t, best["ort"], best["ronn"], ratio, gflop, loads, err)
            rows.append(row)
            fmt = lambda x: "-" if x is None else f"{x:.2f}"
            print(f"{name:22s} thr={t}  ort {fmt(best['ort'])} ms  ronn {fmt(best['ronn'])} ms  "
                  f"ratio {fmt(ratio)}" + (f"  ERROR {err}" if err else ""), flush=True)
    lines = ["| model | threads | ORT median ms | RONN median ms | RONN / ORT | RONN GFLOP/s | ORT load ms | RONN load+plan ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, t, o, r, ratio, gflop, loads, err in rows:
        f = lambda x: "-" if x is None else f"{x:.2f}"
        gf = f"{gflop / (r / 1e3):.1f}" if r and gflop else "-"
        lines.append(f"| {name} | {t} | {f(o)} | {f(r)} | {f(ratio)}{' (error: ' + err + ')' if err else ''} | {gf} | "
                     f"{f(loads.get('ort'))} | {f(loads.get('ronn'))} |")
    ratios = [r[4] for r in rows if r[4]]
    if ratios:
        gm = float(np.exp(np.mean(np.log(ratios))))
        lines.append(f"\ngeometric mean RONN / ORT: {gm:.2f} over {len(ratios)} rows")
    md = "\n".join(lines)
    print("\n" + md)
    if a.md:
        Path(a.md).write_text(md + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
