"""``ronn.Profiler`` over ``ronn_profiler``: attached to sessions
(``create_session(profiler=...)``, ``SessionOptions``) and to single runs
(``RunOptions(profiler=...)``); events per node, stop, dropped events, the
Chrome trace and the report."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import ronn

NODES = ["fc1", "relu1", "fc2", "softmax", "argmax"]
OPS = ["Gemm", "Relu", "Softmax", "ArgMax"]


def op_events(trace: str) -> list:
    doc = json.loads(trace)
    assert isinstance(doc, dict) and "traceEvents" in doc
    return [e for e in doc["traceEvents"] if e.get("ph") == "X"]


def mentions(events: list, name: str) -> bool:
    return any(name in json.dumps(e) for e in events)


def test_events_per_node(digits_path, digits_inputs) -> None:
    p = ronn.Profiler()
    s = ronn.Model.load(digits_path).create_session(optimization_level="O0", profiler=p)
    s.run({"pixels": digits_inputs})
    assert p.event_count >= len(NODES)
    events = op_events(p.chrome_trace())
    assert len(events) >= len(NODES)
    for op in OPS:
        assert mentions(events, op), op
    for e in events:
        assert e["dur"] >= 0 and "ts" in e
    rep = p.report()
    assert rep["event_count"] == p.event_count
    assert rep["dropped_events"] == 0
    names = json.dumps(rep["entries"])
    for op in OPS:
        assert op in names


def test_stop_start_clear(digits_path, digits_inputs) -> None:
    p = ronn.Profiler(start=False)
    s = ronn.Model.load(digits_path).create_session(profiler=p)
    s.run({"pixels": digits_inputs})
    assert p.event_count == 0
    p.start()
    s.run({"pixels": digits_inputs})
    n = p.event_count
    assert n > 0
    p.stop()
    s.run({"pixels": digits_inputs})
    assert p.event_count == n
    p.clear()
    assert p.event_count == 0 and p.dropped_events == 0


def test_dropped_events_are_counted(digits_path, digits_inputs) -> None:
    p = ronn.Profiler(max_events=2)
    s = ronn.Model.load(digits_path).create_session(optimization_level="O0", profiler=p)
    for _ in range(3):
        s.run({"pixels": digits_inputs})
    assert p.event_count == 2
    assert p.dropped_events >= 3 * len(NODES) - 2
    assert len(op_events(p.chrome_trace())) <= 2


def test_categories_and_min_duration(digits_path, digits_inputs) -> None:
    p = ronn.Profiler(ops=False, memory=False, transfer=False)
    s = ronn.Model.load(digits_path).create_session(profiler=p)
    s.run({"pixels": digits_inputs})
    assert p.event_count == 0
    slow = ronn.Profiler(min_duration_us=10_000_000)
    s2 = ronn.Model.load(digits_path).create_session(profiler=slow)
    s2.run({"pixels": digits_inputs})
    assert slow.event_count == 0


def test_run_options_profile_one_run(digits_path, digits_inputs) -> None:
    s = ronn.Model.load(digits_path).create_session(optimization_level="O0")
    p = ronn.Profiler()
    s.run({"pixels": digits_inputs})
    assert p.event_count == 0
    out = s.run({"pixels": digits_inputs}, run_options=ronn.RunOptions(profiler=p))
    n = p.event_count
    assert n >= len(NODES)
    s.run({"pixels": digits_inputs})
    assert p.event_count == n
    assert out["label"].shape == (len(digits_inputs),)
    # the onnxruntime-style API takes them as well
    sess = ronn.InferenceSession(str(digits_path))
    sess.run(None, {"pixels": digits_inputs}, ronn.RunOptions(profiler=p))
    assert p.event_count > n
    with pytest.raises(ronn.InvalidArgument):
        s.run({"pixels": digits_inputs}, run_options=object())


def test_async_run_with_run_options(digits_path, digits_inputs) -> None:
    import asyncio

    s = ronn.Model.load(digits_path).create_session()
    p = ronn.Profiler()
    asyncio.run(s.run_async({"pixels": digits_inputs}, run_options=ronn.RunOptions(profiler=p)))
    assert p.event_count > 0


def test_write_chrome_trace(tmp_path, digits_path, digits_inputs) -> None:
    p = ronn.Profiler()
    s = ronn.Model.load(digits_path).create_session(profiler=p)
    s.run({"pixels": digits_inputs})
    path = tmp_path / "trace.json"
    p.write_chrome_trace(path)
    assert op_events(path.read_text())
    with pytest.raises(ronn.IoError):
        p.write_chrome_trace(tmp_path / "missing" / "dir" / "t.json")


def test_ort_enable_profiling(tmp_path, digits_path, digits_inputs) -> None:
    so = ronn.SessionOptions()
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / "prof_")
    sess = ronn.InferenceSession(str(digits_path), so)
    sess.run(None, {"pixels": digits_inputs})
    path = sess.end_profiling()
    assert path.startswith(str(tmp_path)) and os.path.exists(path)
    with open(path) as f:
        assert op_events(f.read())
    assert ronn.InferenceSession(str(digits_path)).end_profiling() == ""


def test_profiler_outlives_its_session(digits_path, digits_inputs) -> None:
    p = ronn.Profiler()
    s = ronn.Model.load(digits_path).create_session(profiler=p)
    s.run({"pixels": digits_inputs})
    del s
    assert p.event_count > 0
    assert np.isfinite(p.report()["total_us"])
