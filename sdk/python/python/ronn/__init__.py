"""RONN for Python: a Rust ONNX inference runtime, over its C ABI.

Two ways in:

* the seed API -- ``ronn.Model.load(path)``, ``model.create_session(...)``,
  ``session.run({"input": array}) -> {"output": array}``;
* an onnxruntime-compatible ``ronn.InferenceSession``, so a program written
  for onnxruntime switches by changing its import.

Inputs are read in place when they are C-contiguous numpy arrays of an ONNX
element type (copied once otherwise); outputs are numpy arrays that own RONN's
tensor (no copy). The GIL is released while RONN loads and runs, so threads
sharing one session run in parallel; ``await session.run_async(...)`` computes
on RONN's threads, and ``BatchProcessor`` / ``Profiler`` mirror the engine's
batch queue and profiler. Every failure raises a ``RonnError``
subclass whose ``.code`` names the C status ("NOT_FOUND", ...).

This module is the pure-Python layer; ``ronn._ronn`` is the native module.
"""

from __future__ import annotations

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
    Profiler,
    QueueFull,
    Request,
    RonnError,
    ShapeMismatch,
    ShuttingDown,
    Timeout,
    TypeMismatch,
    UnsupportedOp,
    ValueInfo,
)

from ._options import GraphOptimizationLevel, OptimizationLevel, ProviderType, available_providers
from ._ort import InferenceSession, RunOptions, SessionOptions, get_available_providers, get_device
from ._session import Model, Session
from ._batch import BatchProcessor

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
    "BatchProcessor",
    "Profiler",
    "Request",
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


def version() -> str:
    """The library version (``ronn_version()``), equal to ``ronn.__version__``."""
    return _ronn.version()

