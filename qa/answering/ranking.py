"""Score every pledge against a question, rank, and put the answer in a coverage band.

Signals, each a score per pledge (cosine similarities unless said):

- pledge:    the question vs "part, section: pledge text" (context helps the small model);
- expansion: the best match among the pledge itself and its voter-language expansions
             (corpus/expansions.py: everyday questions, life situations, stubs, English);
- agreement: how much more than that best match its other expansions add when they match
             nearly as well (`agreeing_best`); ranking adds it to the expansion signal, the
             band features read the best match alone;
- section:   the question vs the centre of the pledge's section (the mean of its pledges' and
             expansions' vectors), shared by its pledges: what the section is about as a
             whole, so broad questions ("hva vil MDG med Oslofjorden?") find their section;
- lexical:   character n-gram TF-IDF, robust to typos, compounds and inflection; a gram's idf
             counts voters' messages too (qa.answering.startup.lexical_messages);
- cluster:   how well the pledge's section answers as a whole: the mean of its best
             CLUSTER_TOP pledge and expansion scores, shared by its pledges;
- topic:     the best match among broad voter questions about the pledge's section as a
             whole (corpus/topics.jsonl), shared by its pledges.

The final score is a weighted sum of the first four, the lexical one standardised over the
pledges first (`fusion_inputs`; weighted, not rank, fusion: rank fusion with a weaker signal
was measured to hurt), plus a section focus: a softmax over
sections of their cluster scores (plus, weighted by `focus_section`, their section scores),
and, weighted by `focus_topic`, their topic scores),
so that when one section clearly answers a broad question its pledges rise together, and
when none stands out the focus spreads thin.

The band ("answered", "related", "not_covered") is decided by `qa.answering.bands` from how the best
matches stand out, and from how much closer the question is to the programme than to the
background: the off-topic and out-of-scope questions the team wrote (corpus/questions.jsonl).
Weights and the band model are fitted by `python -m qa tune` and read from `qa/answering/fitted.json`.
The question is spell-mended towards the programme's words first (qa/answering/spelling.py), and
a greeting or thanks it opens with is left out (qa/answering/smalltalk.py `without_courtesy`).

Staff curation (qa/curation) adds rows while the server runs, without rebuilding anything:
alternate phrasings of a pledge, embedded as questions and folded into its expansion signal as
expansions are (a question within PIN_AT of one is answered with its pledge first: `pinned`),
and questions marked as not covered, compared with as background. `set_curated` replaces them whole,
`add_alternate` and `remove_alternate` change one; a question being ranked meanwhile sees either
the old rows or the new ones, never a mix.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from corpus.model import Programme
from index.embedders import Embedder
from index.halfrows import HalfRows
from index.store import StoredIndex
from qa.answering import lexical
from qa.answering.bands import ANSWERED, NOT_COVERED, RELATED, Bands, Features
from qa.answering.smalltalk import without_courtesy
from qa.answering.spelling import Speller

log = logging.getLogger(__name__)

__all__ = ["ANSWERED", "NOT_COVERED", "RELATED", "Ranker", "Ranking", "Signals", "Weights", "fusion_inputs"]

CLUSTER_TOP = 3
# A pledge's expansion score is its best row's, raised a little when more of its rows agree
# (`agreeing_best`). Chosen on the tuning questions (in-sample ranking, TWINS rows hidden) among
# 0 (the plain max), 0.01, 0.02 and 0.04: Hit@1 0.871 -> 0.878, Hit@5 0.980 -> 0.982 at 0.01;
# still the best after three more English rows per pledge (0.880 -> 0.884, 0.980 -> 0.982).
POOL_TEMPERATURE = 0.01
SEGMENT_WEIGHT = 0.5  # a long question's best sentence, against the question as a whole
# A question this close to a staff-curated alternate (cosine of the two embedded as questions)
# is answered with the alternate's pledge first, whatever the fused scores say: staff said so.
# Measured on the 918 distinct questions of the tuning and dev2 sets: a question and the same
# question in lower case score 0.961 / 0.996 (1st percentile / median), without its "?" 0.973 /
# 0.996, with one letter dropped 0.912 / 0.987 (before the speller mends it); distinct questions
# score at most 0.986 with their nearest other (99th percentile 0.971), and those that close ask
# the same thing ("Er Bærum forberedt på en krise?" / "Hvordan skal Bærum være forberedt hvis det
# blir krise?").
PIN_AT = 0.97
_WORD = re.compile(r"[^\W\d_]{3,}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MIN_SEGMENT_WORDS = 3


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
    focus_topic: float = 0.0


FUSED = ("pledge", "expansion", "section", "lexical")  # summed with Weights; cluster only feeds the focus
# The lexical signal enters the sum standardised over the pledges (per question), times this:
# raw n-gram cosines shrink as a question grows (more of its grams match nothing), so a fixed
# weight gave a stub's lexical match several times the say of a long question's. Measured by
# cross-validation on the tuning questions: Hit@1 0.86 -> 0.87, Hit@5 0.96 -> 0.98.
LEXICAL_SCALE = 0.05


@dataclass(frozen=True)
class Signals:
    """Everything ranking and the band decision need to know about one question.

    The per-pledge arrays are in programme order. `background` holds the question's cosine to
    every background text; `known` the share of its words that the programme's texts use;
    `query` is the (spell-mended) question's own unit vector.
    """

    pledge: np.ndarray
    expansion: np.ndarray
    agreement: np.ndarray
    section: np.ndarray
    lexical: np.ndarray
    cluster: np.ndarray
    topic: np.ndarray
    background: np.ndarray
    known: float
    words: int
    query: np.ndarray
    pinned: tuple[int, ...] = ()  # pledges of curated alternates within PIN_AT of the question, closest first


@dataclass(frozen=True)
class Ranking:
    """All pledges, best first, with fused scores, and the coverage band."""

    ids: tuple[str, ...]
    scores: np.ndarray
    coverage: str

    @property
    def answered(self) -> bool:
        return self.coverage == ANSWERED

    def top(self, k: int) -> list[tuple[str, float]]:
        return [(pid, float(s)) for pid, s in zip(self.ids[:k], self.scores[:k])]


@dataclass(frozen=True)
class Curated:
    """Rows staff added while the server runs: alternates grouped by pledge, and extra background.

    `alternates` maps a key (the store's id) to (pledge position, unit vector); `vectors`,
    `pledges` and `starts` are the same rows sorted by pledge for one `np.maximum.reduceat`.
    """

    alternates: Mapping[Hashable, tuple[int, np.ndarray]]
    vectors: np.ndarray
    pledges: np.ndarray
    starts: np.ndarray
    background: np.ndarray

    @classmethod
    def of(cls, alternates: Mapping[Hashable, tuple[int, np.ndarray]], background: np.ndarray) -> Curated:
        items = sorted(alternates.values(), key=lambda item: item[0])
        dim = background.shape[1]
        vectors = np.array([v for _, v in items], np.float32).reshape(len(items), dim)
        owners = np.array([p for p, _ in items], np.int64)
        pledges, starts = np.unique(owners, return_index=True)
        return cls(dict(alternates), vectors, pledges, starts, background.astype(np.float32))


class Ranker:
    """Holds every pledge-side matrix in memory; per question it embeds once and does arithmetic."""

    def __init__(
        self,
        programme: Programme,
        embedder: Embedder,
        stored: StoredIndex,
        expansions: dict[str, tuple[str, ...]] | None = None,
        weights: Weights = Weights(),
        bands: Bands | None = None,
        lexical_cache: Path | None = None,
        voter_messages: tuple[str, ...] = (),
    ) -> None:
        """`lexical_cache` is a file to keep the lexical table in between starts (lexical.cached);
        `voter_messages` weigh the lexical signal's grams without being scored (`counted` there)."""
        expansions = expansions or {}
        bands = bands or Bands.default()
        self.weights, self.bands = weights, bands.for_dimension(embedder.dim)
        if self.bands is not bands:
            log.warning(
                "the band model's probe was fitted on %d-dimensional vectors, not %d: answering without it; "
                "refit with 'python -m qa tune'",
                len(bands.probe.weights),
                embedder.dim,
            )
        self._embedder = embedder
        vocabulary = [p.text for p in programme.pledges] + [s.title for s in programme.sections]
        vocabulary += [" ".join(s.intro) for s in programme.sections]
        self._speller = Speller(vocabulary)
        self.ids = tuple(p.id for p in programme.pledges)
        position = {pid: i for i, pid in enumerate(self.ids)}

        pledges = stored.collections["pledges"]
        pledge_row = {key: i for i, key in enumerate(pledges.keys)}
        self._pledges = pledges.vectors()[[pledge_row[pid] for pid in self.ids]]

        # Pledges come in programme order, so each section is one contiguous slice.
        bounds = np.cumsum([0] + [len(s.pledges) for s in programme.sections])
        self._slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        self.section_starts = [part.start for part in self._slices]
        self._section_sizes = [part.stop - part.start for part in self._slices]
        self._section_of = np.repeat(np.arange(len(self._slices)), self._section_sizes)
        # Each section's pledge positions as one padded row (padding points one past the end,
        # where `signals` puts -inf), so the best pledges of every section are one sort.
        width = max(self._section_sizes, default=0)
        self._padded = np.full((len(self._slices), width), len(self.ids), dtype=np.int64)
        for row, part in enumerate(self._slices):
            self._padded[row, : part.stop - part.start] = np.arange(part.start, part.stop)

        # Expansion rows sorted by pledge so a max over each pledge's rows is one reduceat.
        exp = stored.collections.get("expansions")
        dim = self._pledges.shape[1]
        kernel = getattr(embedder, "halfdots", None)  # the fast engine's, when it runs (index/halfrows.py)
        if exp is not None and exp.keys:
            owners = np.array([position[k] for k in exp.keys], dtype=np.int64)
            order = np.argsort(owners, kind="stable")
            expansions_f32 = exp.vectors()[order]
            owners = owners[order]
            self._exp_pledges, self._exp_starts = np.unique(owners, return_index=True)
        else:
            expansions_f32 = np.zeros((0, dim), np.float32)
            owners = self._exp_pledges = self._exp_starts = np.zeros(0, np.int64)
        # The largest matrix, read for every question: kept in half precision (index/halfrows.py).
        self._exp = HalfRows(expansions_f32, kernel)
        self._sections = self._centres(self._exp.widened(), owners)
        # Broad questions per section, sorted by section, so a max per section is one reduceat.
        topics = stored.collections.get("topics")
        row_of_section = {s.id: row for row, s in enumerate(s for s in programme.sections if s.pledges)}
        if topics is not None and topics.keys:
            rows = np.array([row_of_section.get(k, -1) for k in topics.keys], dtype=np.int64)
            keep = rows >= 0
            order = np.argsort(rows[keep], kind="stable")
            self._topics = topics.vectors()[keep][order]
            self._topic_sections, self._topic_starts = np.unique(rows[keep][order], return_index=True)
        else:
            self._topics = np.zeros((0, self._pledges.shape[1]), np.float32)
            self._topic_sections = self._topic_starts = np.zeros(0, np.int64)
        background = stored.collections.get("background")
        self.background_keys = background.keys if background is not None else ()
        self._background = HalfRows(
            background.vectors() if background is not None and background.keys else np.zeros((0, dim), np.float32), kernel
        )

        documents = lexical_documents(programme, expansions)
        self._lexical = lexical.cached(documents, lexical_cache, voter_messages)
        self._known = set(_WORD.findall(" ".join(vocabulary + documents).casefold()))
        self._known_stems = {w[:6] for w in self._known if len(w) >= 6}
        self._position = position
        self._curation_lock = threading.Lock()  # for writers; readers take `self._curated` once
        self._curated = Curated.of({}, np.zeros((0, self._pledges.shape[1]), np.float32))
        # Warm-up: the engine's first call and numpy's first steps, not on a voter's time. It uses
        # the programme's own words, so it does not wait for the speller's word lists (~0.4 s):
        # the server reads them on a thread once it is up (spelling.load_word_lists_in_background),
        # and only a question with a word the programme lacks waits for them meanwhile.
        self.rank(programme.sections[0].title if programme.sections else "oppvarming")

    # -- curation: rows added while the server runs ---------------------------------------------

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def curated(self) -> Curated:
        return self._curated

    def set_curated(self, alternates: Mapping[Hashable, tuple[str, np.ndarray]], background: np.ndarray | None = None) -> None:
        """Replace every alternate (key -> (pledge id, unit vector)) and the curated background rows."""
        rows = {key: (self._pledge_position(pid), vector) for key, (pid, vector) in alternates.items()}
        extra = np.zeros((0, self._pledges.shape[1]), np.float32) if background is None else background
        with self._curation_lock:
            self._curated = Curated.of(rows, extra)  # one assignment: a question sees old or new, whole

    def add_alternate(self, key: Hashable, pledge_id: str, vector: np.ndarray) -> None:
        """Add (or replace) one alternate row for `pledge_id`."""
        row = (self._pledge_position(pledge_id), vector)
        with self._curation_lock:
            now = self._curated
            self._curated = Curated.of({**now.alternates, key: row}, now.background)

    def remove_alternate(self, key: Hashable) -> None:
        """Remove one alternate row; an unknown key is a no-op."""
        with self._curation_lock:
            now = self._curated
            rest = {k: v for k, v in now.alternates.items() if k != key}
            self._curated = Curated.of(rest, now.background)

    def _pledge_position(self, pledge_id: str) -> int:
        try:
            return self._position[pledge_id]
        except KeyError:
            raise ValueError(f"unknown pledge id {pledge_id!r}") from None

    def _centres(self, expansions: np.ndarray, exp_owners: np.ndarray) -> np.ndarray:
        """One unit vector per section: the mean of its pledges' and their expansions' vectors."""
        # Each section's rows in one run, its pledges then its expansions, summed in float64 in
        # that order: the very sums of adding them one by one (np.add.at), in one pass.
        if not self._slices:
            return np.zeros((0, self._pledges.shape[1]), np.float32)
        sections = np.concatenate([self._section_of, self._section_of[exp_owners]])
        order = np.argsort(sections, kind="stable")
        rows = np.concatenate([self._pledges, expansions])[order]
        starts = np.searchsorted(sections[order], np.arange(len(self._slices)))
        sums = np.add.reduceat(rows, starts, axis=0, dtype=np.float64)
        return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)

    def signals(self, question: str, *, exact: bool = False, hide_nearest: int = 0) -> Signals:
        """Every signal for `question`, its spelling mended first unless `exact`.

        `hide_nearest` leaves out the question's nearest expansion rows, as if nobody had written
        them: tuning uses it (qa.measuring.tune.TWINS) so that its questions are not answered by
        their own near twins, which real voters' questions never have.
        """
        if not exact:
            question = self._speller.correct(question)
        question = without_courtesy(question)
        parts = segments(question)
        vectors = self._embedder.embed_queries([question, *parts])  # one call, whatever the number
        q = vectors[0]
        pledge = self._pledges @ vectors.T  # (pledges, 1 + segments)
        expansion = pledge.copy()
        agreed = pledge.copy()  # the same, with the pooled expansion scores (`agreeing_best`)
        if len(self._exp):
            scores = self._exp.scores(vectors)
            if 0 < hide_nearest < len(scores):
                scores[np.argpartition(-scores[:, 0], hide_nearest)[:hide_nearest]] = -np.inf
            best, pooled = agreeing_best(scores, self._exp_starts, POOL_TEMPERATURE)
            expansion[self._exp_pledges] = np.maximum(expansion[self._exp_pledges], best)
            agreed[self._exp_pledges] = np.maximum(agreed[self._exp_pledges], pooled)
        curated = self._curated  # read once: writers replace it whole
        pinned: tuple[int, ...] = ()
        if len(curated.vectors):
            best = np.maximum.reduceat(curated.vectors @ vectors.T, curated.starts, axis=0)
            expansion[curated.pledges] = np.maximum(expansion[curated.pledges], best)
            agreed[curated.pledges] = np.maximum(agreed[curated.pledges], best)
            close = np.flatnonzero(best[:, 0] >= PIN_AT)
            pinned = tuple(int(curated.pledges[r]) for r in close[np.argsort(-best[close, 0], kind="stable")])
        pledge, expansion = _with_best_segment(pledge), _with_best_segment(expansion)
        agreement = _with_best_segment(agreed) - expansion
        section = (self._sections @ q)[self._section_of]
        lexical = self._lexical.scores(question).astype(np.float32)
        both = np.append((pledge + expansion) / 2, -np.inf)
        best = np.sort(both[self._padded], axis=1)[:, -CLUSTER_TOP:]
        found = np.isfinite(best)
        cluster = (np.where(found, best, 0).sum(axis=1) / found.sum(axis=1))[self._section_of].astype(np.float32)
        topic = np.zeros(len(self._slices), np.float32)
        if len(self._topics):
            topic[self._topic_sections] = np.maximum.reduceat(self._topics @ q, self._topic_starts)
        words = _WORD.findall(question.casefold())
        known = sum(w in self._known or w[:6] in self._known_stems for w in words)
        return Signals(
            pledge=pledge,
            expansion=expansion,
            agreement=agreement,
            section=section,
            lexical=lexical,
            cluster=cluster,
            topic=topic[self._section_of],
            background=np.concatenate([self._background.scores(q)[:, 0], curated.background @ q]),
            known=(known + 0.5) / (len(words) + 1),
            words=len(words),
            query=q,
            pinned=pinned,
        )

    def mended(self, question: str) -> str | None:
        """The question as ranked when its spelling was mended (`Speller.correct`), else None."""
        corrected = self._speller.correct(question)
        return corrected if corrected != question else None

    def rank(self, question: str, *, exact: bool = False) -> Ranking:
        """`question` ranked and banded; as typed when `exact`, else spell-mended first."""
        return self.decide(self.signals(question, exact=exact), self.weights, self.bands)

    def decide(self, signals: Signals, weights: Weights, bands: Bands) -> Ranking:
        """Fuse signals with `weights`, rank, and let `bands` place the answer; a question that
        staff attached to a pledge (`Signals.pinned`) is answered with that pledge first."""
        fused = self.fused(signals, weights)
        order = np.argsort(-fused, kind="stable")
        scores = fused[order]
        band = bands.band(self.features(signals, scores, bands))
        if signals.pinned:
            first = np.array(signals.pinned, dtype=np.int64)
            order = np.concatenate([first, order[~np.isin(order, first)]])
            # The pinned pledges share the top score, so scores stay best first for what reads them.
            scores = np.concatenate([np.full(len(first), scores[0], scores.dtype), fused[order[len(first) :]]])
            band = ANSWERED
        return Ranking(tuple(self.ids[i] for i in order), scores, band)

    def fused(self, signals: Signals, weights: Weights) -> np.ndarray:
        """The final score of every pledge, in programme order."""
        total = sum(getattr(weights, name) for name in FUSED)
        fused = sum(getattr(weights, name) * part for name, part in zip(FUSED, fusion_inputs(signals))) / total
        evidence = signals.cluster + weights.focus_section * signals.section + weights.focus_topic * signals.topic
        return (fused + weights.focus * self.focus(evidence, weights.sharpness)).astype(np.float32)

    def features(self, signals: Signals, ranked_scores: np.ndarray, bands: Bands | None = None) -> Features:
        """What the band decision reads: scale-free measures of how the best matches stand out,
        and the probe of `bands` (the ranker's own by default) on the question."""
        probe = (bands or self.bands).probe.logit(signals.query)
        return Features.of(signals, ranked_scores, self.section_starts, probe)

    def section_of(self, pledge_id: str) -> int:
        """The row of the section that pledge `pledge_id` belongs to."""
        return int(self._section_of[self._pledge_position(pledge_id)])

    def scope_examples(self) -> tuple[np.ndarray, np.ndarray]:
        """What the probe learns from besides the tuning questions: the texts of voters' questions
        the programme answers (the expansions, or the pledges when there are none) and the background."""
        answered = self._exp.widened() if len(self._exp) else self._pledges
        return answered, self._background.widened()

    def focus(self, evidence: np.ndarray, sharpness: float) -> np.ndarray:
        """Softmax over sections of their evidence (one value per section), given to each of its pledges."""
        weights = _softmax(evidence[self.section_starts], sharpness)
        return np.repeat(weights, self._section_sizes).astype(evidence.dtype)


