"""``await session.run_async(...)`` under asyncio: runs go to RONN's threads
through ``ronn_session_run_async`` and come back via ``call_soon_threadsafe``:
100 concurrent runs, results equal to ``run``, errors as the right subclass,
cancellation, and the event loop keeps running meanwhile."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import numpy as np
import pytest

import ronn


def test_hundred_concurrent_runs(digits_path, digits_inputs) -> None:
    s = ronn.Model.load(digits_path).create_session(num_threads=1)
    ref = s.run({"pixels": digits_inputs})["label"]

    async def main() -> None:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.ensure_future(ticker())
        outs = await asyncio.gather(
            *(s.run_async({"pixels": np.roll(digits_inputs, i, axis=0)}, outputs=["label"]) for i in range(100))
        )
        done.set()
        await t
        for i, o in enumerate(outs):
            np.testing.assert_array_equal(o["label"], np.roll(ref, i))
        assert ticks > 0

    asyncio.run(main())


def test_async_errors_are_raised_by_await(add_model) -> None:
    s = ronn.Model.from_bytes(add_model).create_session()

    async def main() -> None:
        with pytest.raises(ronn.InvalidArgument):
            await s.run_async({"a": np.ones((1, 16), np.float32)})

    asyncio.run(main())


def test_run_async_equals_run(digits_path, digits_inputs) -> None:
    s = ronn.Model.load(digits_path).create_session(num_threads=1)
    ref = s.run({"pixels": digits_inputs})

    async def main() -> None:
        out = await s.run_async({"pixels": digits_inputs})
        assert list(out) == ["probabilities", "label"]
        for k in ref:
            np.testing.assert_array_equal(out[k], ref[k])
        only = await s.run_async({"pixels": digits_inputs}, outputs=["label"])
        assert list(only) == ["label"]
        np.testing.assert_array_equal(only["label"], ref["label"])

    asyncio.run(main())
    assert s.stats()["runs"] == 3


def test_run_async_computes_on_ronn_threads(add_model) -> None:
    """No executor: the loop's default executor never starts a thread."""
    s = ronn.Model.from_bytes(add_model).create_session()
    a = np.ones((2, 16), np.float32)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        before = threading.active_count()
        out = await s.run_async({"a": a, "b": a})
        np.testing.assert_array_equal(out["y"], a + a)
        assert getattr(loop, "_default_executor", None) is None
        assert threading.active_count() == before

    asyncio.run(main())


def test_async_errors_are_the_right_subclass(add_model) -> None:
    s = ronn.Model.from_bytes(add_model).create_session()
    a = np.ones((2, 16), np.float32)

    async def main() -> None:
        with pytest.raises(ronn.NotFound) as e:
            await s.run_async({"a": a, "nope": a})
        assert e.value.code == "NOT_FOUND"
        with pytest.raises(ronn.ShapeMismatch) as e2:
            await s.run_async({"a": a, "b": np.ones((3, 16), np.float32)})
        assert e2.value.code == "SHAPE_MISMATCH"
        with pytest.raises(ronn.TypeMismatch):
            await s.run_async({"a": a, "b": np.ones((2, 16), np.float64)})
        with pytest.raises(ronn.NotFound):
            await s.run_async({"a": a, "b": a}, outputs=["missing"])
        # the session still works afterwards
        out = await s.run_async({"a": a, "b": a})
        np.testing.assert_array_equal(out["z"], a * a)

    asyncio.run(main())


def test_inputs_stay_alive_until_the_callback(add_model) -> None:
    """The feeds are dropped by the caller at once; the run still reads them."""
    s = ronn.Model.from_bytes(add_model).create_session()

    async def main() -> None:
        futs = [s.run_async({"a": np.full((4, 16), i, np.float32), "b": np.ones((4, 16), np.float32)})
                for i in range(50)]
        outs = await asyncio.gather(*futs)
        for i, o in enumerate(outs):
            np.testing.assert_array_equal(o["y"], np.full((4, 16), i + 1, np.float32))

    asyncio.run(main())
    gc.collect()


