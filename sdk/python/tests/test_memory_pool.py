"""MemoryPool: created with limits, shared by sessions through their options."""

from __future__ import annotations

import numpy as np

import ronn


def test_shared_pool(add_model) -> None:
    pool = ronn.MemoryPool(max_total_bytes=1 << 20)
    m = ronn.Model.from_bytes(add_model)
    s1 = m.create_session(memory_pool=pool)
    s2 = m.create_session(memory_pool=pool)
    a = np.ones((64, 16), np.float32)
    for _ in range(5):
        s1.run({"a": a, "b": a})
        s2.run({"a": a, "b": a})
    st = pool.stats()
    assert set(st) == {"hits", "misses", "returns", "discarded", "buffers", "bytes", "peak_bytes"}
    assert st["hits"] + st["misses"] > 0
    assert s1.memory_pool() is not None
    assert s1.memory_pool().stats() == s2.memory_pool().stats() == pool.stats()
    assert pool.trim(0) >= 0
    assert pool.stats()["bytes"] == 0


def test_pool_through_ort_session_options(add_model) -> None:
    opts = ronn.SessionOptions()
    opts.memory_pool = ronn.MemoryPool()
    s = ronn.InferenceSession(add_model, sess_options=opts)
    a = np.ones((4, 16), np.float32)
    s.run(None, {"a": a, "b": a})
    assert opts.memory_pool.stats()["misses"] > 0


def test_session_without_pool(add_model) -> None:
    opts = ronn.SessionOptions()
    opts.add_session_config_entry("memory_pool", "off")
    s = ronn.InferenceSession(add_model, sess_options=opts)
    assert s.memory_pool() is None
    a = np.ones((4, 16), np.float32)
    np.testing.assert_array_equal(s.run(["y"], {"a": a, "b": a})[0], a + a)
