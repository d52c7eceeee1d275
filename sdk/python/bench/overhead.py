"""Per-run overhead of the Python SDK on a tiny model (one Add of 16 floats),
against onnxruntime's Python API on the same model.

The SDK's cost is the whole `run` call minus the time spent inside the C call
(`ronn_session_run`, as `Session.stats()` measures it around the GIL-released
region).

    .venv-sdk/bin/python sdk/python/bench/overhead.py [N]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

import ronn


def add16() -> bytes:
    vi = helper.make_tensor_value_info
    g = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        "add16",
        [vi("a", TensorProto.FLOAT, [16]), vi("b", TensorProto.FLOAT, [16])],
        [vi("y", TensorProto.FLOAT, [16])],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


def per_run_us(fn, n: int, stats=None) -> tuple:
    """Best of 5 batches of n runs: (us per run, us inside the C call per run or None).
    The machine may be busy, so the best batch is the one that tells the cost."""
    for _ in range(min(1000, n)):
        fn()
    best = (float("inf"), None)
    for _ in range(5):
        before = stats() if stats else None
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = (time.perf_counter() - t0) / n * 1e6
        inside = None
        if stats:
            after = stats()
            inside = (after["total_ms"] - before["total_ms"]) / (after["runs"] - before["runs"]) * 1e3
        if dt < best[0]:
            best = (dt, inside)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    model = add16()
    a = np.arange(16, dtype=np.float32)
    b = np.ones(16, np.float32)
    feeds = {"a": a, "b": b}

    seed = ronn.Model.from_bytes(model).create_session(num_threads=1)
    rs = ronn.InferenceSession(model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    os_ = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(rs.run(None, feeds)[0], os_.run(None, feeds)[0])

    native = seed._native
    t_native, t_c = per_run_us(lambda: native.run(feeds, ["y"]), n, native.stats)
    t_seed, _ = per_run_us(lambda: seed.run(feeds), n)
    t_ronn, _ = per_run_us(lambda: rs.run(None, feeds), n)
    t_ort, _ = per_run_us(lambda: os_.run(None, feeds), n)
    print(f"one Add of 16 floats, best of 5 x {n} runs, one thread")
    print(f"  inside ronn_session_run (C ABI + engine)     {t_c:7.2f} us")
    print(f"  ronn._ronn.Session.run (native module)       {t_native:7.2f} us  (+{t_native - t_c:.2f} us over the C call)")
    print(f"  ronn.Session.run (seed API, dict out)        {t_seed:7.2f} us")
    print(f"  ronn.InferenceSession.run (ORT-style)        {t_ronn:7.2f} us")
    print(f"  onnxruntime.InferenceSession.run             {t_ort:7.2f} us")


if __name__ == "__main__":
    main()