def test_event_loop_runs_during_a_long_run(long_model) -> None:
    s = ronn.Model.from_bytes(long_model).create_session(num_threads=1)
    x = np.random.default_rng(1).standard_normal((256, 384)).astype(np.float32)
    t0 = time.perf_counter()
    ref = s.run({"x": x})["y"]
    run_s = time.perf_counter() - t0

    async def main() -> None:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.005)

        t = asyncio.ensure_future(ticker())
        out = await s.run_async({"x": x})
        stop.set()
        await t
        np.testing.assert_array_equal(out["y"], ref)
        # a blocked loop would tick about once; a free one every 5 ms
        assert ticks >= max(3, int(run_s / 0.005) // 4), (ticks, run_s)

    asyncio.run(main())


def test_cancelling_the_task_cancels_the_run(long_model) -> None:
    s = ronn.Model.from_bytes(long_model).create_session(num_threads=1)
    x = np.random.default_rng(2).standard_normal((256, 384)).astype(np.float32)
    t0 = time.perf_counter()
    s.run({"x": x})
    run_s = time.perf_counter() - t0

    async def main() -> float:
        task = asyncio.ensure_future(s.run_async({"x": x}))
        await asyncio.sleep(min(0.02, run_s / 10))
        t1 = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # RONN stops before its next node; the failed run is counted when its
        # callback ran, well before a whole run's time.
        while s.stats()["failed_runs"] == 0:
            assert time.perf_counter() - t1 < 10 * run_s + 1.0
            await asyncio.sleep(0.001)
        return time.perf_counter() - t1

    stopped_after = asyncio.run(main())
    assert s.stats()["runs"] == 1
    assert stopped_after < max(run_s * 0.8, 0.05), (stopped_after, run_s)


def test_request_cancel_gives_cancelled(long_model) -> None:
    """The native request: cancel() makes the future fail with ronn.Cancelled."""
    import concurrent.futures

    s = ronn.Model.from_bytes(long_model).create_session(num_threads=1)
    x = np.ones((256, 384), np.float32)
    fut: concurrent.futures.Future = concurrent.futures.Future()
    req = s._native.run_async({"x": x}, fut)
    req.cancel()
    assert req.wait(30.0)
    assert req.done()
    with pytest.raises(ronn.Cancelled) as e:
        fut.result(timeout=5)
    assert e.value.code == "CANCELLED"


def test_result_after_the_loop_closed_is_dropped(add_model) -> None:
    """A completion arriving after its loop closed is ignored (no crash)."""
    s = ronn.Model.from_bytes(add_model).create_session()
    a = np.ones((2, 16), np.float32)
    loop = asyncio.new_event_loop()
    fut = loop.create_future()
    req = s._native.run_async({"a": a, "b": a}, fut, None, loop)
    loop.close()
    assert req.wait(10.0)
    s.run({"a": a, "b": a})


def test_ort_run_async_callback(digits_path, digits_inputs) -> None:
    """onnxruntime's run_async(output_names, feeds, callback, user_data)."""
    sess = ronn.InferenceSession(str(digits_path))
    ref = sess.run(["label"], {"pixels": digits_inputs})
    got: list = []
    done = threading.Event()

    def callback(outputs, user_data, err) -> None:
        got.append((outputs, user_data, err, threading.current_thread() is threading.main_thread()))
        done.set()

    sess.run_async(["label"], {"pixels": digits_inputs}, callback, "tag")
    assert done.wait(30)
    outputs, user_data, err, on_main = got[0]
    assert err == "" and user_data == "tag" and not on_main
    np.testing.assert_array_equal(outputs[0], ref[0])

    done.clear()
    sess.run_async(None, {"pixels": digits_inputs[:, :10]}, callback, 7)
    assert done.wait(30)
    outputs, user_data, err, _ = got[1]
    assert outputs is None and user_data == 7 and err
