"""Shared fixtures: small models built with onnx.helper, the repo's embedded
digits model, and the light model-zoo networks shipped in the onnx wheel."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import pytest
from onnx import TensorProto, helper

REPO = Path(__file__).resolve().parents[3]
DIGITS = REPO / "crates" / "ronn-cli" / "assets" / "digits.onnx"
DIGITS_INPUTS = REPO / "crates" / "ronn-cli" / "assets" / "digits_inputs.npy"
DIGITS_LABELS = REPO / "crates" / "ronn-cli" / "assets" / "digits_labels.npy"


def make_model(
    nodes: list,
    inputs: list,
    outputs: list,
    initializers: Optional[list] = None,
    opset: int = 17,
) -> bytes:
    """The bytes of a one-graph model."""
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=initializers or [])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    return m.SerializeToString()


def vi(name: str, elem: int, shape: Optional[Sequence]) -> object:
    return helper.make_tensor_value_info(name, elem, shape)


@pytest.fixture(scope="session")
def add_model() -> bytes:
    """y = a + b over float [N, 16] (N symbolic), plus z = a * b."""
    return make_model(
        [helper.make_node("Add", ["a", "b"], ["y"]), helper.make_node("Mul", ["a", "b"], ["z"])],
        [vi("a", TensorProto.FLOAT, ["N", 16]), vi("b", TensorProto.FLOAT, ["N", 16])],
        [vi("y", TensorProto.FLOAT, ["N", 16]), vi("z", TensorProto.FLOAT, ["N", 16])],
    )


def identity_model(elem: int, shape: Optional[Sequence] = None) -> bytes:
    """y = Identity(x) for one element type."""
    shape = ["N"] if shape is None else shape
    return make_model(
        [helper.make_node("Identity", ["x"], ["y"])],
        [vi("x", elem, shape)],
        [vi("y", elem, shape)],
    )


@pytest.fixture(scope="session")
def digits_path() -> Path:
    assert DIGITS.exists(), DIGITS
    return DIGITS


@pytest.fixture(scope="session")
def digits_inputs() -> np.ndarray:
    return np.load(DIGITS_INPUTS)


@pytest.fixture(scope="session")
def digits_labels() -> np.ndarray:
    return np.load(DIGITS_LABELS)


def light_models() -> List[Path]:
    """onnx's light_*.onnx networks (as tests/parity/parity.py --light uses them)."""
    import onnx

    d = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    return sorted(d.glob("light_*.onnx"))


def chain_model(nodes: int = 48, width: int = 384) -> bytes:
    """x [N, width] through `nodes` MatMul+Relu pairs: a run slow enough (tens of
    ms per node pair on one thread for a few hundred rows) to cancel midway and
    to watch the event loop during."""
    from onnx import numpy_helper

    rng = np.random.default_rng(0)
    inits, graph_nodes = [], []
    prev = "x"
    for i in range(nodes):
        w = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        graph_nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"], name=f"matmul{i}"))
        out = "y" if i == nodes - 1 else f"r{i}"
        graph_nodes.append(helper.make_node("Relu", [f"m{i}"], [out], name=f"relu{i}"))
        prev = out
    return make_model(
        graph_nodes,
        [vi("x", TensorProto.FLOAT, ["N", width])],
        [vi("y", TensorProto.FLOAT, ["N", width])],
        inits,
    )


@pytest.fixture(scope="session")
def long_model() -> bytes:
    return chain_model()
