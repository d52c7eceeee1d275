"""Settings accepted wherever the API takes them: optimization levels
(``OptimizationLevel``, "O0".."O3", 0..3, onnxruntime's ``GraphOptimizationLevel``),
providers (``ProviderType``, "cpu"/"gpu"/"bitnet"/"wasm", onnxruntime's provider
names), and the one function that turns them into a native session."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Union

from . import _ronn
from ._ronn import InvalidArgument, MemoryPool, RonnError, UnsupportedOp

PathOrBytes = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

class OptimizationLevel:
    """A graph optimization level, O0 (none) to O3 (aggressive).

    Accepted wherever a level is: as this object, as "O0".."O3", or as 0..3.
    """

    _NAMES = ("none", "basic", "default", "aggressive")
    __slots__ = ("level",)

    def __init__(self, level: Union[int, str, "OptimizationLevel"]) -> None:
        self.level: int = _level_number(level)

    @classmethod
    def none(cls) -> "OptimizationLevel":
        """O0: no graph rewrites."""
        return cls(0)

    @classmethod
    def basic(cls) -> "OptimizationLevel":
        """O1: constant folding and dead-code removal."""
        return cls(1)

    @classmethod
    def default(cls) -> "OptimizationLevel":
        """O2: basic plus operator fusions."""
        return cls(2)

    @classmethod
    def aggressive(cls) -> "OptimizationLevel":
        """O3: every pass."""
        return cls(3)

    @property
    def name(self) -> str:
        """"O0".."O3"."""
        return f"O{self.level}"

    def __eq__(self, other: object) -> bool:
        try:
            return self.level == _level_number(other)  # type: ignore[arg-type]
        except RonnError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(self.level)

    def __repr__(self) -> str:
        return f"OptimizationLevel.{self._NAMES[self.level]}()"

    def __str__(self) -> str:
        return self.name


class ProviderType:
    """An execution provider: "cpu", "gpu", "bitnet" or "wasm".

    Accepted wherever a provider is, as this object or as its name. Whether
    this build has it is checked when a session is created.
    """

    _KNOWN = ("cpu", "gpu", "bitnet", "wasm")
    __slots__ = ("name",)

    def __init__(self, name: Union[str, "ProviderType"]) -> None:
        self.name: str = _provider_name(name)

    @classmethod
    def cpu(cls) -> "ProviderType":
        """The CPU provider (always available)."""
        return cls("cpu")

    @classmethod
    def gpu(cls) -> "ProviderType":
        """The CUDA provider (builds with the `cuda` feature)."""
        return cls("gpu")

    @classmethod
    def bitnet(cls) -> "ProviderType":
        """The 1.58-bit provider (builds with the `bitnet` feature)."""
        return cls("bitnet")

    @classmethod
    def wasm(cls) -> "ProviderType":
        """The WebAssembly provider."""
        return cls("wasm")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, ProviderType)):
            return self.name == _provider_name(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"ProviderType.{self.name}()"

    def __str__(self) -> str:
        return self.name


def _level_number(level: Union[int, str, OptimizationLevel, "GraphOptimizationLevel"]) -> int:
    """0..3 from any accepted spelling of a level; InvalidArgument otherwise."""
    if isinstance(level, OptimizationLevel):
        return level.level
    if isinstance(level, GraphOptimizationLevel):
        return level.ronn_level
    if isinstance(level, bool):
        pass
    elif isinstance(level, int) and 0 <= level <= 3:
        return level
    elif isinstance(level, str):
        s = level.strip()
        if s in ("O0", "O1", "O2", "O3"):
            return int(s[1])
        if s.lower() in OptimizationLevel._NAMES:
            return OptimizationLevel._NAMES.index(s.lower())
    raise InvalidArgument(
        f"unknown optimization level {level!r}; "
        'use "O0", "O1", "O2", "O3" or OptimizationLevel.none()/basic()/default()/aggressive()'
    )


def _provider_name(provider: Union[str, ProviderType]) -> str:
    """The RONN name of a provider (onnxruntime's names are accepted too)."""
    if isinstance(provider, ProviderType):
        return provider.name
    if isinstance(provider, str):
        return _ORT_PROVIDERS.get(provider, provider.strip().lower())
    raise InvalidArgument(f"a provider is a str or ProviderType, not {type(provider).__name__}")


#: onnxruntime's provider names and the RONN provider that serves them.
_ORT_PROVIDERS = {
    "CPUExecutionProvider": "cpu",
    "CUDAExecutionProvider": "gpu",
    "TensorrtExecutionProvider": "gpu",
}
_RONN_TO_ORT = {"cpu": "CPUExecutionProvider", "gpu": "CUDAExecutionProvider"}


def _model_source(model: PathOrBytes) -> Union[str, bytes]:
    """What the native Session takes: a path str or bytes."""
    if isinstance(model, bytes):
        return model
    if isinstance(model, (bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    raise InvalidArgument(
        f"a model is a path or bytes, not {type(model).__name__}"
    )


def _native_session(
    model: Union[str, bytes],
    optimization_level: Any,
    provider: Any,
    num_threads: Optional[int],
    memory_pool: Optional[MemoryPool],
    config: Optional[Mapping[str, str]] = None,
    profiler: Optional["_ronn.Profiler"] = None,
) -> "_ronn.Session":
    threads = 0 if num_threads is None else int(num_threads)
    if threads < 0:
        raise InvalidArgument(f"num_threads must be >= 0, not {threads}")
    return _ronn.Session(
        model,
        _level_number(optimization_level),
        _provider_name(provider),
        threads,
        memory_pool,
        dict(config) if config else None,
        profiler,
    )

class GraphOptimizationLevel:
    """onnxruntime's levels, each mapped to a RONN level (ALL is O3)."""

    __slots__ = ("name", "value", "ronn_level")

    def __init__(self, name: str, value: int, ronn_level: int) -> None:
        self.name = name
        self.value = value
        self.ronn_level = ronn_level

    def __repr__(self) -> str:
        return f"<GraphOptimizationLevel.{self.name}: {self.value}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, GraphOptimizationLevel):
            return self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)

    ORT_DISABLE_ALL: "GraphOptimizationLevel"
    ORT_ENABLE_BASIC: "GraphOptimizationLevel"
    ORT_ENABLE_EXTENDED: "GraphOptimizationLevel"
    ORT_ENABLE_LAYOUT: "GraphOptimizationLevel"
    ORT_ENABLE_ALL: "GraphOptimizationLevel"


GraphOptimizationLevel.ORT_DISABLE_ALL = GraphOptimizationLevel("ORT_DISABLE_ALL", 0, 0)
GraphOptimizationLevel.ORT_ENABLE_BASIC = GraphOptimizationLevel("ORT_ENABLE_BASIC", 1, 1)
GraphOptimizationLevel.ORT_ENABLE_EXTENDED = GraphOptimizationLevel("ORT_ENABLE_EXTENDED", 2, 2)
GraphOptimizationLevel.ORT_ENABLE_LAYOUT = GraphOptimizationLevel("ORT_ENABLE_LAYOUT", 3, 3)
GraphOptimizationLevel.ORT_ENABLE_ALL = GraphOptimizationLevel("ORT_ENABLE_ALL", 99, 3)

def _feeds(inputs: Mapping[str, Any]) -> Dict[str, Any]:
    if not isinstance(inputs, Mapping):
        raise InvalidArgument(
            f"inputs are a mapping of name to array, not {type(inputs).__name__}"
        )
    return inputs if isinstance(inputs, dict) else dict(inputs)

#: A one-node (Identity) ONNX model, used to ask the library which providers it has.
_PROBE_MODEL = (
    b"\x08\x08\x12\x00:7\n\x10\n\x01x\x12\x01y\"\x08Identity\x12\x01pZ\x0f\n\x01x\x12\n\n\x08\x08\x01"
    b"\x12\x04\n\x02\x08\x01b\x0f\n\x01y\x12\n\n\x08\x08\x01\x12\x04\n\x02\x08\x01B\x04\n\x00\x10\r"
)
_available: Optional[List[str]] = None


def available_providers() -> List[str]:
    """RONN's names of the providers this build has ("cpu", ...), found once by
    asking the library (the C API reports a missing provider at session creation)."""
    global _available
    if _available is None:
        found = []
        for name in ProviderType._KNOWN:
            try:
                _ronn.Session(_PROBE_MODEL, 0, name, 1)
            except UnsupportedOp:
                continue
            found.append(name)
        _available = found
    return list(_available)
