"""What keeps the question log small: a compact grouping key per row, and a cap on its rows.

Each row keeps the question as asked (`text`, what staff read) and a key that groups repeats
(`question`). The key is the normalised question (`qa.questionlog.store.normalise`) when that is short, as it nearly
always is; a long one keeps its first characters and a digest of the whole instead, so a
500-character question is not stored twice (and a third time in the key's index): in SQLite such
a row no longer spills onto an overflow page of its own. Short questions keep exactly the key older
code wrote, so old and new rows of a question still group together without a migration.

`trim` deletes the oldest questions (by hour; within an hour in no order, as the rows have none)
and their feedback once there are more than the cap. `qa.questionlog.store` calls it every
`batch_for(max_rows)` writes, so a log holds at most about 1% more rows than the cap between trims.
This module knows the tables, not the settings or the connection's lifecycle.
"""

from __future__ import annotations

import base64
import hashlib

from qa.questionlog.backend import POSTGRESQL, Connection

KEY_CHARS = 80  # the longest key; a longer normalised question is cut and given a digest
_DIGEST_BYTES = 12  # 16 characters of base64: no two questions share a key by chance
_PREFIX = KEY_CHARS - 17  # the characters kept before "…" and the digest
_CHUNK = 500  # ids per DELETE statement (SQLite allows 32766 parameters; PostgreSQL 65535)
_PG_LOCK = 5_215_016  # the advisory lock trimming workers queue on (one of our own constants)


def compact_key(key: str) -> str:
    """The key stored in `asks.question` for the normalised question `key`: itself, or for a long
    one its start, "…" and a digest of the whole."""
    if len(key) <= KEY_CHARS:
        return key
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=_DIGEST_BYTES).digest()
    return f"{key[:_PREFIX]}…{base64.urlsafe_b64encode(digest).decode('ascii')}"


def batch_for(max_rows: int) -> int:
    """How many writes go between two looks at the row count: 1% of the cap, 1 to 1000."""
    return max(1, min(1000, max_rows // 100))


def trim(conn: Connection, max_rows: int) -> int:
    """Delete the oldest questions (and their feedback) beyond `max_rows`; returns how many went.

    One transaction; the caller's connection must not be in one. Several workers trimming at once
    take turns (SQLite's write lock, a PostgreSQL advisory lock), so none deletes what another did.
    """
    conn.begin()
    try:
        if conn.dialect == POSTGRESQL:
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK,))
        over = conn.execute("SELECT count(*) FROM asks").fetchone()[0] - max_rows
        gone = 0
        if over > 0:
            ids = [row[0] for row in conn.execute("SELECT ask_id FROM asks ORDER BY hour, ask_id LIMIT ?", (over,))]
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                conn.execute(f"DELETE FROM feedback WHERE ask_id IN ({marks})", chunk)
                gone += conn.execute(f"DELETE FROM asks WHERE ask_id IN ({marks})", chunk).rowcount
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return gone
