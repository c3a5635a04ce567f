"""The question log's SQLite file: opening it, its tables, and the forward migrations.

`qa.questionlog.store` writes and reads the rows; this module only knows the schema and how to bring a
file written by older code up to date, one step at a time, in one transaction, when a log is
opened (another worker opening the same file at the same moment waits for the lock, then finds
the work done). A file from newer code is left alone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from qa.answering.smalltalk import smalltalk
from qa.errors import QAError


class QuestionLogError(QAError):
    """The question log cannot be read or written (reports and feedback; never `record`)."""


# Forward migrations: MIGRATIONS[n] takes a database from schema version n to n + 1. The version
# lives in PRAGMA user_version; never edit a step that has shipped, append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the question log. WITHOUT ROWID and keyed by the random ask_id: no insertion order.
    (
        """CREATE TABLE asks (
            ask_id    TEXT PRIMARY KEY,
            hour      TEXT NOT NULL,     -- 'YYYY-MM-DDTHH:00:00Z', UTC, rounded down
            question  TEXT NOT NULL,     -- normalised, for grouping repeats
            text      TEXT NOT NULL,     -- as asked, whitespace collapsed
            answered  INTEGER NOT NULL,
            top_score REAL,
            shown     TEXT NOT NULL      -- JSON list of the pledge ids shown
        ) WITHOUT ROWID""",
        "CREATE INDEX asks_hour ON asks (hour)",
        "CREATE INDEX asks_question ON asks (question, hour)",
    ),
    # 2: feedback on answers, one per ask (a later click replaces an earlier one).
    (
        """CREATE TABLE feedback (
            ask_id  TEXT PRIMARY KEY REFERENCES asks (ask_id),
            hour    TEXT NOT NULL,
            helpful INTEGER NOT NULL,
            comment TEXT
        ) WITHOUT ROWID""",
        "CREATE INDEX feedback_hour ON feedback (hour)",
    ),
    # 3: three bands instead of answered yes/no, and smalltalk ("hei", "takk!") marked, so the
    # report does not count either "only related" or a greeting as a gap in the programme.
    # Old rows get their band from `answered`; smalltalk_of() is qa.smalltalk, registered by
    # migrate, so old greetings are recognised as new ones are.
    (
        "ALTER TABLE asks ADD COLUMN coverage TEXT NOT NULL DEFAULT 'not_covered'"
        " CHECK (coverage IN ('answered', 'related', 'not_covered'))",
        "ALTER TABLE asks ADD COLUMN smalltalk TEXT CHECK (smalltalk IN ('greeting', 'thanks'))",
        "UPDATE asks SET coverage = CASE WHEN answered THEN 'answered' ELSE 'not_covered' END,"
        " smalltalk = smalltalk_of(text)",
    ),
    # 4: staff curation (qa.curation): alternate phrasings of a pledge, and questions staff marked
    # as not covered. Staff data, never purged with the log. Triggers bump one version counter on
    # every change, so each server process sees a change made through another with one cheap read.
    (
        """CREATE TABLE alternates (
            id        INTEGER PRIMARY KEY,
            pledge_id TEXT NOT NULL,
            question  TEXT NOT NULL,     -- as staff gave it, whitespace collapsed
            key       TEXT NOT NULL,     -- normalised, for duplicates
            created   TEXT NOT NULL,     -- 'YYYY-MM-DDTHH:MM:SSZ', UTC
            UNIQUE (pledge_id, key)
        )""",
        """CREATE TABLE not_covered_marks (
            id       INTEGER PRIMARY KEY,
            question TEXT NOT NULL,
            key      TEXT NOT NULL UNIQUE,
            created  TEXT NOT NULL
        )""",
        "CREATE TABLE curation_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)",
        "INSERT INTO curation_version VALUES (1, 0)",
        *(
            f"CREATE TRIGGER {table}_{event.lower()} AFTER {event} ON {table}"
            " BEGIN UPDATE curation_version SET version = version + 1; END"
            for table in ("alternates", "not_covered_marks")
            for event in ("INSERT", "UPDATE", "DELETE")
        ),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def open_db(target: str, timeout: float) -> sqlite3.Connection:
    """A connection to the log at `target` (a path, whose folder is made, or a `file:` URI)."""
    uri = target.startswith("file:")
    if not uri:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: each INSERT commits on its own; migrations use explicit transactions.
    return sqlite3.connect(target, timeout=timeout, uri=uri, isolation_level=None, check_same_thread=False)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to `SCHEMA_VERSION`, one step at a time, in one transaction."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    conn.create_function("smalltalk_of", 1, smalltalk, deterministic=True)  # used by migration 3
    conn.execute("BEGIN IMMEDIATE")  # another worker may be migrating too: take the lock, then look again
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise QuestionLogError(f"schema version {version} is newer than this code knows ({SCHEMA_VERSION})")
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def busy_timeout(conn: sqlite3.Connection, seconds: float) -> None:
    """How long `conn` waits for another writer's lock before it gives up."""
    conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction of `conn`, if there is one."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")
