"""Staff curation in the admin pages, with plain HTML forms (no script): `/admin/curate`.

    GET  /admin/curate?question=...&find=...&programme=SLUG
                                               one question: its answer now from that programme
                                               (default: the default one), the pledges of it that
                                               match the search box, and its alternates and marks
    POST /admin/curate/attach                  question + pledge_id: answer it with that pledge
    POST /admin/curate/not-covered             question: the programme does not answer it
    POST /admin/curate/alternates/{id}/edit    question + pledge_id: change an alternate
    POST /admin/curate/alternates/{id}/remove
    POST /admin/curate/marks/{id}/remove

With more than one programme, the page has a picker; every form carries the programme it is
about, so a change lands in that programme's curation only (`web.curation.curation_of`).

Every route needs the admin token (web.admin_auth). A browser that remembers Basic credentials
would send them with a form posted from any site, so each form carries a token derived from the
admin token (`form_token`) that another site cannot know; a POST without it is a 403. A change
redirects back to the page (303) saying what was done; a refused one shows the page again with
the reason and a 4xx. The JSON API for the same is `web.curation`.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool

from qa.answering.limits import MAX_QUESTION
from qa.curation.search import citation, search
from qa.curation.store import CurationError
from qa.curation.sync import CurationSync
from qa.questionlog.store import normalise
from web.admin import ADMIN_HEADERS
from web.admin_auth import AdminDep, AdminEnabledDep
from web.curation import EntryId, curation_of
from web.feedback import read_limited

HERE = Path(__file__).resolve().parent
MAX_FORM = 16_384
PAGE_HEADERS = {**ADMIN_HEADERS, "Content-Security-Policy": ADMIN_HEADERS["Content-Security-Policy"].replace(
    "form-action 'none'", "form-action 'self'"
)}  # fmt: skip
REPLY_NAMES = {"answered": "besvart", "related": "bare beslektet", "not_covered": "sier ikke noe"}
DONE = {
    "attached": "Lagret. Spørsmålet besvares nå med punktet du valgte.",
    "marked": "Lagret. Spørsmålet er merket som ikke dekket av programmet.",
    "edited": "Endringen er lagret.",
    "removed": "Fjernet.",
}

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)

router = APIRouter(include_in_schema=False)


def form_token(admin_token: bytes) -> str:
    """The token every curation form carries: only someone who knows the admin token can make it."""
    return hmac.new(admin_token, b"mdg-admin-curation-form", hashlib.sha256).hexdigest()


@router.get("/admin/curate", response_class=HTMLResponse)
async def page(
    request: Request,
    _admin: AdminDep,
    token: AdminEnabledDep,
    question: Annotated[str, Query(max_length=2000)] = "",
    find: Annotated[str, Query(max_length=200)] = "",
    done: str = "",
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    programme: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    sync = curation_of(request, programme)
    return await run_in_threadpool(render, request, sync, token, question, find, DONE.get(done), None, 200, days)


def render(request, sync, token: bytes, question: str, find: str, done, error, status: int, days: int) -> HTMLResponse:
    """The curation page of `sync`'s programme; `question` is the one being curated (may be empty), `find` the search."""
    library = request.app.state.library
    entry = library.entry(sync.curation.programme)
    answerer = sync.answerer
    programme = answerer.programme
    question = " ".join(question.split())
    answer = None
    if question:
        try:
            answer = answerer.ask(question, 5)
        except Exception:  # not a usable question: the page still shows, with the store's reason on submit
            answer = None
    try:
        snapshot = sync.curation.snapshot()
    except CurationError as exc:
        snapshot, error, status = None, exc.staff_message, exc.status
    base = request.scope.get("root_path", "").rstrip("/")

    def shown(pledge) -> dict:
        return {"id": pledge.id, "text": pledge.text, "citation": citation(pledge)}

    context = {
        "base": base,
        "question": question,
        "find": find,
        "days": days,
        "done": done,
        "error": error,
        "csrf": form_token(token),
        "max_question": MAX_QUESTION,
        "reply": REPLY_NAMES.get(answer.coverage) if answer else None,
        "suggestions": [shown(h.pledge) for h in answer.hits] if answer else [],
        "results": [shown(p) for p in search(programme, find)] if find.strip() else [],
        "attached": {a.pledge_id for a in (snapshot.alternates if snapshot else ()) if normalise(a.question) == normalise(question)},
        "alternates": [
            {**a.as_dict(), "pledge": shown(programme.by_id[a.pledge_id]) if a.pledge_id in programme.by_id else None}
            for a in (snapshot.alternates if snapshot else ())
        ],
        "marks": [m.as_dict() for m in (snapshot.marks if snapshot else ())],
        "back": f"{base}/admin?days={days}",
        "programme": entry.slug,
        "programme_title": entry.title,
        "programmes": [{"slug": e.slug, "title": e.title} for e in library.entries] if len(library) > 1 else [],
    }
    html = _templates.get_template("curate.html").render(context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


async def _form(request: Request, token: bytes) -> tuple[dict[str, str], CurationSync] | Response:
    """The posted form's fields (one value each) and the curation of the programme it names,
    or a 403 page when its form token is wrong."""
    body = await read_limited(request, MAX_FORM)
    fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if not hmac.compare_digest(fields.get("csrf", ""), form_token(token)):
        message = "Skjemaet kommer ikke fra denne siden, eller administratortokenet er byttet. Last siden på nytt."
        return HTMLResponse(message, 403, headers=PAGE_HEADERS)
    return fields, curation_of(request, fields.get("programme"))


async def _act(request: Request, sync, token: bytes, action, done: str, fields: dict[str, str]) -> Response:
    """Carry out a change and redirect to the page; a refused change shows the page with why."""
    days = fields.get("days", "")
    days = int(days) if days.isascii() and days.isdigit() and 1 <= int(days) <= 3650 else 30  # "²" is a digit too
    question = fields.get("back_question", fields.get("question", ""))  # the question the page was about

    def run():
        action()
        sync.refresh(force=True)  # this process: the very next question has it

    try:
        await run_in_threadpool(run)
    except CurationError as exc:
        return await run_in_threadpool(
            render, request, sync, token, question, fields.get("find", ""), None, exc.staff_message, exc.status, days
        )
    base = request.scope.get("root_path", "").rstrip("/")
    query = {"question": question, "done": done, "days": days}
    if sync.curation.programme != request.app.state.library.default.slug:
        query["programme"] = sync.curation.programme
    return RedirectResponse(f"{base}/admin/curate?{urlencode(query)}", status_code=303)


@router.post("/admin/curate/attach")
async def attach(request: Request, _admin: AdminDep, token: AdminEnabledDep) -> Response:
    form = await _form(request, token)
    if isinstance(form, Response):
        return form
    fields, sync = form
    action = lambda: sync.curation.add(fields.get("pledge_id", ""), fields.get("question", ""))  # noqa: E731
    return await _act(request, sync, token, action, "attached", fields)


@router.post("/admin/curate/not-covered")
async def not_covered(request: Request, _admin: AdminDep, token: AdminEnabledDep) -> Response:
    form = await _form(request, token)
    if isinstance(form, Response):
        return form
    fields, sync = form
    return await _act(request, sync, token, lambda: sync.curation.mark_not_covered(fields.get("question", "")), "marked", fields)


@router.post("/admin/curate/alternates/{alternate_id}/edit")
async def edit(alternate_id: EntryId, request: Request, _admin: AdminDep, token: AdminEnabledDep) -> Response:
    form = await _form(request, token)
    if isinstance(form, Response):
        return form
    fields, sync = form
    action = lambda: sync.curation.update(alternate_id, fields.get("pledge_id"), fields.get("question"))  # noqa: E731
    return await _act(request, sync, token, action, "edited", fields)


@router.post("/admin/curate/alternates/{alternate_id}/remove")
async def remove(alternate_id: EntryId, request: Request, _admin: AdminDep, token: AdminEnabledDep) -> Response:
    form = await _form(request, token)
    if isinstance(form, Response):
        return form
    fields, sync = form
    return await _act(request, sync, token, lambda: sync.curation.remove(alternate_id), "removed", fields)


@router.post("/admin/curate/marks/{mark_id}/remove")
async def unmark(mark_id: EntryId, request: Request, _admin: AdminDep, token: AdminEnabledDep) -> Response:
    form = await _form(request, token)
    if isinstance(form, Response):
        return form
    fields, sync = form
    return await _act(request, sync, token, lambda: sync.curation.unmark(mark_id), "removed", fields)
