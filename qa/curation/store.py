"""Curation rows in the question-log database: alternates and not-covered marks.

An *alternate* says "this question should be answered by pledge X": ranking folds its vector into
the pledge's expansion signal (qa.curation.sync). A *not-covered mark* says "the programme does
not answer this": it is listed in the staff report and joins the background texts the band
decision compares a question with. Both are staff data: unlike the question log's rows, they are
never purged. Every change bumps a version counter (triggers, qa.questionlog.schema migration 4),
which `version` reads cheaply, so each server process can tell when another one changed something.

Each row belongs to one programme of the registry (its slug; schema migration 5). A `Curation` is
scoped to one programme: it reads, checks pledge ids against, and changes only that programme's
rows; `for_programme` gives another programme's scope on the same connections. The version
counter is shared: a change to any programme's curation moves it.

This module checks and stores rows; it knows nothing of embeddings or HTTP.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from qa.answering.limits import clean_question
from qa.errors import BadQuestion, QAError
from qa.programmes.registry import DEFAULT_SLUG
from qa.questionlog.backend import Connection, described, errors, file_identity, shown, sqlite_file
from qa.questionlog.schema import busy_timeout, migrate, open_db, rollback
from qa.questionlog.store import normalise

WAIT = 5.0  # seconds a staff write waits for the log's writers; staff can wait, voters cannot
READ_WAIT = 0.1  # seconds the version check before a voter's question waits for a SQLite writer


class CurationError(QAError):
    """A curation request that cannot be carried out. `str()` is English; `staff_message` Norwegian."""

    status = 422

    def __init__(self, message: str, staff_message: str) -> None:
        super().__init__(message)
        self.staff_message = staff_message


class UnknownPledge(CurationError):
    pass


class Duplicate(CurationError):
    status = 409


class NoSuchEntry(CurationError):
    status = 404


class Unavailable(CurationError):
    status = 503


@dataclass(frozen=True)
class Alternate:
    id: int
    pledge_id: str
    question: str
    created: str
    programme: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Mark:
    id: int
    question: str
    created: str
    programme: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Snapshot:
    """Everything curated, read in one transaction, with the version it was read at."""

    version: int
    alternates: tuple[Alternate, ...]
    marks: tuple[Mark, ...]


def checked_question(question) -> str:
    """The question cleaned as a voter's would be (qa.answering.limits); `CurationError` if unusable.

    Staff data is kept for good, so it is held to one more rule than a voter's question: no
    U+FFFD, which is what bytes that were not UTF-8 (a form posted in another encoding) become.
    """
    try:
        question = clean_question(question)
    except BadQuestion as exc:
        raise CurationError(str(exc), exc.voter_message) from None
    if "\ufffd" in question:
        raise CurationError(
            "the question holds U+FFFD, the mark of bytes that were not UTF-8; send it as UTF-8",
            "Spørsmålet inneholder tegnet �, som står for tegn som ikke kunne leses. Skriv det inn på nytt.",
        )
    return question


class Curation:
    """One programme's curation in the tables of one question-log database. Thread-safe."""

    def __init__(
        self, target: str, pledge_ids: Collection[str], *, programme: str = DEFAULT_SLUG, clock=lambda: datetime.now(UTC)
    ) -> None:
        self.target = target
        self.programme = programme
        self.pledge_ids = frozenset(pledge_ids)
        self._clock = clock
        # Two connections, each with its lock: the version check before a voter's question never
        # queues behind a staff change in this process (SQLite makes a read wait only for the
        # moment another writer commits; PostgreSQL not at all).
        self._locks = {"read": threading.Lock(), "write": threading.Lock()}
        self._conns: dict[str, Connection] = {}
        self._file = sqlite_file(target)
        self._identity: dict[str, tuple[int, int] | None] = {}  # of the file each connection has open
        self._opened = False  # opened once: from then on its folder is not made again

    def for_programme(self, programme: str, pledge_ids: Collection[str]) -> Curation:
        """The curation of programme `programme` (with its pledge ids), on this store's connections."""
        scoped = copy.copy(self)  # shares the connections and their locks
        scoped.programme, scoped.pledge_ids = programme, frozenset(pledge_ids)
        return scoped

    def close(self) -> None:
        """Close the connections (those of every `for_programme` scope of this store too)."""
        for role, lock in self._locks.items():
            with lock:
                conn = self._conns.pop(role, None)
                if conn is not None:
                    conn.close()

    # -- checks --------------------------------------------------------------------------------

    def checked(self, pledge_id, question) -> tuple[str, str]:
        """`(pledge_id, question)` if both are usable, else `CurationError` saying why."""
        if not isinstance(pledge_id, str) or pledge_id not in self.pledge_ids:
            raise UnknownPledge(f"unknown pledge id {pledge_id!r}", f"Ukjent punkt-id «{pledge_id}».")
        return pledge_id, checked_question(question)

    # -- reading -------------------------------------------------------------------------------

    def version(self) -> int:
        """The change counter: it grows with every change to alternates or marks."""
        with self._connection() as conn:
            return conn.execute("SELECT version FROM curation_version").fetchone()[0]

    def snapshot(self) -> Snapshot:
        """All of this programme's alternates and marks, oldest first, and the version they belong to."""
        with self._connection() as conn:
            conn.begin(write=False)  # one read transaction: rows and version agree
            try:
                version = conn.execute("SELECT version FROM curation_version").fetchone()[0]
                alternates = tuple(Alternate(*row) for row in conn.execute(_ALTERNATES, (self.programme,)))
                marks = tuple(Mark(*row) for row in conn.execute(_MARKS, (self.programme,)))
            finally:
                rollback(conn)
        return Snapshot(version, alternates, marks)

    def every_mark(self) -> list[Mark]:
        """The not-covered marks of every programme, oldest first (the staff report's table)."""
        with self._connection() as conn:
            return [Mark(*row) for row in conn.execute(_MARKS.replace("WHERE programme = ? ", ""))]

    def programmes(self) -> set[str]:
        """The slugs of every programme with alternates or marks stored."""
        with self._connection() as conn:
            sql = "SELECT programme FROM alternates UNION SELECT programme FROM not_covered_marks"
            return {row[0] for row in conn.execute(sql)}

    def alternates(self) -> list[Alternate]:
        return list(self.snapshot().alternates)

    def marks(self) -> list[Mark]:
        return list(self.snapshot().marks)

    def alternate(self, alternate_id: int) -> Alternate:
        with self._connection() as conn:
            row = conn.execute(_ALTERNATES.replace("ORDER BY", "AND id = ? ORDER BY"), (self.programme, alternate_id)).fetchone()
        if row is None:
            raise NoSuchEntry(f"no alternate with id {alternate_id}", f"Fant ingen alternativ formulering med id {alternate_id}.")
        return Alternate(*row)

    # -- writing -------------------------------------------------------------------------------

    def add(self, pledge_id, question) -> Alternate:
        """Store `question` as an alternate phrasing of `pledge_id`; `Duplicate` if it is one already."""
        pledge_id, question = self.checked(pledge_id, question)
        created = self._now()
        with self._writing() as conn:
            self._refuse_duplicate(conn, pledge_id, question)
            (new_id,) = conn.execute(
                "INSERT INTO alternates (programme, pledge_id, question, key, created) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (self.programme, pledge_id, question, normalise(question), created),
            ).fetchone()
        return Alternate(new_id, pledge_id, question, created, self.programme)

    def update(self, alternate_id: int, pledge_id=None, question=None) -> Alternate:
        """Change an alternate's pledge, its question, or both."""
        old = self.alternate(alternate_id)
        pledge_id, question = self.checked(
            old.pledge_id if pledge_id is None else pledge_id, old.question if question is None else question
        )
        with self._writing() as conn:
            self._refuse_duplicate(conn, pledge_id, question, alternate_id)
            cur = conn.execute(
                "UPDATE alternates SET pledge_id = ?, question = ?, key = ? WHERE id = ? AND programme = ?",
                (pledge_id, question, normalise(question), alternate_id, self.programme),
            )
            if not cur.rowcount:
                raise NoSuchEntry(f"no alternate with id {alternate_id}", f"Fant ingen alternativ formulering med id {alternate_id}.")
        return Alternate(alternate_id, pledge_id, question, old.created, self.programme)

    def remove(self, alternate_id: int) -> None:
        with self._writing() as conn:
            if not conn.execute("DELETE FROM alternates WHERE id = ? AND programme = ?", (alternate_id, self.programme)).rowcount:
                raise NoSuchEntry(f"no alternate with id {alternate_id}", f"Fant ingen alternativ formulering med id {alternate_id}.")

    def import_rows(self, rows: Iterable[tuple[str, str, str | None]], *, replace: bool = False) -> tuple[int, int]:
        """Add checked `(pledge_id, question, created)` rows in one transaction; returns (added, already there).

        With `replace`, every alternate of this programme not in `rows` is removed first: the rows
        become its whole set. Other programmes' alternates are never touched.
        """
        added = kept = 0
        with self._writing() as conn:
            if replace:
                conn.execute("DELETE FROM alternates WHERE programme = ?", (self.programme,))
            for pledge_id, question, created in rows:
                key = normalise(question)
                mark = conn.execute(
                    "SELECT id FROM not_covered_marks WHERE programme = ? AND key = ?", (self.programme, key)
                ).fetchone()
                if mark is not None:
                    raise Duplicate(
                        f"{question!r} is marked as not covered (mark {mark[0]}); remove the mark or the row",
                        f"«{question}» er merket som ikke dekket (merking {mark[0]}).",
                    )
                found = conn.execute(
                    "SELECT 1 FROM alternates WHERE programme = ? AND pledge_id = ? AND key = ?", (self.programme, pledge_id, key)
                ).fetchone()
                if found:
                    kept += 1
                    continue
                conn.execute(
                    "INSERT INTO alternates (programme, pledge_id, question, key, created) VALUES (?, ?, ?, ?, ?)",
                    (self.programme, pledge_id, question, key, created or self._now()),
                )
                added += 1
        return added, kept

    def mark_not_covered(self, question) -> Mark:
        """Record that the programme does not answer `question`; `Duplicate` if it is marked already."""
        question = checked_question(question)
        created = self._now()
        with self._writing() as conn:
            if conn.execute(
                "SELECT 1 FROM not_covered_marks WHERE programme = ? AND key = ?", (self.programme, normalise(question))
            ).fetchone():
                raise Duplicate(
                    f"{question!r} is marked as not covered already", f"«{question}» er allerede merket som ikke dekket."
                )
            attached = conn.execute(
                "SELECT id, pledge_id FROM alternates WHERE programme = ? AND key = ? ORDER BY id",
                (self.programme, normalise(question)),
            ).fetchone()
            if attached is not None:
                raise Duplicate(
                    f"{question!r} is an alternate of {attached[1]} (id {attached[0]}); remove it first",
                    f"«{question}» er en alternativ formulering for {attached[1]} (id {attached[0]}). Fjern den først.",
                )
            (new_id,) = conn.execute(
                "INSERT INTO not_covered_marks (programme, question, key, created) VALUES (?, ?, ?, ?) RETURNING id",
                (self.programme, question, normalise(question), created),
            ).fetchone()
        return Mark(new_id, question, created, self.programme)

    def unmark(self, mark_id: int) -> None:
        with self._writing() as conn:
            if not conn.execute("DELETE FROM not_covered_marks WHERE id = ? AND programme = ?", (mark_id, self.programme)).rowcount:
                raise NoSuchEntry(f"no not-covered mark with id {mark_id}", f"Fant ingen merking med id {mark_id}.")

    # -- connections ---------------------------------------------------------------------------

    def _refuse_duplicate(self, conn, pledge_id: str, question: str, other_than: int | None = None) -> None:
        mark = conn.execute(
            "SELECT id FROM not_covered_marks WHERE programme = ? AND key = ?", (self.programme, normalise(question))
        ).fetchone()
        if mark is not None:
            raise Duplicate(
                f"{question!r} is marked as not covered (mark {mark[0]}); remove the mark first",
                f"«{question}» er merket som ikke dekket (merking {mark[0]}). Fjern merkingen først.",
            )
        row = conn.execute(
            "SELECT id FROM alternates WHERE programme = ? AND pledge_id = ? AND key = ? AND id <> ?",
            (self.programme, pledge_id, normalise(question), -1 if other_than is None else other_than),
        ).fetchone()
        if row is not None:
            raise Duplicate(
                f"{question!r} is an alternate of {pledge_id} already (id {row[0]})",
                f"«{question}» er allerede en alternativ formulering for {pledge_id} (id {row[0]}).",
            )

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @contextmanager
    def _connection(self, role: str = "read") -> Iterator[Connection]:
        """The reading or the writing connection, opened and migrated on first use; held under its lock."""
        with self._locks[role]:
            conn = self._conns.get(role)
            if conn is not None and self._file is not None and file_identity(self._file) != self._identity[role]:
                self._conns.pop(role).close()  # deleted or replaced: read and write the file now there
                conn = None
            try:
                if conn is None:
                    conn = open_db(self.target, WAIT, make_folder=not self._opened)
                    try:
                        busy_timeout(conn, WAIT)
                        migrate(conn)
                        if role == "read":
                            conn.read_only()
                            busy_timeout(conn, READ_WAIT)  # the version check: a voter is waiting
                        self._identity[role] = file_identity(self._file) if self._file is not None else None
                    except BaseException:
                        conn.close()
                        conn = None
                        raise
                    self._conns[role] = conn
                    self._opened = True
                yield conn
            except errors() as exc:
                if conn is not None and conn.spoiled_by(exc):
                    self._conns.pop(role, None)
                    conn.close()
                elif conn is not None:
                    rollback(conn)
                raise Unavailable(
                    f"the question log at {shown(self.target)} cannot be used: {described(exc)}",
                    "Spørsmålsloggen kan ikke brukes akkurat nå. Se serverloggen.",
                ) from None

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction: all of it is stored, or (on any error) none of it."""
        with self._connection("write") as conn:
            conn.begin()
            try:
                yield conn
                conn.commit()
            except BaseException:
                rollback(conn)
                raise


_ALTERNATES = "SELECT id, pledge_id, question, created, programme FROM alternates WHERE programme = ? ORDER BY id"
_MARKS = "SELECT id, question, created, programme FROM not_covered_marks WHERE programme = ? ORDER BY id"
