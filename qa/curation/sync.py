"""Keep a running `Answerer` in step with the curation stored in the question-log database.

`attach(answerer, target, programme=SLUG)` loads every alternate and not-covered mark of one
programme (each programme's answerer gets only its own), embeds them (alternates as questions,
so the question staff attached meets itself and answers with its pledge first, see
qa.answering.ranking PIN_AT; marks as passages, like the background texts they join) and
installs them in the ranker; then, before
each question, the answerer calls `CurationSync.refresh`, which at most once a second reads the
store's version counter (one tiny SELECT) and reloads only when it moved: so with several server
processes, a change made through one reaches the others within about a second. The process that
made the change calls `refresh(force=True)` at once, so its very next answer has it.

Vectors are kept by text, so a reload embeds only what is new. A store that cannot be read keeps
the last curation in place and logs a warning; answering never fails because of curation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from index.embedders import Embedder
from qa.answering.answerer import Answerer
from qa.curation.store import Curation, CurationError, Snapshot
from qa.programmes.registry import DEFAULT_SLUG

if TYPE_CHECKING:
    from qa.programmes.library import Library

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds between looks at the version counter


class CurationSync:
    """Installs a curation snapshot in an answerer's ranker, and reloads it when the store changes."""

    def __init__(
        self,
        answerer: Answerer,
        curation: Curation,
        *,
        every: float = CHECK_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.answerer, self.curation = answerer, curation
        self._embedder: Embedder = answerer.ranker.embedder
        self._every, self._clock = every, clock
        self._lock = threading.Lock()
        self._next_check = float("-inf")
        self._version: int | None = None
        self._failing = False  # the last look at the store failed
        self._vectors: dict[tuple[str, str], np.ndarray] = {}  # ("query" or "passage", text)
        self.snapshot: Snapshot | None = None

    def refresh(self, force: bool = False) -> bool:
        """Reload when the store changed (looking at most once per `every` seconds unless `force`).

        Returns True when it installed a new curation.
        """
        if not force and self._clock() < self._next_check:
            return False
        if not self._lock.acquire(blocking=force):
            return False  # another thread is looking right now; this question goes on without waiting
        try:
            self._next_check = self._clock() + self._every
            try:
                unchanged = not force and self.curation.version() == self._version
                snapshot = None if unchanged else self.curation.snapshot()
            except CurationError as exc:
                # One line when it starts failing (then quiet, every second), one when it works again.
                (log.debug if self._failing else log.warning)("curation not reloaded: %s", exc)
                self._failing = True
                return False
            if self._failing:
                log.warning("curation can be read again")
                self._failing = False
            if snapshot is None or (snapshot.version == self._version and not force):
                return False
            try:
                self._install(snapshot)
            except Exception:  # the embedder failed: keep answering with the last curation
                log.warning("curation version %d not installed", snapshot.version, exc_info=True)
                return False
            return True
        finally:
            self._lock.release()

    def _install(self, snapshot: Snapshot) -> None:
        ranker = self.answerer.ranker
        known = set(ranker.ids)
        alternates = [a for a in snapshot.alternates if a.pledge_id in known]
        for a in snapshot.alternates:
            if a.pledge_id not in known:  # the programme changed under the stored curation
                log.warning("alternate %d is for pledge %r, which the programme no longer has", a.id, a.pledge_id)
        texts = [("query", a.question) for a in alternates] + [("passage", m.question) for m in snapshot.marks]
        for kind, embed in (("query", self._embedder.embed_queries), ("passage", self._embedder.embed_passages)):
            new = list(dict.fromkeys(t for k, t in texts if k == kind and (k, t) not in self._vectors))
            if new:
                self._vectors.update(zip(((kind, t) for t in new), embed(new)))
        self._vectors = {key: self._vectors[key] for key in texts}  # forget what is gone
        dim = ranker.curated.background.shape[1]
        background = np.array([self._vectors["passage", m.question] for m in snapshot.marks], np.float32).reshape(-1, dim)
        ranker.set_curated({a.id: (a.pledge_id, self._vectors["query", a.question]) for a in alternates}, background)
        self.answerer.clear_cache()  # after the ranker changed: no answer ranked before is kept
        self._version, self.snapshot = snapshot.version, snapshot
        log.info("curation version %d: %d alternates, %d not-covered marks", snapshot.version, len(alternates), len(snapshot.marks))


def attach_library(library: Library, target: str) -> dict[str, CurationSync]:
    """Every programme of `library` with its own curation from the database at `target`, by slug,
    all on one store's connections. Curation stored for a programme the registry does not have
    (renamed, removed, or rows from before several programmes) is named in a warning, and kept."""
    entries = library.entries
    store = Curation(target, (), programme=library.default.slug)
    syncs = {e.slug: attach(library.answerer(e.slug), target, programme=e.slug, store=store) for e in entries}
    try:
        unknown = store.programmes() - set(syncs)
    except CurationError as exc:
        log.warning("curation: cannot list its programmes: %s", exc)
        unknown = set()
    for slug in sorted(unknown):
        log.warning(
            "curation is stored for programme %r, which the registry does not have; no answerer uses it"
            " (move it with `python -m qa alternates export --programme %s` and `import --programme NEW`)",
            slug,
            slug,
        )
    return syncs


def attach(
    answerer: Answerer, target: str, *, programme: str = DEFAULT_SLUG, store: Curation | None = None, **options
) -> CurationSync:
    """Load programme `programme`'s curation stored at `target` (a question-log database) into
    `answerer`, that programme's, and keep it current. With `store`, on that store's connections
    (one pair for every programme of a service), else on a pair of its own."""
    if store is None:
        curation = Curation(target, answerer.programme.by_id, programme=programme)
    else:
        curation = store.for_programme(programme, answerer.programme.by_id)
    sync = CurationSync(answerer, curation, **options)
    sync.refresh(force=True)
    answerer.refresh = sync.refresh
    return sync
