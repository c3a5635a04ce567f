"""Build an `Answerer` from settings: parse the programme, load the model, the fitted
parameters and the data, open (or build) the index. All start-up work; nothing per question.

Every data file that is set must be there: a missing one stops start-up with a line naming the
setting and the path (`off` turns an optional one off, as None does in code). How well the
expansions and topics fit the programme is logged: a warning when some are stale or missing.

A programme with expansions for fewer than BARE_BELOW of its pledges (a new edition on the day it
arrives, or expansions switched off) runs *bare*: without expansions and topics, on the weights
and band model `python -m qa tune` fitted for exactly that (`Fitted.bare`). The band model fitted
with expansions reads a bare programme's weaker matches as "not covered" for half of all questions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from threadpoolctl import threadpool_limits

from corpus.errors import ImportFailure
from corpus.expansions import Loaded, read_expansions, read_topics
from corpus.ids import with_ledger
from corpus.ledger import LedgerError
from corpus.model import Programme
from corpus.parse import parse_file
from index.cachefile import beside
from index.embedders import Embedder, load_embedder
from index.errors import IndexFailure
from index.passages import passages_for
from index.store import StoredIndex, open_index
from qa.answering import lexical
from qa.answering.answerer import Answerer
from qa.answering.fitted import Fitted, background_texts, input_hashes, load_fitted, warn_if_stale
from qa.answering.ranking import Ranker, Weights, lexical_documents
from qa.errors import ConfigError
from qa.operations.settings import OPTIONAL_FILES, Settings

log = logging.getLogger(__name__)

BARE_BELOW = 0.5  # share of pledges with expansions under which the programme runs bare


def load_programme(path: Path, ids: Path | None = None) -> Programme:
    """Parse the programme file (text, or a PDF as `python -m qa import` reads it) and give its
    pledges their stable ids from the ledger `ids` (positional ids when that is None or not
    there); an unreadable file raises `ConfigError`."""
    try:
        if Path(path).suffix.lower() == ".pdf":
            from corpus.pdfimport import import_pdf

            programme = import_pdf(path).programme
        else:
            programme = parse_file(path)
    except ImportFailure as exc:
        raise ConfigError(f"QA_CORPUS: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"QA_CORPUS: cannot read {path}: {exc}") from None
    try:
        programme, assignment = with_ledger(programme, ids)
    except LedgerError as exc:
        raise ConfigError(f"QA_IDS: {exc}") from None
    if assignment is None:
        log.info("QA_IDS: %s; pledges have positional ids", "off" if ids is None else f"no ledger at {ids}")
        return programme
    if unseen := assignment.unseen:
        revived = sum(1 for o in assignment.of("kept") if o.revived)
        counts = [(len(assignment.of(k)), k) for k in ("edited", "new", "retired")] + [(revived, "revived")]
        log.warning(
            "QA_IDS (%s): the programme has changes the ledger has not seen (%s%s); "
            "run 'python -m qa ids update' and commit the ledger",
            ids,
            ", ".join(f"{n} {k}" for n, k in counts if n),
            _some(tuple(o.id for o in unseen)),
        )
    return programme


@dataclass(frozen=True)
class Inputs:
    """Everything answering is built from, checked, before any model call."""

    programme: Programme
    embedder: Embedder
    expansions: dict[str, tuple[str, ...]]
    background: list[tuple[str, str]]
    topics: dict[str, tuple[str, ...]]
    fitted: Fitted | None
    messages: tuple[str, ...]  # the background file's texts alone (`background` also has the tuning set's)

    @property
    def passages(self):
        return passages_for(self.programme, self.expansions, self.background, self.topics)


def load_inputs(settings: Settings, *, embedder: Embedder | None = None) -> Inputs:
    """Parse the programme and load the model (without running it); bad settings raise `ConfigError`."""
    check_data_files(settings)
    programme = load_programme(settings.corpus, settings.ids)
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
    messages = background_texts(None, settings.background)  # read once: the lexical signal counts these alone
    background = background_texts(settings.questions) + messages
    expansions = _read_data("QA_EXPANSIONS", settings.expansions, read_expansions, programme, "pledges")
    topics = _read_data("QA_TOPICS", settings.topics, read_topics, programme, "sections")
    return Inputs(programme, embedder, expansions, background, topics, fitted, tuple(text for _, text in messages))


def check_data_files(settings: Settings) -> None:
    """Raise `ConfigError` for an optional data file that is set but not there.

    `load_settings` already refuses one; this catches settings changed with `model_copy`, which
    skips validation. (The programme itself is `load_programme`'s to check.)
    """
    for field in OPTIONAL_FILES:
        path, name = getattr(settings, field), f"QA_{field.upper()}"
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{name}: no such file: {path} (give the path of a file, or 'off' to run without it)")


def _read_data(name: str, path: Path | None, read, programme: Programme, what: str) -> dict[str, tuple[str, ...]]:
    """Read expansions or topics (none when `path` is None) and log how well they fit."""
    if path is None:
        log.info("%s is off", name)
        return {}
    try:
        loaded: Loaded = read(path, programme)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc}") from None
    one = what[:-1]
    message = (
        f"{name} ({path}): {loaded.matched} entries match a {one}, {len(loaded.stale)} stale{_some(loaded.stale)}"
        + (
            f", {len(loaded.edited)} matched by id although the {one} was edited (review them){_some(loaded.edited)}"
            if loaded.edited
            else ""
        )
        + (f", {loaded.malformed} lines are not entries" if loaded.malformed else "")
        + f"; {len(loaded.without)} of {len(loaded.texts) + len(loaded.without)} {what} have none{_some(loaded.without)}"
    )
    problem = loaded.stale or loaded.without or loaded.malformed or loaded.edited
    log.log(logging.WARNING if problem else logging.INFO, "%s", message)
    return loaded.texts


def _some(ids: tuple[str, ...], shown: int = 5) -> str:
    """' (a, b, c, ...)' naming the first few ids, or '' for none."""
    if not ids:
        return ""
    return " (" + ", ".join(ids[:shown]) + (", ..." if len(ids) > shown else "") + ")"


# What `python -m qa serve` checked before starting the server in the same process, for the
# server's own start-up to use instead of loading it all again (a second model, ~0.2 s).
_handed: list[tuple[Settings, Inputs, StoredIndex]] = []


def hand_over(settings: Settings, inputs: Inputs, stored: StoredIndex) -> None:
    """Keep what was just loaded for the next `load_answerer(settings)` in this process (once)."""
    _handed[:] = [(settings, inputs, stored)]


def _taken(settings: Settings, embedder: Embedder | None) -> tuple[Inputs, StoredIndex] | None:
    handed = _handed[:1]
    _handed.clear()
    if handed and embedder is None and handed[0][0] == settings:
        return handed[0][1], handed[0][2]
    return None


def load_answerer(settings: Settings, *, embedder: Embedder | None = None, progress: bool = False) -> Answerer:
    """Load the programme, the model and the index (building it if needed): all start-up work."""
    taken = _taken(settings, embedder)
    if taken is not None:
        inputs, stored = taken
        _one_blas_thread()  # as open_stored does
    else:
        inputs = load_inputs(settings, embedder=embedder)
        stored = open_stored(settings, inputs, progress=progress)
    ranker = ranker_for(inputs, stored, bare=runs_bare(inputs), lexical_cache=lexical_cache_path(settings.index_dir))
    return Answerer(inputs.programme, ranker, inputs.embedder.model_id, settings.cache_size)


def open_stored(settings: Settings, inputs: Inputs, *, progress: bool = False) -> StoredIndex:
    """The index of `inputs`, built if needed."""
    _one_blas_thread()
    return open_index(settings.index_dir, inputs.embedder, inputs.passages, progress=progress, cache=True)


def _one_blas_thread() -> None:
    # The engine already keeps every core busy for each question; BLAS threads on top of it
    # (for numpy's small matrix-vector products) only fight it for the cores (measured: twice
    # the CPU per answer over HTTP when they are left on).
    threadpool_limits(limits=1, user_api="blas")


def runs_bare(inputs: Inputs) -> bool:
    """Whether to answer bare: too few pledges have expansions, and the fitted file has a bare profile."""
    few = len(inputs.expansions) < BARE_BELOW * len(inputs.programme.pledges)
    fitted = inputs.fitted
    if few and fitted is not None:
        have = f"{len(inputs.expansions)} of {len(inputs.programme.pledges)} pledges have expansions"
        if fitted.bare is None:
            log.warning("%s, but the fitted file has no bare profile: refit with 'python -m qa tune'", have)
        else:
            log.warning("%s: answering bare, without expansions or topics, on the bare profile", have)
    return few and fitted is not None and fitted.bare is not None


def lexical_cache_path(index_dir: Path) -> Path:
    """Where the lexical table of the index at `index_dir` is kept between starts, beside the
    embedding cache (index/cachefile.py); a cache, deleted at will."""
    return beside(index_dir, "lexical.npz")


def keep_lexical_table(settings: Settings, inputs: Inputs) -> None:
    """Build and keep the lexical table the server will rank with (`qa build` does this, so the
    first start after a build is as quick as the next)."""
    bare = runs_bare(inputs)
    documents = lexical_documents(inputs.programme, {} if bare else inputs.expansions)
    lexical.cached(documents, lexical_cache_path(settings.index_dir), lexical_messages(inputs, bare=bare))


def lexical_messages(inputs: Inputs, *, bare: bool) -> tuple[str, ...]:
    """Voters' messages that weigh the lexical signal's grams (CharTfidf's `counted`): the broad
    questions about each section (not when bare) and the background file's messages. Words that
    nearly every question uses ("politikk", "policy") then weigh little, even where few
    pledges use them. The tuning set's questions are not among them: they are what it is measured on."""
    topics = () if bare else tuple(t for texts in inputs.topics.values() for t in texts)
    return topics + inputs.messages


def ranker_for(inputs: Inputs, stored: StoredIndex, *, bare: bool, lexical_cache: Path | None = None) -> Ranker:
    """The ranker on `stored` with the fitted profile: with expansions and topics, or bare without them."""
    fitted, expansions = inputs.fitted, inputs.expansions
    profile = None if fitted is None else fitted.bare if bare else fitted.main
    if bare:
        kept = {name: c for name, c in stored.collections.items() if name not in ("expansions", "topics")}
        stored, expansions = replace(stored, collections=kept), {}
    return Ranker(
        inputs.programme,
        inputs.embedder,
        stored,
        expansions,
        weights=profile.weights if profile else Weights(),
        bands=profile.bands if profile else None,
        lexical_cache=lexical_cache,
        voter_messages=lexical_messages(inputs, bare=bare),
    )
