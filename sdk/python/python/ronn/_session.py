"""The seed API: ``Model.load(path)`` -> ``model.create_session(...)`` ->
``session.run({"input": array}) -> {"output": array}``."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _ronn
from ._options import OptimizationLevel, ProviderType, _feeds, _level_number, _native_session, _provider_name
from ._ronn import InvalidArgument
from ._ronn import MemoryPool, Profiler, ValueInfo


def _native_run_options(run_options: Any) -> Optional["_ronn.RunOptions"]:
    """The native options of a ``ronn.RunOptions`` (or a native one, or None)."""
    if run_options is None or isinstance(run_options, _ronn.RunOptions):
        return run_options
    native = getattr(run_options, "_native", None)
    if native is None:
        raise InvalidArgument(f"run_options must be ronn.RunOptions, not {type(run_options).__name__}")
    result: Optional[_ronn.RunOptions] = native()
    return result


async def _await_native(
    native: "_ronn.Session",
    feeds: Dict[str, Any],
    names: Optional[List[str]],
    run_options: Optional["_ronn.RunOptions"],
) -> Dict[str, np.ndarray]:
    """Submits one run through ``ronn_session_run_async`` and awaits its future.

    RONN computes on its own threads; its completion thread takes the GIL and
    hands the result to this loop with ``call_soon_threadsafe``. Cancelling the
    awaiting task cancels the run (``ronn_request_cancel``)."""
    loop = asyncio.get_running_loop()
    fut: "asyncio.Future[Dict[str, np.ndarray]]" = loop.create_future()
    req = native.run_async(feeds, fut, names, loop, run_options)

    def _cancel(f: "asyncio.Future[Dict[str, np.ndarray]]") -> None:
        if f.cancelled():
            req.cancel()

    fut.add_done_callback(_cancel)
    return await fut


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
        self,
        inputs: Mapping[str, Any],
        outputs: Optional[Sequence[str]] = None,
        run_options: Any = None,
    ) -> Dict[str, np.ndarray]:
        """Runs the model: ``{"input": array}`` in, ``{"output": array}`` out
        (only the outputs named in ``outputs`` when given). ``run_options``
        (``ronn.RunOptions(profiler=p)``) times this run into a profiler."""
        names = list(outputs) if outputs else self._out_names
        arrays = self._native.run(_feeds(inputs), names, _native_run_options(run_options))
        return dict(zip(names, arrays))

    async def run_async(
        self,
        inputs: Mapping[str, Any],
        outputs: Optional[Sequence[str]] = None,
        run_options: Any = None,
    ) -> Dict[str, np.ndarray]:
        """``await session.run_async({...})``: ``run`` without blocking the event loop.

        The run computes on RONN's threads (``ronn_session_run_async``), not on
        the loop's executor; the result is handed to the loop with
        ``call_soon_threadsafe``. Errors raise the same ``RonnError`` subclasses
        as ``run``; cancelling the awaiting task cancels the run.
        """
        names = list(outputs) if outputs else None
        return await _await_native(self._native, _feeds(inputs), names, _native_run_options(run_options))

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
        profiler: Optional[Profiler] = None,
    ) -> Session:
        """A session with these settings. ``num_threads=0`` (or None) means one
        per core; ``memory_pool`` shares buffers with other sessions using it;
        ``profiler`` times every run of the session.
        A provider this build lacks raises UnsupportedOp naming those it has."""
        level = _level_number(optimization_level)
        name = _provider_name(provider)
        native = _native_session(self._source, level, name, num_threads, memory_pool, profiler=profiler)
        return Session(native, name, level)

    def __repr__(self) -> str:
        src = self._source if isinstance(self._source, str) else f"<{len(self._source)} bytes>"
        return f"<ronn.Model {src}>"
