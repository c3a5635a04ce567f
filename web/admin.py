"""The staff report over HTTP: what voters ask, where the programme is silent or only comes close.

`router` holds:

- `GET /api/admin/questions`: the grouped question log as JSON;
- `GET /admin`: the report page (tables and a per-day chart as inline SVG, no scripts at all);
- `GET /admin/<table>.csv`: each table of the report as CSV;
- `GET /admin/admin.css`: the page's stylesheet.

Each logged question links to `/admin/curate` (web.curate_page), where staff attach it to a pledge
or mark it as not covered.

With several programmes (qa.programmes), every route takes `programme=SLUG` to show only the
questions asked of that programme (an unknown slug is a 404); without it, all of them, with a
"Program" column. Each question's "Rett opp" link goes to the curation of its own programme.

Every route exists only when `QA_ADMIN_TOKEN` is set (404 otherwise), and all but the stylesheet
need the token (`web.admin_auth`). What the report shows is built in `qa.questionlog.report`, the
chart's geometry in `web.charts`; voters' 👍/👎 arrive through `web.feedback`.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from qa.programmes.library import UnknownProgramme
from qa.programmes.registry import DEFAULT_SLUG
from qa.questionlog.report import Table, format_cell, share, summary, tables
from qa.questionlog.store import COVERAGES, QuestionLogError
from web.admin_auth import AdminDep, AdminEnabledDep
from web.charts import chart
from web.deps import QuestionLogDep, SettingsDep
from web.openapi import ADMIN_ERRORS, error

HERE = Path(__file__).resolve().parent
STYLESHEET = HERE / "static" / "admin.css"
PERIODS = (7, 30, 90, 180)
TABLE_NAMES = ("not_covered", "related", "questions", "feedback", "marks", "daily")
CURATED_TABLES = ("feedback", "not_covered", "related", "questions")  # rows with a "Rett opp" link
FIRST = "feedback"  # the 👎 and their comments come first on the page: what most needs a fix

# The admin page loads nothing but its own stylesheet: no scripts, no other origin.
ADMIN_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}

Days = Annotated[int, Query(ge=1, le=3650, description="today (UTC) and the days before it")]
Slug = Annotated[str | None, Query(max_length=100, description="only questions asked of this programme (its slug)")]

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)

router = APIRouter()


@router.get(
    "/api/admin/questions",
    responses={**ADMIN_ERRORS, 422: error("a parameter out of range"), 503: error("the question log cannot be read")},
)
def questions(
    request: Request,
    _admin: AdminDep,
    qlog: QuestionLogDep,
    answered: Annotated[bool | None, Query(description="only answered (true) or not answered (false)")] = None,
    coverage: Annotated[
        str | None, Query(description="only this band", json_schema_extra={"enum": list(COVERAGES)})
    ] = None,
    smalltalk: Annotated[
        bool | None, Query(description="only greetings and thanks (true), or only real questions (false)")
    ] = None,
    days: Days = 30,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    programme: Slug = None,
) -> JSONResponse:
    """Logged questions, repeats grouped per programme, most asked first, each with its band,
    smalltalk kind and programme."""
    if coverage is not None and coverage not in COVERAGES:
        raise HTTPException(422, f"coverage må være answered, related eller not_covered, ikke «{coverage}».")
    only = _only(request, programme)
    rows = _read(
        lambda: qlog.questions(answered=answered, coverage=coverage, smalltalk=smalltalk, days=days, limit=limit, programme=only)
    )
    return JSONResponse(rows, headers={"Cache-Control": "no-store"})


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def page(
    request: Request, _admin: AdminDep, qlog: QuestionLogDep, settings: SettingsDep, days: Days = 30, programme: Slug = None
) -> HTMLResponse:
    base = request.scope.get("root_path", "").rstrip("/")
    only = _only(request, programme)
    scope = f"&programme={only}" if only else ""  # slugs are URL-safe
    context = {
        "base": base,
        "days": days,
        "scope": scope,
        "periods": sorted({*PERIODS, days}),
        "programmes": _choices(request, base, days, only),
        "keep_days": settings.log_days,
        "enabled": qlog.enabled,
        "error": None,
        "tables": [],
        "curate": None,
    }
    status = 200
    try:
        all_tables = _tables(request, qlog, days, only)
    except QuestionLogError:
        context["error"] = "Spørsmålsloggen kan ikke leses akkurat nå. Se serverloggen."
        status = 503
    else:
        by_name = {t.name: t for t in all_tables}
        context["summary"] = totals = summary(qlog, days, by_name["daily"], only)
        context["shares"] = {key: share(totals[key], totals) for key in COVERAGES}
        context["chart"] = chart(by_name["daily"].rows)
        default = _default_slug(request)
        context["tables"] = [_view(t, base, days, scope, default) for t in sorted(all_tables, key=lambda t: t.name != FIRST)]
        context["curate"] = f"{base}/admin/curate?days={days}{scope}"
    html = _templates.get_template("admin.html").render(context)
    return HTMLResponse(html, status_code=status, headers=ADMIN_HEADERS)


@router.get("/admin/admin.css", include_in_schema=False)
def stylesheet(_enabled: AdminEnabledDep) -> FileResponse:
    return FileResponse(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/admin/{name}.csv", include_in_schema=False)
def table_csv(
    request: Request, name: str, _admin: AdminDep, qlog: QuestionLogDep, days: Days = 30, programme: Slug = None
) -> Response:
    if name not in TABLE_NAMES:
        raise HTTPException(404, f"Ukjent tabell {name!r}; finnes: {', '.join(TABLE_NAMES)}.")
    only = _only(request, programme)
    table = next(t for t in _read(lambda: _tables(request, qlog, days, only)) if t.name == name)
    filename = f"mdg-{name}-{days}d-{date.today().isoformat()}.csv" if only is None else f"mdg-{only}-{name}-{days}d-{date.today().isoformat()}.csv"
    headers = {**ADMIN_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(to_csv(table), media_type="text/csv; charset=utf-8", headers=headers)


def to_csv(table: Table) -> str:
    """Every row of `table` as CSV with a BOM (so spreadsheets read æøå), cells as on the page.

    Free text from voters is defused: a cell starting with = + - @ would run as a formula in a
    spreadsheet, so it gets a leading apostrophe.
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.heading for c in table.columns])
    for row in table.rows:
        writer.writerow(
            [
                _defuse(format_cell(c, row[c.key])) if c.kind == "text" else format_cell(c, row[c.key])
                for c in table.columns
            ]
        )
    return out.getvalue()


