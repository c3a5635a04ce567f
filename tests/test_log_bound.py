"""The question log's bounds: at most QA_LOG_MAX_ROWS questions, oldest first out, and a compact
grouping key for long questions; in SQLite and in PostgreSQL (the `db` fixture runs each test in both)."""

from __future__ import annotations

import os

import pytest

from qa.operations.settings import Settings
from qa.questionlog.bound import KEY_CHARS, batch_for, compact_key
from qa.questionlog.store import QuestionLog, normalise
from tests.postgres import rows
from tests.test_questionlog import Clock, make_answer


@pytest.fixture
def db(log_db: str) -> str:
    return log_db


@pytest.fixture
def sqlite_db(tmp_path) -> str:
    return tmp_path / "var" / "questions.sqlite3"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _open(db: str, clock: Clock, max_rows: int) -> QuestionLog:
    return QuestionLog.open(Settings(db=db, log_max_rows=max_rows), clock=clock)


def _texts(db: str) -> list[str]:
    return [r[0] for r in rows(db, "SELECT text FROM asks ORDER BY text")]


def test_the_cap_is_a_setting_with_a_default_and_no_negative_values(monkeypatch):
    assert Settings().log_max_rows == 200_000
    monkeypatch.setenv("QA_LOG_MAX_ROWS", "0")
    assert Settings().log_max_rows == 0
    with pytest.raises(ValueError, match="log_max_rows"):
        Settings(log_max_rows=-1)


def test_batch_is_one_percent_of_the_cap_between_one_and_a_thousand():
    assert [batch_for(n) for n in (1, 99, 100, 5_000, 200_000, 10_000_000)] == [1, 1, 1, 50, 1000, 1000]


def test_beyond_the_cap_the_oldest_hours_go_first_with_their_feedback(db, clock):
    qlog = _open(db, clock, max_rows=5)
    old = qlog.record(make_answer("eldst"))
    assert qlog.feedback(old, False, "borte snart")
    for i in range(7):
        clock.advance(hours=1)
        assert qlog.record(make_answer(f"spørsmål {i}")) is not None
    # batch_for(5) is 1: every write looks, so there are never more than five.
    assert _texts(db) == [f"spørsmål {i}" for i in range(2, 7)]
    assert rows(db, "SELECT count(*) FROM feedback") == [(0,)]
    qlog.close()


def test_a_large_cap_trims_in_batches_of_one_percent(db, clock):
    qlog = _open(db, clock, max_rows=200)  # batch 2: the count is looked at every second write
    for i in range(205):
        clock.advance(minutes=1)  # T0 is 10:17:42: q000 to q041 are in the first hour
        qlog.record(make_answer(f"q{i:03d}"))
    count = rows(db, "SELECT count(*) FROM asks")[0][0]
    assert 200 <= count < 200 + batch_for(200)
    # Those that went are from the first hour (which of its questions: no order within an hour).
    assert {f"q{i:03d}" for i in range(42, 205)} <= set(_texts(db))
    qlog.close()


def test_opening_a_log_over_the_cap_trims_it(db, clock):
    qlog = _open(db, clock, max_rows=0)
    for i in range(10):
        clock.advance(hours=1)
        qlog.record(make_answer(f"spørsmål {i}"))
    qlog.close()
    assert rows(db, "SELECT count(*) FROM asks") == [(10,)]
    _open(db, clock, max_rows=3).close()
    assert _texts(db) == ["spørsmål 7", "spørsmål 8", "spørsmål 9"]


def test_no_cap_keeps_everything(db, clock):
    qlog = _open(db, clock, max_rows=0)
    for i in range(30):
        qlog.record(make_answer(f"spørsmål {i}"))
    assert rows(db, "SELECT count(*) FROM asks") == [(30,)]
    qlog.close()


def test_a_short_question_keeps_the_key_older_code_wrote():
    assert compact_key(normalise("Hva vil dere gjøre med bussen?")) == "hva vil dere gjøre med bussen"


def test_a_long_question_is_keyed_by_its_start_and_a_digest_of_all_of_it():
    long = "hva vil dere gjøre med bussene i bærum " * 12
    key = compact_key(normalise(long))
    assert len(key) == KEY_CHARS and key.startswith(normalise(long)[:60]) and "…" in key
    assert compact_key(normalise(long.upper() + "?")) == key  # the same question, asked again
    assert compact_key(normalise(long + " og togene")) != key  # differs only past the cut


def test_long_questions_group_as_before_and_are_shown_in_full(db, clock):
    qlog = _open(db, clock, max_rows=0)
    a = "Hva vil dere gjøre med bussene i Bærum, " * 12
    b = a + "og med togene?"
    for text in (a, a.upper(), b):
        qlog.record(make_answer(text))
    groups = {g["question"]: g["count"] for g in qlog.questions()}
    assert groups == {" ".join(a.split()): 2, " ".join(b.split()): 1}  # the greatest text of the hour is shown
    qlog.close()


def test_a_500_character_question_costs_under_1500_bytes_in_sqlite(sqlite_db, clock):
    """The figure in README.md, "Bounding the question log": about 1.2 KB (5.4 KB before)."""
    qlog = _open(str(sqlite_db), clock, max_rows=0)
    words = "buss skole fjord kajakk sykkel karakter sone kollektiv trafikk grønn kommune".split()
    for i in range(400):
        text = " ".join(words[(i + j) % len(words)] for j in range(80))[:495] + f" {i:03d}?"
        assert len(text) == 500 and qlog.record(make_answer(text, ids=[f"p-{j}" for j in range(5)])) is not None
    qlog.close()
    assert os.path.getsize(sqlite_db) / 400 < 1500
