"""The staff report's queries on the question log: grouped questions, feedback, questions per day.

A mixin of `qa.questionlog.store.QuestionLog` (which brings `target`, `enabled`, `shown` and the
clock). Each query opens a connection of its own, read-only, so a slow report never holds a write
connection; it checks the schema version first. Nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta

from qa.questionlog.backend import Connection, described, errors
from qa.questionlog.schema import SCHEMA_VERSION, QuestionLogError, open_db, schema_version

READ_WAIT = 5.0  # seconds a report query waits for a writer's lock

# The values of `Answer.coverage`, as stored in the `coverage` column.
ANSWERED, RELATED, NOT_COVERED = "answered", "related", "not_covered"
COVERAGES = (ANSWERED, RELATED, NOT_COVERED)


def _ids(shown: str | None) -> list[str]:
    """The stored JSON list of pledge ids; [] for anything else (an old or damaged row)."""
    try:
        ids = json.loads(shown or "[]")
    except ValueError:
        return []
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def _limit(limit: int | None, params: list) -> str:
    """A LIMIT clause (with its parameter added to `params`), or none for no limit."""
    if limit is None:
        return ""
    params.append(limit)
    return " LIMIT ?"


def _of_programme(programme: str | None, where: list[str], params: list, column: str = "programme") -> None:
    """Add the condition "asked of `programme`" to a query's `where` and `params`; None adds nothing."""
    if programme is not None:
        where.append(f"{column} = ?")
        params.append(programme)


