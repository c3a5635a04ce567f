"""The report for campaign staff: what voters ask, where the programme says nothing, where it
only comes close, and which answers they found unhelpful.

The two gap lists are kept apart so staff see only gaps that are there: "Programmet sier ikke
noe" (not covered: the programme seems silent) and "Bare beslektet" (related: nearby pledges,
no direct answer). Greetings and thanks ("hei", "takk!") are in neither: they are not questions
about politics; they are counted on their own.

The unhelpful answers name the pledges the voter saw, by the ids logged then. Those are the
stable ids of the id ledger (`corpus.ids`), so after a new edition they still name the same
pledges; an id retired since is shown with where its links land now (`pledge_names`).

With several programmes (qa.programmes) the report covers all of them, each question grouped
within the programme it was asked of and a "Program" column beside it, or one programme only.

`tables` builds the report's tables from a `QuestionLog` once; the terminal (`report`), the admin
page and its CSV downloads (in `web/`) all show these same tables and format cells with
`format_cell`, so the three never disagree. Staff-facing words are Norwegian bokmål.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from corpus.ids import with_ledger
from corpus.ledger import LedgerError
from corpus.model import Programme
from corpus.parse import parse_file
from qa.operations.settings import Settings
from qa.questionlog.store import QuestionLog, QuestionLogError

SHOWN = 50  # rows per table on the page and in the terminal; the CSV has them all
TEXT_WIDTH = 60  # characters of a question or comment in the terminal


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: str = "text"  # text, count, time, day, score, reply
    wrap: bool = False  # long free text: cut in the terminal


@dataclass(frozen=True)
class Table:
    name: str  # also the CSV file name: /admin/<name>.csv
    title: str
    empty: str  # shown instead of an empty table
    columns: tuple[Column, ...]
    rows: list[dict]
    note: str = ""  # one sentence under the title: what is in the table and what is not
    newest_last: bool = False  # rows in time order, oldest first: the newest are the ones to show

    def shown(self, limit: int | None = SHOWN) -> list[dict]:
        if limit is None or len(self.rows) <= limit:
            return self.rows
        return self.rows[-limit:] if self.newest_last else self.rows[:limit]


# How each answer is named to staff: its band, or what the message was when it was only smalltalk.
REPLY_NAMES = {
    "answered": "besvart",
    "related": "bare beslektet",
    "not_covered": "sier ikke noe",
    "greeting": "hilsen",
    "thanks": "takk",
}
NOT_COVERED_TITLE = "Programmet sier ikke noe"
RELATED_TITLE = "Bare beslektet"
SMALLTALK_NOTE = "Hilsener og takk («hei», «takk!») er ikke med; de får et fast svar og er ikke hull i programmet."

QUESTION = Column("question", "Spørsmål", wrap=True)
COUNT = Column("count", "Antall", "count")
LAST_SEEN = Column("last_seen", "Sist stilt (UTC)", "time")
TOP_SCORE = Column("top_score", "Beste treff", "score")
REPLY = Column("reply", "Svar", "reply")
PROGRAMME = Column("programme", "Program")


def tables(
    qlog: QuestionLog,
    days: int,
    programme: Programme | None = None,
    *,
    only: str | None = None,
    programmes: Mapping[str, Programme] | None = None,
    by_programme: bool = False,
) -> list[Table]:
    """The report's six tables over the last `days` days, every row (callers cut to `SHOWN`).

    Args:
        qlog: the open log.
        days: today (UTC) and the days before it.
        programme: names the pledges shown in unhelpful answers (`pledge_names`), unless
            `programmes` has the answer's own programme.
        only: just the questions asked of (and marks made for) the programme with this slug.
        programmes: each programme by slug, to name the pledges of its answers.
        by_programme: add a "Program" column to the tables of questions and marks.

    Raises:
        QuestionLogError: the log cannot be read.
    """
    programmes = programmes or {}

    def cols(*columns: Column) -> tuple[Column, ...]:
        return (*columns[:1], PROGRAMME, *columns[1:]) if by_programme else columns

    return [
        Table(
            "not_covered",
            NOT_COVERED_TITLE,
            "Ingen slike spørsmål i perioden.",
            cols(QUESTION, COUNT, LAST_SEEN, TOP_SCORE),
            qlog.questions(coverage="not_covered", smalltalk=False, days=days, programme=only),
            "Spørsmål der velgeren fikk vite at programmet ikke ser ut til å si noe om saken. " + SMALLTALK_NOTE,
        ),
        Table(
            "related",
            RELATED_TITLE,
            "Ingen slike spørsmål i perioden.",
            cols(QUESTION, COUNT, LAST_SEEN, TOP_SCORE),
            qlog.questions(coverage="related", smalltalk=False, days=days, programme=only),
            "Spørsmål programmet ikke svarer direkte på; velgeren fikk de nærmeste punktene, merket som det.",
        ),
        Table(
            "questions",
            "Mest stilte spørsmål",
            "Ingen spørsmål i perioden.",
            cols(QUESTION, COUNT, REPLY, LAST_SEEN, TOP_SCORE),
            _with_reply(qlog.questions(days=days, programme=only)),
        ),
        Table(
            "feedback",
            "Negative tilbakemeldinger",
            "Ingen negative tilbakemeldinger i perioden.",
            (
                Column("time", "Tidspunkt (UTC)", "time"),
                *cols(QUESTION),
                Column("comment", "Kommentar", wrap=True),
                REPLY,
                Column("pledges", "Viste punkter", wrap=True),
            ),
            [
                {**row, "pledges": pledge_names(row["shown"], programmes.get(row["programme"], programme))}
                for row in _with_reply(qlog.negative_feedback(days=days, programme=only))
            ],
        ),
        Table(
            "marks",
            "Merket av staben: ikke dekket",
            "Ingen spørsmål er merket som ikke dekket.",
            cols(QUESTION, Column("created", "Merket (UTC)", "time")),
            _marks(qlog, only),
            "Spørsmål staben har merket som noe programmet ikke svarer på (under «Rett opp» på siden). "
            "De lagres til de fjernes og brukes som bakgrunn: et spørsmål som ligner, vurderes lettere som utenfor programmet.",
        ),
        Table(
            "daily",
            "Spørsmål per dag",
            "Ingen dager i perioden.",
            (
                Column("day", "Dato", "day"),
                Column("count", "Spørsmål", "count"),
                Column("answered", "Besvart", "count"),
                Column("related", RELATED_TITLE, "count"),
                Column("not_covered", "Sier ikke noe", "count"),
                Column("smalltalk", "Hilsen eller takk", "count"),
            ),
            qlog.per_day(days=days, programme=only),
            newest_last=True,  # over 50 days, the last 50 (today among them), still in time order
        ),
    ]


def _marks(qlog: QuestionLog, only: str | None = None) -> list[dict]:
    """Every not-covered mark staff made (for programme `only`, or for any), oldest first
    (staff data: not limited to the period)."""
    if not qlog.enabled:
        return []
    from qa.curation.store import Curation, CurationError  # curation builds on this package, not the reverse

    curation = Curation(qlog.target, ())
    try:
        marks = curation.every_mark()
        return [{"question": m.question, "created": m.created, "programme": m.programme} for m in marks if only in (None, m.programme)]
    except CurationError as exc:
        raise QuestionLogError(str(exc)) from None
    finally:
        curation.close()


def _with_reply(rows: list[dict]) -> list[dict]:
    """Each row with `reply`: its smalltalk kind if it was only that, else its band."""
    return [{**row, "reply": row["smalltalk"] or row["coverage"]} for row in rows]


def pledge_names(ids: list[str], programme: Programme | None) -> str:
    """The logged pledge ids as staff read them today: a live id as it is, one retired since with
    where its links land («klima-3 (utgått, se klima)»), one the programme does not know marked so."""
    if programme is None:
        return ", ".join(ids)
    names = []
    for pid in ids:
        if pid in programme.by_id:
            names.append(pid)
        elif pid in programme.landing:
            names.append(f"{pid} (utgått, se {programme.landing[pid] or 'toppen av programmet'})")
        else:
            names.append(f"{pid} (finnes ikke)")
    return ", ".join(names)


def format_cell(column: Column, value) -> str:
    """A cell as staff read it: times as 'YYYY-MM-DD HH:MM', replies in Norwegian, scores to 2 places."""
    if value is None:
        return ""
    if column.kind == "time":  # stored as 'YYYY-MM-DDTHH:00:00Z'
        return f"{value[:10]} {value[11:16]}"
    if column.kind == "reply":
        return REPLY_NAMES.get(value, str(value))
    if column.kind == "score":
        return f"{value:.2f}"
    return str(value)


def summary(qlog: QuestionLog, days: int, daily: Table, only: str | None = None) -> dict[str, int]:
    """Totals for the period (of programme `only`, or all): questions, each band, smalltalk, verdicts."""
    keys = ("count", "answered", "related", "not_covered", "smalltalk")
    totals = {key: sum(r[key] for r in daily.rows) for key in keys}
    return {"questions": totals.pop("count"), **totals, **qlog.feedback_counts(days, programme=only)}


def share(part: int, totals: dict[str, int]) -> int | None:
    """`part` as a whole percentage of the real questions (greetings and thanks left out)."""
    real = totals["questions"] - totals["smalltalk"]
    return round(100 * part / real) if real else None


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
        if settings.programmes is None:
            return render_text(qlog, days, _programme(settings))
        programmes = _programmes(settings)
        return render_text(qlog, days, programmes=programmes, by_programme=len(programmes) > 1)
    finally:
        qlog.close()


def _programme(settings: Settings) -> Programme | None:
    """The programme with its stable ids, for naming pledges; None when it cannot be read
    (the report then shows the ids as logged)."""
    try:
        return with_ledger(parse_file(settings.corpus), settings.ids)[0]
    except (OSError, ValueError, LedgerError):
        return None


def _programmes(settings: Settings) -> dict[str, Programme]:
    """Every programme of the registry `QA_PROGRAMMES` that can be read, by slug (a bad registry
    is a `ConfigError`, as at start-up)."""
    from qa.programmes.library import settings_for
    from qa.programmes.registry import load_registry

    found = {}
    for entry in load_registry(settings.programmes):
        programme = _programme(settings_for(settings, entry))
        if programme is not None:
            found[entry.slug] = programme
    return found


def render_text(
    qlog: QuestionLog,
    days: int,
    programme: Programme | None = None,
    *,
    programmes: Mapping[str, Programme] | None = None,
    by_programme: bool = False,
) -> str:
    """The report of an open log as plain-text tables (with a "Program" column, `by_programme`)."""
    all_tables = tables(qlog, days, programme, programmes=programmes, by_programme=by_programme)
    totals = summary(qlog, days, all_tables[-1])
    out = [
        f"Spørsmål fra velgere, siste {days} dager: {totals['questions']} spørsmål – "
        f"{totals['answered']} besvart, {totals['related']} bare beslektet, "
        f"{totals['not_covered']} der programmet ikke sier noe; "
        f"hilsener og takk (ikke hull i programmet): {totals['smalltalk']}. "
        f"Tilbakemeldinger: {totals['helpful']} nyttige, {totals['unhelpful']} ikke nyttige.",
        "",
    ]
    for table in all_tables:
        out += [table.title, "=" * len(table.title)]
        if table.note:
            out.append(table.note)
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
