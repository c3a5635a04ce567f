"""The FAISS index on disk: round trip, and every reason it must be rebuilt."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest

from index.errors import IndexFailure
from index.store import MANIFEST, IndexStale, build, content_hash, load, open_index
from tests.conftest import FakeEmbedder

PASSAGES = {
    "pledges": [("a-1", "forby tråling i fjorden"), ("a-2", "sone 1 for bussen"), ("b-1", "flere sykkelveier")],
    "sections": [("a", "Fjorden"), ("b", "Sykkel")],
}


class OtherModel(FakeEmbedder):
    model_id = "another-model"


def test_build_then_load_gives_the_same_vectors_and_keys(tmp_path):
    built = build(tmp_path / "idx", FakeEmbedder(), PASSAGES)
    loaded = load(tmp_path / "idx", model_id=FakeEmbedder.model_id, content=content_hash(PASSAGES))
    for name in PASSAGES:
        assert loaded.collections[name].keys == built.collections[name].keys
        np.testing.assert_allclose(loaded.collections[name].vectors(), built.collections[name].vectors())
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert manifest["format"] == 1 and manifest["model"] == "fake-embedder" and manifest["dim"] == 256
    assert set(manifest["files"]) == {"pledges.faiss", "sections.faiss", "keys.json"}


def test_vectors_are_normalised_and_search_returns_best_first(tmp_path):
    embedder = FakeEmbedder()
    stored = build(tmp_path / "idx", embedder, PASSAGES)
    pledges = stored.collections["pledges"]
    np.testing.assert_allclose(np.linalg.norm(pledges.vectors(), axis=1), 1.0, rtol=1e-5)
    hits = pledges.search(embedder.embed_queries(["sykkelveier"])[0], k=10)
    assert [key for key, _ in hits][0] == "b-1"
    assert len(hits) == 3  # k is clamped to the collection size
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def _counting_open(path, embedder, passages):
    before = embedder.calls
    open_index(path, embedder, passages)
    return embedder.calls - before  # embedding calls made: 0 means it was loaded, not built


def test_an_up_to_date_index_is_loaded_not_rebuilt(tmp_path):
    embedder = FakeEmbedder()
    build(tmp_path / "idx", embedder, PASSAGES)
    assert _counting_open(tmp_path / "idx", embedder, PASSAGES) == 0


def test_a_missing_index_is_built(tmp_path):
    assert _counting_open(tmp_path / "idx", FakeEmbedder(), PASSAGES) > 0
    assert (tmp_path / "idx" / MANIFEST).is_file()


def test_a_changed_corpus_causes_a_rebuild(tmp_path, caplog):
    embedder = FakeEmbedder()
    build(tmp_path / "idx", embedder, PASSAGES)
    changed = {**PASSAGES, "pledges": [*PASSAGES["pledges"], ("b-2", "ny lovnad")]}
    with caplog.at_level(logging.WARNING):
        assert _counting_open(tmp_path / "idx", embedder, changed) > 0
    assert "corpus or its passages changed" in caplog.text
    assert "b-2" in load(tmp_path / "idx", model_id=embedder.model_id, content=content_hash(changed)).collections[
        "pledges"
    ].keys


def test_a_changed_model_causes_a_rebuild(tmp_path, caplog):
    build(tmp_path / "idx", FakeEmbedder(), PASSAGES)
    with caplog.at_level(logging.WARNING):
        assert _counting_open(tmp_path / "idx", OtherModel(), PASSAGES) > 0
    assert "'another-model'" in caplog.text


def test_a_truncated_file_causes_a_rebuild_with_a_warning_naming_it(tmp_path, caplog):
    embedder = FakeEmbedder()
    build(tmp_path / "idx", embedder, PASSAGES)
    target = tmp_path / "idx" / "pledges.faiss"
    target.write_bytes(target.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        assert _counting_open(tmp_path / "idx", embedder, PASSAGES) > 0
    assert "pledges.faiss fails its checksum" in caplog.text
    load(tmp_path / "idx", model_id=embedder.model_id, content=content_hash(PASSAGES))  # usable again


def test_a_corrupted_byte_causes_a_rebuild(tmp_path):
    embedder = FakeEmbedder()
    build(tmp_path / "idx", embedder, PASSAGES)
    target = tmp_path / "idx" / "sections.faiss"
    data = bytearray(target.read_bytes())
    data[-5] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(IndexStale, match="sections.faiss fails its checksum"):
        load(tmp_path / "idx", model_id=embedder.model_id, content=content_hash(PASSAGES))
    assert _counting_open(tmp_path / "idx", embedder, PASSAGES) > 0


def test_a_missing_file_causes_a_rebuild(tmp_path, caplog):
    embedder = FakeEmbedder()
    build(tmp_path / "idx", embedder, PASSAGES)
    (tmp_path / "idx" / "keys.json").unlink()
    with caplog.at_level(logging.WARNING):
        assert _counting_open(tmp_path / "idx", embedder, PASSAGES) > 0
    assert "keys.json is missing" in caplog.text


def test_a_garbled_manifest_causes_a_rebuild(tmp_path):
    embedder = FakeEmbedder()
    build(tmp_path / "idx", embedder, PASSAGES)
    (tmp_path / "idx" / MANIFEST).write_text("{not json", encoding="utf-8")
    assert _counting_open(tmp_path / "idx", embedder, PASSAGES) > 0


class ExplodingEmbedder(FakeEmbedder):
    """Fails half-way through a build, like a crash or Ctrl-C."""

    def embed_passages(self, texts):
        raise KeyboardInterrupt


def test_a_crash_during_a_build_leaves_the_previous_index_usable(tmp_path):
    build(tmp_path / "idx", FakeEmbedder(), PASSAGES)
    changed = {**PASSAGES, "sections": [("a", "Fjorden, endret")]}
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path / "idx", ExplodingEmbedder(), changed)
    stored = load(tmp_path / "idx", model_id=FakeEmbedder.model_id, content=content_hash(PASSAGES))
    assert stored.collections["sections"].keys == ("a", "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".idx.lock", "idx"]  # no half-written folder left behind


@pytest.mark.parametrize("stray", ["__init__.py", "notes.txt", "mdg-baerum"])
def test_a_build_never_replaces_a_folder_of_other_files(tmp_path, fake_embedder, stray):
    # QA_VAR_DIR="" once made the index folder the checkout's own `index/` package.
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / stray).mkdir() if stray == "mdg-baerum" else (folder / stray).write_text("keep me")
    passages = {"pledges": [("a-1", "en tekst")]}
    with pytest.raises(IndexFailure, match=re.escape(f"holds files that are not an index ({stray})")):
        open_index(folder, fake_embedder, passages)
    with pytest.raises(IndexFailure, match="holds files that are not an index"):
        build(folder, fake_embedder, passages)
    assert (folder / stray).exists() and sorted(p.name for p in folder.iterdir()) == [stray]


def test_a_build_replaces_its_own_index_and_fills_an_empty_folder(tmp_path, fake_embedder):
    folder = tmp_path / "index"
    folder.mkdir()
    open_index(folder, fake_embedder, {"pledges": [("a-1", "en tekst")]})
    open_index(folder, fake_embedder, {"pledges": [("a-1", "en annen tekst")]})  # stale: rebuilt in place
    assert load(folder, model_id=fake_embedder.model_id, content=content_hash({"pledges": [("a-1", "en annen tekst")]}))