def _view(table: Table, base: str, days: int, scope: str = "", default: str | None = None) -> dict:
    shown = table.shown()
    return {
        "name": table.name,
        "title": table.title,
        "note": table.note,
        "empty": table.empty,
        "headings": [(c.heading, c.kind) for c in table.columns],
        "rows": [[(format_cell(c, row[c.key]), c.kind) for c in table.columns] for row in shown],
        "total": len(table.rows),
        "csv": f"{base}/admin/{table.name}.csv?days={days}{scope}",
        # Where staff fix the answer to each row's question (web.curate_page), or None.
        "curate": [(curate_link(base, r["question"], days, _other(r.get("programme"), default)), r["question"]) for r in shown]
        if table.name in CURATED_TABLES
        else None,
    }


def curate_link(base: str, question: str, days: int, programme: str | None = None) -> str:
    """The curation page for one logged question, in the curation of the programme it was asked of."""
    query = {"question": question, "days": days}
    if programme is not None:
        query["programme"] = programme
    return f"{base}/admin/curate?" + urlencode(query)


def _other(programme: str | None, default: str | None) -> str | None:
    """`programme`, unless it is the default one (whose curation the page shows unasked)."""
    return None if programme == default else programme


def _default_slug(request: Request) -> str | None:
    library = getattr(request.app.state, "library", None)
    return library.default.slug if library is not None else DEFAULT_SLUG


def _only(request: Request, programme: str | None) -> str | None:
    """The slug of the one programme the report is about, or None for all; 404 for an unknown one."""
    if not programme:
        return None
    library = getattr(request.app.state, "library", None)
    try:
        if library is None:
            raise UnknownProgramme(programme)
        return library.entry(programme).slug
    except UnknownProgramme:
        raise HTTPException(404, f"Ukjent program: {programme!r}. Se /api/programmes.") from None


def _tables(request: Request, qlog, days: int, only: str | None) -> list[Table]:
    """The report's tables, of programme `only` or all; a "Program" column when there are several."""
    library = getattr(request.app.state, "library", None)
    if library is None:
        return tables(qlog, days, only=only)
    programmes = {e.slug: library.answerer(e.slug).programme for e in library.entries}
    return tables(
        qlog, days, library.answerer().programme, only=only, programmes=programmes, by_programme=len(library) > 1 and only is None
    )


def _choices(request: Request, base: str, days: int, only: str | None) -> list[dict]:
    """The programme picker's links (all, then each programme in the registry's order); none for one programme."""
    library = getattr(request.app.state, "library", None)
    if library is None or len(library) < 2:
        return []
    links = [{"label": "Alle programmer", "href": f"{base}/admin?days={days}", "current": only is None}]
    for e in library.entries:
        links.append({"label": e.title, "href": f"{base}/admin?days={days}&programme={e.slug}", "current": e.slug == only})
    return links


def _defuse(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _read(query):
    try:
        return query()
    except QuestionLogError:
        raise HTTPException(503, "Spørsmålsloggen kan ikke leses akkurat nå.") from None
