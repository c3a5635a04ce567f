"""The question log: what is stored (and what never is), grouping, purging, migrations, feedback,
and writes that fail without breaking anything.

Every test that uses `db` runs twice: on SQLite and on PostgreSQL (`log_db`, tests/conftest.py).
The tests of SQLite's own files (WAL, read-only files, file locks) use `sqlite_db`."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from corpus.model import Pledge
from qa.answer import Answer, Hit
from qa.operations.settings import CHECKOUT, Settings
from qa.questionlog.backend import connect, dialect_of
from qa.questionlog.schema import SCHEMA_VERSION, migrate, schema_version, set_version
from qa.questionlog.store import BUSY_TIMEOUT, COVERAGES, QuestionLog, QuestionLogError, normalise
from tests.postgres import rows

T0 = datetime(2026, 5, 4, 10, 17, 42, tzinfo=UTC)


class Clock:
    """A settable clock for the log."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def pledge(pid: str) -> Pledge:
    section = pid.rsplit("-", 1)[0]
    return Pledge(pid, "Et grønt Bærum", section.title(), int(pid.rsplit("-", 1)[1]), 10, f"tekst {pid}")


def make_answer(
    question: str, coverage: str = "answered", ids=("oslofjorden-1", "oslofjorden-2"), top=0.8123456, smalltalk=None
):
    hits = tuple(Hit(pledge(pid), top - i / 10) for i, pid in enumerate(ids))
    return Answer(question, coverage, hits, smalltalk)


def asks(db: str) -> list[tuple]:
    return rows(db, "SELECT * FROM asks")


def version_of(db: str) -> int:
    conn = connect(db, 5.0)
    try:
        return schema_version(conn)
    finally:
        conn.close()


def columns(db: str, table: str) -> list[str]:
    if dialect_of(db) == "sqlite":
        return [r[1] for r in rows(db, f"PRAGMA table_info({table})")]
    sql = "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position"
    return [r[0] for r in rows(db, sql, (table,))]


def migrated_to(db: str, version: int) -> None:
    """A database as code of schema `version` left it."""
    conn = connect(db, 5.0)
    try:
        migrate(conn, to=version)
    finally:
        conn.close()


def warnings_from_log(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "qa.questionlog.store" and r.levelno >= logging.WARNING]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(log_db: str) -> str:
    return log_db


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "questions.sqlite3"


@pytest.fixture
def qlog(db: Path, clock: Clock):
    qlog = QuestionLog.open(Settings(db=str(db)), clock=clock)
    yield qlog
    qlog.close()


# -- what is stored -------------------------------------------------------------------------


def test_record_stores_normalised_question_hour_band_top_score_and_ids(qlog, db):
    ask_id = qlog.record(make_answer("  Hva vil MDG   med Oslofjorden? "))

    assert asks(db) == [
        (
            ask_id,
            "2026-05-04T10:00:00Z",
            "hva vil mdg med oslofjorden",
            "Hva vil MDG med Oslofjorden?",
            1,
            0.8123,
            '["oslofjorden-1", "oslofjorden-2"]',
            "answered",
            None,
            "mdg-baerum",  # the programme asked: the only one, registry.single's
        )
    ]


@pytest.mark.parametrize(
    ("coverage", "smalltalk", "stored"),
    [
        ("answered", None, (1, "answered", None)),
        ("related", None, (0, "related", None)),
        ("not_covered", None, (0, "not_covered", None)),
        ("not_covered", "greeting", (0, "not_covered", "greeting")),
        ("not_covered", "thanks", (0, "not_covered", "thanks")),
    ],
)
def test_record_stores_the_band_and_whether_it_was_only_smalltalk(qlog, db, coverage, smalltalk, stored):
    qlog.record(make_answer("x", coverage, smalltalk=smalltalk))
    assert rows(db, "SELECT answered, coverage, smalltalk FROM asks") == [stored]


