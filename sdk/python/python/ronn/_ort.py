"""The onnxruntime-compatible API: change ``import onnxruntime as ort`` to
``import ronn as ort`` and a program runs on RONN."""

from __future__ import annotations

import os
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
from ._ronn import InvalidArgument, MemoryPool, RonnError, UnsupportedOp, ValueInfo


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
