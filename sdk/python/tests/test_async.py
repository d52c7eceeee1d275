"""``await session.run_async(...)`` under asyncio: 100 concurrent runs, and the
event loop keeps running meanwhile."""

from __future__ import annotations

import asyncio

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
