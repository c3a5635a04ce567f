"""Answer a voter's question with ranked pledges, or say the programme does not cover it.

`Answerer` is built once (model, index and programme loaded) and then answers questions
with no I/O and no model loading: embed the question, score every pledge, rank, decide.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from threadpoolctl import threadpool_limits

from corpus.expansions import load_expansions, load_topics
from corpus.model import Pledge, Programme, Section
from corpus.parse import parse_file
from index.embedders import Embedder, load_embedder
from index.errors import IndexFailure
from index.store import open_index
from qa.errors import BadQuestion, ConfigError
from qa.fitted import Fitted, background_texts, input_hashes, load_fitted, warn_if_stale
from qa.ranking import ANSWERED, NOT_COVERED, Ranker, Weights, passages_for
from qa.settings import Settings
from qa.smalltalk import smalltalk

log = logging.getLogger(__name__)

MAX_QUESTION = 500
MAX_K = 20


@dataclass(frozen=True)
class Hit:
    pledge: Pledge
    score: float


@dataclass(frozen=True)
class Answer:
    """Ranked hits, best first, always the nearest pledges whatever the band.

    `coverage` is one of COVERAGE_BANDS: "answered" (the hits answer the question),
    "related" (the programme does not answer it directly; the hits are the nearest it comes)
    or "not_covered" (the programme seems to say nothing about it). `smalltalk` is
    "greeting" or "thanks" when the question was only that (then coverage is "not_covered").
    """

    question: str
    coverage: str
    hits: tuple[Hit, ...]
    smalltalk: str | None = None

    @property
    def answered(self) -> bool:
        return self.coverage == ANSWERED

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "coverage": self.coverage,
            "answered": self.answered,
            "smalltalk": self.smalltalk,
            "results": [
                {**h.pledge.as_dict(), "score": round(h.score, 4), "url": f"/program#{h.pledge.id}"} for h in self.hits
            ],
        }


class Answerer:
    """Answers questions about one programme. Thread-safe; answers are cached by question."""

    def __init__(self, programme: Programme, ranker: Ranker, model_id: str, cache_size: int = 1024) -> None:
        self.programme = programme
        self.model_id = model_id
        self.ranker = ranker
        self._sections = {s.title: s for s in programme.sections}
        self._cache: OrderedDict[tuple[str, int], Answer] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def ask(self, question: str, k: int = 5) -> Answer:
        """Answer `question` with up to `k` pledges.

        Args:
            question: the voter's words; surrounding whitespace is ignored.
            k: how many pledges to return, 1 to 20.

        Returns:
            An `Answer`; its `coverage` says how well the programme covers the question.

        Raises:
            BadQuestion: the question is empty or too long, or `k` is out of range.
        """
        question = clean_question(question)
        check_k(k)
        key = (question.casefold(), k)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            return cached if cached.question == question else replace(cached, question=question)
        ranking = self.ranker.rank(question)
        hits = tuple(Hit(self.programme.by_id[pid], s) for pid, s in ranking.top(k))
        chatter = smalltalk(question)
        answer = Answer(question, NOT_COVERED if chatter else ranking.coverage, hits, chatter)
        if self._cache_size:
            with self._lock:
                self._cache[key] = answer
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return answer

    def nearest_sections(self, answer: Answer, n: int = 3) -> list[Section]:
        """The sections of the best hits, in order, without repeats: where to read on."""
        seen: dict[str, Section] = {}
        for hit in answer.hits:
            seen.setdefault(hit.pledge.section, self._sections[hit.pledge.section])
        return list(seen.values())[:n]


# Right-to-left overrides and isolates change how text is displayed without being visible,
# so a quoted question could read differently from what was asked.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def clean_question(question: str) -> str:
    """Trim and check a question; raise `BadQuestion` saying what is wrong."""
    if not isinstance(question, str):
        raise BadQuestion("the question must be text", "Spørsmålet må være tekst.")
    if _CONTROLS.search(question.replace("\n", " ").replace("\t", " ").replace("\r", " ")):
        raise BadQuestion("the question contains control characters", "Spørsmålet inneholder kontrolltegn.")
    if _BIDI_CONTROLS.search(question):
        raise BadQuestion(
            "the question contains right-to-left override characters",
            "Spørsmålet inneholder usynlige tegn som snur skriveretningen.",
        )
    question = " ".join(question.split())
    if not question:
        raise BadQuestion("the question is empty", f"Spørsmålet er tomt. Skriv et spørsmål på 1–{MAX_QUESTION} tegn.")
    if len(question) > MAX_QUESTION:
        raise BadQuestion(
            f"the question is {len(question)} characters; at most {MAX_QUESTION} are allowed",
            f"Spørsmålet er {len(question)} tegn langt; det kan være på høyst {MAX_QUESTION} tegn.",
        )
    if not any(c.isalnum() for c in question):
        raise BadQuestion("the question has no letters or digits", "Spørsmålet må inneholde bokstaver eller tall.")
    return question


def check_k(k: int) -> None:
    """Raise `BadQuestion` unless 1 <= k <= MAX_K."""
    if not 1 <= k <= MAX_K:
        raise BadQuestion(f"k must be between 1 and {MAX_K}, got {k}", f"k må være et helt tall fra 1 til {MAX_K}.")


def load_programme(path: Path) -> Programme:
    """Parse the programme file; an unreadable file raises `ConfigError` naming it."""
    try:
        return parse_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"QA_CORPUS: cannot read {path}: {exc}") from None


@dataclass(frozen=True)
class Inputs:
    """Everything answering is built from, checked, before any model call."""

    programme: Programme
    embedder: Embedder
    expansions: dict[str, tuple[str, ...]]
    background: list[tuple[str, str]]
    topics: dict[str, tuple[str, ...]]
    fitted: Fitted | None

    @property
    def passages(self):
        return passages_for(self.programme, self.expansions, self.background, self.topics)


def load_inputs(settings: Settings, *, embedder: Embedder | None = None) -> Inputs:
    """Parse the programme and load the model (without running it); bad settings raise `ConfigError`."""
    programme = load_programme(settings.corpus)
    if not programme.pledges:
        raise ConfigError(f"QA_CORPUS: {settings.corpus} contains no pledges")
    for warning in programme.warnings:
        log.warning("%s: %s", settings.corpus.name, warning)
    try:
        embedder = embedder or load_embedder(settings.model)
    except IndexFailure as exc:
        raise ConfigError(f"QA_MODEL: {exc}") from None
    fitted = load_fitted(settings.fitted) if settings.fitted is not None else None
    if fitted is not None:
        hashes = input_hashes(settings)
        warn_if_stale(fitted, hashes, embedder.model_id)
    background = background_texts(settings.questions, settings.background)
    expansions = load_expansions(settings.expansions, programme)
    return Inputs(programme, embedder, expansions, background, load_topics(settings.topics, programme), fitted)


def load_answerer(settings: Settings, *, embedder: Embedder | None = None, progress: bool = False) -> Answerer:
    """Load the programme, the model and the index (building it if needed): all start-up work."""
    inputs = load_inputs(settings, embedder=embedder)
    # The engine already keeps every core busy for each question; BLAS threads on top of it
    # (for numpy's small matrix-vector products) only fight it for the cores.
    threadpool_limits(limits=1, user_api="blas")
    stored = open_index(settings.index_dir, inputs.embedder, inputs.passages, progress=progress)
    fitted = inputs.fitted
    ranker = Ranker(
        inputs.programme,
        inputs.embedder,
        stored,
        inputs.expansions,
        weights=fitted.weights if fitted else Weights(),
        bands=fitted.bands if fitted else None,
    )
    return Answerer(inputs.programme, ranker, inputs.embedder.model_id, settings.cache_size)
