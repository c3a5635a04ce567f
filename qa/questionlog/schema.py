"""The question log's database: opening it, its tables, and the forward migrations.

`qa.questionlog.store` writes and reads the rows; this module only knows the schema and how to bring a
database written by older code up to date, one step at a time, in one transaction, when a log is
opened (another worker opening the same database at the same moment waits for the lock, then finds
the work done). A database from newer code is left alone.

There is one list of migrations per backend (`qa.questionlog.backend`), numbered alike: step n of
`MIGRATIONS` (SQLite) and of `PG_MIGRATIONS` (PostgreSQL) make the same tables. SQLite keeps the
version in PRAGMA user_version, PostgreSQL in the one-row table `schema_version`.
"""

from __future__ import annotations

from collections.abc import Callable

from qa.answering.smalltalk import smalltalk
from qa.errors import QAError
from qa.questionlog.backend import POSTGRESQL, SQLITE, Connection, connect


class QuestionLogError(QAError):
    """The question log cannot be read or written (reports and feedback; never `record`)."""


# The programme that rows written before migration 5 belong to: the slug of the service with one
# programme (qa.programmes.registry.single) when migration 5 was written. Never change it.
FIRST_PROGRAMME = "mdg-baerum"

# Forward migrations: MIGRATIONS[n] takes a database from schema version n to n + 1. The version
# lives in PRAGMA user_version; never edit a step that has shipped, append a new one.
# Every change to staff curation moves its version counter (qa.curation.sync follows it); made in
# migration 4 and again in 5, which copies the two tables.
CURATION_TRIGGERS = tuple(
    f"CREATE TRIGGER {table}_{event.lower()} AFTER {event} ON {table}"
    " BEGIN UPDATE curation_version SET version = version + 1; END"
    for table in ("alternates", "not_covered_marks")
    for event in ("INSERT", "UPDATE", "DELETE")
)

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
        *CURATION_TRIGGERS,
    ),
    # 5: several programmes (qa.programmes): every question, alternate and mark names the programme
    # it was asked of or curated for. Rows from before belong to the one programme the service
    # had, registry.single's slug. SQLite cannot change a UNIQUE constraint, so the two curation
    # tables are copied into new ones (ids kept) and their triggers made again.
    (
        f"ALTER TABLE asks ADD COLUMN programme TEXT NOT NULL DEFAULT '{FIRST_PROGRAMME}'",
        "CREATE INDEX asks_programme ON asks (programme, hour)",
        """CREATE TABLE alternates_5 (
            id        INTEGER PRIMARY KEY,
            programme TEXT NOT NULL,     -- the slug of the programme whose ranker gets it
            pledge_id TEXT NOT NULL,
            question  TEXT NOT NULL,
            key       TEXT NOT NULL,
            created   TEXT NOT NULL,
            UNIQUE (programme, pledge_id, key)
        )""",
        "INSERT INTO alternates_5 (id, programme, pledge_id, question, key, created)"
        f" SELECT id, '{FIRST_PROGRAMME}', pledge_id, question, key, created FROM alternates",
        "DROP TABLE alternates",
        "ALTER TABLE alternates_5 RENAME TO alternates",
        """CREATE TABLE not_covered_marks_5 (
            id        INTEGER PRIMARY KEY,
            programme TEXT NOT NULL,
            question  TEXT NOT NULL,
            key       TEXT NOT NULL,
            created   TEXT NOT NULL,
            UNIQUE (programme, key)
        )""",
        "INSERT INTO not_covered_marks_5 (id, programme, question, key, created)"
        f" SELECT id, '{FIRST_PROGRAMME}', question, key, created FROM not_covered_marks",
        "DROP TABLE not_covered_marks",
        "ALTER TABLE not_covered_marks_5 RENAME TO not_covered_marks",
        *CURATION_TRIGGERS,
    ),
    # 6: a curation row's id is never given to another row. SQLite's plain INTEGER PRIMARY KEY
    # hands out one past the largest id left, so removing the newest alternate and adding another
    # reused its id, and a stale staff page or script that removes "id 5" removed the new row.
    # AUTOINCREMENT never reuses one; the tables are copied again, ids kept (PostgreSQL's identity
    # columns never reused ids: nothing to do there).
    (
        *(
            statement
            for table, names, unique in (
                ("alternates", ("programme", "pledge_id", "question", "key", "created"), "programme, pledge_id, key"),
                ("not_covered_marks", ("programme", "question", "key", "created"), "programme, key"),
            )
            for statement in (
                f"""CREATE TABLE {table}_6 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    {", ".join(f"{name} TEXT NOT NULL" for name in names)},
                    UNIQUE ({unique})
                )""",
                f"INSERT INTO {table}_6 (id, {', '.join(names)}) SELECT id, {', '.join(names)} FROM {table}",
                f"DROP TABLE {table}",
                f"ALTER TABLE {table}_6 RENAME TO {table}",
            )
        ),
        *CURATION_TRIGGERS,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def _mark_smalltalk(conn: Connection) -> None:
    """Migration 3 on PostgreSQL: qa.smalltalk in Python, as SQLite's smalltalk_of() does it in SQL."""
    for ask_id, text in conn.execute("SELECT ask_id, text FROM asks").fetchall():
        conn.execute("UPDATE asks SET smalltalk = ? WHERE ask_id = ?", (smalltalk(text), ask_id))


_C = 'COLLATE "C"'  # compare text by code point, as SQLite does, whatever the database's locale
_BUMP = "bump_curation_version"

# The same steps for PostgreSQL: the same tables, columns, checks and triggers, in its dialect
# (identity columns, DOUBLE PRECISION scores, a trigger function). Numbered as MIGRATIONS.
PG_MIGRATIONS: tuple[tuple[str | Callable[[Connection], None], ...], ...] = (
    (
        f"""CREATE TABLE asks (
            ask_id    TEXT PRIMARY KEY,
            hour      TEXT {_C} NOT NULL,
            question  TEXT {_C} NOT NULL,
            text      TEXT {_C} NOT NULL,
            answered  INTEGER NOT NULL,
            top_score DOUBLE PRECISION,
            shown     TEXT NOT NULL
        )""",
        "CREATE INDEX asks_hour ON asks (hour)",
        "CREATE INDEX asks_question ON asks (question, hour)",
    ),
    (
        f"""CREATE TABLE feedback (
            ask_id  TEXT PRIMARY KEY REFERENCES asks (ask_id),
            hour    TEXT {_C} NOT NULL,
            helpful INTEGER NOT NULL,
            comment TEXT {_C}
        )""",
        "CREATE INDEX feedback_hour ON feedback (hour)",
    ),
    (
        "ALTER TABLE asks ADD COLUMN coverage TEXT NOT NULL DEFAULT 'not_covered'"
        " CHECK (coverage IN ('answered', 'related', 'not_covered'))",
        "ALTER TABLE asks ADD COLUMN smalltalk TEXT CHECK (smalltalk IN ('greeting', 'thanks'))",
        "UPDATE asks SET coverage = CASE WHEN answered <> 0 THEN 'answered' ELSE 'not_covered' END",
        _mark_smalltalk,
    ),
    (
        f"""CREATE TABLE alternates (
            id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            pledge_id TEXT NOT NULL,
            question  TEXT {_C} NOT NULL,
            key       TEXT {_C} NOT NULL,
            created   TEXT NOT NULL,
            UNIQUE (pledge_id, key)
        )""",
        f"""CREATE TABLE not_covered_marks (
            id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            question TEXT {_C} NOT NULL,
            key      TEXT {_C} NOT NULL UNIQUE,
            created  TEXT NOT NULL
        )""",
        "CREATE TABLE curation_version (one INTEGER PRIMARY KEY CHECK (one = 1), version BIGINT NOT NULL)",
        "INSERT INTO curation_version VALUES (1, 0)",
        f"""CREATE FUNCTION {_BUMP}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN UPDATE curation_version SET version = version + 1; RETURN NULL; END $$""",
        *(
            f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {_BUMP}()"
            for table in ("alternates", "not_covered_marks")
        ),
    ),
    (
        f"ALTER TABLE asks ADD COLUMN programme TEXT {_C} NOT NULL DEFAULT '{FIRST_PROGRAMME}'",
        "CREATE INDEX asks_programme ON asks (programme, hour)",
        *(
            statement
            for table, old, new in (
                ("alternates", "pledge_id, key", "programme, pledge_id, key"),
                ("not_covered_marks", "key", "programme, key"),
            )
            for statement in (
                f"ALTER TABLE {table} ADD COLUMN programme TEXT {_C} NOT NULL DEFAULT '{FIRST_PROGRAMME}'",
                f"ALTER TABLE {table} ALTER COLUMN programme DROP DEFAULT",  # new rows always name theirs
                f"ALTER TABLE {table} DROP CONSTRAINT {table}_{old.replace(', ', '_')}_key",
                f"ALTER TABLE {table} ADD UNIQUE ({new})",
            )
        ),
    ),
    (),  # 6: identity columns never reuse an id already
)
assert len(PG_MIGRATIONS) == len(MIGRATIONS), "every migration is written for both backends"

_PG_LOCK = 5_215_015  # the advisory lock migrating workers queue on (any constant of our own)


def open_db(target: str, timeout: float, *, make_folder: bool = True) -> Connection:
    """A connection to the log at `target`: a path (whose folder is made unless `make_folder` is
    False), a `file:` URI, or a PostgreSQL URL (`qa.questionlog.backend`)."""
    return connect(target, timeout, make_folder=make_folder)


def schema_version(conn: Connection) -> int:
    """The schema version of the database; 0 for an empty one."""
    if conn.dialect == SQLITE:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else row[0]


def set_version(conn: Connection, version: int) -> None:
    if conn.dialect == SQLITE:
        conn.execute(f"PRAGMA user_version = {version}")
    else:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)")
        conn.execute(
            "INSERT INTO schema_version VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET version = excluded.version", (version,)
        )


