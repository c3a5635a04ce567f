"""Score every pledge against a question and decide whether the programme covers it.

First version: one vector per pledge ("part, section: text"), cosine ranking, and a top
score threshold for "not covered". Replaced by the measured ranking in the next commits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corpus.model import Programme
from index.embedders import Embedder
from index.store import Passages, StoredIndex

COVERED_THRESHOLD = 0.80


def passages_for(programme: Programme) -> Passages:
    """What is embedded for each pledge."""
    return {"pledges": [(p.id, f"{p.part}, {p.section}: {p.text}") for p in programme.pledges]}


@dataclass(frozen=True)
class Ranking:
    ids: tuple[str, ...]
    scores: np.ndarray
    answered: bool

    def top(self, k: int) -> list[tuple[str, float]]:
        return [(pid, float(s)) for pid, s in zip(self.ids[:k], self.scores[:k])]


class Ranker:
    def __init__(self, programme: Programme, embedder: Embedder, stored: StoredIndex) -> None:
        self._embedder = embedder
        self._pledges = stored.collections["pledges"]

    def rank(self, question: str) -> Ranking:
        q = self._embedder.embed_queries([question])[0]
        hits = self._pledges.search(q, self._pledges.index.ntotal)
        ids = tuple(pid for pid, _ in hits)
        scores = np.array([s for _, s in hits], dtype=np.float32)
        return Ranking(ids, scores, bool(scores[0] >= COVERED_THRESHOLD))
