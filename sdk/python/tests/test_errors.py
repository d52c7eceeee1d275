"""Every error path raises a RonnError subclass whose .code names the status."""

from __future__ import annotations

import numpy as np
import pytest

import ronn


@pytest.fixture()
def sess(add_model) -> ronn.Session:
    return ronn.Model.from_bytes(add_model).create_session(num_threads=1)


A = np.ones((2, 16), np.float32)


def test_hierarchy_and_codes() -> None:
    for cls, code, status in [
        (ronn.InvalidArgument, "INVALID_ARGUMENT", 1),
        (ronn.NotFound, "NOT_FOUND", 3),
        (ronn.InvalidModel, "INVALID_MODEL", 4),
        (ronn.UnsupportedOp, "UNSUPPORTED_OP", 5),
        (ronn.ShapeMismatch, "SHAPE_MISMATCH", 6),
        (ronn.TypeMismatch, "TYPE_MISMATCH", 7),
        (ronn.IoError, "IO", 17),
        (ronn.InvalidHandle, "INVALID_HANDLE", 18),
    ]:
        assert issubclass(cls, ronn.RonnError) and issubclass(cls, Exception)
        assert cls.code == code and cls.status == status
        assert ronn._ronn.status_name(status) == code


def test_missing_input(sess) -> None:
    with pytest.raises(ronn.InvalidArgument) as e:
        sess.run({"a": A})
    assert "'b'" in str(e.value) and "missing" in str(e.value)
    assert e.value.code == "INVALID_ARGUMENT" and e.value.status == 1


def test_unknown_input_name(sess) -> None:
    with pytest.raises(ronn.NotFound) as e:
        sess.run({"a": A, "b": A, "nope": A})
    assert e.value.code == "NOT_FOUND" and "nope" in str(e.value)


def test_unknown_output_name(sess) -> None:
    with pytest.raises(ronn.NotFound) as e:
        sess.run({"a": A, "b": A}, outputs=["nope"])
    assert "nope" in str(e.value)


def test_wrong_dtype(sess) -> None:
    with pytest.raises(ronn.TypeMismatch) as e:
        sess.run({"a": A.astype(np.float64), "b": A})
    assert e.value.code == "TYPE_MISMATCH"


def test_wrong_shape(sess) -> None:
    with pytest.raises(ronn.ShapeMismatch) as e:
        sess.run({"a": np.ones((2, 15), np.float32), "b": np.ones((2, 15), np.float32)})
    assert e.value.code == "SHAPE_MISMATCH"


def test_wrong_rank(sess) -> None:
    with pytest.raises(ronn.ShapeMismatch):
        sess.run({"a": np.ones(16, np.float32), "b": np.ones(16, np.float32)})


def test_dtype_numpy_has_but_onnx_lacks(sess) -> None:
    for bad in (A.astype(np.complex64), np.array(["x"] * 32).reshape(2, 16), np.empty((2, 16), object)):
        with pytest.raises(ronn.TypeMismatch):
            sess.run({"a": bad, "b": A})


def test_bad_model_bytes() -> None:
    with pytest.raises(ronn.InvalidModel) as e:
        ronn.Model.from_bytes(b"definitely not onnx")
    assert e.value.code == "INVALID_MODEL"
    with pytest.raises(ronn.InvalidModel):
        ronn.InferenceSession(b"\x08\x07garbage")


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ronn.IoError) as e:
        ronn.Model.load(tmp_path / "missing.onnx")
    assert e.value.code == "IO"
    with pytest.raises(ronn.IoError):
        ronn.InferenceSession(str(tmp_path / "missing.onnx"))


def test_unknown_provider(add_model) -> None:
    with pytest.raises(ronn.InvalidArgument) as e:
        ronn.Model.from_bytes(add_model).create_session(provider="tpu")
    assert "cpu, gpu, bitnet, wasm" in str(e.value)


@pytest.mark.parametrize("provider", ["gpu", "bitnet", "wasm"])
def test_unavailable_provider_names_the_available_ones(add_model, provider) -> None:
    if provider in ronn.available_providers():
        pytest.skip(f"this build has {provider}")
    with pytest.raises(ronn.UnsupportedOp) as e:
        ronn.Model.from_bytes(add_model).create_session(provider=provider)
    assert provider in str(e.value) and "available: cpu" in str(e.value)


def test_ort_providers_fall_back_but_not_when_none_available(add_model) -> None:
    s = ronn.InferenceSession(add_model, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert s.get_providers() == ["CPUExecutionProvider"]
    if "gpu" not in ronn.available_providers():
        with pytest.raises(ronn.UnsupportedOp):
            ronn.InferenceSession(add_model, providers=["CUDAExecutionProvider"])


@pytest.mark.parametrize("level", ["O4", "fast", -1, 4, 2.0, None, True])
def test_bad_level(add_model, level) -> None:
    with pytest.raises(ronn.InvalidArgument) as e:
        ronn.Model.from_bytes(add_model).create_session(optimization_level=level)
    assert "O0" in str(e.value)


def test_bad_level_in_the_native_module(add_model) -> None:
    with pytest.raises(ronn.InvalidArgument):
        ronn._ronn.Session(add_model, 7)


def test_bad_num_threads(add_model) -> None:
    with pytest.raises(ronn.InvalidArgument):
        ronn.Model.from_bytes(add_model).create_session(num_threads=-2)


def test_bad_arguments(sess, add_model) -> None:
    with pytest.raises(ronn.InvalidArgument):
        sess.run([A, A])  # type: ignore[arg-type]
    with pytest.raises(ronn.InvalidArgument):
        sess.run({1: A, "b": A})  # type: ignore[dict-item]
    with pytest.raises(ronn.InvalidArgument):
        sess.run({"a\x00": A, "b": A})
    with pytest.raises(ronn.InvalidArgument):
        ronn.InferenceSession(12345)  # type: ignore[arg-type]
    with pytest.raises(ronn.NotFound):
        opts = ronn.SessionOptions()
        ronn._ronn.Session(add_model, 2, "cpu", 0, None, {"no_such_key": "1"})
        del opts


def test_session_still_works_after_errors(sess) -> None:
    for bad in ({"a": A}, {"a": A, "b": A.astype(np.int32)}):
        with pytest.raises(ronn.RonnError):
            sess.run(bad)
    np.testing.assert_array_equal(sess.run({"a": A, "b": A})["y"], A + A)
