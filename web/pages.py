"""The HTML pages: the chat page (`GET /`, `GET /?q=...`) and the programme (`GET /program`).

Templates are compiled once; pages that do not depend on the request (the programme, the
empty chat page) are rendered once at start-up and served from memory. The chat page with a
question is rendered per request, which works with JavaScript off; with it on, `chat.js` asks
`/api/ask` and appends answers without reloading.

An answer is drawn from its JSON (`Answer.as_dict`, README "What /api/ask returns"), the same
JSON widget.js's `render` draws, by the same rules: one of four kinds (`Reply`), "answered"
(the results, by section), "related" (an honest "not directly" and the nearest RELATED_SHOWN
results), "not_covered" (the programme seems silent: the nearest sections, and the nearest
results behind a <details>) and "smalltalk" (a fixed friendly line, no pledges). Sections are
told apart by `section_id`, never by title: two sections may share one.

The programme page also carries the ids of earlier editions (`Programme.aliases`, from the id
ledger, `corpus.ids`): an empty element with the old id inside the pledge or section its links
land on, so `/program#old-id` still scrolls to the right place.

Autoescape is on and nothing from the programme or the question is ever marked safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool

from corpus.model import Programme
from qa.answer import Answer
from qa.answering import limits
from web.api import ask_checked
from web.assets import Blob, browser_limits, static_url
from web.deps import record_answer, take_question_allowance
from web.highlight import pieces, terms
from web.params import InvalidQuery, MissingQuestion, QuestionParams, parse_question

TEMPLATES = Path(__file__).parent / "templates"
HTML = "text/html; charset=utf-8"
TEMPLATE_NAMES = ("base.html", "_transparency.html", "_answer.html", "chat.html", "program.html", "error.html")

RELATED_SHOWN = 3  # pledges shown when the programme only comes close, or is silent
NEAREST_SHOWN = 3  # sections linked when the programme seems silent

# Shown as links under the question box; each should be answered well from the programme.
EXAMPLES = (
    "Hva vil MDG med Oslofjorden?",
    "Vil dere gjøre bussen billigere?",
    "Hvordan vil dere ta vare på naturen?",
    "Hva vil dere gjøre med boligprisene?",
    "Hva med barnehagene?",
)


@dataclass(frozen=True)
class Group:
    """The results of one section, in rank order: items of the API's `results`."""

    section_id: str
    section: str  # its title
    part: str  # its part's title
    results: tuple[dict, ...]


@dataclass(frozen=True)
class Reply:
    """What the chat page draws for one answer."""

    kind: str  # "answered", "related", "not_covered" or "smalltalk"
    smalltalk: str | None = None  # "greeting" or "thanks" when kind is "smalltalk"
    groups: tuple[Group, ...] = ()  # results by section: the answer, or the nearest ones
    nearest: tuple[Group, ...] = ()  # the sections to read on in, when the programme seems silent
    words: tuple[str, ...] = ()  # the question's terms, marked in the quoted pledges (web.highlight)
    question: str = ""  # what the voter typed
    corrected: str | None = None  # what was answered, when the spelling was mended


def group_by_section(results: list[dict]) -> tuple[Group, ...]:
    """Results grouped by `section_id`; sections ordered by their best result."""
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(r["section_id"], []).append(r)
    return tuple(Group(sid, rs[0]["section"], rs[0]["part"], tuple(rs)) for sid, rs in groups.items())


def reply_for(body: dict) -> Reply:
    """The kind of reply an answer's JSON gets, and what it shows (widget.js `render` alike)."""
    asked = {
        "question": body["question"],
        "corrected": body.get("corrected"),
        "words": terms(body.get("corrected") or body["question"]),
    }
    if body["smalltalk"]:
        return Reply("smalltalk", smalltalk=body["smalltalk"], **asked)
    results = body["results"]
    if body["coverage"] == "answered":
        return Reply("answered", groups=group_by_section(results), **asked)
    closest = group_by_section(results[:RELATED_SHOWN])
    if body["coverage"] == "related":
        return Reply("related", groups=closest, **asked)
    return Reply("not_covered", groups=closest, nearest=group_by_section(results)[:NEAREST_SHOWN], **asked)


def make_environment(static: dict[str, Blob]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        auto_reload=False,  # compiled once: no file checks per request
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: static_url(static, name)
    env.globals["limits"] = browser_limits()  # the server's own limits (qa.answering.limits)
    env.filters["marks"] = pieces  # a pledge's text in runs, the question's words marked
    for name in TEMPLATE_NAMES:
        env.get_template(name)
    return env


class Pages:
    """Renders the pages for one programme; the fixed ones once."""

    def __init__(self, env: Environment, programme: Programme, *, stored: bool = False) -> None:
        self._env = env
        self._stored = stored  # questions go to the anonymous log: say so
        anchors: dict[str, list[str]] = {}  # pledge or section id ("" the top) -> old ids landing there
        for old, target in programme.aliases:
            anchors.setdefault(target, []).append(old)
        page = self._render("program.html", page="program", programme=programme, anchors=anchors)
        self.programme = Blob.of(page, HTML)
        self.empty_chat = Blob.of(self.chat(), HTML)

    def _render(self, name: str, **context) -> bytes:
        return self._env.get_template(name).render(**context).encode()

    def chat(
        self,
        answer: Answer | None = None,
        *,
        question: str = "",
        error: str | None = None,
        ask_id: str | None = None,
        origin: str = "",
    ) -> bytes:
        """The chat page; `origin` ("https://host") makes the links it prints and shares absolute."""
        reply = None
        if answer is not None:
            question = answer.question
            reply = reply_for(answer.as_dict())
        return self._render(
            "chat.html",
            page="chat",
            examples=EXAMPLES,
            question=question,
            reply=reply,
            error=error,
            ask_id=ask_id,
            stored=self._stored,
            origin=origin,
        )

    def error(self, title: str, message: str) -> bytes:
        return self._render("error.html", page="", title=title, message=message)


router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
async def chat_page(request: Request) -> Response:
    pages: Pages = request.app.state.pages
    query = request.scope["query_string"]
    if not query:
        return pages.empty_chat.respond(request, "no-cache")
    try:
        params = parse_question(query)
    except MissingQuestion:
        return pages.empty_chat.respond(request, "no-cache")
    except InvalidQuery as exc:
        return _chat_error(pages, 422, str(exc))
    try:
        take_question_allowance(request)
        # Answering (and the question log's write) happen in the thread pool, off the event loop.
        return await run_in_threadpool(_answer_page, request, pages, params)
    except HTTPException as exc:
        return _chat_error(pages, exc.status_code, exc.detail, _printable(params.q), exc.headers)


def _answer_page(request: Request, pages: Pages, params: QuestionParams) -> Response:
    answer = ask_checked(request.app.state.answerer, params)
    ask_id = record_answer(request, answer)
    origin = str(request.base_url).rstrip("/")
    return HTMLResponse(pages.chat(answer, ask_id=ask_id, origin=origin), headers={"Cache-Control": "no-store"})


def _chat_error(pages: Pages, status: int, message: str, question: str = "", headers: dict | None = None) -> Response:
    body = pages.chat(question=question, error=message)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def _printable(text: str) -> str:
    """The question as the voter can edit it again: visible characters, at most the input's size."""
    return "".join(c for c in text if c.isprintable())[: limits.MAX_QUESTION]


@router.api_route("/program", methods=["GET", "HEAD"])
async def programme_page(request: Request) -> Response:
    return request.app.state.pages.programme.respond(request, "public, max-age=300")
