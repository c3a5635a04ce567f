"""Staff curation over JSON, behind the admin token: alternates and not-covered marks.

    GET    /api/admin/alternates            every alternate, oldest first
    POST   /api/admin/alternates            {"pledge_id", "question"} -> 201 with the stored row
    PATCH  /api/admin/alternates/{id}       {"pledge_id"?, "question"?} -> the changed row
    DELETE /api/admin/alternates/{id}       204
    GET    /api/admin/not-covered           every not-covered mark
    POST   /api/admin/not-covered           {"question"} -> 201
    DELETE /api/admin/not-covered/{id}      204

Each programme of the registry has its own alternates and marks: every route takes `programme`
(a slug; in the query string, or in the JSON body of a POST or PATCH), the default programme when
it is left out, and every row names its `programme`. A pledge id is checked against that
programme, and an id of another programme's row is a 404. An unknown slug is a 404 with a detail.

A change is in the answers at once, in this process (`CurationSync.refresh(force=True)`), and in
every other server process within about a second. Bad input is a 4xx with a Norwegian `detail`:
an unknown pledge id or an unusable question (the limits of a voter's question) 422, a duplicate
409, an unknown id 404; a body that is not JSON 415 or 422. Requiring a JSON body also keeps a
page on another site from posting here with a browser's remembered Basic credentials.
The checks and storage are `qa.curation.store`'s; the admin page's forms are `web.curate_page`.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from qa.curation.store import CurationError
from qa.curation.sync import CurationSync
from qa.programmes.library import UnknownProgramme
from web.admin_auth import AdminDep
from web.feedback import read_limited
from web.openapi import ADMIN_ERRORS, QUESTION, error

MAX_BODY = 8192
NO_STORE = {"Cache-Control": "no-store"}
MAX_ID = 2**63 - 1  # the largest id either database stores

# Ids in paths: a positive integer either database can hold (a larger one is a 422, not a 500).
EntryId = Annotated[int, Path(ge=1, le=MAX_ID)]

_PLEDGE = {"type": "string", "description": "a pledge id of the default programme"}


def _OR_KEEP(schema: dict) -> dict:  # noqa: N802 (reads as a schema constructor)
    """A PATCH field: `schema`, or null to keep the value as it is."""
    return {"anyOf": [schema, {"type": "null"}]}


def _body(properties: dict, required: list[str] | None = None, **extra) -> dict:
    """`openapi_extra` for a JSON body read by `json_object` (which the framework does not see)."""
    schema = {"type": "object", "properties": properties, **({"required": required} if required else {}), **extra}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_WRITE_ERRORS = {
    **ADMIN_ERRORS,
    409: error("that alternate or mark exists already"),
    413: error(f"the body is larger than {MAX_BODY} bytes"),
    415: error("the body is not sent as application/json"),
    422: error("the body is not a JSON object with usable fields (an unknown pledge id, an unusable question)"),
    503: error("the question log is off or cannot be written"),
}
_READ_ERRORS = {**ADMIN_ERRORS, 503: error("the question log is off or cannot be read")}
_DELETE_ERRORS = {**ADMIN_ERRORS, 422: error("the id is not a positive integer"), 503: _WRITE_ERRORS[503]}

router = APIRouter()


def curation_of(request: Request, programme=None) -> CurationSync:
    """The running curation of programme `programme` (a slug; the default one for None or "");
    503 when the question log is off, 404 for a programme the registry does not have."""
    syncs = getattr(request.app.state, "curations", None)
    if not syncs:
        raise HTTPException(503, "Kuratering krever spørsmålsloggen (QA_DB er slått av).")
    if programme is not None and not isinstance(programme, str):
        raise HTTPException(422, "«programme» må være et programs kortnavn (slug).")
    try:
        entry = request.app.state.library.entry(programme or None)
    except UnknownProgramme:
        raise HTTPException(404, f"Ukjent program: {programme!r}. Se /api/programmes.") from None
    return syncs[entry.slug]


async def get_curation(
    request: Request, programme: Annotated[str | None, Query(max_length=100, description="the programme's slug")] = None
) -> CurationSync:
    """The curation of the programme in the query string (`?programme=SLUG`; default: the default one)."""
    return curation_of(request, programme)


CurationDep = Annotated[CurationSync, Depends(get_curation)]


def of_body(request: Request, body: dict, sync: CurationSync) -> CurationSync:
    """The curation of the programme the JSON body names, if it names one; else that of the query."""
    return curation_of(request, body["programme"]) if "programme" in body else sync


async def change(sync: CurationSync, action, *args):
    """Run one store action in the thread pool, then install it; errors become 4xx with a detail."""

    def run():
        result = action(*args)
        sync.refresh(force=True)  # this process: the very next question has it
        return result

    try:
        return await run_in_threadpool(run)
    except CurationError as exc:
        raise HTTPException(exc.status, exc.staff_message) from None


async def read(query):
    """Run one store query in the thread pool; a store that cannot be read is a 503."""
    try:
        return await run_in_threadpool(query)
    except CurationError as exc:
        raise HTTPException(exc.status, exc.staff_message) from None


async def json_object(request: Request) -> dict:
    """The body as a JSON object: 415 unless it says it is JSON, 422 unless it is an object."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, "Send JSON (Content-Type: application/json).")
    try:
        body = json.loads(await read_limited(request, MAX_BODY))
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(422, "Ugyldig JSON.") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "Forventet et JSON-objekt.")
    return body


