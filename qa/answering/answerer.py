"""Answer a voter's question with ranked pledges, in a coverage band.

`Answerer` is built once (qa/answering/startup.py loads the model, the index and the
programme) and then answers questions with no I/O and no model loading: embed the question,
score every pledge, rank, decide the band. Answers are cached by question.

Staff curation (qa.curation.sync) may change the ranker while the server runs: it installs a
`refresh` hook, called before each question (it must be cheap; it decides itself how often to
look for changes), and clears the cache when it changes anything.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from corpus.model import Programme, Section
from qa.answer import Answer, Hit
from qa.answering import followup
from qa.answering.bands import NOT_COVERED
from qa.answering.limits import check_k, clean_question
from qa.answering.ranking import Ranker
from qa.answering.smalltalk import smalltalk
from qa.errors import BadQuestion


class Answerer:
    """Answers questions about one programme. Thread-safe; answers are cached by question."""

    def __init__(self, programme: Programme, ranker: Ranker, model_id: str, cache_size: int = 1024) -> None:
        self.programme = programme
        self.model_id = model_id
        self.ranker = ranker
        self._cache: OrderedDict[tuple[str, int, str, bool], Answer] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._generation = 0
        self.refresh: Callable[[], object] | None = None  # called before each question (qa.curation.sync)
        self.followup: followup.Decision | None = None  # None: the shipped one (followup.json), on first use

    def clear_cache(self) -> None:
        """Forget every cached answer: the ranking has changed."""
        with self._lock:
            self._cache.clear()
            self._generation += 1  # an answer ranked before this is not cached after it

    def ask(self, question: str, k: int = 5, prev: str | None = None, *, exact: bool = False) -> Answer:
        """Answer `question` with up to `k` pledges.

        Args:
            question: the voter's words; surrounding whitespace is ignored.
            k: how many pledges to return, 1 to `MAX_K` (qa/answering/limits.py).
            prev: the voter's previous question, if any (same limits as `question`); a follow-up
                that cannot stand alone is then answered with it in mind (qa.answering.followup),
                and the answer's `interpreted_as` says what was answered.
            exact: answer the words as typed: no spelling is mended (and `corrected` is None).

        Returns:
            An `Answer`; its `coverage` says how well the programme covers the question.

        Raises:
            BadQuestion: the question (or `prev`) is empty or too long, or `k` is out of range.
        """
        question = clean_question(question)
        check_k(k)
        prev = None if prev is None else clean_prev(prev)
        if self.refresh is not None:
            self.refresh()
        key = (question.casefold(), k, "" if prev is None else prev.casefold(), exact)
        with self._lock:
            generation = self._generation
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            if cached.question == question:
                return cached
            return replace(cached, question=question, corrected=None if exact else self.ranker.mended(question))
        chatter = smalltalk(question)
        interpreted_as = None
        if prev is None or chatter:
            ranking = self.ranker.rank(question, exact=exact)
        else:
            decision = self.followup or followup.load()
            resolved = followup.resolve(self.ranker, decision, prev, question, exact=exact)
            ranking, interpreted_as = resolved.ranking, resolved.interpreted_as
        hits = tuple(Hit(self.programme.by_id[pid], s) for pid, s in ranking.top(k))
        coverage = NOT_COVERED if chatter else ranking.coverage
        corrected = None if exact else self.ranker.mended(question)
        answer = Answer(question, coverage, hits, chatter, interpreted_as, corrected)
        if self._cache_size:
            with self._lock:
                if generation != self._generation:
                    return answer
                self._cache[key] = answer
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return answer

    def nearest_sections(self, answer: Answer, n: int = 3) -> list[Section]:
        """The sections of the best hits, in order, without repeats: where to read on.

        Sections are told apart by id: two sections may share a title.
        """
        sections = self.programme.sections_by_id
        seen = dict.fromkeys(hit.pledge.section_id for hit in answer.hits)
        return [sections[sid] for sid in seen][:n]


def clean_prev(prev: str) -> str:
    """Check the previous question by the question's limits; the message says it is `prev`."""
    try:
        return clean_question(prev)
    except BadQuestion as exc:
        raise BadQuestion(f"prev: {exc}", f"Forrige spørsmål (prev): {exc.voter_message}") from None
