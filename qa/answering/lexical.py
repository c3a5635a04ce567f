"""Character n-gram TF-IDF: the lexical signal that survives typos, compounds and inflection.

Norwegian glues words together ("kollektivtrafikken", "jobbsøknader") and voters misspell
them; whole-word matching (BM25) misses both, while shared 3–5 letter grams within words
still match. Vectors are L2-normalised, so a dot product is cosine similarity.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
from scipy import sparse

_WORD = re.compile(r"\w+")
SIZES = (3, 4, 5)


def grams(text: str) -> Counter:
    """Character n-grams of each word padded with spaces, like scikit-learn's `char_wb`."""
    out: Counter = Counter()
    for word in _WORD.findall(text.lower()):
        padded = f" {word} "
        for n in SIZES:
            if len(padded) < n:
                continue
            out.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return out


class CharTfidf:
    """TF-IDF over character n-grams of a fixed set of documents."""

    def __init__(self, documents: list[str]) -> None:
        counts = [grams(d) for d in documents]
        df = Counter(g for c in counts for g in c)
        self._vocab = {g: i for i, g in enumerate(sorted(df))}
        n = len(documents)
        self._idf = np.array([math.log((1 + n) / (1 + df[g])) + 1 for g in sorted(df)], dtype=np.float32)
        # (vocab, docs): the documents' weights for each gram, one row per gram. A question
        # has a few dozen grams, so scoring sums those rows; see `scores`.
        docs = self._matrix(counts).T.tocsr()
        self._indptr, self._indices, self._data = docs.indptr, docs.indices, docs.data
        self._row_lengths = np.diff(docs.indptr)
        self._n = n

    def _weights(self, counts: Counter) -> tuple[list[int], list[float]]:
        """The vocabulary ids of a text's grams and their TF-IDF weights (grams not in the vocabulary dropped)."""
        ids, weights = [], []
        for g, tf in counts.items():
            j = self._vocab.get(g)
            if j is not None:
                ids.append(j)
                weights.append((1 + math.log(tf)) * self._idf[j])
        return ids, weights

    def _matrix(self, counts: list[Counter]) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        for r, c in enumerate(counts):
            ids, weights = self._weights(c)
            rows += [r] * len(ids)
            cols += ids
            vals += weights
        m = sparse.csr_matrix((vals, (rows, cols)), shape=(len(counts), len(self._vocab)), dtype=np.float32)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        return sparse.diags(1 / norms).dot(m).tocsr()

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every document, in document order."""
        ids, weights = self._weights(grams(query))
        if not ids:
            return np.zeros(self._n, dtype=np.float32)
        w = np.array(weights, dtype=np.float64)
        w /= np.linalg.norm(w)
        # The stored entries of the question's gram rows, gathered without scipy's per-call setup
        # (which cost more than the arithmetic: ~1 ms a question).
        starts, lengths = self._indptr[ids], self._row_lengths[ids]
        entries = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        scores = np.bincount(
            self._indices[entries], weights=self._data[entries] * np.repeat(w, lengths), minlength=self._n
        )
        return scores.astype(np.float32)
