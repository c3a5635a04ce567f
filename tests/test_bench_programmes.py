"""The many-programmes benchmark's own parts: what it generates and how it shares embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpus.parse import parse_file
from qa.operations.bench_programmes import CachedEmbedder, counts_up_to, generate
from qa.programmes.registry import load_registry
from tests.conftest import FakeEmbedder


def test_counts_grow_up_to_the_number_asked():
    assert counts_up_to(1) == [1]
    assert counts_up_to(200) == [1, 10, 50, 200]
    assert counts_up_to(30) == [1, 10, 30]


def test_generated_programmes_are_a_valid_registry_of_this_programme(tmp_path: Path):
    generate(tmp_path, 3)
    entries = load_registry(tmp_path)
    assert [e.slug for e in entries] == ["p00000", "p00001", "p00002"] and entries[0].default
    texts = [[p.text for p in parse_file(e.programme).pledges] for e in entries]
    assert len(texts[0]) == 449
    assert texts[1] == texts[0] == texts[2]


def test_the_cached_embedder_embeds_each_text_once():
    inner = FakeEmbedder()
    cached = CachedEmbedder(inner)
    first = cached.embed_passages(["a b", "c d", "a b"])
    calls = inner.calls
    again = cached.embed_passages(["c d", "a b"])
    assert inner.calls == calls  # nothing new to embed
    assert np.array_equal(again, first[[1, 0]]) and np.array_equal(first[0], first[2])