def test_the_log_knows_the_same_bands_as_the_answers():
    from qa.answering.ranking import ANSWERED, NOT_COVERED, RELATED

    assert COVERAGES == (ANSWERED, RELATED, NOT_COVERED)


def test_a_band_the_log_does_not_know_is_refused_by_the_database(qlog, db, caplog):
    assert qlog.record(make_answer("x", "maybe")) is None
    assert asks(db) == []
    message = warnings_from_log(caplog)[0].getMessage()
    assert "check constraint" in message.lower() and "\n" not in message  # and not the row itself


def test_the_table_has_no_column_that_could_identify_a_person(qlog, db):
    assert columns(db, "asks") == [
        "ask_id", "hour", "question", "text", "answered", "top_score", "shown", "coverage", "smalltalk", "programme"
    ]  # fmt: skip
    assert columns(db, "feedback") == ["ask_id", "hour", "helpful", "comment"]


def test_ask_ids_are_random_even_for_the_same_question_in_the_same_hour(qlog):
    ids = {qlog.record(make_answer("buss")) for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) >= 22 and i.replace("-", "").replace("_", "").isalnum() for i in ids)


def test_question_without_hits_is_stored_without_a_score(qlog, db):
    qlog.record(Answer("hva med ulv?", "not_covered", ()))
    assert rows(db, "SELECT answered, top_score, shown FROM asks") == [(0, None, "[]")]


def test_normalise_groups_case_width_spacing_and_trailing_punctuation():
    assert normalise("  HVA med\tBUSSEN ?! ") == "hva med bussen"
    assert normalise("Ｂｕｓｓ") == "buss"  # NFKC: full-width letters
    assert normalise("?") == "?"


