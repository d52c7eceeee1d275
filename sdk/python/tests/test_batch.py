"""``ronn.BatchProcessor`` over ``ronn_batch_queue``: batched results equal a
single batched run row by row, QUEUE_FULL at once, close with and without
drain, many threads submitting, asyncio ``process``."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

import ronn


@pytest.fixture()
def digits(digits_path, digits_inputs):
    s = ronn.Model.load(digits_path).create_session(num_threads=1)
    return s, digits_inputs, s.run({"pixels": digits_inputs})


def test_rows_equal_a_single_batched_run(digits) -> None:
    s, x, ref = digits
    with ronn.BatchProcessor(s, max_batch_size=16, max_delay_ms=2.0) as b:
        futs = [b.submit({"pixels": x[i:i + 1]}) for i in range(len(x))]
        outs = [f.result(timeout=30) for f in futs]
        st = b.stats()
    for i, o in enumerate(outs):
        assert list(o) == ["probabilities", "label"]
        np.testing.assert_array_equal(o["label"], ref["label"][i:i + 1])
        np.testing.assert_allclose(o["probabilities"], ref["probabilities"][i:i + 1], rtol=1e-5, atol=1e-6)
    assert st["requests"] == len(x)
    assert 1 <= st["batches"] <= len(x)
    assert st["average_batch_size"] >= 1.0
    for k in ("requests", "rejected", "cancelled", "batches", "average_batch_size", "queue_wait_p50_ms",
              "queue_wait_p99_ms", "utilization", "max_queue_depth", "queue_depth"):
        assert k in st


def test_requests_of_several_rows_and_chosen_outputs(digits) -> None:
    s, x, ref = digits
    with ronn.BatchProcessor(s, strategy="static", max_batch_size=len(x)) as b:
        cuts = [0, 3, 4, 10, 13, len(x)]
        futs = [b.submit({"pixels": x[lo:hi]}, outputs=["label"]) for lo, hi in zip(cuts, cuts[1:])]
        b.flush()
        for (lo, hi), f in zip(zip(cuts, cuts[1:]), futs):
            o = f.result(timeout=30)
            assert list(o) == ["label"]
            np.testing.assert_array_equal(o["label"], ref["label"][lo:hi])
        assert b.stats()["batches"] == 1


def test_queue_full_raises_at_once(digits) -> None:
    s, x, _ = digits
    b = ronn.BatchProcessor(s, strategy="static", max_batch_size=1000, queue_capacity=2)
    f1 = b.submit({"pixels": x[:1]})
    f2 = b.submit({"pixels": x[1:2]})
    with pytest.raises(ronn.QueueFull) as e:
        b.submit({"pixels": x[2:3]})
    assert e.value.code == "QUEUE_FULL"
    assert isinstance(e.value, ronn.RonnError)
    assert b.stats()["rejected"] == 1
    assert not f1.done()
    b.close(drain=True)
    assert f1.result(timeout=30)["label"].shape == (1,)
    assert f2.result(timeout=30)["label"].shape == (1,)


def test_close_without_drain_cancels(digits) -> None:
    s, x, _ = digits
    b = ronn.BatchProcessor(s, strategy="static", max_batch_size=1000)
    futs = [b.submit({"pixels": x[i:i + 1]}) for i in range(3)]
    b.close(drain=False)
    for f in futs:
        with pytest.raises(ronn.Cancelled):
            f.result(timeout=30)
    assert b.stats()["cancelled"] == 3
    with pytest.raises(ronn.ShuttingDown) as e:
        b.submit({"pixels": x[:1]})
    assert e.value.code == "SHUTTING_DOWN"
    b.close()  # twice is fine
    assert b.closed


def test_errors_reach_the_caller(digits) -> None:
    s, x, _ = digits
    with ronn.BatchProcessor(s) as b:
        with pytest.raises(ronn.NotFound):
            b.submit({"nope": x[:1]})
        with pytest.raises(ronn.RonnError):
            b.submit({"pixels": x[:1, :10]}).result(timeout=30)
    with pytest.raises(ronn.InvalidArgument):
        ronn.BatchProcessor(s, strategy="sometimes")


def test_model_without_a_batch_axis_is_refused() -> None:
    from conftest import identity_model
    from onnx import TensorProto

    s = ronn.Model.from_bytes(identity_model(TensorProto.FLOAT, [4])).create_session()
    with pytest.raises(ronn.InvalidArgument):
        ronn.BatchProcessor(s)


def test_cancelling_a_waiting_request(digits) -> None:
    s, x, _ = digits
    b = ronn.BatchProcessor(s, strategy="static", max_batch_size=1000)
    f = b.submit({"pixels": x[:1]})
    keep = b.submit({"pixels": x[1:2]})
    assert f.cancel()
    b.close(drain=True)
    assert f.cancelled()
    assert keep.result(timeout=30)["label"].shape == (1,)


def test_many_threads_submitting(digits) -> None:
    s, x, ref = digits
    errors = []
    n_threads, per_thread = 8, 25
    barrier = threading.Barrier(n_threads)
    with ronn.BatchProcessor(s, max_batch_size=32, max_delay_ms=1.0, queue_capacity=4096) as b:

        def work(k: int) -> None:
            try:
                barrier.wait()
                futs = []
                for j in range(per_thread):
                    i = (k * per_thread + j) % len(x)
                    futs.append((i, b.submit({"pixels": x[i:i + 1]})))
                for i, f in futs:
                    np.testing.assert_array_equal(f.result(timeout=60)["label"], ref["label"][i:i + 1])
            except BaseException as e:  # re-raised on the main thread
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        st = b.stats()
    assert not errors, errors[0]
    assert st["requests"] == n_threads * per_thread
    assert st["rejected"] == 0


def test_process_under_asyncio(digits) -> None:
    s, x, ref = digits

    async def main() -> None:
        with ronn.BatchProcessor(s, max_batch_size=8, max_delay_ms=1.0) as b:
            outs = await asyncio.gather(*(b.process({"pixels": x[i:i + 1]}) for i in range(len(x))))
        for i, o in enumerate(outs):
            np.testing.assert_array_equal(o["label"], ref["label"][i:i + 1])

    asyncio.run(main())


def test_no_handles_leak(digits_path, digits_inputs) -> None:
    """Sessions, queues, requests, profilers and run options are all freed."""
    import gc

    gc.collect()
    before = ronn._ronn.live_handle_count()

    def work() -> None:
        p = ronn.Profiler()
        s = ronn.Model.load(digits_path).create_session(profiler=p)
        opts = ronn.RunOptions(profiler=ronn.Profiler())
        s.run({"pixels": digits_inputs}, run_options=opts)

        async def main() -> None:
            await asyncio.gather(*(s.run_async({"pixels": digits_inputs}) for _ in range(10)))

        asyncio.run(main())
        with ronn.BatchProcessor(s) as b:
            futs = [b.submit({"pixels": digits_inputs[i:i + 1]}) for i in range(8)]
            for f in futs:
                f.result(timeout=30)
        b2 = ronn.BatchProcessor(s, strategy="static", max_batch_size=100)
        b2.submit({"pixels": digits_inputs[:1]})
        del b2  # freed with a request waiting: it drains

    work()
    gc.collect()
    assert ronn._ronn.live_handle_count() == before
