"""Answering from several programmes: one `Answerer` per programme of the registry, one model.

Each programme has its own index folder (`QA_INDEX_DIR/<slug>`, or `QA_INDEX_DIR` itself for the
service with one programme), its own expansions, topics and id ledger beside its programme file;
adding or changing one programme rebuilds only its own index. A question is searched only in
the programmes asked for, so the time per question does not grow with their number.

Fallback: when the asked programme does not answer a question (coverage is not "answered"), its
`fallback` programme (and that one's, and so on) is asked, and the first that answers is given
beside the local answer, never mixed into it. Compare asks each named programme and gives the
answers in the registry's order, never ranked by score.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

from index.embedders import Embedder, load_embedder
from index.errors import IndexFailure
from qa.answer import Answer
from qa.answering.answerer import Answerer
from qa.answering.bands import ANSWERED
from qa.answering.startup import load_answerer
from qa.errors import ConfigError, QAError
from qa.operations.settings import Settings
from qa.programmes.registry import Entry, load_registry, single

log = logging.getLogger(__name__)

MAX_COMPARED = 6


class UnknownProgramme(QAError):
    """No programme of the registry has this slug."""


class TooManyProgrammes(QAError):
    """More programmes named in one compare than MAX_COMPARED, or none."""


@dataclass(frozen=True)
class Asked:
    """The asked programme's answer and, when it did not answer, the broader programme's that did."""

    entry: Entry
    answer: Answer
    fallback: tuple[Entry, Answer] | None = None


class Library:
    """The registry's programmes with their answerers, in the registry's order."""

    def __init__(self, answerers: dict[str, tuple[Entry, Answerer]]) -> None:
        self._by_slug = answerers
        self.entries = tuple(entry for entry, _ in answerers.values())
        self.default = next(e for e in self.entries if e.default)

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, slug: str | None) -> Entry:
        """The programme with `slug` (the default for None); `UnknownProgramme` when there is none."""
        if slug is None:
            return self.default
        try:
            return self._by_slug[slug][0]
        except KeyError:
            raise UnknownProgramme(f"ukjent program: {slug!r}") from None

    def answerer(self, slug: str | None = None) -> Answerer:
        return self._by_slug[self.entry(slug).slug][1]

    def ask(
        self, question: str, k: int = 5, slug: str | None = None, *, prev: str | None = None, exact: bool = False
    ) -> Asked:
        """Answer from programme `slug` (with the conversation's previous question `prev`, if any;
        with the words as typed, no spelling mended, when `exact`), with a fallback answer when it does not answer."""
        entry = self.entry(slug)
        answer = _ask(self._by_slug[entry.slug][1], question, k, prev, exact)
        if answer.coverage == ANSWERED or answer.smalltalk:
            return Asked(entry, answer)
        seen, at = {entry.slug}, entry.fallback
        while at is not None and at not in seen:
            seen.add(at)
            broader, answerer = self._by_slug[at]
            other = _ask(answerer, question, k, prev, exact)
            if other.coverage == ANSWERED:
                return Asked(entry, answer, (broader, other))
            at = broader.fallback
        return Asked(entry, answer)

    def compare(self, question: str, slugs: list[str], k: int = 3) -> list[tuple[Entry, Answer]]:
        """Each named programme's answer (no fallbacks), in the registry's order."""
        if not slugs:
            raise TooManyProgrammes("nevn minst ett program å sammenligne")
        if len(set(slugs)) > MAX_COMPARED:
            raise TooManyProgrammes(f"høyst {MAX_COMPARED} programmer kan sammenlignes om gangen")
        wanted = {self.entry(s).slug for s in slugs}
        return [(e, self._by_slug[e.slug][1].ask(question, k)) for e in self.entries if e.slug in wanted]


def _ask(answerer: Answerer, question: str, k: int, prev: str | None, exact: bool = False) -> Answer:
    # Only what is asked for is passed (`prev`, `exact`), so answerers that take neither still work.
    options = {"prev": prev} if prev is not None else {}
    if exact:
        options["exact"] = True
    return answerer.ask(question, k, **options)


def load_library(settings: Settings, *, embedder: Embedder | None = None, progress: bool = False) -> Library:
    """One answerer per programme of `QA_PROGRAMMES` (or the one of `QA_CORPUS` when it is unset)."""
    if settings.programmes is None:
        entry = single(settings.corpus)
        return Library({entry.slug: (entry, load_answerer(settings, embedder=embedder, progress=progress))})
    entries = load_registry(settings.programmes)
    try:
        embedder = embedder or load_embedder(settings.model)
    except IndexFailure as exc:
        raise ConfigError(f"QA_MODEL: {exc}") from None
    answerers = {}
    for entry in entries:
        answerers[entry.slug] = (entry, load_answerer(settings_for(settings, entry), embedder=embedder, progress=progress))
        log.info("programme %s: %d pledges", entry.slug, len(answerers[entry.slug][1].programme.pledges))
    # Everything loaded so far lives as long as the process: keep the garbage collector from
    # walking it again on every full collection (hundreds of rankers' objects, per question).
    gc.freeze()
    return Library(answerers)


def every_programme(settings: Settings) -> list[Settings]:
    """The settings of each programme the service answers: those of QA_PROGRAMMES' registry
    (each with its own files and index folder), or just `settings` without one. Reads only the
    registry; a bad one is a `ConfigError` naming the problem."""
    if settings.programmes is None:
        return [settings]
    return [settings_for(settings, entry) for entry in load_registry(settings.programmes)]


def settings_for(settings: Settings, entry: Entry) -> Settings:
    """The settings of one programme of the registry: its own files and its own index folder."""
    return settings.model_copy(
        update=dict(
        corpus=entry.programme,
        ids=entry.file("programme.ids.jsonl"),
        expansions=entry.file("expansions.jsonl"),
        topics=entry.file("topics.jsonl"),
        index_dir=settings.index_dir / entry.slug,
        )
    )


def programme_settings(settings: Settings, slug: str | None) -> tuple[Entry, Settings]:
    """Programme `slug` of the registry (the default one for None) and its own settings, for the
    command line (`qa ask --programme`, `qa eval --programme`, `qa alternates --programme`).
    Reads only the registry, never a model; `UnknownProgramme` names the slugs there are."""
    if settings.programmes is None:
        entry = single(settings.corpus)
        if slug not in (None, entry.slug):
            raise UnknownProgramme(f"unknown programme {slug!r}: QA_PROGRAMMES is not set, so the only one is {entry.slug!r}")
        return entry, settings
    entries = load_registry(settings.programmes)
    by_slug = {e.slug: e for e in entries}
    if slug is None:
        entry = next(e for e in entries if e.default)
    elif slug in by_slug:
        entry = by_slug[slug]
    else:
        raise UnknownProgramme(f"unknown programme {slug!r}; QA_PROGRAMMES has {', '.join(by_slug)}")
    return entry, settings_for(settings, entry)
