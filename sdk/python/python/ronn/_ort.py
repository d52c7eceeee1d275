"""The onnxruntime-compatible API: change ``import onnxruntime as ort`` to
``import ronn as ort`` and a program runs on RONN."""

from __future__ import annotations

import concurrent.futures
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ._options import (
    GraphOptimizationLevel,
    PathOrBytes,
    ProviderType,
    _RONN_TO_ORT,
    _feeds,
    _level_number,
    _model_source,
    _native_session,
    _provider_name,
    available_providers,
)
from . import _ronn
from ._ronn import InvalidArgument, MemoryPool, Profiler, RonnError, UnsupportedOp, ValueInfo
from ._session import _native_run_options


class SessionOptions:
    """onnxruntime's SessionOptions: the attributes RONN acts on are
    ``graph_optimization_level``, ``intra_op_num_threads`` (0: one per core) and
    ``enable_profiling`` (with ``profile_file_prefix``; ``end_profiling()``
    writes the Chrome trace); ``memory_pool`` and ``profiler`` are RONN's own.
    The rest are accepted and ignored, so that code setting them keeps working."""

    def __init__(self) -> None:
        self.graph_optimization_level: Any = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.intra_op_num_threads: int = 0
        self.inter_op_num_threads: int = 0
        self.execution_mode: Any = None
        self.log_severity_level: int = 2
        self.log_verbosity_level: int = 0
        self.logid: str = ""
        self.enable_profiling: bool = False
        self.profile_file_prefix: str = "onnxruntime_profile_"
        self.profiler: Optional[Profiler] = None
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
    """onnxruntime's RunOptions; RONN acts on ``profiler`` (a ``ronn.Profiler``
    timing the runs made with these options, instead of the session's). The
    other attributes are accepted and ignored."""

    def __init__(self, profiler: Optional[Profiler] = None) -> None:
        self.log_severity_level: int = 2
        self.log_verbosity_level: int = 0
        self.logid: str = ""
        self.run_tag: str = ""
        self.terminate: bool = False
        self.profiler: Optional[Profiler] = profiler
        self._cache: Optional[Tuple[Optional[Profiler], _ronn.RunOptions]] = None

    def _native(self) -> Optional["_ronn.RunOptions"]:
        """The native options for the current settings (None: the defaults)."""
        if self.profiler is None:
            return None
        if self._cache is None or self._cache[0] is not self.profiler:
            self._cache = (self.profiler, _ronn.RunOptions(self.profiler))
        return self._cache[1]

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
        self._profiler: Optional[Profiler] = opts.profiler
        if self._profiler is None and opts.enable_profiling:
            self._profiler = Profiler()
        self._profile_prefix = opts.profile_file_prefix
        wanted = [_provider_name(p[0] if isinstance(p, tuple) else p) for p in (providers or ["cpu"])]
        last: Optional[RonnError] = None
        for i, name in enumerate(wanted):
            try:
                self._sess = _native_session(
                    source, level, name, opts.intra_op_num_threads, opts.memory_pool, config, self._profiler
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
        return self._sess.run(_feeds(input_feed), names, _native_run_options(run_options))

    def run_async(
        self,
        output_names: Optional[Sequence[str]],
        input_feed: Mapping[str, Any],
        callback: Any,
        user_data: Any,
        run_options: Optional[RunOptions] = None,
    ) -> None:
        """onnxruntime's ``run_async``: computes on RONN's threads and calls
        ``callback(outputs, user_data, error_message)`` from RONN's completion
        thread (``outputs`` in ``output_names`` order, or None with the message
        on failure). Name errors are raised here."""
        names = list(output_names) if output_names else [o.name for o in self._outputs_meta]
        fut: "concurrent.futures.Future[Dict[str, np.ndarray]]" = concurrent.futures.Future()

        def _done(f: "concurrent.futures.Future[Dict[str, np.ndarray]]") -> None:
            err = f.exception()
            if err is not None:
                callback(None, user_data, str(err))
            else:
                res = f.result()
                callback([res[n] for n in names], user_data, "")

        fut.add_done_callback(_done)
        self._sess.run_async(_feeds(input_feed), fut, names, None, _native_run_options(run_options))

    def end_profiling(self) -> str:
        """Stops the session's profiler and writes its Chrome trace to
        ``<profile_file_prefix><date>.json``; returns that path ("" when the
        session has no profiler), as onnxruntime does."""
        if self._profiler is None:
            return ""
        self._profiler.stop()
        path = f"{self._profile_prefix}{time.strftime('%Y-%m-%d_%H-%M-%S')}.json"
        self._profiler.write_chrome_trace(path)
        return path

    def get_profiler(self) -> Optional[Profiler]:
        """RONN's profiler of this session (from ``enable_profiling`` or
        ``SessionOptions.profiler``), or None."""
        return self._profiler

    def stats(self) -> Dict[str, Any]:
        """RONN's run counters for this session."""
        return dict(self._sess.stats())

    def memory_pool(self) -> Optional[MemoryPool]:
        """The pool this session's runs use (None when it runs without one)."""
        return self._sess.memory_pool()
