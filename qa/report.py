"""The report for campaign staff: what voters ask, what the programme leaves unanswered, and
which answers they found unhelpful.

`tables` builds the report's tables from a `QuestionLog` once; the terminal (`report`), the admin
page and its CSV downloads (in `web/`) all show these same tables and format cells with
`format_cell`, so the three never disagree. Staff-facing words are Norwegian bokmål.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.questionlog import QuestionLog
from qa.settings import Settings

SHOWN = 50  # rows per table on the page and in the terminal; the CSV has them all
TEXT_WIDTH = 60  # characters of a question or comment in the terminal


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: str = "text"  # text, count, time, day, yesno, score
    wrap: bool = False  # long free text: cut in the terminal


@dataclass(frozen=True)
class Table:
    name: str  # also the CSV file name: /admin/<name>.csv
    title: str
    empty: str  # shown instead of an empty table
    columns: tuple[Column, ...]
    rows: list[dict]

    def shown(self, limit: int | None = SHOWN) -> list[dict]:
        return self.rows if limit is None else self.rows[:limit]


QUESTION = Column("question", "Spørsmål", wrap=True)
COUNT = Column("count", "Antall", "count")
LAST_SEEN = Column("last_seen", "Sist stilt (UTC)", "time")
TOP_SCORE = Column("top_score", "Beste treff", "score")
ANSWERED = Column("answered", "Besvart", "yesno")


def tables(qlog: QuestionLog, days: int) -> list[Table]:
    """The report's four tables over the last `days` days, every row (callers cut to `SHOWN`).

    Raises:
        QuestionLogError: the log cannot be read.
    """
    return [
        Table(
            "unanswered",
            "Spørsmål programmet ikke svarer på",
            "Ingen ubesvarte spørsmål i perioden.",
            (QUESTION, COUNT, LAST_SEEN, TOP_SCORE),
            qlog.questions(answered=False, days=days),
        ),
        Table(
            "questions",
            "Mest stilte spørsmål",
            "Ingen spørsmål i perioden.",
            (QUESTION, COUNT, ANSWERED, LAST_SEEN, TOP_SCORE),
            qlog.questions(days=days),
        ),
        Table(
            "feedback",
            "Negative tilbakemeldinger",
            "Ingen negative tilbakemeldinger i perioden.",
            (Column("time", "Tidspunkt (UTC)", "time"), QUESTION, Column("comment", "Kommentar", wrap=True), ANSWERED),
            qlog.negative_feedback(days=days),
        ),
        Table(
            "daily",
            "Spørsmål per dag",
            "Ingen dager i perioden.",
            (
                Column("day", "Dato", "day"),
                Column("count", "Spørsmål", "count"),
                Column("unanswered", "Ubesvarte", "count"),
            ),
            qlog.per_day(days=days),
        ),
    ]


def format_cell(column: Column, value) -> str:
    """A cell as staff read it: times as 'YYYY-MM-DD HH:MM', yes/no in Norwegian, scores to 2 places."""
    if value is None:
        return ""
    if column.kind == "time":  # stored as 'YYYY-MM-DDTHH:00:00Z'
        return f"{value[:10]} {value[11:16]}"
    if column.kind == "yesno":
        return "ja" if value else "nei"
    if column.kind == "score":
        return f"{value:.2f}"
    return str(value)


def summary(qlog: QuestionLog, days: int, daily: Table) -> dict[str, int]:
    """Totals for the period: questions, unanswered, helpful and unhelpful verdicts."""
    return {
        "questions": sum(r["count"] for r in daily.rows),
        "unanswered": sum(r["unanswered"] for r in daily.rows),
        **qlog.feedback_counts(days),
    }


def report(settings: Settings, days: int = 30) -> str:
    """The whole report as plain-text tables, for `python -m qa report`.

    Args:
        settings: where the log is (`db`) and how long it keeps entries.
        days: today (UTC) and the days before it, `days` in all.

    Returns:
        The text to print.

    Raises:
        QuestionLogError: the log cannot be read.
    """
    qlog = QuestionLog.open(settings)
    try:
        if not qlog.enabled:
            return "Spørsmålsloggen er slått av (QA_DB=off).\n"
        return render_text(qlog, days)
    finally:
        qlog.close()


def render_text(qlog: QuestionLog, days: int) -> str:
    """The report of an open log as plain-text tables."""
    all_tables = tables(qlog, days)
    totals = summary(qlog, days, all_tables[-1])
    out = [
        f"Spørsmål fra velgere, siste {days} dager: {totals['questions']} spørsmål, "
        f"{totals['unanswered']} ubesvarte; tilbakemeldinger: {totals['helpful']} nyttige, "
        f"{totals['unhelpful']} ikke nyttige.",
        "",
    ]
    for table in all_tables:
        out += [table.title, "=" * len(table.title)]
        shown = table.shown()
        if not shown:
            out += [table.empty, ""]
            continue
        out += _text_table(table.columns, shown)
        if len(shown) < len(table.rows):
            out.append(f"(viser {len(shown)} av {len(table.rows)})")
        out.append("")
    return "\n".join(out)


def _text_table(columns: tuple[Column, ...], rows: list[dict]) -> list[str]:
    cells = [[_cut(c, format_cell(c, row[c.key])) for c in columns] for row in rows]
    widths = [max(len(c.heading), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if c.kind in ("count", "score") else v.ljust(w)
            for c, v, w in zip(columns, values, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [line([c.heading for c in columns]), line(["-" * w for w in widths]), *map(line, cells)]


def _cut(column: Column, text: str) -> str:
    return text if not column.wrap or len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…"