# -- logging off ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["off", "OFF", ""])
def test_log_off_stores_nothing_and_hands_out_no_ask_id(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    qlog = QuestionLog.open(Settings(db=value))

    assert not qlog.enabled
    assert qlog.record(make_answer("buss")) is None
    assert qlog.feedback("anything", False, "nei") is False
    assert qlog.questions() == [] and qlog.negative_feedback() == [] and qlog.purge() == 0
    assert list(tmp_path.iterdir()) == []


# -- grouping and the report queries --------------------------------------------------------


def test_repeats_of_the_same_question_are_grouped_most_asked_first(qlog, clock):
    qlog.record(make_answer("Hva med ulv?", coverage="not_covered", ids=("natur-1",), top=0.31))
    qlog.record(make_answer("Buss", top=0.7))
    clock.advance(hours=2)
    qlog.record(make_answer("hva med  ULV", coverage="not_covered", ids=("natur-1",), top=0.35))
    qlog.record(make_answer("HVA MED ULV?!", coverage="not_covered", ids=("natur-1",), top=0.33))
    qlog.record(make_answer("sykkel", top=0.9))

    assert qlog.questions(days=30) == [
        # the latest text; within one hour the greatest ('h' > 'H'), as rows have no order there
        {
            "question": "hva med ULV",
            "count": 3,
            "last_seen": "2026-05-04T12:00:00Z",
            "answered": False,
            "coverage": "not_covered",
            "smalltalk": None,
            "top_score": 0.35,
            "programme": "mdg-baerum",
        },
        {
            "question": "sykkel",
            "count": 1,
            "last_seen": "2026-05-04T12:00:00Z",
            "answered": True,
            "coverage": "answered",
            "smalltalk": None,
            "top_score": 0.9,
            "programme": "mdg-baerum",
        },
        {
            "question": "Buss",
            "count": 1,
            "last_seen": "2026-05-04T10:00:00Z",
            "answered": True,
            "coverage": "answered",
            "smalltalk": None,
            "top_score": 0.7,
            "programme": "mdg-baerum",
        },
    ]
    assert [q["question"] for q in qlog.questions(answered=False)] == ["hva med ULV"]
    assert [q["question"] for q in qlog.questions(answered=True)] == ["sykkel", "Buss"]
    assert [q["question"] for q in qlog.questions(limit=1)] == ["hva med ULV"]


def test_questions_can_be_chosen_by_band_and_by_whether_they_were_smalltalk(qlog):
    qlog.record(make_answer("ulv", "not_covered"))
    qlog.record(make_answer("elsparkesykler", "related"))
    qlog.record(make_answer("elsparkesykler", "related"))
    qlog.record(make_answer("buss", "answered"))
    qlog.record(make_answer("hei", "not_covered", smalltalk="greeting"))

    def asked(**filters) -> list[str]:
        return [q["question"] for q in qlog.questions(**filters)]

    assert asked(coverage="not_covered") == ["ulv", "hei"]
    assert asked(coverage="not_covered", smalltalk=False) == ["ulv"]
    assert asked(coverage="related") == ["elsparkesykler"]
    assert asked(coverage="answered") == asked(answered=True) == ["buss"]
    assert asked(answered=False) == ["elsparkesykler", "ulv", "hei"]
    assert asked(smalltalk=True) == ["hei"]
    assert [(q["coverage"], q["smalltalk"]) for q in qlog.questions(smalltalk=True)] == [("not_covered", "greeting")]
    with pytest.raises(ValueError, match="coverage must be one of answered, related, not_covered, got 'maybe'"):
        qlog.questions(coverage="maybe")


def test_days_counts_today_and_the_days_before_it(qlog, clock):
    qlog.record(make_answer("gammelt"))
    clock.advance(days=2)
    qlog.record(make_answer("nytt"))

    assert [q["question"] for q in qlog.questions(days=1)] == ["nytt"]
    assert [q["question"] for q in qlog.questions(days=2)] == ["nytt"]
    assert [q["question"] for q in qlog.questions(days=3)] == ["nytt", "gammelt"]
    with pytest.raises(ValueError):
        qlog.questions(days=0)


def test_per_day_counts_every_day_including_empty_ones_by_band_and_smalltalk_apart(qlog, clock):
    qlog.record(make_answer("a"))
    qlog.record(make_answer("b", coverage="not_covered"))
    qlog.record(make_answer("c", coverage="related"))
    qlog.record(make_answer("hei", coverage="not_covered", smalltalk="greeting"))
    clock.advance(days=2)
    qlog.record(make_answer("d", coverage="not_covered"))

    zero = {"count": 0, "answered": 0, "related": 0, "not_covered": 0, "smalltalk": 0}
    assert qlog.per_day(days=4) == [
        {"day": "2026-05-03", **zero},
        {"day": "2026-05-04", "count": 4, "answered": 1, "related": 1, "not_covered": 1, "smalltalk": 1},
        {"day": "2026-05-05", **zero},
        {"day": "2026-05-06", **zero, "count": 1, "not_covered": 1},
    ]


# -- feedback -------------------------------------------------------------------------------


def test_feedback_round_trip(qlog, clock):
    good = qlog.record(make_answer("buss"))
    bad = qlog.record(make_answer("ulv", coverage="not_covered", ids=("natur-1",), top=0.2))
    clock.advance(hours=1)

    assert qlog.feedback(good, True) is True
    assert qlog.feedback(bad, False, "  Fikk ikke\nsvar  ") is True

    assert qlog.negative_feedback() == [
        {
            "time": "2026-05-04T11:00:00Z",
            "question": "ulv",
            "comment": "Fikk ikke svar",
            "answered": False,
            "coverage": "not_covered",
            "smalltalk": None,
            "top_score": 0.2,
            "shown": ["natur-1"],
            "programme": "mdg-baerum",
        }
    ]
    assert qlog.feedback_counts() == {"helpful": 1, "unhelpful": 1}


def test_a_later_verdict_replaces_an_earlier_one_and_keeps_the_comment(qlog):
    ask_id = qlog.record(make_answer("buss"))
    qlog.feedback(ask_id, False)
    qlog.feedback(ask_id, False, "for langt")
    qlog.feedback(ask_id, False)  # a repeated click without a comment keeps the comment
    assert [f["comment"] for f in qlog.negative_feedback()] == ["for langt"]

    qlog.feedback(ask_id, True)
    assert qlog.negative_feedback() == []
    assert qlog.feedback_counts() == {"helpful": 1, "unhelpful": 0}


def test_feedback_on_an_unknown_ask_id_is_refused(qlog):
    qlog.record(make_answer("buss"))
    assert qlog.feedback("no-such-ask", True) is False
    assert qlog.feedback_counts() == {"helpful": 0, "unhelpful": 0}


def test_feedback_comment_is_one_line_of_at_most_500_characters(qlog):
    ask_id = qlog.record(make_answer("buss"))
    qlog.feedback(ask_id, False, "x\x00y\r\n" + "z" * 600)
    (entry,) = qlog.negative_feedback()
    assert entry["comment"] == "x y " + "z" * 496


def test_a_comment_cannot_turn_the_staff_reports_text_around_or_hold_what_is_not_text(qlog):
    ask_id = qlog.record(make_answer("buss"))
    qlog.feedback(ask_id, False, "ok \u202egnirts\u202c og \u2067isolert\u2069 \ud800slutt\x1b[31m")
    (entry,) = qlog.negative_feedback()
    assert entry["comment"] == "ok gnirts og isolert slutt [31m"


# -- purging --------------------------------------------------------------------------------


def test_purge_deletes_entries_older_than_log_days(db, clock):
    qlog = QuestionLog.open(Settings(db=str(db), log_days=30), clock=clock)
    old = qlog.record(make_answer("gammelt"))
    qlog.feedback(old, False, "kommentar")
    clock.advance(days=29)
    qlog.record(make_answer("nyere"))
    clock.advance(days=1, hours=1)

    assert qlog.purge() == 1
    assert [r[0] for r in rows(db, "SELECT text FROM asks")] == ["nyere"]
    assert rows(db, "SELECT * FROM feedback") == []
    qlog.close()


def test_purge_runs_on_open(db, clock):
    qlog = QuestionLog.open(Settings(db=str(db), log_days=1), clock=clock)
    qlog.record(make_answer("gammelt"))
    qlog.close()

    clock.advance(days=2)
    QuestionLog.open(Settings(db=str(db), log_days=1), clock=clock).close()
    assert asks(db) == []


def test_purge_runs_on_writes_at_most_once_an_hour(qlog, db, clock):
    rows(db, "INSERT INTO asks VALUES ('old', '2025-01-01T00:00:00Z', 'x', 'x', 1, NULL, '[]', 'answered', NULL, 'mdg-baerum')")

    clock.advance(minutes=30)
    qlog.record(make_answer("buss"))  # opened less than an hour ago: no purge yet
    assert ("old",) in rows(db, "SELECT ask_id FROM asks")

    clock.advance(minutes=31)
    qlog.record(make_answer("buss"))
    assert ("old",) not in rows(db, "SELECT ask_id FROM asks")


# -- schema versions ------------------------------------------------------------------------


def test_a_new_database_has_the_current_schema_version(qlog, db):
    assert version_of(db) == SCHEMA_VERSION


def test_a_new_sqlite_database_keeps_a_rollback_journal_and_no_shared_memory_file(sqlite_db, clock):
    qlog = QuestionLog.open(Settings(db=str(sqlite_db)), clock=clock)
    assert qlog.record(make_answer("buss")) is not None
    # The log stays open: a WAL database would have its -shm file mapped into memory now.
    assert rows(sqlite_db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(sqlite_db, "PRAGMA journal_mode") == [("delete",)]
    assert qlog._writer.raw.execute("PRAGMA mmap_size").fetchone() == (0,)
    assert sorted(p.name for p in sqlite_db.parent.iterdir()) == [sqlite_db.name]
    qlog.close()


def test_a_database_older_code_left_in_wal_mode_is_switched_to_a_rollback_journal(sqlite_db, clock):
    sqlite_db.parent.mkdir()
    old = sqlite3.connect(sqlite_db)
    assert old.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    old.close()
    qlog = QuestionLog.open(Settings(db=str(sqlite_db)), clock=clock)
    assert qlog.record(make_answer("buss")) is not None
    assert rows(sqlite_db, "PRAGMA journal_mode") == [("delete",)]
    assert not sqlite_db.with_name(sqlite_db.name + "-shm").exists()
    qlog.close()


def test_a_wal_database_another_process_holds_open_is_not_used_until_it_can_be_switched(sqlite_db, clock, caplog):
    sqlite_db.parent.mkdir()
    holder = sqlite3.connect(sqlite_db)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("CREATE TABLE held (x)")  # and keeps it open, in WAL mode
    qlog = QuestionLog.open(Settings(db=str(sqlite_db)), clock=clock)
    assert qlog.record(make_answer("buss")) is None
    assert "WAL mode" in warnings_from_log(caplog)[0].getMessage()
    holder.close()
    qlog._retry_at = 0.0  # instead of waiting for the next attempt
    assert qlog.record(make_answer("buss")) is not None
    assert rows(sqlite_db, "PRAGMA journal_mode") == [("delete",)]
    qlog.close()


def test_an_old_database_is_migrated_forward_on_open(db, clock):
    migrated_to(db, 1)
    rows(db, "INSERT INTO asks VALUES ('from-v1', '2026-05-04T09:00:00Z', 'buss', 'Buss', 1, 0.5, '[\"samferdsel-1\"]')")
    assert version_of(db) == 1

    qlog = QuestionLog.open(Settings(db=str(db)), clock=clock)

    assert version_of(db) == SCHEMA_VERSION
    assert [(q["question"], q["coverage"]) for q in qlog.questions()] == [("Buss", "answered")]
    assert qlog.feedback("from-v1", False, "gammel, men fortsatt her") is True
    assert qlog.negative_feedback()[0]["comment"] == "gammel, men fortsatt her"
    qlog.close()


def test_a_database_from_before_the_bands_gets_them_from_answered_and_its_greetings_marked(db, clock):
    migrated_to(db, 2)
    for row in [
        ("a", "buss", "Buss", 1),
        ("b", "hva med ulv", "Hva med ulv?", 0),
        ("c", "hei", "Hei!", 0),
        ("d", "takk for svaret", "Takk for svaret", 1),  # once answered with pledges: it stays so
    ]:
        rows(db, "INSERT INTO asks VALUES (?, '2026-05-04T09:00:00Z', ?, ?, ?, 0.5, '[]')", row)
    rows(db, "INSERT INTO feedback VALUES ('b', '2026-05-04T09:00:00Z', 0, 'mangler')")

    qlog = QuestionLog.open(Settings(db=str(db)), clock=clock)

    assert version_of(db) == SCHEMA_VERSION
    assert rows(db, "SELECT ask_id, answered, coverage, smalltalk FROM asks ORDER BY ask_id") == [
        ("a", 1, "answered", None),
        ("b", 0, "not_covered", None),
        ("c", 0, "not_covered", "greeting"),
        ("d", 1, "answered", "thanks"),
    ]
    assert [q["question"] for q in qlog.questions(coverage="not_covered", smalltalk=False)] == ["Hva med ulv?"]
    assert qlog.negative_feedback()[0]["coverage"] == "not_covered"
    assert qlog.record(make_answer("ny", "related")) is not None  # and it takes new rows with their band
    qlog.close()


def test_a_database_from_newer_code_is_left_alone(db, clock, caplog):
    conn = connect(db, 5.0)
    set_version(conn, 99)
    conn.close()

    qlog = QuestionLog.open(Settings(db=str(db)), clock=clock)

    assert qlog.record(make_answer("buss")) is None
    assert version_of(db) == 99
    assert len(warnings_from_log(caplog)) == 1
    assert "newer" in warnings_from_log(caplog)[0].getMessage()
    with pytest.raises(QuestionLogError, match="schema version 99"):
        qlog.questions()


# -- writes that fail -----------------------------------------------------------------------


def _read_only_uri(tmp_path: Path) -> str:
    path = tmp_path / "existing.sqlite3"
    QuestionLog.open(Settings(db=str(path))).close()
    return f"file:{path}?mode=ro"


def _directory(tmp_path: Path) -> str:
    (tmp_path / "a-directory").mkdir()
    return str(tmp_path / "a-directory")


def _under_a_file(tmp_path: Path) -> str:
    (tmp_path / "plain-file").write_text("not a folder")
    return str(tmp_path / "plain-file" / "questions.sqlite3")


@pytest.mark.parametrize(
    "unwritable", [_read_only_uri, _directory, _under_a_file], ids=["read-only", "directory", "under-a-file"]
)
def test_unwritable_database_returns_no_ask_id_and_warns_once(tmp_path, caplog, unwritable):
    qlog = QuestionLog.open(Settings(db=unwritable(tmp_path)))

    assert [qlog.record(make_answer(f"spørsmål {i}")) for i in range(5)] == [None] * 5
    assert len(warnings_from_log(caplog)) == 1
    assert "cannot be written" in warnings_from_log(caplog)[0].getMessage()


def test_read_only_database_really_refuses_the_write(tmp_path, caplog):
    uri = _read_only_uri(tmp_path)
    qlog = QuestionLog.open(Settings(db=uri))
    qlog.record(make_answer("buss"))
    assert asks(tmp_path / "existing.sqlite3") == []
    assert "readonly" in warnings_from_log(caplog)[0].getMessage()
    assert qlog.questions() == []  # reading still works


def test_locked_database_does_not_hold_up_an_answer(sqlite_db, clock, caplog):
    db = sqlite_db
    qlog = QuestionLog.open(Settings(db=str(db)), clock=clock)
    qlog.record(make_answer("før"))
    # A write waits for a lock no longer than BUSY_TIMEOUT: the connection's own setting, as
    # SQLite reports it, also after open() waited longer for a purge at start-up.
    assert qlog._writer.raw.execute("PRAGMA busy_timeout").fetchone() == (int(BUSY_TIMEOUT * 1000),)
    assert BUSY_TIMEOUT <= 0.1
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        assert qlog.record(make_answer("under låsen")) is None
        assert qlog.record(make_answer("under låsen")) is None
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert len(warnings_from_log(caplog)) == 1

    assert qlog.record(make_answer("etter")) is not None  # and it recovers by itself
    assert [r[0] for r in rows(db, "SELECT text FROM asks ORDER BY text")] == ["etter", "før"]


def test_record_is_safe_from_many_threads(qlog, db):
    ids: list[str | None] = []

    def ask_many():
        for i in range(50):
            ids.append(qlog.record(make_answer(f"spørsmål {i}")))

    threads = [threading.Thread(target=ask_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    stored = [i for i in ids if i is not None]
    # No write lost or doubled: every id handed out is stored, once, and nothing else is.
    assert len(set(stored)) == len(stored) and sorted(stored) == sorted(r[0] for r in rows(db, "SELECT ask_id FROM asks"))
    # An fsync (SQLite's rollback journal) or a round trip (PostgreSQL) per write: under this much
    # contention on a busy machine some questions find the log busy past the 0.1 s a write may
    # wait, and go unlogged by design (on a quiet machine all 400 are stored; with other test runs
    # beside it, once 358 here). Most must be.
    assert len(stored) >= 250



def test_a_locked_postgresql_table_does_not_hold_up_an_answer(pg_db, clock, caplog):
    import time

    import psycopg

    qlog = QuestionLog.open(Settings(db=pg_db), clock=clock)
    qlog.record(make_answer("før"))
    locker = psycopg.connect(pg_db)  # not autocommit: the lock is held until the rollback
    locker.execute("LOCK TABLE asks IN ACCESS EXCLUSIVE MODE")
    try:
        start = time.monotonic()
        assert qlog.record(make_answer("under låsen")) is None
        assert qlog.record(make_answer("under låsen")) is None
        assert time.monotonic() - start < 1.0
    finally:
        locker.rollback()
        locker.close()
    assert len(warnings_from_log(caplog)) == 1
    assert qlog.record(make_answer("etter")) is not None  # and it recovers by itself
    assert [r[0] for r in rows(pg_db, "SELECT text FROM asks ORDER BY text")] == ["etter", "før"]
    qlog.close()


def test_a_database_password_never_reaches_the_server_log(caplog):
    from qa.questionlog.backend import shown

    url = "postgresql://qa:s3cret-pw@127.0.0.1:1/nowhere"
    assert shown(url) == "postgresql://qa:***@127.0.0.1:1/nowhere"
    assert shown("postgresql://127.0.0.1/db?sslmode=require&password=pw") == "postgresql://127.0.0.1/db?sslmode=require&password=***"
    assert shown("postgresql://:pw@h/db") == "postgresql://:***@h/db"
    assert shown("/var/lib/mdg-qa/questions.sqlite3") == "/var/lib/mdg-qa/questions.sqlite3"
    qlog = QuestionLog.open(Settings(db=url))  # nothing listens on port 1

    assert qlog.record(make_answer("buss")) is None
    with pytest.raises(QuestionLogError) as caught:
        qlog.questions()
    assert "s3cret-pw" not in str(caught.value) and "s3cret-pw" not in caplog.text
    assert "postgresql://qa:***@127.0.0.1:1/nowhere" in warnings_from_log(caplog)[0].getMessage()


def test_a_lost_postgresql_connection_is_replaced_on_the_next_write(pg_db, clock, caplog):
    """A PostgreSQL restart (here: every session of the log's killed) costs at most the question
    being written; the next one opens a new connection by itself."""
    qlog = QuestionLog.open(Settings(db=pg_db), clock=clock)
    assert qlog.record(make_answer("før")) is not None
    rows(pg_db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")

    lost = qlog.record(make_answer("under omstart"))
    after = qlog.record(make_answer("etter"))

    assert lost is None and after is not None
    assert qlog.feedback(after, False, "fortsatt her") is True
    assert [r[0] for r in rows(pg_db, "SELECT text FROM asks ORDER BY text")] == ["etter", "før"]
    failed, recovered = (w.getMessage() for w in warnings_from_log(caplog))
    assert "cannot be written" in failed and "works again" in recovered
    qlog.close()


def test_psycopg_is_imported_only_for_a_postgresql_log(tmp_path: Path):
    # 0.13 s of every start otherwise; until it is imported none of its errors can be raised.
    code = (
        "import sys, web.app, qa.operations.serve\n"
        "from qa.questionlog.backend import errors\n"
        "from qa.questionlog.backend import connect\n"
        "from qa.questionlog.schema import migrate\n"
        f"migrate(connect({str(tmp_path / 'log.sqlite3')!r}, 1.0))\n"
        "assert 'psycopg' not in sys.modules, 'imported with a SQLite log'\n"
        "import sqlite3; assert errors() == (sqlite3.Error,)\n"
        "import psycopg; assert errors() == (sqlite3.Error, psycopg.Error)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=CHECKOUT, capture_output=True)


def test_workers_starting_together_on_an_empty_postgresql_database_migrate_it_once(pg_db):
    # Found with `serve --workers 2` on a fresh database: the second worker made the tables again
    # ("relation asks already exists") and logged nothing until its next write.
    import threading

    from qa.questionlog.schema import open_db

    errors, barrier = [], threading.Barrier(3)

    def start():
        conn = open_db(pg_db, 5.0)
        try:
            barrier.wait()
            migrate(conn)
        except Exception as exc:  # noqa: BLE001 (collected for the assertion)
            errors.append(repr(exc))
        finally:
            conn.close()

    workers = [threading.Thread(target=start) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert errors == []
    conn = open_db(pg_db, 5.0)
    try:
        assert schema_version(conn) == SCHEMA_VERSION
    finally:
        conn.close()
