"""The anonymous question log: what voters ask, how it was answered, and their feedback.

Each question becomes one row: its normalised text (for grouping repeats) and the text as asked,
the hour it was asked (UTC, rounded down), whether the programme answered it, the top score and
the pledge ids shown. Nothing about the person is stored: no address, user agent, cookie or any
id that could follow them; the `ask_id` handed back for feedback is random and used for nothing
else. Rows are keyed by that random id, so even the order in the file says nothing about when
within the hour a question came.

Writing never slows or breaks an answer: one INSERT on a connection in WAL mode with a short busy
timeout; if the database is locked, full, read-only or missing, `record` returns None and the
server logs one warning (then at most one an hour). The report queries open their own
connections, so a slow report never holds up a write. This module does not know about HTTP.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import QAError

if TYPE_CHECKING:
    from qa.answer import Answer
    from qa.settings import Settings

log = logging.getLogger(__name__)

OFF = "off"
MAX_COMMENT = 500
BUSY_TIMEOUT = 0.05  # seconds a write waits for a lock before giving up: never slow an answer
STARTUP_TIMEOUT = 5.0  # seconds to wait at start-up, when another worker may be migrating
RETRY_EVERY = 60.0  # seconds between attempts to reopen a database that could not be opened
WARN_EVERY = 3600.0  # seconds between warnings about failed writes
PURGE_EVERY = timedelta(hours=1)

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
)
SCHEMA_VERSION = len(MIGRATIONS)

_TRAILING = re.compile(r"[\s?!.…]+$")


class QuestionLogError(QAError):
    """The question log cannot be read or written (reports and feedback; never `record`)."""


def normalise(question: str) -> str:
    """The grouping key of a question: NFKC, whitespace collapsed, casefolded, no trailing ?!."""
    text = " ".join(unicodedata.normalize("NFKC", question).split()).casefold()
    return _TRAILING.sub("", text) or text


def hour_of(moment: datetime) -> str:
    """`moment` rounded down to the hour, in UTC, as the text stored in the log."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z")


HOUR_CHARS = len("2026-01-01T00:00:00Z")


