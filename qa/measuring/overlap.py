"""Find near-duplicate texts between two sets: the guard that keeps checks out of training data.

Tuning questions, expansions and the evaluation sets must never share a question, word for
word or nearly. Two texts are near-duplicates when the Jaccard similarity of their character
trigram sets (case, punctuation and spacing ignored) is above a threshold (0.6 by default).
"""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse

THRESHOLD = 0.6
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def trigrams(text: str) -> set[str]:
    t = f" {normalise(text)} "
    return {t[i : i + 3] for i in range(len(t) - 2)}


def near_duplicates(a: list[str], b: list[str], threshold: float = THRESHOLD) -> list[tuple[int, int, float]]:
    """(index in a, index in b, Jaccard) of every pair above `threshold`, or equal after normalising."""
    sets_a, sets_b = [trigrams(t) for t in a], [trigrams(t) for t in b]
    vocab: dict[str, int] = {}
    for s in sets_a + sets_b:
        for g in s:
            vocab.setdefault(g, len(vocab))

    def matrix(sets: list[set[str]]) -> sparse.csr_matrix:
        rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
        cols = np.array([vocab[g] for s in sets for g in s], dtype=np.int64)
        return sparse.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(sets), len(vocab)))

    if not a or not b:
        return []
    inter = (matrix(sets_a) @ matrix(sets_b).T).tocoo()
    size_a = np.array([len(s) for s in sets_a])
    size_b = np.array([len(s) for s in sets_b])
    jaccard = inter.data / (size_a[inter.row] + size_b[inter.col] - inter.data)
    hits = [(int(i), int(j), float(x)) for i, j, x in zip(inter.row, inter.col, jaccard) if x > threshold]
    norm_b = {}
    for j, t in enumerate(b):
        norm_b.setdefault(normalise(t), j)
    seen = {(i, j) for i, j, _ in hits}
    for i, t in enumerate(a):
        j = norm_b.get(normalise(t))
        if j is not None and (i, j) not in seen:
            hits.append((i, j, 1.0))
    return sorted(hits)
