"""The anonymous question log: what voters ask, how it was answered, and their feedback.

Each question becomes one row: its normalised text (for grouping repeats) and the text as asked,
the programme it was asked of (its slug, `qa.programmes.registry`), the hour it was asked (UTC, rounded down), its coverage band (answered, only related, or not
covered; `answered` is kept alongside for older readers), whether it was only a greeting or
thanks, the top score and the pledge ids shown. Nothing about the person is stored: no address, user agent, cookie or any
id that could follow them; the `ask_id` handed back for feedback is random and used for nothing
else. Rows are keyed by that random id, so even the order in the file says nothing about when
within the hour a question came.

The log lives in SQLite (a file, the default) or PostgreSQL (`QA_DB=postgresql://...`, so several
replicas share it; `qa.questionlog.backend`). Writing never slows or breaks an answer: one INSERT
on a connection (SQLite with a rollback journal and nothing memory-mapped, so no fault of its files
can crash the process) with a short lock timeout; if the database is locked, full, read-only,
damaged, missing or unreachable, `record` returns None and the server logs one warning (then at
most one an hour), and one line when it works again. A broken connection is reopened at once,
then after a delay that doubles up to a minute; a file deleted or replaced under the log is
noticed (by its inode) before and after each write, so no ask_id is handed out for a row written
into a file nobody will read. Its folder is made at the first opening only. The rows are capped
(`qa.questionlog.bound`). The report queries (`qa.questionlog.queries`) open their own connections. This module does not
know about HTTP; the tables and their migrations are in `qa.questionlog.schema`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from qa.programmes.registry import DEFAULT_SLUG
from qa.questionlog.backend import Connection, described, errors, file_identity, shown, sqlite_file
from qa.questionlog.bound import batch_for, compact_key, trim
from qa.questionlog.queries import ANSWERED, COVERAGES, NOT_COVERED, RELATED, ReportQueries  # noqa: F401 (the bands, re-exported)
from qa.questionlog.schema import (
    QuestionLogError,
    busy_timeout,
    migrate,
    open_db,
    rollback,
)

if TYPE_CHECKING:
    from qa.answer import Answer
    from qa.operations.settings import Settings

log = logging.getLogger(__name__)

OFF = "off"
MAX_COMMENT = 500
BUSY_TIMEOUT = 0.05  # seconds a write waits for a lock before giving up: never slow an answer
STARTUP_TIMEOUT = 5.0  # seconds to wait at start-up, when another worker may be migrating
RETRY_FIRST = 0.25  # seconds before the second attempt to reopen a failing database (the first is at once)
RETRY_MAX = 60.0  # the longest wait between attempts: the delay doubles from RETRY_FIRST up to this
WARN_EVERY = 3600.0  # seconds between warnings about failed writes
PURGE_EVERY = timedelta(hours=1)



_TRAILING = re.compile(r"[\s?!.…]+$")


def normalise(question: str) -> str:
    """The grouping key of a question: NFKC, whitespace collapsed, casefolded, no trailing ?!."""
    text = " ".join(unicodedata.normalize("NFKC", question).split()).casefold()
    return _TRAILING.sub("", text) or text


def hour_of(moment: datetime) -> str:
    """`moment` rounded down to the hour, in UTC, as the text stored in the log."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z")


