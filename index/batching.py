"""Micro-batching: concurrent single-text calls share one model call.

The engine embeds a batch far more cheaply than the same texts one by one (its weights are
streamed once for the whole batch), but each web request asks for one question. While the
engine is busy, arriving questions wait; the next caller to get the engine takes every
waiting question along in one batch. An idle server adds no delay: a lone question goes
straight through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np


class _Slot:
    __slots__ = ("text", "vector", "error")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None


class MicroBatcher:
    """Wraps `embed(texts) -> (n, dim)` so that `one(text)` calls from many threads are batched."""

    def __init__(
        self, embed: Callable[[list[str]], np.ndarray], engine_lock: threading.Lock, max_batch: int = 16
    ) -> None:
        """`engine_lock` is held around every call of `embed`; share it with other users of the engine."""
        self._embed = embed
        self._max_batch = max_batch
        self._queue_lock = threading.Lock()
        self._engine_lock = engine_lock
        self._waiting: list[_Slot] = []

    def one(self, text: str) -> np.ndarray:
        """The vector of one text, possibly computed together with other threads' texts."""
        slot = _Slot(text)
        with self._queue_lock:
            self._waiting.append(slot)
        while slot.vector is None and slot.error is None:
            with self._engine_lock:
                if slot.vector is not None or slot.error is not None:
                    break  # an earlier batch already carried this text
                with self._queue_lock:
                    batch = self._waiting[: self._max_batch]
                    del self._waiting[: self._max_batch]
                try:
                    vectors = self._embed([s.text for s in batch])
                    for s, v in zip(batch, vectors):
                        s.vector = v
                except BaseException as exc:  # hand the failure to every caller in the batch
                    for s in batch:
                        s.error = exc
        if slot.error is not None:
            raise slot.error
        return slot.vector