def _required(body: dict, *names: str) -> None:
    missing = [n for n in names if n not in body]
    if missing:
        raise HTTPException(422, "Mangler " + " og ".join(f"«{n}»" for n in missing) + ".")


@router.get("/api/admin/alternates", responses=_READ_ERRORS)
async def list_alternates(_admin: AdminDep, sync: CurationDep) -> JSONResponse:
    rows = await read(lambda: [a.as_dict() for a in sync.curation.alternates()])
    return JSONResponse(rows, headers=NO_STORE)


@router.post(
    "/api/admin/alternates",
    status_code=201,
    openapi_extra=_body({"pledge_id": _PLEDGE, "question": QUESTION}, ["pledge_id", "question"]),
    responses=_WRITE_ERRORS,
)
async def add_alternate(request: Request, _admin: AdminDep, sync: CurationDep) -> JSONResponse:
    body = await json_object(request)
    _required(body, "pledge_id", "question")
    sync = of_body(request, body, sync)
    row = await change(sync, sync.curation.add, body["pledge_id"], body["question"])
    return JSONResponse(row.as_dict(), status_code=201, headers=NO_STORE)


@router.patch(
    "/api/admin/alternates/{alternate_id}",
    openapi_extra=_body(
        {"pledge_id": _OR_KEEP(_PLEDGE), "question": _OR_KEEP(QUESTION)},
        anyOf=[{"required": ["pledge_id"]}, {"required": ["question"]}],
    ),
    responses=_WRITE_ERRORS,
)
async def edit_alternate(alternate_id: EntryId, request: Request, _admin: AdminDep, sync: CurationDep) -> JSONResponse:
    body = await json_object(request)
    if "pledge_id" not in body and "question" not in body:
        raise HTTPException(422, "Mangler «pledge_id» eller «question».")
    sync = of_body(request, body, sync)
    row = await change(sync, sync.curation.update, alternate_id, body.get("pledge_id"), body.get("question"))
    return JSONResponse(row.as_dict(), headers=NO_STORE)


@router.delete("/api/admin/alternates/{alternate_id}", status_code=204, response_class=Response, responses=_DELETE_ERRORS)
async def remove_alternate(alternate_id: EntryId, _admin: AdminDep, sync: CurationDep) -> Response:
    await change(sync, sync.curation.remove, alternate_id)
    return Response(status_code=204)


@router.get("/api/admin/not-covered", responses=_READ_ERRORS)
async def list_marks(_admin: AdminDep, sync: CurationDep) -> JSONResponse:
    rows = await read(lambda: [m.as_dict() for m in sync.curation.marks()])
    return JSONResponse(rows, headers=NO_STORE)


@router.post(
    "/api/admin/not-covered", status_code=201, openapi_extra=_body({"question": QUESTION}, ["question"]), responses=_WRITE_ERRORS
)
async def add_mark(request: Request, _admin: AdminDep, sync: CurationDep) -> JSONResponse:
    body = await json_object(request)
    _required(body, "question")
    sync = of_body(request, body, sync)
    row = await change(sync, sync.curation.mark_not_covered, body["question"])
    return JSONResponse(row.as_dict(), status_code=201, headers=NO_STORE)


@router.delete("/api/admin/not-covered/{mark_id}", status_code=204, response_class=Response, responses=_DELETE_ERRORS)
async def remove_mark(mark_id: EntryId, _admin: AdminDep, sync: CurationDep) -> Response:
    await change(sync, sync.curation.unmark, mark_id)
    return Response(status_code=204)
