"""Many Python threads running one session at once (the GIL is released)."""

from __future__ import annotations

import threading
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


def test_gil_released_during_run(digits_path, digits_inputs) -> None:
    # While another thread runs the model in a loop, this thread keeps running
    # Python code: if runs held the GIL it would only advance between runs.
    s = ronn.Model.load(digits_path).create_session(num_threads=1)
    big = np.tile(digits_inputs, (256, 1))
    stop = threading.Event()
    def runner() -> None:
        while not stop.is_set():
            s.run({"pixels": big})
    t = threading.Thread(target=runner)
    t.start()
    ticks = 0
    try:
        for _ in range(200000):
            ticks += 1
    finally:
        stop.set()
        t.join()
    assert ticks == 200000 and s.stats()["runs"] >= 1
