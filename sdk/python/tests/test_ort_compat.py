"""The onnxruntime-compatible API, checked against onnxruntime itself."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import ronn

from conftest import light_models, make_model, vi

LIGHT = light_models()
LIGHT_RTOL = {"densenet121": 2e-3}


def _both(model):
    return ronn.InferenceSession(model), ort.InferenceSession(model, providers=["CPUExecutionProvider"])


def _same_meta(r, o) -> None:
    for a, b in [(r.get_inputs(), o.get_inputs()), (r.get_outputs(), o.get_outputs())]:
        assert [x.name for x in a] == [x.name for x in b]
        assert [x.type for x in a] == [x.type for x in b]
        assert [x.shape for x in a] == [x.shape for x in b]


def test_metadata_matches_onnxruntime(add_model, digits_path) -> None:
    for model in (add_model, str(digits_path)):
        _same_meta(*_both(model))


def test_symbolic_and_unknown_dims_like_onnxruntime() -> None:
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [vi("x", TensorProto.FLOAT, ["batch", None, 3])],
        [vi("y", TensorProto.FLOAT, ["batch", None, 3])],
    )
    r, o = _both(model)
    _same_meta(r, o)
    assert r.get_inputs()[0].shape[0] == "batch" and r.get_inputs()[0].shape[2] == 3


def test_digits_match_onnxruntime(digits_path, digits_inputs) -> None:
    r, o = _both(str(digits_path))
    got = r.run(None, {"pixels": digits_inputs})
    want = o.run(None, {"pixels": digits_inputs})
    assert isinstance(got, list) and len(got) == len(want) == 2
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(got[1], want[1])
    # output_names order and subsets, run_options accepted
    (lab,) = r.run(["label"], {"pixels": digits_inputs}, ronn.RunOptions())
    np.testing.assert_array_equal(lab, want[1])
    p, l2 = r.run(["probabilities", "label"], {"pixels": digits_inputs})
    np.testing.assert_array_equal(l2, want[1])


@pytest.mark.parametrize("path", LIGHT, ids=[p.stem for p in LIGHT])
def test_light_models_match_onnxruntime(path) -> None:
    name = path.stem[len("light_"):]
    r, o = _both(str(path))
    _same_meta(r, o)
    (inp,) = r.get_inputs()
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    n = int(np.prod(shape))
    x = (np.arange(n).reshape(shape) / n).astype(np.float32)  # as tests/parity/parity.py
    got = r.run(None, {inp.name: x})
    want = o.run(None, {inp.name: x})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=LIGHT_RTOL.get(name, 1e-3), atol=1e-7)


def test_session_options_like_onnxruntime(add_model) -> None:
    for lvl in (ronn.GraphOptimizationLevel.ORT_DISABLE_ALL, ronn.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                ronn.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, ronn.GraphOptimizationLevel.ORT_ENABLE_ALL):
        so = ronn.SessionOptions()
        so.graph_optimization_level = lvl
        so.intra_op_num_threads = 2
        so.inter_op_num_threads = 1  # accepted, ignored
        s = ronn.InferenceSession(add_model, sess_options=so, providers=["CPUExecutionProvider"])
        assert s.get_session_options() is so
        a = np.ones((3, 16), np.float32)
        y, z = s.run(None, {"a": a, "b": a})
        np.testing.assert_array_equal(y, a + a)


def test_module_level_helpers() -> None:
    assert "CPUExecutionProvider" in ronn.get_available_providers()
    assert ronn.get_device() == "CPU"
    assert ronn.NodeArg is ronn.ValueInfo


def test_a_program_written_for_onnxruntime_runs_by_changing_its_import(tmp_path) -> None:
    # The same source, once with onnxruntime and once with `import ronn as ort`.
    src = '''
import numpy as np
import {mod} as ort
opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
opts.intra_op_num_threads = 2
sess = ort.InferenceSession(PATH, sess_options=opts, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
shape = [d if isinstance(d, int) else 1 for d in inp.shape]
x = (np.arange(int(np.prod(shape))).reshape(shape) / np.prod(shape)).astype(np.float32)
outputs = sess.run([o.name for o in sess.get_outputs()], {{inp.name: x}})
RESULT = [np.asarray(o) for o in outputs]
'''
    path = str(LIGHT[0]) if LIGHT else None
    if path is None:
        pytest.skip("no light models in this onnx wheel")
    results = {}
    for mod in ("onnxruntime", "ronn"):
        ns: dict = {"PATH": path}
        exec(src.format(mod=mod), ns)
        results[mod] = ns["RESULT"]
    for g, w in zip(results["ronn"], results["onnxruntime"]):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-7)
