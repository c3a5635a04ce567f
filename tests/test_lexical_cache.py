"""The lexical table kept between starts (qa.answering.lexical.cached): the same table, for the
same documents only, and a damaged or unwritable file never stops a start."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from qa.answering import lexical
from qa.answering.lexical import CharTfidf, cached

DOCUMENTS = [
    "Samferdsel: billigere buss og flere sykkelveier i Bærum",
    "Oslofjorden: stans bunntråling i indre Oslofjord",
    "Skole: gratis skolefrukt og mindre lekser",
    "",
]
QUESTIONS = ["hva med bussen?", "tråling", "skolefrukt", "zzz", ""]


def _same(a: CharTfidf, b: CharTfidf) -> bool:
    return all(a.scores(q).tobytes() == b.scores(q).tobytes() for q in QUESTIONS)


def test_a_kept_table_is_read_back_instead_of_built_and_answers_bit_for_bit(tmp_path: Path, monkeypatch):
    path = tmp_path / ".index.lexical.npz"
    built = cached(DOCUMENTS, path)
    assert path.is_file() and _same(built, CharTfidf(DOCUMENTS))

    def no_building(self, documents):
        raise AssertionError("built again although it was kept")

    monkeypatch.setattr(CharTfidf, "__init__", no_building)
    assert _same(cached(DOCUMENTS, path), built)


def test_other_documents_build_their_own_table_and_replace_the_kept_one(tmp_path: Path):
    path = tmp_path / ".index.lexical.npz"
    cached(DOCUMENTS, path)
    edited = [*DOCUMENTS[:-1], "Klima: kutt utslipp fra byggeplasser"]
    table = cached(edited, path)
    assert table.scores("byggeplasser").max() > 0  # the edited documents', not the kept table
    assert _same(table, CharTfidf(edited)) and _same(cached(edited, path), table)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "inconsistent"])
def test_a_damaged_file_is_one_warning_then_built_and_kept_again(tmp_path: Path, caplog, damage: str):
    path = tmp_path / ".index.lexical.npz"
    cached(DOCUMENTS, path)
    if damage == "garbage":
        path.write_bytes(b"not a numpy archive")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    else:  # a well-formed file whose arrays do not make one table
        with np.load(path) as kept:
            arrays = {name: kept[name] for name in kept.files}
        arrays["indptr"] = arrays["indptr"][:-5]
        np.savez(path, **arrays)
    with caplog.at_level(logging.WARNING, logger=lexical.__name__):
        table = cached(DOCUMENTS, path)
    assert _same(table, CharTfidf(DOCUMENTS))
    assert [r.message for r in caplog.records if "ignoring the kept lexical table" in r.message]
    caplog.clear()
    cached(DOCUMENTS, path)  # kept again, whole
    assert not caplog.records


def test_a_folder_that_cannot_be_written_is_one_warning_and_the_table_is_built(tmp_path: Path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger=lexical.__name__):
        table = cached(DOCUMENTS, blocked / ".index.lexical.npz")
    assert _same(table, CharTfidf(DOCUMENTS))
    assert any("cannot keep the lexical table" in r.message for r in caplog.records)


def test_the_server_keeps_its_lexical_table_beside_its_index(settings, fake_embedder):
    from qa.answering.startup import lexical_cache_path, load_answerer

    load_answerer(settings, embedder=fake_embedder)
    path = lexical_cache_path(settings.index_dir)
    assert path == settings.index_dir.with_name(f".{settings.index_dir.name}.lexical.npz") and path.is_file()


def test_other_counted_texts_build_their_own_table(tmp_path: Path):
    path = tmp_path / ".index.lexical.npz"
    plain = cached(DOCUMENTS, path)
    counted = cached(DOCUMENTS, path, ("hva med bussen?", "bussen er sen"))
    assert _same(counted, CharTfidf(DOCUMENTS, ("hva med bussen?", "bussen er sen")))
    assert not _same(counted, plain)  # "buss" is common among the counted questions: it weighs less
    assert _same(cached(DOCUMENTS, path), plain)
