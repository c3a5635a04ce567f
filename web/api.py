"""The JSON API: `GET /api/ask`, `GET /api/compare`, `GET /api/programmes` and `GET /healthz`.

Answers come from `qa.answering.answerer.Answerer`; this module only reads the request, enforces the
rate limit, translates errors to 4xx with a Norwegian `detail`, and shapes the response.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from qa.answer import Answer
from qa.answering.answerer import Answerer
from qa.answering.limits import MAX_K, MAX_QUESTION
from qa.errors import BadQuestion
from qa.programmes.library import MAX_COMPARED, Asked, Library, TooManyProgrammes, UnknownProgramme
from qa.programmes.registry import Entry
from web.deps import record_answer, take_question_allowance
from web.openapi import QUESTION, error
from web.params import InvalidQuery, QuestionParams, check_sent_lengths, explain, parse_compare, parse_question
from web.rootpath import root_of

router = APIRouter()

_ASK_PARAMETERS = [
    {
        "name": "q",
        "in": "query",
        "required": True,
        "description": f"the question, 1-{MAX_QUESTION} characters, with a letter or digit",
        "schema": QUESTION,
    },
    {
        "name": "k",
        "in": "query",
        "required": False,
        "description": f"how many pledges to return, 1-{MAX_K}",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5},
    },
    {
        "name": "prev",
        "in": "query",
        "required": False,
        "description": f"the voter's previous question, 1-{MAX_QUESTION} characters; a follow-up that cannot "
        "stand alone is answered with it in mind, and the answer's `interpreted_as` says what was answered; "
        "empty is none",
        "schema": {"anyOf": [{"type": "string", "maxLength": 0}, QUESTION]},
    },
    {
        "name": "exact",
        "in": "query",
        "required": False,
        "description": "1: answer the words as typed, with no spelling mended (the link under \"Viser svar for\")",
        "schema": {"type": "integer", "enum": [0, 1], "default": 0},
    },
    {
        "name": "programme",
        "in": "query",
        "required": False,
        "description": "the slug of the programme to answer from (GET /api/programmes); default: the default one",
        "schema": {"type": "string"},
    },
]
_COMPARE_PARAMETERS = [
    _ASK_PARAMETERS[0],
    {
        "name": "programmes",
        "in": "query",
        "required": True,
        "description": f"comma-separated slugs of the programmes to compare, at most {MAX_COMPARED}",
        "schema": {"type": "string", "pattern": r"[^,\s]"},
    },
]



def ask_library(library: Library, params: QuestionParams) -> Asked:
    """Ask the asked programme (with its fallback); an unknown one is a 404, a bad question a 422."""
    try:
        return library.ask(params.q, params.k, params.programme, prev=params.prev, exact=params.exact)
    except UnknownProgramme as exc:
        raise HTTPException(404, f"Ukjent program: {params.programme!r}. Se /api/programmes.") from exc
    except BadQuestion as exc:
        raise HTTPException(422, explain(exc)) from None


def attributed(library: Library, entry: Entry, answer: Answer, root: str = "") -> dict:
    """An answer's JSON naming its programme, in the answer and in each result, with links into it
    under the root path `root` (web.rootpath)."""
    body = answer.as_dict()
    body["programme"] = entry.slug
    page = programme_path(library, entry, root)
    for result in body["results"]:
        result["programme"] = entry.slug
        result["url"] = f"{page}#{result['id']}"
    return body


def programme_path(library: Library, entry: Entry, root: str = "") -> str:
    """Where a programme's page is: `/program` for the default one, `/p/SLUG/program` for the others,
    under the root path `root`."""
    return root + ("/program" if entry.slug == library.default.slug else f"/p/{entry.slug}/program")


def asked_body(library: Library, asked: Asked, root: str = "") -> dict:
    """The JSON of an answer with its fallback, attributed; never mixed into the local results."""
    body = attributed(library, asked.entry, asked.answer, root)
    if asked.fallback is not None:
        entry, answer = asked.fallback
        other = attributed(library, entry, answer, root)
        body["fallback"] = {"programme": entry.slug, "title": entry.title, "coverage": other["coverage"], "results": other["results"]}
    return body


def question_params(request: Request) -> QuestionParams:
    """`q`, `k` and `prev` from the raw query string; anything unusable is a 422."""
    try:
        params = parse_question(request.scope["query_string"])
        check_sent_lengths(params)
    except InvalidQuery as exc:
        raise HTTPException(422, str(exc)) from None
    return params


@router.get(
    "/api/ask",
    summary="Answer a question with the programme's own pledges",
    openapi_extra={"parameters": _ASK_PARAMETERS},
    responses={
        404: error("unknown programme"),
        422: error("unusable question or k"),
        429: error("too many questions; see Retry-After"),
    },
)
async def ask(request: Request) -> JSONResponse:
    # The cheap checks run on the event loop; the answer (model, maybe the question log's
    # write) in one trip to the thread pool. No sync dependencies: each would be a trip too.
    take_question_allowance(request)
    params = question_params(request)
    return JSONResponse(await run_in_threadpool(answer_body, request, params))


def answer_body(request: Request, params: QuestionParams) -> dict:
    """The API's JSON for a question, with the question log's `ask_id` when there is a log."""
    library: Library = request.app.state.library
    asked = ask_library(library, params)
    body = asked_body(library, asked, root_of(request))
    ask_id = record_answer(request, asked.answer, asked.entry.slug)  # logged as the asked programme's
    if ask_id is not None:
        body["ask_id"] = ask_id
    return body


@router.get(
    "/api/compare",
    summary="Each programme's answer to one question, side by side, in the operator's fixed order",
    openapi_extra={"parameters": _COMPARE_PARAMETERS},
    responses={
        404: error("unknown programme"),
        422: error("unusable question, or too many programmes"),
        429: error("too many questions; see Retry-After"),
    },
)
async def compare(request: Request) -> JSONResponse:
    take_question_allowance(request)
    try:
        params, slugs = parse_compare(request.scope["query_string"])
        check_sent_lengths(params)
    except InvalidQuery as exc:
        raise HTTPException(422, str(exc)) from None
    body = await run_in_threadpool(compare_body, request.app.state.library, params, slugs, root_of(request))
    return JSONResponse(body)


def compare_body(library: Library, params: QuestionParams, slugs: list[str], root: str = "") -> dict:
    """Every named programme's own answer and band, in the registry's order (never by score)."""
    try:
        answers = library.compare(params.q, slugs, params.k)
    except UnknownProgramme as exc:
        raise HTTPException(404, f"{exc}. Se /api/programmes.") from None
    except TooManyProgrammes as exc:
        raise HTTPException(422, str(exc)) from None
    except BadQuestion as exc:
        raise HTTPException(422, explain(exc)) from None
    return {
        "question": answers[0][1].question,
        # Each programme as /api/programmes names it (less its fallback: compare asks none), with its own answer.
        "programmes": [{**_described(entry), **attributed(library, entry, answer, root)} for entry, answer in answers],
    }


def _described(entry: Entry) -> dict:
    return {k: v for k, v in entry.as_dict().items() if k != "fallback"}


@router.get("/api/programmes", summary="The programmes this service answers from, in the registry's order")
async def programmes(request: Request) -> JSONResponse:
    library: Library = request.app.state.library
    root = root_of(request)
    return JSONResponse(
        {"default": library.default.slug, "programmes": [{**e.as_dict(), "url": programme_path(library, e, root)} for e in library.entries]}
    )


@router.get("/healthz", summary="Ready to answer", responses={503: {"description": "still starting"}})
@router.head("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    answerer: Answerer | None = getattr(request.app.state, "answerer", None)
    if answerer is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    body = {"status": "ok", "pledges": len(answerer.programme.pledges), "model": answerer.model_id}
    library: Library | None = getattr(request.app.state, "library", None)
    if library is not None and len(library) > 1:
        body["programmes"] = len(library)  # `pledges` counts the default programme's
    return JSONResponse(body)
