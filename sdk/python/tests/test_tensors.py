"""Tensors across the boundary: zero-copy inputs where promised, outputs that
own their RONN tensor, every numpy dtype ONNX has, and no leaked handles."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from onnx import TensorProto

import ronn

from conftest import identity_model

DTYPES = [
    (np.float16, TensorProto.FLOAT16),
    (np.float32, TensorProto.FLOAT),
    (np.float64, TensorProto.DOUBLE),
    (np.int8, TensorProto.INT8),
    (np.int16, TensorProto.INT16),
    (np.int32, TensorProto.INT32),
    (np.int64, TensorProto.INT64),
    (np.uint8, TensorProto.UINT8),
    (np.uint16, TensorProto.UINT16),
    (np.uint32, TensorProto.UINT32),
    (np.uint64, TensorProto.UINT64),
    (np.bool_, TensorProto.BOOL),
]


def _identity(elem: int, shape=None) -> ronn.Session:
    return ronn.Model.from_bytes(identity_model(elem, shape)).create_session(num_threads=1)


@pytest.mark.parametrize("np_type,elem", DTYPES, ids=[d[0].__name__ for d in DTYPES])
def test_every_dtype_round_trips(np_type, elem) -> None:
    x = (np.arange(12) % 2 == 0) if np_type is np.bool_ else np.arange(12).astype(np_type)
    x = x.astype(np_type).reshape(12)
    y = _identity(elem).run({"x": x})["y"]
    assert y.dtype == np.dtype(np_type)
    np.testing.assert_array_equal(y, x)


def test_bfloat16_travels_as_uint16_bits() -> None:
    bits = np.array([0x3F80, 0x4000, 0xC040], dtype=np.uint16)  # 1.0, 2.0, -3.0
    y = _identity(TensorProto.BFLOAT16).run({"x": bits})["y"]
    assert y.dtype == np.uint16
    np.testing.assert_array_equal(y, bits)


def test_contiguous_input_is_not_copied() -> None:
    # Identity's output aliases its input: the same memory proves no copy either way.
    x = np.arange(64, dtype=np.float32)
    y = _identity(TensorProto.FLOAT).run({"x": x})["y"]
    assert np.shares_memory(x, y)
    assert not y.flags.writeable  # it is the caller's memory: read-only
    del x
    gc.collect()
    assert y.sum() == sum(range(64))  # the output keeps the input alive


def test_non_contiguous_input_is_copied_and_correct() -> None:
    base = np.arange(64, dtype=np.float32)
    x = base[::2]
    y = _identity(TensorProto.FLOAT).run({"x": x})["y"]
    assert not np.shares_memory(base, y)
    np.testing.assert_array_equal(y, x)


def test_big_endian_and_fortran_inputs(add_model) -> None:
    s = ronn.Model.from_bytes(add_model).create_session()
    a = np.asfortranarray(np.arange(48, dtype=np.float32).reshape(3, 16))
    b = np.arange(48, dtype=">f4").reshape(3, 16)
    out = s.run({"a": a, "b": b})
    np.testing.assert_array_equal(out["y"], a + b.astype(np.float32))


def test_output_owns_its_tensor(add_model) -> None:
    s = ronn.Model.from_bytes(add_model).create_session()
    a = np.ones((2, 16), np.float32)
    y = s.run({"a": a, "b": a})["y"]
    assert isinstance(y.base, ronn._ronn.TensorOwner)
    assert y.base.nbytes == y.nbytes
    assert y.flags.writeable and y.flags.c_contiguous and y.flags.owndata is False
    y += 1  # writable: RONN allocated it for this output alone
    del s
    gc.collect()
    np.testing.assert_array_equal(y, np.full((2, 16), 3.0, np.float32))


def test_scalar_and_empty_tensors() -> None:
    s = _identity(TensorProto.FLOAT, shape=[])
    y = s.run({"x": np.float32(2.5)})["y"]
    assert y.shape == () and y == 2.5
    e = _identity(TensorProto.FLOAT, shape=["N", 3]).run({"x": np.zeros((0, 3), np.float32)})["y"]
    assert e.shape == (0, 3)


def test_no_handle_leaks(add_model) -> None:
    gc.collect()
    before = ronn._ronn.live_handle_count()
    s = ronn.Model.from_bytes(add_model).create_session()
    a = np.ones((4, 16), np.float32)
    outs = [s.run({"a": a, "b": a}) for _ in range(10)]
    assert ronn._ronn.live_handle_count() > before
    del s, outs
    gc.collect()
    assert ronn._ronn.live_handle_count() == before


def test_inputs_are_released_after_runs(add_model) -> None:
    s = ronn.Model.from_bytes(add_model).create_session()
    import sys

    a = np.ones((2, 16), np.float32)
    before = sys.getrefcount(a)
    for _ in range(3):
        out = s.run({"a": a, "b": a})
        with pytest.raises(ronn.ShapeMismatch):
            s.run({"a": a, "b": np.ones((2, 3), np.float32)})
        with pytest.raises(ronn.NotFound):
            s.run({"a": a, "b": a, "c": a})
    del out
    gc.collect()
    assert sys.getrefcount(a) == before
