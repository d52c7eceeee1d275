"""Many Python threads running one session at once (the GIL is released)."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import ronn


def test_eight_threads_one_session(digits_path, digits_inputs) -> None:
    s = ronn.Model.load(digits_path).create_session(num_threads=2)
    ref = s.run({"pixels": digits_inputs})
    errors = []
    barrier = threading.Barrier(8)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(25):
                x = np.roll(digits_inputs, k + i, axis=0)
                out = s.run({"pixels": x})
                np.testing.assert_array_equal(out["label"], np.roll(ref["label"], k + i))
                np.testing.assert_allclose(out["probabilities"], np.roll(ref["probabilities"], k + i, axis=0),
                                           rtol=1e-6, atol=1e-7)
        except BaseException as e:  # collected and re-raised on the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert s.stats()["runs"] == 1 + 8 * 25


def test_ort_api_from_a_thread_pool(add_model) -> None:
    sess = ronn.InferenceSession(add_model)
    def one(i: int) -> bool:
        a = np.full((i + 1, 16), i, np.float32)
        (y,) = sess.run(["y"], {"a": a, "b": a})
        return bool((y == 2 * i).all() and y.shape == (i + 1, 16))
    with ThreadPoolExecutor(8) as ex:
        assert all(ex.map(one, range(64)))


def test_gil_released_during_run() -> None:
    # One long run on another thread: if it held the GIL, this thread could not
    # execute a single bytecode until it finished.
    from onnx import TensorProto, helper

    from conftest import make_model, vi

    n, depth = 384, 32
    w = helper.make_tensor("w", TensorProto.FLOAT, [n, n], np.full(n * n, 1.0 / n, np.float32))
    nodes = [helper.make_node("MatMul", [f"h{i}", "w"], [f"h{i + 1}"]) for i in range(depth)]
    model = make_model(nodes, [vi("h0", TensorProto.FLOAT, [n, n])],
                       [vi(f"h{depth}", TensorProto.FLOAT, [n, n])], initializers=[w])
    s = ronn.Model.from_bytes(model).create_session(optimization_level="O0", num_threads=1)
    x = np.ones((n, n), np.float32)
    result: dict = {"ms": []}

    def runner() -> None:
        for _ in range(3):
            t0 = time.perf_counter()
            result["y"] = s.run({"h0": x})
            result["ms"].append((time.perf_counter() - t0) * 1e3)

    t = threading.Thread(target=runner)
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    t.start()
    last, max_gap = time.perf_counter(), 0.0
    while t.is_alive():
        now = time.perf_counter()
        max_gap, last = max(max_gap, now - last), now
    t.join()
    sys.setswitchinterval(old_interval)
    np.testing.assert_allclose(result["y"][f"h{depth}"], 1.0, rtol=1e-4)
    # Held, the GIL would stall this loop for a whole run; released, only for a
    # switch interval (1 ms here) while the runner executes Python between runs.
    shortest = min(result["ms"])
    assert max_gap * 1e3 < shortest * 0.75, f"this thread stalled {max_gap * 1e3:.1f} ms during {shortest:.1f} ms runs"
