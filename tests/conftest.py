"""Shared fixtures: a deterministic fake embedder and a five-pledge programme; and what keeps
every test independent of the machine it runs on.

The fake embedder hashes words and character trigrams into a fixed-size vector, so texts
that share words are close. It is instant and needs no model; the real model is used only
in the tests marked `model` (every test that uses the `real_*` fixtures is marked so here).

Whatever `QA_*` variables the caller has exported, no test and no session fixture sees them.
A unit test (not marked `model`, `browser` or `production_data`) that opens the production
data, the expansions, topics, background, tuning questions or fitted file, fails: unit tests
bring their own data (`settings`), so a change to that data never breaks or fixes one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from qa.answering import followup
from qa.answering.answerer import Answerer
from qa.answering.startup import load_answerer
from qa.operations.settings import (
    DEFAULT_BACKGROUND,
    DEFAULT_EXPANSIONS,
    DEFAULT_FITTED,
    DEFAULT_QUESTIONS,
    DEFAULT_TOPICS,
    Settings,
)

REAL_CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "mdg-baerum-program.txt"
REAL_MODEL_FIXTURES = frozenset({"real_index_dir", "real_settings", "real_answerer"})
PRODUCTION_DATA = frozenset(
    os.path.abspath(p)
    for p in (DEFAULT_EXPANSIONS, DEFAULT_TOPICS, DEFAULT_BACKGROUND, DEFAULT_QUESTIONS, DEFAULT_FITTED, followup.FITTED)
)
ALLOWED_PRODUCTION_DATA = ("model", "browser", "production_data")  # markers of tests that may read it


# --- The caller's environment -------------------------------------------------------------------


def _qa_variables() -> list[str]:
    return [name for name in os.environ if name.startswith("QA_")]


@pytest.fixture(scope="session", autouse=True)
def _no_qa_variables_for_session_fixtures():
    """Session fixtures (`real_settings`, the browser tests' apps) build `Settings` without the
    caller's `QA_*` variables; they come back when the session ends."""
    with pytest.MonkeyPatch.context() as mp:
        for name in _qa_variables():
            mp.delenv(name)
        yield


@pytest.fixture(autouse=True)
def _no_qa_variables(monkeypatch):
    """Every test starts without `QA_*` variables; one it sets is gone after it."""
    for name in _qa_variables():
        monkeypatch.delenv(name)


# --- Markers and production data ----------------------------------------------------------------


def pytest_collection_modifyitems(items):
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("model")


class _ProductionDataWatch:
    """Which production data files the running unit test (its fixtures included) opened."""

    def __init__(self) -> None:
        self.opened: set[str] | None = None  # None: not watching

    def audit(self, event: str, args: tuple) -> None:
        if event == "open" and self.opened is not None and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.abspath(os.fsdecode(args[0]))
            if path in PRODUCTION_DATA:
                self.opened.add(path)


_watch = _ProductionDataWatch()
sys.addaudithook(_watch.audit)  # audit hooks stay for the process; this one is idle between tests


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    unit = not any(item.get_closest_marker(name) for name in ALLOWED_PRODUCTION_DATA)
    _watch.opened = set() if unit else None  # before any fixture of the test is set up


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    opened, _watch.opened = _watch.opened, None
    if opened:
        names = ", ".join(sorted(os.path.relpath(p, REAL_CORPUS.parent.parent) for p in opened))
        pytest.fail(
            f"this unit test read production data ({names}); give it its own (see the `settings` fixture), "
            "or mark it production_data if checking that data is its purpose",
            pytrace=False,
        )

SMALL_PROGRAMME = textwrap.dedent(
    """\
     Et forord om en grønnere kommune for alle som bor her.

    Et grønt Bærum

    Oslofjorden
    Fjorden trenger hjelp.

    Vi vil:
    ● forby all form for tråling i Oslofjorden.
    ● opprette en utleieordning for kajakker og robåter

    gratis mot at de som leier plukker plast.

    Samferdsel
    Bussen skal gå ofte.

    Vi vil:
    ● innføre sone 1 i kollektivtrafikken i hele Bærum.
    ● bygge et sammenhengende sykkelveinett av høy kvalitet.
     Skole
    Skolen er viktig.

    Vi vil:
    ● avvikle karakterer helt eller delvis i hele grunnskolen.
    """
)


class FakeEmbedder:
    """Deterministic bag of words and trigrams; counts its calls."""

    model_id = "fake-embedder"
    dim = 256

    def __init__(self) -> None:
        self.calls = 0

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        words = re.findall(r"\w+", text.lower())
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        for token in words + grams:
            h = int(hashlib.md5(token.encode()).hexdigest()[:8], 16)
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "programme.txt"
    path.write_text(SMALL_PROGRAMME, encoding="utf-8")
    return path


SMALL_EXPANSIONS = [
    {"text": "forby all form for tråling i Oslofjorden.", "expansions": ["Skal bunntråling i fjorden stoppes?"]},
    {"text": "innføre sone 1 i kollektivtrafikken i hele Bærum.", "expansions": ["billigere busskort i hele kommunen"]},
    {"text": "avvikle karakterer helt eller delvis i hele grunnskolen.", "expansions": ["skole uten karakterer"]},
]


@pytest.fixture
def small_expansions(tmp_path: Path) -> Path:
    import json

    path = tmp_path / "expansions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in SMALL_EXPANSIONS), encoding="utf-8")
    return path


@pytest.fixture
def small_env(monkeypatch, tmp_path: Path, small_corpus: Path, small_expansions: Path) -> Path:
    """QA_* variables for the CLI on the small programme and its expansions (three of five
    pledges), every other data file off, writing into tmp_path; returns the expansions file."""
    monkeypatch.setenv("QA_CORPUS", str(small_corpus))
    monkeypatch.setenv("QA_EXPANSIONS", str(small_expansions))
    for name in ("QA_TOPICS", "QA_QUESTIONS", "QA_BACKGROUND", "QA_FITTED"):
        monkeypatch.setenv(name, "off")
    monkeypatch.setenv("QA_VAR_DIR", str(tmp_path / "var"))
    return small_expansions


def write_jsonl(path: Path, *rows) -> Path:
    """Write `rows` one per line: a dict as JSON, a string as it is (for malformed lines)."""
    import json

    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows))
    return path


