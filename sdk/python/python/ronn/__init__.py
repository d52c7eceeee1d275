"""RONN for Python: a Rust ONNX inference runtime, over its C ABI.

Two ways in:

* the seed API -- ``ronn.Model.load(path)``, ``model.create_session(...)``,
  ``session.run({"input": array}) -> {"output": array}``;
* an onnxruntime-compatible ``ronn.InferenceSession``, so a program written
  for onnxruntime switches by changing its import.

Inputs are read in place when they are C-contiguous numpy arrays of an ONNX
element type (copied once otherwise); outputs are numpy arrays that own RONN's
tensor (no copy). The GIL is released while RONN loads and runs, so threads
sharing one session run in parallel. Every failure raises a ``RonnError``
subclass whose ``.code`` names the C status ("NOT_FOUND", ...).

This module is the pure-Python layer; ``ronn._ronn`` is the native module.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _ronn
from ._ronn import (
    Cancelled,
    DeviceError,
    InternalError,
    InvalidArgument,
    InvalidHandle,
    InvalidModel,
    IoError,
    MemoryPool,
    NotFound,
    NullPointer,
    OutOfMemory,
    PanicError,
    Poisoned,
    QueueFull,
    RonnError,
    ShapeMismatch,
    ShuttingDown,
    Timeout,
    TypeMismatch,
    UnsupportedOp,
    ValueInfo,
)

__version__: str = _ronn.version()

__all__ = [
    "__version__",
    "version",
    "Model",
    "Session",
    "OptimizationLevel",
    "ProviderType",
    "InferenceSession",
    "SessionOptions",
    "RunOptions",
    "GraphOptimizationLevel",
    "NodeArg",
    "ValueInfo",
    "MemoryPool",
    "get_available_providers",
    "available_providers",
    "get_device",
    "RonnError",
    "InvalidArgument",
    "NullPointer",
    "NotFound",
    "InvalidModel",
    "UnsupportedOp",
    "ShapeMismatch",
    "TypeMismatch",
    "OutOfMemory",
    "DeviceError",
    "Cancelled",
    "Timeout",
    "QueueFull",
    "ShuttingDown",
    "Poisoned",
    "PanicError",
    "InternalError",
    "IoError",
    "InvalidHandle",
]

#: onnxruntime calls a value's metadata a NodeArg (``.name``, ``.type``, ``.shape``).
NodeArg = ValueInfo

PathOrBytes = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def version() -> str:
    """The library version (``ronn_version()``), equal to ``ronn.__version__``."""
    return _ronn.version()


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
    )


class Session:
    """A model prepared for running (from ``Model.create_session``).

    ``run`` may be called from many threads at once.
    """

    __slots__ = ("_native", "_provider", "_level", "_out_names")

    def __init__(self, native: "_ronn.Session", provider: str, level: int) -> None:
        self._native = native
        self._provider = provider
        self._level = level
        self._out_names = [o.name for o in native.outputs()]

    def run(
        self, inputs: Mapping[str, Any], outputs: Optional[Sequence[str]] = None
    ) -> Dict[str, np.ndarray]:
        """Runs the model: ``{"input": array}`` in, ``{"output": array}`` out
        (only the outputs named in ``outputs`` when given)."""
        names = list(outputs) if outputs else self._out_names
        arrays = self._native.run(_feeds(inputs), names)
        return dict(zip(names, arrays))

    async def run_async(
        self, inputs: Mapping[str, Any], outputs: Optional[Sequence[str]] = None
    ) -> Dict[str, np.ndarray]:
        """``await session.run_async({...})``: ``run`` without blocking the event loop.

        Interim: the run goes to the loop's default executor (the GIL is released
        while RONN computes, so the loop keeps going). When the C API's
        ``ronn_session_run_async`` lands, the same call computes on RONN's threads
        and completes through ``call_soon_threadsafe`` instead.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.run, inputs, outputs))

    def inputs(self) -> List[ValueInfo]:
        """The model's inputs: ``.name``, ``.dtype``, ``.shape``, ``.type``."""
        return self._native.inputs()

    def outputs(self) -> List[ValueInfo]:
        """The model's outputs."""
        return self._native.outputs()

    def stats(self) -> Dict[str, Any]:
        """Run counters (runs, failed_runs, total/mean/min/max/last ms) and the
        session's settings."""
        s: Dict[str, Any] = dict(self._native.stats())
        s["provider"] = self._provider
        s["optimization_level"] = f"O{self._level}"
        pool = self._native.memory_pool()
        if pool is not None:
            s["memory_pool"] = pool.stats()
        return s

    def memory_pool(self) -> Optional[MemoryPool]:
        """The pool this session's runs use (None when it runs without one)."""
        return self._native.memory_pool()

    @property
    def provider(self) -> str:
        """The provider the session runs on."""
        return self._provider

    def __repr__(self) -> str:
        ins = ", ".join(i.name for i in self.inputs())
        return f"<ronn.Session inputs=[{ins}] provider={self._provider} O{self._level}>"


