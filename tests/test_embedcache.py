"""The embedding cache: a rebuild embeds only new texts and gives the very index a build from nothing gives."""

from __future__ import annotations

import logging

import numpy as np

from index.embedcache import cache_path
from index.store import build, open_index
from tests.conftest import FakeEmbedder

PASSAGES = {
    "pledges": [("a-1", "forby tråling i fjorden"), ("a-2", "sone 1 for bussen"), ("b-1", "flere sykkelveier")],
    "expansions": [("a-1", "stopp bunntråling"), ("b-1", "sykkel til skolen")],
}


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_passages(self, texts):
        self.embedded += texts
        return super().embed_passages(texts)


def _vectors(stored):
    return {name: c.vectors().tobytes() for name, c in stored.collections.items()}


def test_a_rebuild_after_an_edit_embeds_only_the_edited_text_and_equals_a_build_from_nothing(tmp_path):
    first = CountingEmbedder()
    build(tmp_path / "index", first, PASSAGES, cache=True)
    assert sorted(first.embedded) == sorted(t for rows in PASSAGES.values() for _, t in rows)
    assert cache_path(tmp_path / "index").is_file()

    edited = {**PASSAGES, "pledges": [*PASSAGES["pledges"][:2], ("b-1", "flere og bredere sykkelveier")]}
    again = CountingEmbedder()
    cached = build(tmp_path / "index", again, edited, cache=True)
    assert again.embedded == ["flere og bredere sykkelveier"]
    assert _vectors(cached) == _vectors(build(tmp_path / "fresh", FakeEmbedder(), edited))


def test_another_model_never_takes_the_cached_vectors(tmp_path):
    build(tmp_path / "index", FakeEmbedder(), PASSAGES, cache=True)

    class Other(CountingEmbedder):
        model_id = "another-model"

    other = Other()
    build(tmp_path / "index", other, PASSAGES, cache=True)
    assert len(other.embedded) == 5


def test_a_damaged_cache_is_an_empty_one_and_the_build_still_succeeds(tmp_path, caplog):
    build(tmp_path / "index", FakeEmbedder(), PASSAGES, cache=True)
    cache_path(tmp_path / "index").write_bytes(b"\x93NUMPY garbage")
    embedder = CountingEmbedder()
    with caplog.at_level(logging.WARNING):
        stored = build(tmp_path / "index", embedder, PASSAGES, cache=True)
    assert len(embedder.embedded) == 5 and "ignoring the embedding cache" in caplog.text
    assert np.allclose(np.linalg.norm(stored.collections["pledges"].vectors(), axis=1), 1.0, atol=1e-5)
    again = CountingEmbedder()
    open_index(tmp_path / "index2", again, PASSAGES, cache=True)
    assert len(again.embedded) == 5  # another index keeps its own cache


def test_switching_back_to_the_previous_passages_embeds_nothing(tmp_path):
    # A bare evaluation (expansions off) and back, or a rollback to the last edition.
    build(tmp_path / "index", FakeEmbedder(), PASSAGES, cache=True)
    build(tmp_path / "index", FakeEmbedder(), {"pledges": PASSAGES["pledges"]}, cache=True)
    back = CountingEmbedder()
    stored = build(tmp_path / "index", back, PASSAGES, cache=True)
    assert back.embedded == []
    assert _vectors(stored) == _vectors(build(tmp_path / "fresh", FakeEmbedder(), PASSAGES))


def test_the_cache_holds_the_last_build_and_at_most_as_many_of_the_one_before(tmp_path):
    build(tmp_path / "index", FakeEmbedder(), PASSAGES, cache=True)  # five texts
    build(tmp_path / "index", FakeEmbedder(), {"pledges": PASSAGES["pledges"][:1]}, cache=True)
    assert len(np.load(cache_path(tmp_path / "index"), allow_pickle=False)) == 2  # its one, and one more
    build(tmp_path / "index", FakeEmbedder(), {"pledges": [("c-1", "en ny tekst")]}, cache=True)
    table = np.load(cache_path(tmp_path / "index"), allow_pickle=False)
    assert len(table) == 2  # however many builds came before
    again = CountingEmbedder()  # the build before the last is the one kept beside it
    build(tmp_path / "index", again, {"pledges": PASSAGES["pledges"][:1]}, cache=True)
    assert again.embedded == []
