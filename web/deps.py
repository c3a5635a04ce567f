"""What request handlers share: who the client is, the rate limit, the question log.

Everything is built once (`web.app`) and kept on `app.state`. Two kinds of helper:

- On the question path (`GET /api/ask`, `GET /?q=...`), plain functions called by the handler:
  a sync FastAPI dependency costs a trip to the thread pool on every request, and that path is
  kept fast (README, "Speed and memory").
- Elsewhere (feedback, the staff report), FastAPI dependencies as `Annotated` aliases, as in the
  FastAPI full-stack template: `SettingsDep`, `QuestionLogDep` here, `AdminDep` in
  `web.admin_auth`. They are `async def`, so resolving one never leaves the event loop, and tests
  can replace them with `app.dependency_overrides`.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from qa.answer import Answer
from qa.operations.settings import Settings
from qa.questionlog.store import QuestionLog
from web.ratelimit import bucket_of, client_address, is_loopback, too_many_questions

log = logging.getLogger(__name__)


# --- the question path: plain functions ----------------------------------------------------


def client_of(request: Request) -> str:
    """The client's address, from `X-Forwarded-For` only when the peer is a trusted proxy."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), request.app.state.settings.proxies)


def take_question_allowance(request: Request) -> None:
    """Count one question against the client's rate limit; 429 with `Retry-After` when spent."""
    limiter = request.app.state.limiter
    if limiter is None:
        return
    client = client_of(request)
    forwarded = bool(request.headers.getlist("x-forwarded-for"))
    if is_loopback(client) and not forwarded:  # this machine itself: the operator's own tools (web.ratelimit)
        return  # (a loopback address a proxy forwards, "127.0.0.5", is somebody's: limited like any)
    wait = limiter.wait(bucket_of(client))
    if wait:
        raise HTTPException(429, too_many_questions(wait), headers={"Retry-After": str(wait)})


def record_answer(request: Request, answer: Answer, programme: str) -> str | None:
    """Hand an answer to the question log, if one is installed, and return its `ask_id`.

    `app.state.recorder` is a callable `(Answer, programme slug) -> str | None` (issue 6's question
    log); it is None when logging is off. A failing log never breaks an answer.
    """
    recorder = request.app.state.recorder
    if recorder is None:
        return None
    try:
        return recorder(answer, programme)
    except Exception:  # the log is best effort; the voter still gets the answer
        log.warning("question log failed; answer served without ask_id", exc_info=True)
        return None


# --- everywhere else: dependencies ---------------------------------------------------------


async def get_settings(request: Request) -> Settings:
    """The app's settings, built once by `web.app.create_app`."""
    return request.app.state.settings


async def get_question_log(request: Request) -> QuestionLog:
    """The question log the lifespan opened (a disabled one when `QA_DB=off`)."""
    return request.app.state.questionlog


SettingsDep = Annotated[Settings, Depends(get_settings)]
QuestionLogDep = Annotated[QuestionLog, Depends(get_question_log)]