def migrate(conn: Connection, to: int = SCHEMA_VERSION) -> None:
    """Bring the schema to `SCHEMA_VERSION` (tests: an older `to`), one step at a time, in one transaction."""
    if schema_version(conn) == to:
        return
    if conn.dialect == SQLITE:
        conn.raw.create_function("smalltalk_of", 1, smalltalk, deterministic=True)  # used by migration 3
    if conn.dialect == POSTGRESQL:
        # Another worker may be migrating too: wait for it before the transaction begins. Taken
        # inside the transaction, the lock was waited for under a catalog snapshot from before
        # the other's commit, so its tables were not seen and were made again ("relation asks
        # already exists"). Session-level, released below whatever happens.
        conn.execute("SELECT pg_advisory_lock(?)", (_PG_LOCK,))
        try:
            _migrate_in_one_transaction(conn, to)
        finally:
            conn.execute("SELECT pg_advisory_unlock(?)", (_PG_LOCK,))
        return
    _migrate_in_one_transaction(conn, to)  # SQLite: BEGIN IMMEDIATE waits for another writer


def _migrate_in_one_transaction(conn: Connection, to: int) -> None:
    conn.begin()  # then look again: another worker may have done it meanwhile
    try:
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise QuestionLogError(f"schema version {version} is newer than this code knows ({SCHEMA_VERSION})")
        for step in (MIGRATIONS if conn.dialect == SQLITE else PG_MIGRATIONS)[version:to]:
            for statement in step:
                if callable(statement):
                    statement(conn)
                else:
                    conn.execute(statement)
        set_version(conn, max(version, to))
        conn.commit()
    except BaseException:
        rollback(conn)
        raise


def busy_timeout(conn: Connection, seconds: float) -> None:
    """How long `conn` waits for another writer's lock before it gives up."""
    conn.wait_for_locks(seconds)


def rollback(conn: Connection) -> None:
    """Roll back the open transaction of `conn`, if there is one."""
    conn.rollback()