def fusion_inputs(signals: Signals) -> tuple[np.ndarray, ...]:
    """The per-pledge arrays the weights sum, in FUSED order: the lexical one standardised
    (LEXICAL_SCALE); the band features read the raw signals."""
    lexical = signals.lexical
    spread = float(lexical.std())
    standard = (lexical - lexical.mean()) * (LEXICAL_SCALE / spread) if spread > 0 else np.zeros_like(lexical)
    return signals.pledge, signals.expansion + signals.agreement, signals.section, standard.astype(np.float32)


def agreeing_best(scores: np.ndarray, starts: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Per group of rows (`starts` as for np.add.reduceat): its best score, and the log-sum-exp of
    its scores at `temperature`, which is the best plus at most `temperature * log(rows)` when
    other rows score close to it, so that one lucky expansion counts for less than several that
    agree. Rows at -inf (hidden) count for nothing; a group with every row hidden stays at -inf."""
    best = np.maximum.reduceat(scores, starts, axis=0)
    if temperature <= 0:
        return best, best
    finite = np.isfinite(best)
    top = np.where(finite, best, 0.0)
    sizes = np.diff(np.append(starts, len(scores)))
    spread = np.add.reduceat(np.exp((scores - np.repeat(top, sizes, axis=0)) / temperature), starts, axis=0)
    lifted = top + temperature * np.log(np.maximum(spread, 1.0))  # a finite group's sum is >= 1
    return best, np.where(finite, lifted, -np.inf).astype(scores.dtype)


def lexical_documents(programme: Programme, expansions: Mapping[str, tuple[str, ...]]) -> list[str]:
    """What the lexical signal matches against, one text per pledge: its section, its text and
    its expansions."""
    return [f"{p.section} {p.text} {' '.join(expansions.get(p.id, ()))}" for p in programme.pledges]


def segments(question: str) -> list[str]:
    """The sentences of a question of several sentences (each of MIN_SEGMENT_WORDS words or more), else []."""
    parts = [p for p in _SENTENCE_END.split(question) if len(p.split()) >= MIN_SEGMENT_WORDS]
    return parts if len(parts) > 1 else []


def _with_best_segment(scores: np.ndarray) -> np.ndarray:
    """Column 0 is the whole question; further columns its sentences. Blend in the best sentence.

    A voter who describes a situation in several sentences often asks in only one of them;
    the best-matching sentence finds the pledge that speaks to it, the whole keeps the context.
    """
    if scores.shape[1] == 1:
        return scores[:, 0]
    return ((1 - SEGMENT_WEIGHT) * scores[:, 0] + SEGMENT_WEIGHT * scores[:, 1:].max(axis=1)).astype(np.float32)


def weights_from(values: dict) -> Weights:
    """Weights from a mapping (the fitted file); unknown names are an error."""
    names = {f.name for f in fields(Weights)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown weights {sorted(unknown)}")
    return Weights(**{k: float(v) for k, v in values.items()})


def _softmax(values: np.ndarray, sharpness: float) -> np.ndarray:
    e = np.exp(sharpness * (values - values.max()))
    return e / e.sum()
