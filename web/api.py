"""The JSON API: `GET /api/ask` and `GET /healthz`.

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
from web.deps import record_answer, take_question_allowance
from web.params import InvalidQuery, QuestionParams, explain, parse_question

router = APIRouter()

_ASK_PARAMETERS = [
    {
        "name": "q",
        "in": "query",
        "required": True,
        "description": f"the question, 1-{MAX_QUESTION} characters after trimming",
        "schema": {"type": "string"},
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
        "stand alone is answered with it in mind, and the answer's `interpreted_as` says what was answered",
        "schema": {"type": "string"},
    },
]


def ask_checked(answerer: Answerer, params: QuestionParams) -> Answer:
    """Ask the core; a question it rejects becomes a 422 with a Norwegian `detail`."""
    try:
        if params.prev is None:
            return answerer.ask(params.q, params.k)
        return answerer.ask(params.q, params.k, prev=params.prev)
    except BadQuestion as exc:
        raise HTTPException(422, explain(exc)) from None


def question_params(request: Request) -> QuestionParams:
    """`q`, `k` and `prev` from the raw query string; anything unusable is a 422."""
    try:
        return parse_question(request.scope["query_string"])
    except InvalidQuery as exc:
        raise HTTPException(422, str(exc)) from None


@router.get(
    "/api/ask",
    summary="Answer a question with the programme's own pledges",
    openapi_extra={"parameters": _ASK_PARAMETERS},
    responses={422: {"description": "unusable question or k"}, 429: {"description": "too many questions"}},
)
async def ask(request: Request) -> JSONResponse:
    # The cheap checks run on the event loop; the answer (model, maybe the question log's
    # write) in one trip to the thread pool. No sync dependencies: each would be a trip too.
    take_question_allowance(request)
    params = question_params(request)
    return JSONResponse(await run_in_threadpool(answer_body, request, params))


def answer_body(request: Request, params: QuestionParams) -> dict:
    """The API's JSON for a question, with the question log's `ask_id` when there is a log."""
    answer = ask_checked(request.app.state.answerer, params)
    body = answer.as_dict()
    ask_id = record_answer(request, answer)
    if ask_id is not None:
        body["ask_id"] = ask_id
    return body


@router.get("/healthz", summary="Ready to answer")
@router.head("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    answerer: Answerer | None = getattr(request.app.state, "answerer", None)
    if answerer is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse({"status": "ok", "pledges": len(answerer.programme.pledges), "model": answerer.model_id})
