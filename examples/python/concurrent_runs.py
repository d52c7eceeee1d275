"""Serve one RONN session from many threads, from asyncio, and through a
batch queue, and compare with one batched run.

RONN releases the GIL while it runs and a session may be run by many threads
at once, so a plain ThreadPoolExecutor spreads runs over the cores once each
run does real work. ``await session.run_async(...)`` computes on RONN's own
threads (no executor) and hands results back to the event loop.
``ronn.BatchProcessor`` merges single requests, submitted from anywhere, into
batches on the fly. For a model this small, batching requests into one larger
input wins by far. Every way gives the same answers.

    python examples/python/concurrent_runs.py

(Not named concurrent.py: that would shadow the standard library package.)
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import ronn

ASSETS = Path(__file__).resolve().parents[2] / "crates" / "ronn-cli" / "assets"


def main() -> None:
    pixels = np.load(ASSETS / "digits_inputs.npy")  # float32 [16, 64]
    requests = [pixels[i % len(pixels)][None, :] for i in range(512)]  # one image each

    pool = ronn.MemoryPool()  # shared buffers across sessions (here: one)
    session = ronn.Model.load(ASSETS / "digits.onnx").create_session(
        optimization_level=ronn.OptimizationLevel.aggressive(),
        provider=ronn.ProviderType.cpu(),
        num_threads=1,  # parallelism comes from the requests, not inside one
        memory_pool=pool,
    )

    def classify(x: np.ndarray) -> int:
        return int(session.run({"pixels": x}, outputs=["label"])["label"][0])

    t0 = time.perf_counter()
    one_by_one = [classify(x) for x in requests]
    t_serial = time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as ex:
        threaded = list(ex.map(classify, requests))
    t_threads = time.perf_counter() - t0

    async def serve_async() -> list:
        outs = await asyncio.gather(*(session.run_async({"pixels": x}, outputs=["label"]) for x in requests))
        return [int(o["label"][0]) for o in outs]

    t0 = time.perf_counter()
    via_asyncio = asyncio.run(serve_async())
    t_async = time.perf_counter() - t0

    t0 = time.perf_counter()
    with ronn.BatchProcessor(session, strategy="dynamic", max_batch_size=64, max_delay_ms=2.0) as batcher:
        futures = [batcher.submit({"pixels": x}, outputs=["label"]) for x in requests]
        via_queue = [int(f.result()["label"][0]) for f in futures]
        qstats = batcher.stats()
    t_queue = time.perf_counter() - t0

    t0 = time.perf_counter()
    batched = [int(v) for v in session.run({"pixels": np.concatenate(requests)})["label"]]
    t_batch = time.perf_counter() - t0

    assert one_by_one == threaded == via_asyncio == via_queue == batched, "every way must give the same labels"
    n = len(requests)
    print(f"{n} requests, same labels all five ways")
    print(f"  one thread   : {t_serial * 1e3:8.1f} ms ({n / t_serial:9.0f} req/s)")
    print(f"  8 threads    : {t_threads * 1e3:8.1f} ms ({n / t_threads:9.0f} req/s)")
    print(f"  run_async    : {t_async * 1e3:8.1f} ms ({n / t_async:9.0f} req/s)")
    print(f"  batch queue  : {t_queue * 1e3:8.1f} ms ({n / t_queue:9.0f} req/s), "
          f"{qstats['batches']} batches of {qstats['average_batch_size']:.1f} on average")
    print(f"  one batch    : {t_batch * 1e3:8.1f} ms ({n / t_batch:9.0f} req/s)")
    stats = session.stats()
    print(f"session: {stats['runs']} runs, mean {stats['mean_ms']:.3f} ms; pool: {pool.stats()}")


if __name__ == "__main__":
    main()
