"""The seed API: Model.load, create_session, Session.run(dict) -> dict, stats,
OptimizationLevel / ProviderType accepted wherever strings are."""

from __future__ import annotations

import numpy as np
import pytest

import ronn


def test_version_matches_library() -> None:
    # The wheel's version (pyproject.toml), the library's (ronn_version()) and the
    # workspace's (Cargo.toml) must agree.
    import re
    from importlib.metadata import version

    from conftest import REPO

    cargo = (REPO / "Cargo.toml").read_text()
    m = re.search(r'\[workspace\.package\][^\[]*?version = "([^"]+)"', cargo)
    assert m is not None
    assert ronn.__version__ == ronn.version() == ronn._ronn.version() == version("ronn") == m.group(1)
    assert ronn._ronn.api_version() >= ronn._ronn.API_VERSION


def test_model_load_and_metadata(digits_path) -> None:
    m = ronn.Model.load(digits_path)
    (x,) = m.inputs()
    assert x.name == "pixels" and x.dtype == "float32" and x.shape == ["N", 64]
    assert [o.name for o in m.outputs()] == ["probabilities", "label"]
    assert m.outputs()[1].dtype == "int64"
    assert ronn.Model.load(str(digits_path)).inputs()[0].name == "pixels"


def test_classify_digits(digits_path, digits_inputs, digits_labels) -> None:
    s = ronn.Model.load(digits_path).create_session(optimization_level="O3", provider="cpu", num_threads=4)
    out = s.run({"pixels": digits_inputs})
    assert set(out) == {"probabilities", "label"}
    assert out["probabilities"].shape == (len(digits_inputs), 10)
    assert out["label"].dtype == np.int64
    assert (out["label"] == digits_labels).mean() >= 0.9
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    assert [i.name for i in s.inputs()] == ["pixels"]
    assert [o.name for o in s.outputs()] == ["probabilities", "label"]


def test_run_selected_outputs(digits_path, digits_inputs) -> None:
    s = ronn.Model.load(digits_path).create_session()
    out = s.run({"pixels": digits_inputs}, outputs=["label"])
    assert list(out) == ["label"]


@pytest.mark.parametrize(
    "level",
    ["O0", "O1", "O2", "O3", 0, 3, "none", "aggressive",
     ronn.OptimizationLevel.none(), ronn.OptimizationLevel.basic(),
     ronn.OptimizationLevel.default(), ronn.OptimizationLevel.aggressive()],
)
def test_every_level_gives_the_same_answer(digits_path, digits_inputs, level) -> None:
    m = ronn.Model.load(digits_path)
    ref = m.create_session(optimization_level="O0", num_threads=1).run({"pixels": digits_inputs})
    out = m.create_session(optimization_level=level, num_threads=2).run({"pixels": digits_inputs})
    np.testing.assert_allclose(out["probabilities"], ref["probabilities"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["label"], ref["label"])


def test_level_and_provider_objects() -> None:
    assert ronn.OptimizationLevel.none().name == "O0"
    assert ronn.OptimizationLevel.aggressive() == "O3"
    assert ronn.OptimizationLevel("O2") == ronn.OptimizationLevel.default()
    assert ronn.ProviderType.cpu() == "cpu"
    assert [str(p) for p in (ronn.ProviderType.cpu(), ronn.ProviderType.gpu(),
                             ronn.ProviderType.bitnet(), ronn.ProviderType.wasm())] == \
        ["cpu", "gpu", "bitnet", "wasm"]
    assert "cpu" in ronn.available_providers()


def test_provider_object_accepted(digits_path, digits_inputs) -> None:
    s = ronn.Model.load(digits_path).create_session(
        optimization_level=ronn.OptimizationLevel.basic(), provider=ronn.ProviderType.cpu(), num_threads=1
    )
    assert s.provider == "cpu"
    assert s.run({"pixels": digits_inputs})["label"].shape == (len(digits_inputs),)


def test_model_from_bytes(add_model) -> None:
    m = ronn.Model.from_bytes(add_model)
    s = m.create_session(num_threads=0)
    a = np.arange(32, dtype=np.float32).reshape(2, 16)
    out = s.run({"a": a, "b": a})
    np.testing.assert_array_equal(out["y"], a + a)
    np.testing.assert_array_equal(out["z"], a * a)


def test_stats(add_model) -> None:
    s = ronn.Model.from_bytes(add_model).create_session()
    a = np.ones((1, 16), np.float32)
    for _ in range(5):
        s.run({"a": a, "b": a})
    with pytest.raises(ronn.RonnError):
        s.run({"a": a})
    st = s.stats()
    assert st["runs"] == 5 and st["failed_runs"] == 1
    assert 0 < st["min_ms"] <= st["mean_ms"] <= st["max_ms"]
    assert st["total_ms"] == pytest.approx(st["mean_ms"] * 5)
    assert st["provider"] == "cpu" and st["optimization_level"] == "O3"
    assert "memory_pool" in st


def test_python_lists_are_accepted(add_model) -> None:
    s = ronn.Model.from_bytes(add_model).create_session()
    out = s.run({"a": [[1.0] * 16], "b": np.ones((1, 16), np.float32)})
    np.testing.assert_array_equal(out["y"], np.full((1, 16), 2.0, np.float32))
