"""Feedback on answers, and the question report for campaign staff, over HTTP.

`make_router(settings)` gives an `APIRouter` with:

- `POST /api/feedback`: a voter's 👍/👎 (and optional comment) on one answer, by its `ask_id`;
- `GET /api/admin/questions`: the grouped question log as JSON;
- `GET /admin`: the report page (tables and a per-day chart as inline SVG, no scripts at all);
- `GET /admin/<table>.csv`: each table of the report as CSV;
- `GET /admin/admin.css`: the page's stylesheet.

The routes read the `QuestionLog` from `request.app.state.questionlog`. The admin routes exist only
when `QA_ADMIN_TOKEN` is set (404 otherwise) and need it as a Bearer token or as the password of
HTTP Basic, so staff can open the page in a browser. What the report shows is built in `qa.questionlog.report`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError
from starlette.concurrency import run_in_threadpool

from qa.questionlog.store import COVERAGES, MAX_COMMENT, QuestionLog, QuestionLogError
from qa.questionlog.report import REPLY_NAMES, Table, format_cell, share, summary, tables
from qa.operations.settings import Settings

HERE = Path(__file__).resolve().parent
STYLESHEET = HERE / "static" / "admin.css"
MAX_FEEDBACK_BYTES = 8192  # 500 characters, even as JSON \u escapes, fit well within this
PERIODS = (7, 30, 90, 180)
TABLE_NAMES = ("not_covered", "related", "questions", "feedback", "daily")
# The per-day chart's stacks, bottom up: the gaps first, where staff look.
CHART_KINDS = ("not_covered", "related", "answered", "smalltalk")
CHART_NAMES = {**REPLY_NAMES, "smalltalk": "hilsen eller takk"}
REALM = 'Basic realm="MDG admin", charset="UTF-8"'

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

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)


class FeedbackIn(BaseModel):
    """The body of `POST /api/feedback`."""

    model_config = ConfigDict(extra="forbid")

    ask_id: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    helpful: StrictBool
    comment: StrictStr | None = Field(None, max_length=MAX_COMMENT)


FEEDBACK_SCHEMA = FeedbackIn.model_json_schema()


def make_router(settings: Settings) -> APIRouter:
    """The feedback endpoint and the admin routes, guarded by `settings.admin_token`."""
    router = APIRouter()
    token = (settings.admin_token or "").encode()

    def require_admin(request: Request) -> None:
        if not token:
            raise HTTPException(404, "Not Found")
        given = _credentials(request.headers.get("authorization", ""))
        if given is None or not secrets.compare_digest(given, token):
            raise HTTPException(401, "Krever administratortoken.", headers={"WWW-Authenticate": REALM})

    admin = [Depends(require_admin)]

    @router.post(
        "/api/feedback",
        status_code=204,
        response_class=Response,
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": FEEDBACK_SCHEMA}}}},
    )
    async def feedback(request: Request) -> Response:
        """Store 👍/👎 on one answer: 204; unknown `ask_id`: 404; malformed: 422; too big: 413."""
        body = await _read_limited(request, MAX_FEEDBACK_BYTES)
        try:
            data = FeedbackIn.model_validate_json(body)
        except ValidationError as exc:
            raise HTTPException(422, _explain(exc)) from None
        qlog: QuestionLog = request.app.state.questionlog
        try:
            known = await run_in_threadpool(qlog.feedback, data.ask_id, data.helpful, data.comment)
        except QuestionLogError:
            raise HTTPException(503, "Tilbakemeldingen kunne ikke lagres akkurat nå.") from None
        if not known:
            raise HTTPException(404, "Ukjent ask_id: svaret finnes ikke i loggen (eller er slettet).")
        return Response(status_code=204)

    @router.get("/api/admin/questions", dependencies=admin)
    def questions(
        request: Request,
        answered: Annotated[bool | None, Query(description="only answered (true) or not answered (false)")] = None,
        coverage: Annotated[str | None, Query(description="only this band: " + ", ".join(COVERAGES))] = None,
        smalltalk: Annotated[
            bool | None, Query(description="only greetings and thanks (true), or only real questions (false)")
        ] = None,
        days: Days = 30,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> JSONResponse:
        """Logged questions, repeats grouped, most asked first, each with its band and smalltalk kind."""
        if coverage is not None and coverage not in COVERAGES:
            raise HTTPException(422, f"coverage må være answered, related eller not_covered, ikke «{coverage}».")
        qlog: QuestionLog = request.app.state.questionlog
        rows = _read(
            lambda: qlog.questions(answered=answered, coverage=coverage, smalltalk=smalltalk, days=days, limit=limit)
        )
        return JSONResponse(rows, headers={"Cache-Control": "no-store"})

    @router.get("/admin", dependencies=admin, response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, days: Days = 30) -> HTMLResponse:
        qlog: QuestionLog = request.app.state.questionlog
        base = request.scope.get("root_path", "").rstrip("/")
        context = {
            "base": base,
            "days": days,
            "periods": sorted({*PERIODS, days}),
            "keep_days": settings.log_days,
            "enabled": qlog.enabled,
            "error": None,
            "tables": [],
        }
        status = 200
        try:
            all_tables = tables(qlog, days)
        except QuestionLogError:
            context["error"] = "Spørsmålsloggen kan ikke leses akkurat nå. Se serverloggen."
            status = 503
        else:
            by_name = {t.name: t for t in all_tables}
            context["summary"] = totals = summary(qlog, days, by_name["daily"])
            context["shares"] = {key: share(totals[key], totals) for key in COVERAGES}
            context["chart"] = chart(by_name["daily"].rows)
            context["tables"] = [_view(t, base, days) for t in all_tables]
        html = _templates.get_template("admin.html").render(context)
        return HTMLResponse(html, status_code=status, headers=ADMIN_HEADERS)

    @router.get("/admin/admin.css", include_in_schema=False)
    def stylesheet() -> FileResponse:
        if not token:
            raise HTTPException(404, "Not Found")
        return FileResponse(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @router.get("/admin/{name}.csv", dependencies=admin, include_in_schema=False)
    def table_csv(request: Request, name: str, days: Days = 30) -> Response:
        if name not in TABLE_NAMES:
            raise HTTPException(404, f"Ukjent tabell {name!r}; finnes: {', '.join(TABLE_NAMES)}.")
        table = next(t for t in _read(lambda: tables(request.app.state.questionlog, days)) if t.name == name)
        filename = f"mdg-{name}-{days}d-{date.today().isoformat()}.csv"
        headers = {**ADMIN_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(to_csv(table), media_type="text/csv; charset=utf-8", headers=headers)

    return router


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


def chart(daily: list[dict], width: int = 720, height: int = 220) -> dict:
    """Geometry of the questions-per-day bar chart: one stack per day, CHART_KINDS bottom up."""
    left, right, top, bottom = 40, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((d["count"] for d in daily), default=0)
    scale_max = _nice_ceiling(peak)
    slot = plot_w / max(len(daily), 1)
    bar_w = max(slot * 0.8, 1.0)
    bars = []
    for i, day in enumerate(daily):
        x = left + i * slot + (slot - bar_w) / 2
        parts, below = [], 0
        for kind in CHART_KINDS:
            if day[kind]:
                y_top = top + plot_h - plot_h * (below + day[kind]) / scale_max
                parts.append({"kind": kind, "y": round(y_top, 1), "height": round(plot_h * day[kind] / scale_max, 1)})
                below += day[kind]
        counts = ", ".join(f"{day[kind]} {CHART_NAMES[kind]}" for kind in CHART_KINDS if day[kind])
        bars.append(
            {
                "label": f"{_short(day['day'])}: {day['count']} spørsmål" + (f" ({counts})" if counts else ""),
                "x": round(x, 1),
                "width": round(bar_w, 1),
                "parts": parts,
            }
        )
    step = max(1, round(len(daily) / 6))  # about six dates along the axis
    labelled = list(range(0, len(daily), step))
    if labelled and len(daily) - 1 - labelled[-1] >= step / 2:
        labelled.append(len(daily) - 1)  # the last day too, unless it would crowd its neighbour
    xlabels = [{"x": round(left + i * slot + slot / 2, 1), "text": _short(daily[i]["day"])} for i in labelled]
    yticks = [
        {"y": round(top + plot_h - plot_h * v / scale_max, 1), "text": str(v)} for v in (0, scale_max // 2, scale_max)
    ]
    busiest = max(daily, key=lambda d: d["count"], default=None)
    total = sum(d["count"] for d in daily)
    desc = f"{total} spørsmål over {len(daily)} dager."
    if busiest and busiest["count"]:
        desc += f" Flest {_short(busiest['day'])}: {busiest['count']}."
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "baseline": top + plot_h,
        "label_y": height - 8,
        "bars": bars,
        "xlabels": xlabels,
        "yticks": yticks,
        "description": desc,
    }


def _nice_ceiling(value: int) -> int:
    """The smallest round number at least `value` (2, 4, 6, 8, 10, 12, 16, 20, 30, ... 80, 100,
    120, ...): even, so the midline label is whole."""
    magnitude = 1
    while True:
        for nice in (2, 4, 6, 8, 10, 12, 16, 20, 30, 40, 50, 60, 80):
            if nice * magnitude >= value:
                return nice * magnitude
        magnitude *= 10


def _short(day: str) -> str:
    """'2026-11-27' as '27.11.'"""
    return f"{int(day[8:10])}.{int(day[5:7])}."


def _view(table: Table, base: str, days: int) -> dict:
    shown = table.shown()
    return {
        "name": table.name,
        "title": table.title,
        "note": table.note,
        "empty": table.empty,
        "headings": [(c.heading, c.kind) for c in table.columns],
        "rows": [[(format_cell(c, row[c.key]), c.kind) for c in table.columns] for row in shown],
        "total": len(table.rows),
        "csv": f"{base}/admin/{table.name}.csv?days={days}",
    }


def _defuse(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _read(query):
    try:
        return query()
    except QuestionLogError:
        raise HTTPException(503, "Spørsmålsloggen kan ikke leses akkurat nå.") from None


def _credentials(header: str) -> bytes | None:
    """The token from `Bearer <token>` or the password from `Basic base64(user:password)`."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value.encode("latin-1")  # the raw header bytes (Starlette decodes headers as latin-1)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        _, colon, password = decoded.partition(b":")
        return password if colon else None
    return None


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, or 413 once it passes `limit` bytes (declared or actually sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"For stor forespørsel: høyst {limit} byte.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"For stor forespørsel: høyst {limit} byte.")
    return bytes(body)


def _explain(exc: ValidationError) -> str:
    """The first problem with a feedback body, as one sentence."""
    error = exc.errors(include_url=False)[0]
    kind, loc = error["type"], ".".join(str(part) for part in error["loc"])
    if kind == "json_invalid":
        return "Innholdet er ikke gyldig JSON."
    if kind == "model_type" or not loc:
        return "Innholdet må være et JSON-objekt med ask_id, helpful og eventuelt comment."
    if kind == "missing":
        return f"Feltet «{loc}» mangler."
    if kind == "extra_forbidden":
        return f"Ukjent felt «{loc}»; tillatt er ask_id, helpful og comment."
    if loc == "comment" and kind == "string_too_long":
        return f"Kommentaren er for lang: høyst {MAX_COMMENT} tegn."
    if loc == "helpful":
        return "Feltet «helpful» må være true eller false."
    if loc.startswith("comment"):
        return "Feltet «comment» må være tekst eller null."
    if loc == "ask_id":
        return "Feltet «ask_id» må være ask_id-teksten fra svaret på /api/ask."
    return f"Feltet «{loc}» er ugyldig: {error['msg']}."