def _feeds(inputs: Mapping[str, Any]) -> Dict[str, Any]:
    if not isinstance(inputs, Mapping):
        raise InvalidArgument(
            f"inputs are a mapping of name to array, not {type(inputs).__name__}"
        )
    return inputs if isinstance(inputs, dict) else dict(inputs)


class Model:
    """An ONNX model, loaded and checked; make sessions from it.

    The C API builds sessions straight from the model, so a Model keeps its
    path (or bytes) and a light O0 session that answers ``inputs()``/``outputs()``.
    """

    __slots__ = ("_source", "_meta")

    def __init__(self, source: Union[str, bytes]) -> None:
        self._source = source
        self._meta = _native_session(source, 0, "cpu", 1, None)

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Model":
        """Loads the model at ``path`` (IoError, InvalidModel, UnsupportedOp)."""
        return cls(os.fspath(path))

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "Model":
        """Loads a model from the bytes of an ONNX file."""
        return cls(bytes(data))

    def inputs(self) -> List[ValueInfo]:
        """The model's inputs: ``.name``, ``.dtype``, ``.shape``, ``.type``."""
        return self._meta.inputs()

    def outputs(self) -> List[ValueInfo]:
        """The model's outputs."""
        return self._meta.outputs()

    def create_session(
        self,
        optimization_level: Union[str, int, OptimizationLevel] = "O3",
        provider: Union[str, ProviderType] = "cpu",
        num_threads: Optional[int] = 4,
        memory_pool: Optional[MemoryPool] = None,
    ) -> Session:
        """A session with these settings. ``num_threads=0`` (or None) means one
        per core; ``memory_pool`` shares buffers with other sessions using it.
        A provider this build lacks raises UnsupportedOp naming those it has."""
        level = _level_number(optimization_level)
        name = _provider_name(provider)
        native = _native_session(self._source, level, name, num_threads, memory_pool)
        return Session(native, name, level)

    def __repr__(self) -> str:
        src = self._source if isinstance(self._source, str) else f"<{len(self._source)} bytes>"
        return f"<ronn.Model {src}>"


# --- the onnxruntime-compatible API -------------------------------------------


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


class SessionOptions:
    """onnxruntime's SessionOptions: the attributes RONN acts on are
    ``graph_optimization_level`` and ``intra_op_num_threads`` (0: one per core);
    ``memory_pool`` is RONN's own. The rest are accepted and ignored, so that
    code setting them keeps working."""

    def __init__(self) -> None:
        self.graph_optimization_level: Any = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.intra_op_num_threads: int = 0
        self.inter_op_num_threads: int = 0
        self.execution_mode: Any = None
        self.log_severity_level: int = 2
        self.log_verbosity_level: int = 0
        self.logid: str = ""
        self.enable_profiling: bool = False
        self.enable_cpu_mem_arena: bool = True
        self.enable_mem_pattern: bool = True
        self.optimized_model_filepath: str = ""
        self.memory_pool: Optional[MemoryPool] = None
        self._config: Dict[str, str] = {}

    def add_session_config_entry(self, key: str, value: str) -> None:
        """Stores an entry; keys RONN knows ("optimization_level", "provider",
        "num_threads", "memory_pool") are passed to ``ronn_session_options_set``."""
        self._config[str(key)] = str(value)

    def get_session_config_entry(self, key: str) -> str:
        """The stored entry (KeyError when absent, as onnxruntime raises)."""
        return self._config[key]