@pytest.fixture
def settings(tmp_path: Path, small_corpus: Path, small_expansions: Path) -> Settings:
    """Settings isolated in tmp_path: small corpus and its own expansions, own index folder, no
    question log, no background or topics, and the plain band rule instead of the fitted file
    (nothing here reads the production data)."""
    return Settings(
        corpus=small_corpus,
        expansions=small_expansions,
        topics=None,
        questions=None,
        background=None,
        fitted=None,
        index_dir=tmp_path / "index",
        db="off",
        rate_limit=0,
    )


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def answerer(settings: Settings, fake_embedder: FakeEmbedder) -> Answerer:
    return load_answerer(settings, embedder=fake_embedder)


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory) -> Path:
    """A session-wide folder for the index of the real programme with the real default model.

    Built at most once per test session (the first test that needs it pays); started from
    the checkout's own index when one exists, and rebuilt here if that one is stale.
    """
    import shutil

    target = tmp_path_factory.getbasetemp() / "real-index"
    checkout_index = REAL_CORPUS.parent.parent / "var" / "index"
    if not target.exists() and checkout_index.is_dir():
        shutil.copytree(checkout_index, target)
    return target


@pytest.fixture(scope="session")
def real_settings(real_index_dir: Path) -> Settings:
    """Default settings (real corpus, real model) with the shared index and no question log."""
    return Settings(index_dir=real_index_dir, db="off", rate_limit=0)


@pytest.fixture(scope="session")
def real_answerer(real_settings: Settings) -> Answerer:
    return load_answerer(real_settings)


# -- the question log's two backends ------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url():
    """The URL of a throwaway PostgreSQL server (tests/postgres.py), started once a session."""
    from tests import postgres

    bindir = postgres.bin_dir()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if postgres.IN_CI:
            pytest.fail(f"{message}; in CI it must be", pytrace=False)
        pytest.skip(message)
    cluster = postgres.Cluster(bindir)
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def log_db(request, tmp_path: Path):
    """Where a test's question log lives, once in each backend: a SQLite file in tmp_path, or a
    fresh database of its own on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "var" / "questions.sqlite3")
    return request.getfixturevalue("pg_db")


@pytest.fixture
def pg_db(pg_url: str):
    """A fresh, empty database of its own on the session's PostgreSQL server; dropped afterwards."""
    from tests import postgres

    url, drop = postgres.fresh_database(pg_url)
    try:
        yield url
    finally:
        drop()


PROGRAMME_FIXTURES = Path(__file__).parent / "fixtures" / "programmes"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """A copy of the fictional programme registry (tests/fixtures/programmes), for QA_PROGRAMMES."""
    folder = tmp_path / "programmes"
    shutil.copytree(PROGRAMME_FIXTURES, folder)
    return folder
