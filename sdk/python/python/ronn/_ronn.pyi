"""Type stubs of the native module ronn._ronn (bindings/python), checked by
``python -m mypy.stubtest ronn._ronn``."""

import os
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Union, final

import numpy as np

__all__ = [
    "API_VERSION",
    "__version__",
    "version",
    "api_version",
    "live_handle_count",
    "status_name",
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
    "Session",
    "ValueInfo",
    "MemoryPool",
    "TensorOwner",
    "Request",
    "BatchQueue",
    "Profiler",
    "RunOptions",
]

API_VERSION: int
__version__: str

def version() -> str: ...
def api_version() -> int: ...
def live_handle_count() -> int: ...
def status_name(status: int) -> str: ...

class RonnError(Exception):
    code: ClassVar[str]
    status: ClassVar[int]

class InvalidArgument(RonnError): ...
class NullPointer(RonnError): ...
class NotFound(RonnError): ...
class InvalidModel(RonnError): ...
class UnsupportedOp(RonnError): ...
class ShapeMismatch(RonnError): ...
class TypeMismatch(RonnError): ...
class OutOfMemory(RonnError): ...
class DeviceError(RonnError): ...
class Cancelled(RonnError): ...
class Timeout(RonnError): ...
class QueueFull(RonnError): ...
class ShuttingDown(RonnError): ...
class Poisoned(RonnError): ...
class PanicError(RonnError): ...
class InternalError(RonnError): ...
class IoError(RonnError): ...
class InvalidHandle(RonnError): ...

@final
class ValueInfo:
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def dtype(self) -> Optional[str]: ...
    @property
    def onnx_dtype(self) -> int: ...
    @property
    def shape(self) -> List[Union[int, str, None]]: ...

@final
class TensorOwner:
    @property
    def nbytes(self) -> int: ...

@final
class MemoryPool:
    def __new__(
        cls,
        round_sizes: Optional[bool] = None,
        max_buffers_per_size: Optional[int] = None,
        max_total_buffers: Optional[int] = None,
        max_total_bytes: Optional[int] = None,
        min_buffer_bytes: Optional[int] = None,
    ) -> MemoryPool: ...
    def stats(self) -> Dict[str, int]: ...
    def trim(self, max_bytes: int = 0) -> int: ...

@final
class Profiler:
    def __new__(
        cls,
        ops: bool = True,
        memory: bool = True,
        transfer: bool = True,
        max_events: int = 1000000,
        min_duration_us: int = 0,
        start: bool = True,
    ) -> Profiler: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def clear(self) -> None: ...
    @property
    def event_count(self) -> int: ...
    @property
    def dropped_events(self) -> int: ...
    def chrome_trace(self) -> str: ...
    def write_chrome_trace(self, path: Union[str, "os.PathLike[str]"]) -> None: ...
    def report(self) -> Dict[str, Any]: ...

@final
class RunOptions:
    def __new__(cls, profiler: Optional[Profiler] = None) -> RunOptions: ...

@final
class Request:
    def cancel(self) -> None: ...
    def wait(self, timeout: Optional[float] = None) -> bool: ...
    def done(self) -> bool: ...

@final
class BatchQueue:
    def __new__(
        cls,
        session: Session,
        strategy: int = 1,
        max_batch: int = 32,
        max_delay_us: int = 5000,
        max_pending: int = 1024,
    ) -> BatchQueue: ...
    def submit(
        self,
        feeds: Dict[str, Any],
        future: Any,
        output_names: Optional[List[str]] = None,
        event_loop: Optional[Any] = None,
    ) -> Request: ...
    def flush(self) -> None: ...
    def close(self, drain: bool = True) -> None: ...
    def stats(self) -> Dict[str, Union[int, float]]: ...

@final
class Session:
    def __new__(
        cls,
        model: Union[str, bytes],
        optimization_level: int = 2,
        provider: str = "cpu",
        num_threads: int = 0,
        memory_pool: Optional[MemoryPool] = None,
        config: Optional[Mapping[str, str]] = None,
        profiler: Optional[Profiler] = None,
    ) -> Session: ...
    def inputs(self) -> List[ValueInfo]: ...
    def outputs(self) -> List[ValueInfo]: ...
    def run(
        self,
        feeds: Dict[str, Any],
        output_names: Optional[List[str]] = None,
        run_options: Optional[RunOptions] = None,
    ) -> List[np.ndarray[Any, Any]]: ...
    def run_async(
        self,
        feeds: Dict[str, Any],
        future: Any,
        output_names: Optional[List[str]] = None,
        event_loop: Optional[Any] = None,
        run_options: Optional[RunOptions] = None,
    ) -> Request: ...
    def stats(self) -> Dict[str, float]: ...
    def memory_pool(self) -> Optional[MemoryPool]: ...
