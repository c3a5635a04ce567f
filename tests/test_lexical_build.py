"""The lexical table is built in whole-array steps; it must equal, bit for bit, the plain
scipy construction it replaced (so that no score, and no ranking, changes)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy import sparse

from qa.answering.lexical import CharTfidf, grams
from tests.conftest import SMALL_PROGRAMME


def _reference(documents: list[str]):
    """The construction CharTfidf used until it was vectorised: per document, through scipy."""
    counts = [grams(d) for d in documents]
    df = Counter(g for c in counts for g in c)
    vocab = {g: i for i, g in enumerate(sorted(df))}
    n = len(documents)
    idf = np.array([math.log((1 + n) / (1 + df[g])) + 1 for g in sorted(df)], dtype=np.float32)
    rows, cols, vals = [], [], []
    for r, c in enumerate(counts):
        for g, tf in c.items():
            rows.append(r)
            cols.append(vocab[g])
            vals.append((1 + math.log(tf)) * idf[vocab[g]])
    m = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float32)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    docs = sparse.diags(1 / norms).dot(m).tocsr().T.tocsr()
    return vocab, idf, docs


DOCUMENTS = [
    SMALL_PROGRAMME,
    "anonyme jobbsøknader i kommunen, jobbsøknader og JOBBSØKNADER",
    "",
    "a b cd",  # words too short for any gram but the padded ones
    "Kollektivtrafikken: buss, bane og båt; buss buss buss 2025 nr_1",
    "ÆØÅ æøå Ærlig talt, økonomi og årstider",
    "Oslofjorden " * 40 + "tråling",
]


@pytest.mark.parametrize("documents", [DOCUMENTS, DOCUMENTS[:1], DOCUMENTS[2:4], [""], DOCUMENTS[::-1]])
def test_lexical_table_equals_the_scipy_construction_bit_for_bit(documents):
    vocab, idf, docs = _reference(documents)
    built = CharTfidf(documents)
    assert built._vocab == vocab
    assert built._idf.tobytes() == idf.tobytes()
    assert built._indptr.tolist() == docs.indptr.tolist()
    assert built._indices.tolist() == docs.indices.tolist()
    assert built._data.dtype == np.float32 and built._data.tobytes() == docs.data.tobytes()


def test_lexical_scores_equal_the_scipy_tables_scores():
    vocab, idf, docs = _reference(DOCUMENTS)
    built = CharTfidf(DOCUMENTS)
    for question in ["hva med bussen?", "jobsøknader", "Oslofjorden og tråling", "zzz", ""]:
        counts = grams(question)
        ids = [vocab[g] for g in counts if g in vocab]
        expected = np.zeros(len(DOCUMENTS))
        if ids:
            w = np.array([(1 + math.log(counts[g])) * idf[vocab[g]] for g in counts if g in vocab], np.float64)
            w /= np.linalg.norm(w)
            expected = np.asarray(docs[ids].T @ w).ravel()
        assert built.scores(question) == pytest.approx(expected.astype(np.float32), abs=1e-6)


def test_section_centres_equal_adding_their_rows_one_by_one(answerer):
    ranker = answerer.ranker
    owners = np.repeat(ranker._exp_pledges, np.diff(np.append(ranker._exp_starts, len(ranker._exp))))
    sums = np.zeros((len(ranker._slices), ranker._pledges.shape[1]), np.float64)
    np.add.at(sums, ranker._section_of, ranker._pledges)
    np.add.at(sums, ranker._section_of[owners], ranker._exp.widened())
    expected = (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)
    assert len(ranker._exp) > 0
    assert ranker._sections.tobytes() == expected.tobytes()


COUNTED = ["Hva er skolepolitikken deres?", "boligpolitikk", "What is your policy on buses?", "miljøpolitikk"]


def test_counted_texts_weigh_the_grams_but_are_not_scored_bit_for_bit():
    # The table over documents + counted texts, restricted to the documents' columns.
    vocab, idf, docs = _reference(DOCUMENTS + COUNTED)
    kept = docs.tocoo()
    keep = kept.col < len(DOCUMENTS)
    restricted = sparse.csr_matrix(
        (kept.data[keep], (kept.row[keep], kept.col[keep])), shape=(len(vocab), len(DOCUMENTS)), dtype=np.float32
    )
    built = CharTfidf(DOCUMENTS, COUNTED)
    assert built._vocab == vocab and built._idf.tobytes() == idf.tobytes()
    assert built._indptr.tolist() == restricted.indptr.tolist()
    assert built._indices.tolist() == restricted.indices.tolist()
    assert built._data.tobytes() == restricted.data.tobytes()
    assert built.scores("politikk").shape == (len(DOCUMENTS),)


def test_a_word_every_question_uses_weighs_less_against_the_words_that_say_what_is_asked():
    documents = ["politikere skal ta en uke i praksis", "flere lærere og mindre lekser i skolen"]
    alone, counted = CharTfidf(documents), CharTfidf(documents, COUNTED)

    def lead(table: CharTfidf) -> float:  # the school pledge's lead over the politicians' one
        school, politicians = table.scores("skolepolitikk")[[1, 0]]
        return float(school - politicians)

    assert lead(counted) > lead(alone)