def clean_comment(comment: str | None) -> str | None:
    """One line of at most `MAX_COMMENT` characters without control characters; empty is None."""
    if comment is None:
        return None
    text = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in comment).split())
    return text[:MAX_COMMENT] or None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class QuestionLog:
    """The log of one SQLite file. Thread-safe; `QuestionLog.open(settings)` is the way in."""

    def __init__(self, target: str | Path | None, keep_days: int = 180, *, clock: Callable[[], datetime] = _utcnow):
        """`target` is a file path, a `file:` URI, or None for a disabled log that stores nothing."""
        self.target = None if target is None else str(target)
        self.keep_days = keep_days
        self._clock = clock
        self._lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._retry_at = 0.0  # time.monotonic() before which no reopen is attempted
        self._warned_at: float | None = None
        self._next_purge: datetime | None = None

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], datetime] = _utcnow) -> QuestionLog:
        """Open (creating and migrating) the log at `settings.db`, and purge old entries.

        Args:
            settings: `db` is the path, a `file:` URI, or "off" (or empty); `log_days` is how long rows are kept.
            clock: the current time, for tests.

        Returns:
            A `QuestionLog`; disabled (storing nothing) when `db` is "off". A database that cannot be
            opened is not fatal: the server logs a warning and keeps trying now and then.
        """
        db = settings.db.strip()
        qlog = cls(None if db.lower() in ("", OFF) else db, settings.log_days, clock=clock)
        if qlog.enabled:
            with qlog._lock:
                try:
                    conn = qlog._connect(STARTUP_TIMEOUT)
                    _busy_timeout(conn, STARTUP_TIMEOUT)  # another worker may be purging too
                    try:
                        qlog._purge_locked(conn)
                    finally:
                        _busy_timeout(conn, BUSY_TIMEOUT)
                except Exception as exc:
                    qlog._failed(exc)
        return qlog

    @property
    def enabled(self) -> bool:
        return self.target is not None

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    # -- writing -----------------------------------------------------------------------------

    def record(self, answer: Answer) -> str | None:
        """Log one answered question; never raises and never waits long.

        Args:
            answer: what the voter was shown.

        Returns:
            A fresh random `ask_id` for feedback, or None when the log is off or the write failed.
        """
        if not self.enabled:
            return None
        ask_id = secrets.token_urlsafe(16)
        now = self._clock()
        row = (
            ask_id,
            hour_of(now),
            normalise(answer.question),
            " ".join(answer.question.split()),
            int(answer.answered),
            round(answer.hits[0].score, 4) if answer.hits else None,
            json.dumps([hit.pledge.id for hit in answer.hits]),
        )
        if not self._lock.acquire(timeout=2 * BUSY_TIMEOUT):
            log.debug("question log busy; question not logged")
            return None
        try:
            conn = self._writable()
            if conn is None:  # could not be opened a moment ago; the warning has been given
                return None
            conn.execute("INSERT INTO asks VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            if self._next_purge is None or now >= self._next_purge:
                self._purge_locked(conn)
        except Exception as exc:
            self._failed(exc)
            return None
        finally:
            self._lock.release()
        return ask_id

    def feedback(self, ask_id: str, helpful: bool, comment: str | None = None) -> bool:
        """Store a voter's verdict on one answer; a later verdict on the same answer replaces it.

        Args:
            ask_id: the id `record` returned.
            helpful: thumbs up (True) or down (False).
            comment: optional; cut to one line of at most 500 characters.

        Returns:
            False when no logged question has this `ask_id` (or the log is off).

        Raises:
            QuestionLogError: the database cannot be written.
        """
        if not self.enabled:
            return False
        params = (hour_of(self._clock()), int(bool(helpful)), clean_comment(comment), ask_id)
        with self._lock:
            try:
                conn = self._writable()
                if conn is None:
                    raise QuestionLogError("it could not be opened a moment ago")
                cur = conn.execute(
                    """INSERT INTO feedback (ask_id, hour, helpful, comment)
                       SELECT ask_id, ?, ?, ? FROM asks WHERE ask_id = ?
                       ON CONFLICT (ask_id) DO UPDATE SET
                           hour = excluded.hour, helpful = excluded.helpful,
                           comment = coalesce(excluded.comment, feedback.comment)""",
                    params,
                )
            except Exception as exc:
                self._failed(exc)
                raise QuestionLogError(f"the question log at {self.target} cannot be written: {exc}") from None
        return cur.rowcount > 0

    def purge(self) -> int:
        """Delete entries older than `keep_days`; returns how many questions went."""
        if not self.enabled:
            return 0
        with self._lock:
            try:
                conn = self._writable()
                if conn is None:
                    raise QuestionLogError("it could not be opened a moment ago")
                return self._purge_locked(conn)
            except Exception as exc:
                self._failed(exc)
                raise QuestionLogError(f"the question log at {self.target} cannot be purged: {exc}") from None

    def _purge_locked(self, conn: sqlite3.Connection) -> int:
        now = self._clock()
        cutoff = hour_of(now - timedelta(days=self.keep_days))
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM feedback WHERE ask_id IN (SELECT ask_id FROM asks WHERE hour < ?)", (cutoff,))
            conn.execute("DELETE FROM feedback WHERE hour < ?", (cutoff,))
            gone = conn.execute("DELETE FROM asks WHERE hour < ?", (cutoff,)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        self._next_purge = now + PURGE_EVERY
        return gone

    def _writable(self) -> sqlite3.Connection | None:
        """The write connection, opened on first use; None for a while after opening failed."""
        if self._writer is None and time.monotonic() >= self._retry_at:
            self._connect(BUSY_TIMEOUT)
        return self._writer

    def _connect(self, timeout: float) -> sqlite3.Connection:
        """Open and migrate the write connection. Call with the lock held."""
        try:
            conn = _open(self.target, timeout)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across crashes, no fsync per write
                _migrate(conn)
                _busy_timeout(conn, BUSY_TIMEOUT)
            except BaseException:
                conn.close()
                raise
        except Exception:
            self._retry_at = time.monotonic() + RETRY_EVERY
            raise
        self._writer = conn
        return conn

    def _failed(self, exc: Exception) -> None:
        """Note a failed write: one warning, then at most one an hour; a broken connection is dropped."""
        if self._writer is not None and not isinstance(exc, sqlite3.OperationalError | sqlite3.IntegrityError):
            self._writer.close()
            self._writer = None
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            unexpected = not isinstance(exc, sqlite3.Error | OSError | QuestionLogError)
            log.warning(
                "question log %s cannot be written (%s); questions are not being logged",
                self.target,
                exc,
                exc_info=unexpected,
            )
        else:
            log.debug("question log %s: write failed: %s", self.target, exc)

    # -- reading, for the report -------------------------------------------------------------

    def questions(self, answered: bool | None = None, days: int = 30, limit: int | None = None) -> list[dict]:
        """Questions of the last `days` days, repeats grouped, most asked first.

        Args:
            answered: only answered (True) or unanswered (False) questions; None for all.
            days: today (UTC) and the days before it, `days` in all.
            limit: at most this many groups.

        Returns:
            `{"question", "count", "last_seen", "answered", "top_score"}` per normalised question; the
            text, `answered` and `top_score` are those of its latest asking (within the same hour,
            of the greatest text).

        Raises:
            QuestionLogError: the database cannot be read.
        """
        where, params = "hour >= ?", [self._since(days)]
        if answered is not None:
            where += " AND answered = ?"
            params.append(int(answered))
        # SQLite takes bare columns (text, answered, top_score) from the row where the one max() is.
        # Rows within an hour have no order, so the text breaks ties: the same data, the same report.
        sql = f"""SELECT text, count(*) AS n, max(hour || text) AS latest, answered, top_score
                  FROM asks WHERE {where} GROUP BY question
                  ORDER BY n DESC, latest DESC, question LIMIT ?"""
        params.append(-1 if limit is None else limit)
        return [
            {"question": t, "count": n, "last_seen": latest[:HOUR_CHARS], "answered": bool(a), "top_score": score}
            for t, n, latest, a, score in self._read(sql, params)
        ]

    def negative_feedback(self, days: int = 30, limit: int | None = None) -> list[dict]:
        """Thumbs-down verdicts of the last `days` days, newest first, with the question and comment.

        Returns `{"time", "question", "comment", "answered", "top_score"}` per verdict.
        """
        sql = """SELECT f.hour, a.text, f.comment, a.answered, a.top_score
                 FROM feedback f JOIN asks a USING (ask_id)
                 WHERE f.helpful = 0 AND f.hour >= ?
                 ORDER BY f.hour DESC, f.comment IS NULL, a.question, f.comment LIMIT ?"""
        rows = self._read(sql, [self._since(days), -1 if limit is None else limit])
        return [{"time": h, "question": t, "comment": c, "answered": bool(a), "top_score": s} for h, t, c, a, s in rows]

    def feedback_counts(self, days: int = 30) -> dict[str, int]:
        """`{"helpful": n, "unhelpful": m}` verdicts in the last `days` days."""
        sql = "SELECT helpful, count(*) FROM feedback WHERE hour >= ? GROUP BY helpful"
        counts = dict(self._read(sql, [self._since(days)]))
        return {"helpful": counts.get(1, 0), "unhelpful": counts.get(0, 0)}

    def per_day(self, days: int = 30) -> list[dict]:
        """Questions per UTC day, oldest first, every one of the `days` days (zeros included).

        Returns `{"day": "YYYY-MM-DD", "count", "unanswered"}` per day.
        """
        sql = """SELECT substr(hour, 1, 10) AS day, count(*), sum(answered = 0)
                 FROM asks WHERE hour >= ? GROUP BY day"""
        found = {day: (n, u) for day, n, u in self._read(sql, [self._since(days)])}
        first = self._clock().astimezone(UTC).date() - timedelta(days=days - 1)
        out = []
        for i in range(days):
            day = (first + timedelta(days=i)).isoformat()
            n, u = found.get(day, (0, 0))
            out.append({"day": day, "count": n, "unanswered": u})
        return out

    def _since(self, days: int) -> str:
        """The first hour of the window: midnight UTC, `days - 1` days before today."""
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        start = self._clock().astimezone(UTC).date() - timedelta(days=days - 1)
        return f"{start.isoformat()}T00:00:00Z"

    def _read(self, sql: str, params: list) -> list[tuple]:
        if not self.enabled:
            return []
        try:
            with self._reader() as conn:
                return conn.execute(sql, params).fetchall()
        except (sqlite3.Error, OSError) as exc:
            raise QuestionLogError(f"the question log at {self.target} cannot be read: {exc}") from None

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own for one report query, so reading never holds up writing."""
        conn = _open(self.target, STARTUP_TIMEOUT)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise QuestionLogError(
                    f"the question log at {self.target} has schema version {version}, expected {SCHEMA_VERSION}"
                )
            conn.execute("PRAGMA query_only = 1")
            yield conn
        finally:
            conn.close()


def _open(target: str, timeout: float) -> sqlite3.Connection:
    uri = target.startswith("file:")
    if not uri:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: each INSERT commits on its own; migrations use explicit transactions.
    return sqlite3.connect(target, timeout=timeout, uri=uri, isolation_level=None, check_same_thread=False)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to `SCHEMA_VERSION`, one step at a time, in one transaction."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
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
        _rollback(conn)
        raise


def _busy_timeout(conn: sqlite3.Connection, seconds: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