_RONN_CONFIG_KEYS = ("optimization_level", "provider", "num_threads", "memory_pool")


class RunOptions:
    """onnxruntime's RunOptions: accepted, not acted on yet (the C API reserves
    run options for cancellation and per-run profiling)."""

    def __init__(self) -> None:
        self.log_severity_level: int = 2
        self.log_verbosity_level: int = 0
        self.logid: str = ""
        self.run_tag: str = ""
        self.terminate: bool = False


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


def get_available_providers() -> List[str]:
    """onnxruntime's spelling of the providers this build has."""
    return [_RONN_TO_ORT.get(p, p) for p in available_providers()]


def get_device() -> str:
    """onnxruntime's device string for this build."""
    return "CPU"


ProviderSpec = Union[str, ProviderType, Tuple[str, Dict[str, Any]]]


class InferenceSession:
    """onnxruntime's InferenceSession over RONN: change ``import onnxruntime as
    ort`` to ``import ronn as ort`` and the program runs on RONN.

    ``providers`` is tried in order; the first that this build has is used
    (UnsupportedOp, naming the available ones, when none is)."""

    def __init__(
        self,
        path_or_bytes: PathOrBytes,
        sess_options: Optional[SessionOptions] = None,
        providers: Optional[Sequence[ProviderSpec]] = None,
        provider_options: Optional[Sequence[Dict[str, Any]]] = None,
        **kwargs: Any,
    ) -> None:
        self._model_path = path_or_bytes if isinstance(path_or_bytes, (str, os.PathLike)) else None
        source = _model_source(path_or_bytes)
        opts = sess_options if sess_options is not None else SessionOptions()
        self._sess_options = opts
        level = _level_number(opts.graph_optimization_level)
        config = {k: v for k, v in opts._config.items() if k in _RONN_CONFIG_KEYS}
        wanted = [_provider_name(p[0] if isinstance(p, tuple) else p) for p in (providers or ["cpu"])]
        last: Optional[RonnError] = None
        for i, name in enumerate(wanted):
            try:
                self._sess = _native_session(
                    source, level, name, opts.intra_op_num_threads, opts.memory_pool, config
                )
            except UnsupportedOp as e:
                # onnxruntime falls back along the list; only a missing provider does.
                if i + 1 < len(wanted) and "provider" in str(e):
                    last = e
                    continue
                raise
            self._provider = name
            break
        else:  # pragma: no cover - the loop either breaks or raises
            raise last if last else InvalidArgument("no provider given")
        self._inputs_meta = self._sess.inputs()
        self._outputs_meta = self._sess.outputs()

    def get_inputs(self) -> List[ValueInfo]:
        """The model's inputs (NodeArg-like: ``.name``, ``.type``, ``.shape``)."""
        return list(self._inputs_meta)

    def get_outputs(self) -> List[ValueInfo]:
        """The model's outputs."""
        return list(self._outputs_meta)

    def get_overridable_initializers(self) -> List[ValueInfo]:
        """Initializers that may be fed as inputs (RONN reports none)."""
        return []

    def get_providers(self) -> List[str]:
        """The provider in use, in onnxruntime's spelling."""
        return [_RONN_TO_ORT.get(self._provider, self._provider)]

    def get_provider_options(self) -> Dict[str, Dict[str, str]]:
        """Per-provider options (none)."""
        return {p: {} for p in self.get_providers()}

    def get_session_options(self) -> SessionOptions:
        """The options the session was made with."""
        return self._sess_options

    def run(
        self,
        output_names: Optional[Sequence[str]],
        input_feed: Mapping[str, Any],
        run_options: Optional[RunOptions] = None,
    ) -> List[np.ndarray]:
        """Runs the model; returns the outputs in ``output_names`` order (all
        outputs when None or empty)."""
        names = list(output_names) if output_names else [o.name for o in self._outputs_meta]
        return self._sess.run(_feeds(input_feed), names)

    def stats(self) -> Dict[str, Any]:
        """RONN's run counters for this session."""
        return dict(self._sess.stats())

    def memory_pool(self) -> Optional[MemoryPool]:
        """The pool this session's runs use (None when it runs without one)."""
        return self._sess.memory_pool()