# Dropped from comments: right-to-left overrides and isolates (they would turn the staff report's
# text around without being seen) and lone surrogates (not text; no database stores them).
_UNSHOWN = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_comment(comment: str | None) -> str | None:
    """One line of at most `MAX_COMMENT` characters without control characters (each a space),
    bidi overrides or lone surrogates (left out); empty is None."""
    if comment is None:
        return None
    kept = (
        " " if unicodedata.category(c) == "Cc" else c
        for c in comment
        if c not in _UNSHOWN and unicodedata.category(c) != "Cs"
    )
    text = " ".join("".join(kept).split())
    return text[:MAX_COMMENT] or None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class QuestionLog(ReportQueries):
    """The log in one database. Thread-safe; `QuestionLog.open(settings)` is the way in."""

    def __init__(
        self,
        target: str | Path | None,
        keep_days: int = 180,
        *,
        max_rows: int = 0,
        clock: Callable[[], datetime] = _utcnow,
    ):
        """`target` is a file path, a `file:` URI, a PostgreSQL URL, or None for a disabled log;
        `max_rows` the most questions kept (the oldest go first), 0 for no cap."""
        self.target = None if target is None else str(target)
        self.keep_days = keep_days
        self.max_rows = max_rows
        self._unchecked = 0  # questions written since the row count was last looked at
        self._clock = clock
        self._lock = threading.Lock()
        self._writer: Connection | None = None
        self._retry_at = 0.0  # time.monotonic() before which no reopen is attempted
        self._failures = 0  # failed attempts since the last write that worked
        self._warned_at: float | None = None  # when the last warning was given; None: working
        self._file = sqlite_file(self.target) if self.target is not None else None
        self._identity: tuple[int, int] | None = None  # of the file the writer has open
        self._opened = False  # opened once: from then on its folder is not made again
        self._next_purge: datetime | None = None

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], datetime] = _utcnow) -> QuestionLog:
        """Open (creating and migrating) the log at `settings.db`, and purge old entries.

        Args:
            settings: `db` is the path, a `file:` URI, a `postgresql://` URL, or "off" (or empty);
                `log_days` is how long rows are kept.
            clock: the current time, for tests.

        Returns:
            A `QuestionLog`; disabled (storing nothing) when `db` is "off". A database that cannot be
            opened is not fatal: the server logs a warning and keeps trying now and then.
        """
        db = settings.db.strip()
        qlog = cls(None if db.lower() in ("", OFF) else db, settings.log_days, max_rows=settings.log_max_rows, clock=clock)
        if qlog.enabled:
            with qlog._lock:
                try:
                    conn = qlog._connect(STARTUP_TIMEOUT)
                    busy_timeout(conn, STARTUP_TIMEOUT)  # another worker may be purging too
                    try:
                        qlog._purge_locked(conn)
                    finally:
                        busy_timeout(conn, BUSY_TIMEOUT)
                except Exception as exc:
                    qlog._failed(exc)
        return qlog

    @property
    def enabled(self) -> bool:
        return self.target is not None

    @property
    def shown(self) -> str:
        """The target as log lines and errors name it: never with a database password."""
        return "off" if self.target is None else shown(self.target)

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    # -- writing -----------------------------------------------------------------------------

    def record(self, answer: Answer, programme: str = DEFAULT_SLUG) -> str | None:
        """Log one question and how it was answered; never raises and never waits long.

        Args:
            answer: what the voter was shown.
            programme: the slug of the programme that was asked (not its fallback's).

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
            compact_key(normalise(answer.question)),
            " ".join(answer.question.split()),
            int(answer.answered),
            round(answer.hits[0].score, 4) if answer.hits else None,
            json.dumps([hit.pledge.id for hit in answer.hits]),
            answer.coverage,
            answer.smalltalk,
            programme,
        )
        if not self._lock.acquire(timeout=2 * BUSY_TIMEOUT):
            log.debug("question log busy; question not logged")
            return None
        try:
            conn = self._writable()
            if conn is None:  # could not be opened a moment ago; the warning has been given
                return None
            conn.execute(
                "INSERT INTO asks (ask_id, hour, question, text, answered, top_score, shown, coverage, smalltalk, programme)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            self._still_there()  # the row went into the file the report reads, not an unlinked one
            self._unchecked += 1
            if self._next_purge is None or now >= self._next_purge:
                self._purge_locked(conn)
            elif self.max_rows and self._unchecked >= batch_for(self.max_rows):
                self._trim_locked(conn)
            self._worked()
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
                self._still_there()
                self._worked()
            except Exception as exc:
                self._failed(exc)
                raise QuestionLogError(f"the question log at {self.shown} cannot be written: {described(exc)}") from None
        return cur.rowcount > 0

    def purge(self) -> int:
        """Delete entries older than `keep_days`, and the oldest beyond `max_rows`; returns how many questions went."""
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
                raise QuestionLogError(f"the question log at {self.shown} cannot be purged: {described(exc)}") from None

    def _purge_locked(self, conn: Connection) -> int:
        now = self._clock()
        cutoff = hour_of(now - timedelta(days=self.keep_days))
        conn.begin()
        try:
            conn.execute("DELETE FROM feedback WHERE ask_id IN (SELECT ask_id FROM asks WHERE hour < ?)", (cutoff,))
            conn.execute("DELETE FROM feedback WHERE hour < ?", (cutoff,))
            gone = conn.execute("DELETE FROM asks WHERE hour < ?", (cutoff,)).rowcount
            conn.commit()
        except BaseException:
            rollback(conn)
            raise
        self._next_purge = now + PURGE_EVERY
        return gone + self._trim_locked(conn)

    def _trim_locked(self, conn: Connection) -> int:
        """Delete the oldest questions beyond `max_rows` (`qa.questionlog.bound`)."""
        self._unchecked = 0
        return trim(conn, self.max_rows) if self.max_rows else 0

    def _writable(self) -> Connection | None:
        """The write connection, opened on first use and again when its file was deleted or
        replaced; None while waiting to retry after opening or writing failed."""
        if self._writer is not None and self._file is not None and file_identity(self._file) != self._identity:
            self._drop()  # SQLite would go on writing into the unlinked file: open the one now there
        if self._writer is None and time.monotonic() >= self._retry_at:
            self._connect(BUSY_TIMEOUT)
        return self._writer

    def _still_there(self) -> None:
        """Raise if the file was deleted or replaced while it was written: that write is lost."""
        if self._file is not None and file_identity(self._file) != self._identity:
            raise QuestionLogError("the database file was deleted or replaced while it was written")

    def _connect(self, timeout: float) -> Connection:
        """Open and migrate the write connection. Call with the lock held."""
        # The folder is made at the first opening only: one deleted later (or a volume not
        # mounted) is waited for, not made again somewhere nobody backs up.
        conn = open_db(self.target, timeout, make_folder=not self._opened)
        try:
            busy_timeout(conn, timeout)  # another worker may be migrating
            migrate(conn)
            busy_timeout(conn, BUSY_TIMEOUT)
            self._identity = file_identity(self._file) if self._file is not None else None
        except BaseException:
            conn.close()
            raise
        self._writer = conn
        self._opened = True
        return conn

    def _drop(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _worked(self) -> None:
        """Note a write that worked: after a failure, one line saying the log works again."""
        if self._warned_at is not None:
            log.warning("question log %s works again; questions are being logged", self.shown)
        self._failures = 0
        self._warned_at = None

    def _failed(self, exc: Exception) -> None:
        """Note a failed write: one warning, then at most one an hour; a broken connection is
        dropped and reopened, at once the first time, then after a delay that doubles."""
        if self._writer is not None and self._writer.spoiled_by(exc):
            self._drop()
        now = time.monotonic()
        self._failures += 1
        if self._failures > 1:
            self._retry_at = now + min(RETRY_FIRST * 2 ** (self._failures - 2), RETRY_MAX)
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            unexpected = not isinstance(exc, errors() + (OSError, QuestionLogError))
            log.warning(
                "question log %s cannot be written (%s); questions are not being logged",
                self.shown,
                described(exc),
                exc_info=unexpected,
            )
        else:
            log.debug("question log %s: write failed: %s", self.shown, described(exc))
