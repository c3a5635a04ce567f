"""The two databases the question log can live in, behind one small connection type.

`QA_DB` is a file path (or a `file:` URI) for SQLite, the embedded default, or a
`postgresql://user@host:port/db` URL for PostgreSQL, so several replicas share one log and one
staff report. The SQL in `qa.questionlog` and `qa.curation` is written once, in what both accept
(`?` placeholders, `INSERT ... ON CONFLICT`, `RETURNING`, window functions); `Connection` takes
care of what differs: placeholders, transactions, lock waits, read-only mode and where the schema
version is kept. The migrations themselves are in `qa.questionlog.schema`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

SQLITE, POSTGRESQL = "sqlite", "postgresql"
_PG_SCHEMES = ("postgresql://", "postgres://")
_PASSWORD_PARAM = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


def errors() -> tuple[type[Exception], ...]:
    """Errors of either database: a failed query, a lost connection, a refused login.

    psycopg is imported by the first PostgreSQL connection, not before (0.13 s of every start
    on SQLite otherwise); until then none of its errors can be raised, so they are not listed.
    """
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


_SQLITE_TRANSIENT = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_LOCKED_SHAREDCACHE"})


def dialect_of(target: str) -> str:
    return POSTGRESQL if target.lower().startswith(_PG_SCHEMES) else SQLITE


def shown(target: str) -> str:
    """`target` as it may appear in a log line or an error: a URL's password replaced by ***."""
    if dialect_of(target) != POSTGRESQL:
        return target
    parts = urlsplit(target)
    if parts.password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    return urlunsplit(parts._replace(query=_PASSWORD_PARAM.sub(r"\1***", parts.query)))


def described(exc: BaseException) -> str:
    """An error in one line: PostgreSQL's DETAIL lines (which repeat the row, a voter's question
    among it) never reach the server log."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class Connection:
    """One connection to either database, autocommitting unless a transaction is begun."""

    def __init__(self, raw, dialect: str) -> None:
        self.raw = raw
        self.dialect = dialect

    def execute(self, sql: str, params=()):
        """Run one statement with `?` placeholders; returns the driver's cursor."""
        if self.dialect == SQLITE:
            return self.raw.execute(sql, params)
        if params == ():
            return self.raw.execute(sql)
        return self.raw.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))

    def begin(self, write: bool = True) -> None:
        """Start a transaction: a write one takes SQLite's write lock at once; a read one sees one
        consistent snapshot (PostgreSQL's READ COMMITTED would take a new one per statement)."""
        if self.dialect == SQLITE:
            self.raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        else:
            self.raw.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    @property
    def in_transaction(self) -> bool:
        if self.dialect == SQLITE:
            return self.raw.in_transaction
        import psycopg  # imported already: this is a PostgreSQL connection

        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    @property
    def broken(self) -> bool:
        """The connection itself is gone (PostgreSQL restarted, network lost): open a new one."""
        return self.dialect == POSTGRESQL and self.raw.closed

    def spoiled_by(self, exc: BaseException) -> bool:
        """Whether to drop this connection after `exc` and open a new one. A lock or a constraint
        leaves it good; any other SQLite error spoils it. On PostgreSQL an
        OperationalError other than a lock or a timeout means the session is gone (a restart: the
        server says so before psycopg notices the socket is closed)."""
        if self.dialect == SQLITE:
            # Only a lock (another writer) or a refused row leaves it good. A read-only, full,
            # damaged or vanished file may be usable again later, but only through a new
            # connection: SQLite opens a file it may not write read-only, for good.
            if isinstance(exc, sqlite3.IntegrityError):
                return False
            return getattr(exc, "sqlite_errorname", "") not in _SQLITE_TRANSIENT
        if self.raw.closed:
            return True
        import psycopg  # imported already: this is a PostgreSQL connection

        kept = (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)
        if not isinstance(exc, psycopg.Error):
            return True
        return isinstance(exc, psycopg.OperationalError) and not isinstance(exc, kept)

    def rollback(self) -> None:
        if self.broken:
            return
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def wait_for_locks(self, seconds: float) -> None:
        """How long a statement waits for another writer's lock before it gives up."""
        if self.dialect == SQLITE:
            self.raw.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        else:
            self.raw.execute(f"SET lock_timeout = {int(seconds * 1000)}")

    def read_only(self) -> None:
        if self.dialect == SQLITE:
            self.raw.execute("PRAGMA query_only = 1")
        else:
            self.raw.execute("SET default_transaction_read_only = on")

    def close(self) -> None:
        self.raw.close()


def sqlite_file(target: str) -> Path | None:
    """The file a SQLite target names (a path or a `file:` URI); None for PostgreSQL or memory."""
    if dialect_of(target) != SQLITE or target == ":memory:":
        return None
    if not target.startswith("file:"):
        return Path(target)
    parts = urlsplit(target)
    if "mode=memory" in parts.query or not parts.path:
        return None
    return Path(unquote(parts.path))


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of `path`, or None when nothing is there: what tells a file deleted or
    replaced under an open connection (which would go on writing into the old, unlinked one)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def connect(target: str, timeout: float, *, make_folder: bool = True) -> Connection:
    """A connection to `target`: a path (whose folder is made unless `make_folder` is False), a
    `file:` URI, or a PostgreSQL URL."""
    if dialect_of(target) == POSTGRESQL:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a runtime dependency
            raise RuntimeError("QA_DB is a PostgreSQL URL but psycopg is not installed (pip install 'psycopg[binary]')") from None
        # libpq waits at least 2 s for a connection; autocommit: each INSERT commits on its own.
        raw = psycopg.connect(target, autocommit=True, connect_timeout=max(2, int(timeout)))
        return Connection(raw, POSTGRESQL)
    uri = target.startswith("file:")
    if not uri and make_folder:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: each INSERT commits on its own; migrations use explicit transactions.
    raw = sqlite3.connect(target, timeout=timeout, uri=uri, isolation_level=None, check_same_thread=False)
    try:
        _no_shared_memory(raw)
    except BaseException:
        raw.close()
        raise
    return Connection(raw, SQLITE)


def _no_shared_memory(raw: sqlite3.Connection) -> None:
    """A rollback journal, not WAL, and no memory-mapped I/O: nothing of the log's files is mapped
    into memory, so a file truncated or replaced under the server is an error SQLite returns,
    never a SIGBUS that kills the process (in WAL mode the `-shm` file is mapped: truncating it
    kills every process that has the log open). What it costs is measured in README.md, "Faults
    in the question log": an fsync per write, under a millisecond here. A database left in WAL
    mode by older code is switched back on open; while another process holds it in WAL mode it
    cannot be, and the open fails (the log retries later)."""
    raw.execute("PRAGMA mmap_size = 0")
    try:
        mode = raw.execute("PRAGMA journal_mode = DELETE").fetchone()
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorname != "SQLITE_BUSY":
            raise
        raise sqlite3.OperationalError(f"cannot leave WAL mode while another process has the file open ({exc})") from None
    if mode is not None and str(mode[0]).lower() == "wal":
        raise sqlite3.OperationalError("cannot leave WAL mode while another process has the file open")
    raw.execute("PRAGMA synchronous = NORMAL")
