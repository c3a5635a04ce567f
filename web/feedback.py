"""`POST /api/feedback`: a voter's 👍/👎, and an optional comment, on one logged answer.

The answer is named by the `ask_id` that `/api/ask` returned (only when the question log is on).
The body is read with a size limit before it is parsed, and every way it can be malformed is
answered with one Norwegian sentence. Storing is `QuestionLog.feedback`'s; this module only
adapts HTTP to it. The staff report that reads the feedback is `web.admin`.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError
from starlette.concurrency import run_in_threadpool

from qa.questionlog.store import MAX_COMMENT, QuestionLogError
from web.deps import QuestionLogDep
from web.openapi import error

MAX_FEEDBACK_BYTES = 8192  # a comment of MAX_COMMENT characters, even as JSON \u escapes, fits well within this


class FeedbackIn(BaseModel):
    """The body of `POST /api/feedback`."""

    model_config = ConfigDict(extra="forbid")

    ask_id: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    helpful: StrictBool
    comment: StrictStr | None = Field(None, max_length=MAX_COMMENT)


FEEDBACK_SCHEMA = FeedbackIn.model_json_schema()

router = APIRouter()


@router.post(
    "/api/feedback",
    status_code=204,
    response_class=Response,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": FEEDBACK_SCHEMA}}}},
    responses={
        404: error("no logged answer has this ask_id (or the log is off)"),
        413: error(f"the body is larger than {MAX_FEEDBACK_BYTES} bytes"),
        422: error("the body is not JSON, or not the object described"),
        503: error("the question log cannot be written right now"),
    },
)
async def feedback(request: Request, qlog: QuestionLogDep) -> Response:
    """Store 👍/👎 on one answer: 204; unknown `ask_id`: 404; malformed: 422; too big: 413."""
    body = await read_limited(request, MAX_FEEDBACK_BYTES)
    try:
        data = FeedbackIn.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(422, explain(exc)) from None
    try:
        known = await run_in_threadpool(qlog.feedback, data.ask_id, data.helpful, data.comment)
    except QuestionLogError:
        raise HTTPException(503, "Tilbakemeldingen kunne ikke lagres akkurat nå.") from None
    if not known:
        raise HTTPException(404, "Ukjent ask_id: svaret finnes ikke i loggen (eller er slettet).")
    return Response(status_code=204)


async def read_limited(request: Request, limit: int) -> bytes:
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


def explain(exc: ValidationError) -> str:
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
