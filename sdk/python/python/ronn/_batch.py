"""``BatchProcessor``: the engine's batch queue (``ronn_batch_queue``) for
Python. Requests from any number of threads (or asyncio tasks) are merged
along the first axis and run together on the queue's own thread; each request
gets back its own rows."""

from __future__ import annotations

import asyncio
import concurrent.futures
from types import TracebackType
from typing import Any, Dict, List, Mapping, Optional, Sequence, Type, Union

import numpy as np

from . import _ronn
from ._options import _feeds
from ._ronn import InvalidArgument

_STRATEGIES = {"static": 0, "dynamic": 1}

Result = Dict[str, np.ndarray]


def _native_of(session: Any) -> "_ronn.Session":
    """The native session of a ``ronn.Session``, ``ronn.InferenceSession`` or ``_ronn.Session``."""
    if isinstance(session, _ronn.Session):
        return session
    for attr in ("_native", "_sess"):
        native = getattr(session, attr, None)
        if isinstance(native, _ronn.Session):
            return native
    raise InvalidArgument(f"a BatchProcessor needs a ronn session, not {type(session).__name__}")


class BatchProcessor:
    """Batches requests to one session, as the engine's BatchProcessor does.

    ``strategy="dynamic"`` runs a batch when ``max_batch_size`` rows are waiting
    or the oldest request waited ``max_delay_ms``; ``"static"`` only runs full
    batches (and partial ones on ``flush()`` or ``close()``). Every model input
    needs a symbolic first dim (the batch axis). At most ``queue_capacity``
    requests wait at once; one more raises ``QueueFull`` at once.

    ``submit(feeds)`` returns a ``concurrent.futures.Future`` of
    ``{name: array}``; ``await process(feeds)`` is the asyncio form. Cancelling
    either future cancels the request.
    """

    __slots__ = ("_queue", "_out_names", "_closed")

    def __init__(
        self,
        session: Any,
        strategy: str = "dynamic",
        max_batch_size: int = 32,
        max_delay_ms: float = 5.0,
        queue_capacity: int = 1024,
    ) -> None:
        if strategy not in _STRATEGIES:
            raise InvalidArgument(f'unknown batch strategy {strategy!r}; use "dynamic" or "static"')
        if max_batch_size < 1:
            raise InvalidArgument(f"max_batch_size must be >= 1, not {max_batch_size}")
        if queue_capacity < 1:
            raise InvalidArgument(f"queue_capacity must be >= 1, not {queue_capacity}")
        if max_delay_ms < 0:
            raise InvalidArgument(f"max_delay_ms must be >= 0, not {max_delay_ms}")
        native = _native_of(session)
        self._queue = _ronn.BatchQueue(
            native,
            _STRATEGIES[strategy],
            int(max_batch_size),
            int(round(max_delay_ms * 1000.0)),
            int(queue_capacity),
        )
        self._out_names = [o.name for o in native.outputs()]
        self._closed = False

    def _names(self, outputs: Optional[Sequence[str]]) -> Optional[List[str]]:
        return list(outputs) if outputs else None

    def submit(
        self, feeds: Mapping[str, Any], outputs: Optional[Sequence[str]] = None
    ) -> "concurrent.futures.Future[Result]":
        """Queues one request without blocking; the future receives this
        request's rows of each output (or its ``RonnError``). Raises
        ``QueueFull`` / ``ShuttingDown`` (and name, dtype, shape errors) at once."""
        fut: "concurrent.futures.Future[Result]" = concurrent.futures.Future()
        req = self._queue.submit(_feeds(feeds), fut, self._names(outputs), None)

        def _cancel(f: "concurrent.futures.Future[Result]") -> None:
            if f.cancelled():
                req.cancel()

        fut.add_done_callback(_cancel)
        return fut

    async def process(self, feeds: Mapping[str, Any], outputs: Optional[Sequence[str]] = None) -> Result:
        """``await batcher.process(feeds)``: ``submit`` for asyncio (the result
        reaches the loop through ``call_soon_threadsafe``)."""
        loop = asyncio.get_running_loop()
        fut: "asyncio.Future[Result]" = loop.create_future()
        req = self._queue.submit(_feeds(feeds), fut, self._names(outputs), loop)

        def _cancel(f: "asyncio.Future[Result]") -> None:
            if f.cancelled():
                req.cancel()

        fut.add_done_callback(_cancel)
        return await fut

    def flush(self) -> None:
        """Runs every partial batch now (does not wait for them)."""
        self._queue.flush()

    def close(self, drain: bool = True) -> None:
        """Stops taking requests; the waiting ones run (``drain``) or fail with
        ``Cancelled``. Blocks until the running batches finish. Idempotent."""
        self._closed = True
        self._queue.close(drain)

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._closed

    def stats(self) -> Dict[str, Union[int, float]]:
        """requests, rejected, cancelled, batches, average_batch_size,
        queue_wait_p50_ms, queue_wait_p99_ms, utilization, max_queue_depth, queue_depth."""
        return dict(self._queue.stats())

    def __enter__(self) -> "BatchProcessor":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close(drain=exc_type is None)

    def __repr__(self) -> str:
        return f"<ronn.BatchProcessor closed={self._closed}>"
