"""Score every pledge against a question, rank, and decide whether the programme covers it.

Signals, each a score per pledge (cosine similarities unless said):

- pledge:    the question vs "part, section: pledge text" (context helps the small model);
- expansion: the best match among the pledge's voter-language expansions (corpus/expansions.py);
- section:   the question vs the centre of the pledge's section (the mean of its pledges' and
             expansions' vectors), shared by its pledges: what the section is about as a
             whole, so broad questions ("hva vil MDG med Oslofjorden?") find their section;
- lexical:   character n-gram TF-IDF, robust to typos, compounds and inflection;
- cluster:   how well the pledge's section answers as a whole: the mean of its best
             CLUSTER_TOP pledge and expansion scores, shared by its pledges.

The final score is a weighted sum of the first four (weighted, not rank, fusion: rank
fusion with a weaker signal was measured to hurt), plus a section focus: a softmax over
sections of their cluster scores (plus, weighted by `focus_section`, their section scores),
so that when one section clearly answers a broad question its pledges rise together, and
when none stands out the focus spreads thin. "Not covered" is a logistic decision on how
much the best match and the best section stand out (see Coverage). Weights and the decision
were fitted with `python -m qa tune` on the team's own questions (corpus/questions.jsonl),
never on the evaluation sets; the README has the table.
The question is spell-mended towards the programme's words first (qa/spelling.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corpus.model import Programme
from index.embedders import Embedder
from index.store import Passages, StoredIndex
from qa.lexical import CharTfidf
from qa.spelling import Speller

SIGNALS = ("pledge", "expansion", "section", "lexical", "cluster")
CLUSTER_TOP = 3
FUSED = SIGNALS[:4]  # summed with Weights; "cluster" only feeds the section focus


@dataclass(frozen=True)
class Weights:
    """Weights of the fused signals, then the section focus: its size and its sharpness."""

    pledge: float = 1.0
    expansion: float = 1.5
    section: float = 0.0
    lexical: float = 0.5
    focus: float = 0.05
    sharpness: float = 100.0
    focus_section: float = 2.0

    def vector(self) -> np.ndarray:
        """Weights of the FUSED signals, in order."""
        return np.array([getattr(self, name) for name in FUSED], dtype=np.float32)


@dataclass(frozen=True)
class Coverage:
    """Logistic "is this covered?"; covered when the logit is above zero.

    Features, all scale-free (the model puts every question at cosine 0.7-0.9, so raw
    cosines separate poorly): `standout`, how many standard deviations the best
    voter-language match stands above its match with all pledges (a real answer stands
    out); `cluster_focus` and `section_focus`, the largest share of a softmax over sections
    of their cluster and section scores (a broad question that one section answers is
    covered even when no single pledge stands out).
    """

    bias: float = -8.839
    standout: float = 1.885
    cluster_focus: float = 8.909
    section_focus: float = 0.648

    def logit(self, features: dict[str, float]) -> float:
        return self.bias + sum(getattr(self, name) * value for name, value in features.items())


COVERAGE_FEATURES = ("standout", "cluster_focus", "section_focus")
CLUSTER_SHARPNESS = 50.0
SECTION_SHARPNESS = 100.0


WEIGHTS = Weights()
COVERAGE = Coverage()


def passages_for(programme: Programme, expansions: dict[str, tuple[str, ...]] | None = None) -> Passages:
    """Everything that is embedded: pledges in context and their expansions."""
    expansions = expansions or {}
    return {
        "pledges": [(p.id, f"{p.part}, {p.section}: {p.text}") for p in programme.pledges],
        "expansions": [(p.id, text) for p in programme.pledges for text in expansions.get(p.id, ())],
    }


@dataclass(frozen=True)
class Signals:
    """Every signal for one question: a (len(SIGNALS), pledges) matrix."""

    matrix: np.ndarray


@dataclass(frozen=True)
class Ranking:
    """All pledges, best first, with fused scores, and the coverage decision."""

    ids: tuple[str, ...]
    scores: np.ndarray
    answered: bool

    def top(self, k: int) -> list[tuple[str, float]]:
        return [(pid, float(s)) for pid, s in zip(self.ids[:k], self.scores[:k])]


class Ranker:
    """Holds every pledge-side matrix in memory; per question it embeds once and does arithmetic."""

    def __init__(
        self,
        programme: Programme,
        embedder: Embedder,
        stored: StoredIndex,
        expansions: dict[str, tuple[str, ...]] | None = None,
        weights: Weights = WEIGHTS,
        coverage: Coverage = COVERAGE,
    ) -> None:
        expansions = expansions or {}
        self.weights, self.coverage = weights, coverage
        self._embedder = embedder
        self._ids = tuple(p.id for p in programme.pledges)
        position = {pid: i for i, pid in enumerate(self._ids)}

        pledges = stored.collections["pledges"]
        pledge_row = {key: i for i, key in enumerate(pledges.keys)}
        self._pledges = pledges.vectors()[[pledge_row[pid] for pid in self._ids]]

        # Pledges come in programme order, so each section is one contiguous slice.
        bounds = np.cumsum([0] + [len(s.pledges) for s in programme.sections])
        self._slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        self.section_starts = [part.start for part in self._slices]
        self._section_sizes = [part.stop - part.start for part in self._slices]
        self._section_of = np.repeat(np.arange(len(self._slices)), self._section_sizes)
        # Each section's pledge positions as one padded row (padding points one past the end,
        # where `signals` puts -inf), so the best pledges of every section are one sort.
        width = max(self._section_sizes, default=0)
        self._padded = np.full((len(self._slices), width), len(self._ids), dtype=np.int64)
        for row, part in enumerate(self._slices):
            self._padded[row, : part.stop - part.start] = np.arange(part.start, part.stop)

        # Expansion rows sorted by pledge so a max over each pledge's rows is one reduceat.
        exp = stored.collections.get("expansions")
        if exp is not None and exp.keys:
            owners = np.array([position[k] for k in exp.keys], dtype=np.int64)
            order = np.argsort(owners, kind="stable")
            self._exp = exp.vectors()[order]
            owners = owners[order]
            self._exp_pledges, self._exp_starts = np.unique(owners, return_index=True)
        else:
            self._exp = np.zeros((0, self._pledges.shape[1]), np.float32)
            owners = self._exp_pledges = self._exp_starts = np.zeros(0, np.int64)
        self._sections = self._centres(owners)

        documents = [f"{p.section} {p.text} {' '.join(expansions.get(p.id, ()))}" for p in programme.pledges]
        self._lexical = CharTfidf(documents)
        vocabulary = [p.text for p in programme.pledges] + [s.title for s in programme.sections]
        vocabulary += [" ".join(s.intro) for s in programme.sections]
        self._speller = Speller(vocabulary)
        self.rank("oppvarming")  # warm-up: word lists and the engine's first call, not on a voter's time

    def _centres(self, exp_owners: np.ndarray) -> np.ndarray:
        """One unit vector per section: the mean of its pledges' and their expansions' vectors."""
        sums = np.zeros((len(self._slices), self._pledges.shape[1]), np.float64)
        np.add.at(sums, self._section_of, self._pledges)
        np.add.at(sums, self._section_of[exp_owners], self._exp)
        return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)

    def signals(self, question: str) -> Signals:
        """Every signal for `question`, one row per name in SIGNALS."""
        question = self._speller.correct(question)
        q = self._embedder.embed_queries([question])[0]
        pledge = self._pledges @ q
        expansion = pledge.copy()
        if len(self._exp):
            best = np.maximum.reduceat(self._exp @ q, self._exp_starts)
            expansion[self._exp_pledges] = np.maximum(expansion[self._exp_pledges], best)
        section = (self._sections @ q)[self._section_of]
        lexical = self._lexical.scores(question).astype(np.float32)
        both = np.append((pledge + expansion) / 2, -np.inf)
        best = np.sort(both[self._padded], axis=1)[:, -CLUSTER_TOP:]
        found = np.isfinite(best)
        cluster = (np.where(found, best, 0).sum(axis=1) / found.sum(axis=1))[self._section_of].astype(np.float32)
        return Signals(np.stack([pledge, expansion, section, lexical, cluster]))

    def rank(self, question: str) -> Ranking:
        return self.decide(self.signals(question), self.weights, self.coverage)

    def decide(self, signals: Signals, weights: Weights, coverage: Coverage) -> Ranking:
        """Fuse signals with `weights`, rank, and apply `coverage`."""
        fused = self.fused(signals, weights)
        order = np.argsort(-fused, kind="stable")
        scores = fused[order]
        answered = coverage.logit(coverage_features(signals, self.section_starts)) > 0
        return Ranking(tuple(self._ids[i] for i in order), scores, answered)


    def fused(self, signals: Signals, weights: Weights) -> np.ndarray:
        """The final score of every pledge, in programme order."""
        w = weights.vector()
        fused = (w @ signals.matrix[: len(FUSED)]) / w.sum()
        m = signals.matrix
        evidence = m[SIGNALS.index("cluster")] + weights.focus_section * m[SIGNALS.index("section")]
        return fused + weights.focus * self._focus(evidence, weights.sharpness)

    def _focus(self, evidence: np.ndarray, sharpness: float) -> np.ndarray:
        """Softmax over sections of their evidence (one value per section), given to each of its pledges."""
        weights = _softmax(evidence[self.section_starts], sharpness)
        return np.repeat(weights, self._section_sizes).astype(evidence.dtype)


def coverage_features(signals: Signals, section_starts: list[int]) -> dict[str, float]:
    """The inputs of the coverage decision, named as in COVERAGE_FEATURES."""
    m = signals.matrix
    expansion = m[SIGNALS.index("expansion")]
    spread = float(expansion.std())
    return {
        "standout": float((expansion.max() - expansion.mean()) / spread) if spread > 0 else 0.0,
        "cluster_focus": float(_softmax(m[SIGNALS.index("cluster")][section_starts], CLUSTER_SHARPNESS).max()),
        "section_focus": float(_softmax(m[SIGNALS.index("section")][section_starts], SECTION_SHARPNESS).max()),
    }


def _softmax(values: np.ndarray, sharpness: float) -> np.ndarray:
    e = np.exp(sharpness * (values - values.max()))
    return e / e.sum()