class ReportQueries:
    """The report's reading side of a `QuestionLog`."""

    def questions(
        self,
        answered: bool | None = None,
        days: int = 30,
        limit: int | None = None,
        *,
        coverage: str | None = None,
        smalltalk: bool | None = None,
        programme: str | None = None,
    ) -> list[dict]:
        """Questions of the last `days` days, repeats grouped per programme, most asked first.

        Args:
            answered: only answered (True) or not answered (False) questions; None for all.
            days: today (UTC) and the days before it, `days` in all.
            limit: at most this many groups.
            coverage: only questions in this band, one of COVERAGES; None for all.
            smalltalk: only greetings and thanks (True), or only real questions (False); None for all.
            programme: only questions asked of the programme with this slug; None for all.

        Returns:
            `{"question", "count", "last_seen", "answered", "coverage", "smalltalk", "top_score",
            "programme"}` per programme and normalised question; `smalltalk` is "greeting", "thanks" or None. The text and the rest
            are those of its latest asking (within the same hour, of the greatest text).

        Raises:
            ValueError: `coverage` is not one of COVERAGES.
            QuestionLogError: the database cannot be read.
        """
        where, params = ["hour >= ?"], [self._since(days)]
        if answered is not None:
            where.append("answered = ?")
            params.append(int(answered))
        if coverage is not None:
            if coverage not in COVERAGES:
                raise ValueError(f"coverage must be one of {', '.join(COVERAGES)}, got {coverage!r}")
            where.append("coverage = ?")
            params.append(coverage)
        if smalltalk is not None:
            where.append("smalltalk IS NOT NULL" if smalltalk else "smalltalk IS NULL")
        _of_programme(programme, where, params)
        # Each group shows its latest row. Rows within an hour have no order, so the text breaks
        # ties (compared by code point in both databases): the same data, the same report.
        sql = f"""SELECT text, n, hour, answered, coverage, smalltalk, top_score, programme FROM (
                      SELECT programme, question, text, hour, answered, coverage, smalltalk, top_score,
                             count(*) OVER (PARTITION BY programme, question) AS n,
                             row_number() OVER (PARTITION BY programme, question ORDER BY hour DESC, text DESC) AS latest
                      FROM asks WHERE {" AND ".join(where)}) AS grouped
                  WHERE latest = 1 ORDER BY n DESC, hour DESC, text DESC, question, programme{_limit(limit, params)}"""
        return [
            {
                "question": t,
                "count": n,
                "last_seen": hour,
                "answered": bool(a),
                "coverage": c,
                "smalltalk": chat,
                "top_score": score,
                "programme": slug,
            }
            for t, n, hour, a, c, chat, score, slug in self._read(sql, params)
        ]

    def negative_feedback(self, days: int = 30, limit: int | None = None, *, programme: str | None = None) -> list[dict]:
        """Thumbs-down verdicts of the last `days` days, newest first, with the question and comment.

        Returns `{"time", "question", "comment", "answered", "coverage", "smalltalk", "top_score",
        "shown", "programme"}` per verdict; `shown` is the list of pledge ids the voter saw.
        `programme`: only answers of the programme with this slug; None for all.
        """
        where, params = ["f.helpful = 0", "f.hour >= ?"], [self._since(days)]
        _of_programme(programme, where, params, "a.programme")
        sql = f"""SELECT f.hour, a.text, f.comment, a.answered, a.coverage, a.smalltalk, a.top_score, a.shown, a.programme
                  FROM feedback f JOIN asks a USING (ask_id)
                  WHERE {" AND ".join(where)}
                  ORDER BY f.hour DESC, f.comment IS NULL, a.question, f.comment, a.programme"""
        rows = self._read(sql + _limit(limit, params), params)
        keys = ("time", "question", "comment", "answered", "coverage", "smalltalk", "top_score", "shown", "programme")
        return [
            {**dict(zip(keys, row, strict=True)), "answered": bool(row[3]), "shown": _ids(row[7])} for row in rows
        ]

    def feedback_counts(self, days: int = 30, *, programme: str | None = None) -> dict[str, int]:
        """`{"helpful": n, "unhelpful": m}` verdicts in the last `days` days (on one programme's answers)."""
        where, params = ["hour >= ?"], [self._since(days)]
        if programme is not None:
            where.append("ask_id IN (SELECT ask_id FROM asks WHERE programme = ?)")
            params.append(programme)
        sql = f"SELECT helpful, count(*) FROM feedback WHERE {' AND '.join(where)} GROUP BY helpful"
        counts = dict(self._read(sql, params))
        return {"helpful": counts.get(1, 0), "unhelpful": counts.get(0, 0)}

    def per_day(self, days: int = 30, *, programme: str | None = None) -> list[dict]:
        """Questions per UTC day (to one programme, or all), oldest first, every one of the `days` days.

        Returns `{"day": "YYYY-MM-DD", "count", "answered", "related", "not_covered", "smalltalk"}`
        per day: every question counts in `count` and in exactly one of the other four (a greeting
        or thanks only in `smalltalk`, whatever its band).
        """
        where, params = ["hour >= ?"], [self._since(days)]
        _of_programme(programme, where, params)
        sql = f"""SELECT substr(hour, 1, 10) AS day, count(*),
                        sum(CASE WHEN smalltalk IS NULL AND coverage = 'answered' THEN 1 ELSE 0 END),
                        sum(CASE WHEN smalltalk IS NULL AND coverage = 'related' THEN 1 ELSE 0 END),
                        sum(CASE WHEN smalltalk IS NULL AND coverage = 'not_covered' THEN 1 ELSE 0 END),
                        sum(CASE WHEN smalltalk IS NOT NULL THEN 1 ELSE 0 END)
                 FROM asks WHERE {" AND ".join(where)} GROUP BY substr(hour, 1, 10)"""
        keys = ("count", *COVERAGES, "smalltalk")
        found = {day: dict(zip(keys, counts, strict=True)) for day, *counts in self._read(sql, params)}
        first = self._clock().astimezone(UTC).date() - timedelta(days=days - 1)
        out = []
        for i in range(days):
            day = (first + timedelta(days=i)).isoformat()
            out.append({"day": day, **found.get(day, dict.fromkeys(keys, 0))})
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
        except errors() + (OSError,) as exc:
            raise QuestionLogError(f"the question log at {self.shown} cannot be read: {described(exc)}") from None

    @contextmanager
    def _reader(self) -> Iterator[Connection]:
        """A connection of its own for one report query, so reading never holds up writing."""
        conn = open_db(self.target, READ_WAIT)
        try:
            version = schema_version(conn)
            if version != SCHEMA_VERSION:
                raise QuestionLogError(
                    f"the question log at {self.shown} has schema version {version}, expected {SCHEMA_VERSION}"
                )
            conn.read_only()
            yield conn
        finally:
            conn.close()
