"""The HTML pages: the chat page (`GET /`, `GET /?q=...`) and the programme (`GET /program`),
and the same for every other programme of the registry at `/p/SLUG/` and `/p/SLUG/program`.

Templates are compiled once; pages that do not depend on the request (the programme, the
empty chat page) are rendered once at start-up and served from memory. The chat page with a
question is rendered per request, which works with JavaScript off; with it on, `chat.js` asks
`/api/ask` and appends answers without reloading.

An answer is drawn from its JSON (`Answer.as_dict`, README "What /api/ask returns"), the same
JSON widget.js's `render` draws, by the same rules: one of four kinds (`Reply`), "answered"
(the results that answer, by section, and the rest behind a <details>), "related" (an honest "not directly" and the nearest RELATED_SHOWN
results), "not_covered" (the programme seems silent: the nearest sections, and the nearest
results behind a <details>) and "smalltalk" (a fixed friendly line, no pledges). Sections are
told apart by `section_id`, never by title: two sections may share one.

The programme page also carries the ids of earlier editions (`Programme.aliases`, from the id
ledger, `corpus.ids`): an empty element with the old id inside the pledge or section its links
land on, so `/program#old-id` still scrolls to the right place.

When the asked programme does not answer and a broader one does (`qa.programmes.library`), the
broader programme's answer is drawn under its own line, attributed, never mixed in.

Autoescape is on and nothing from the programme or the question is ever marked safe.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from starlette.concurrency import run_in_threadpool

from corpus.model import Programme
from qa.answer import Answer
from qa.answering import limits
from qa.programmes.library import MAX_COMPARED
from qa.programmes.registry import DEFAULT_SLUG, Entry
from web.api import ask_library, asked_body, compare_body
from web.assets import Blob, browser_limits, static_url
from web.deps import record_answer, take_question_allowance
from web.highlight import pieces, terms
from web.params import InvalidQuery, MissingQuestion, QuestionParams, parse_compare, parse_question
from web.ratelimit import public_origin
from web.rootpath import root_of

TEMPLATES = Path(__file__).parent / "templates"
HTML = "text/html; charset=utf-8"
TEMPLATE_NAMES = ("base.html", "_transparency.html", "_answer.html", "chat.html", "program.html", "error.html", "compare.html")

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
class Site:
    """Which programme a set of pages is for, and where its pages are."""

    slug: str | None  # None for the default programme, whose pages are / and /program
    name: str  # the party and place, for the header ("MDG Bærum")
    title: str  # the programme, in "Spør om {title}" ("MDG Bærums program")
    home: str = "/"
    program: str = "/program"
    root: str = ""  # the root path the pages are served under ("/sporsmal"), in every URL they print

    def under(self, root: str) -> Site:
        """The same pages, served under the root path `root` (web.rootpath)."""
        return replace(self, root=root, home=root + self.home, program=root + self.program)


DEFAULT_SITE = Site(None, "MDG Bærum", "MDG Bærums program")


@dataclass(frozen=True)
class Group:
    """The results of one section, in rank order: items of the API's `results`."""

    section_id: str
    section: str  # its title
    part: str  # its part's title
    results: tuple[dict, ...]
    page: str = "/program"  # the programme page the results link into


@dataclass(frozen=True)
class Reply:
    """What the chat page draws for one answer."""

    kind: str  # "answered", "related", "not_covered" or "smalltalk"
    smalltalk: str | None = None  # "greeting" or "thanks" when kind is "smalltalk"
    groups: tuple[Group, ...] = ()  # results by section: the answer, or the nearest ones
    also: tuple[Group, ...] = ()  # an answer's further results, close to the question but not its answer
    nearest: tuple[Group, ...] = ()  # the sections to read on in, when the programme seems silent
    interpreted_as: str | None = None  # what was answered, when the previous question was used
    fallback: Fallback | None = None  # a broader programme's answer, when this one does not answer
    words: tuple[str, ...] = ()  # the question's terms, marked in the quoted pledges (web.highlight)
    question: str = ""  # what the voter typed
    corrected: str | None = None  # what was answered, when the spelling was mended


@dataclass(frozen=True)
class Fallback:
    title: str  # the broader programme's title
    groups: tuple[Group, ...]


def group_by_section(results: list[dict]) -> tuple[Group, ...]:
    """Results grouped by `section_id`; sections ordered by their best result."""
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(r["section_id"], []).append(r)
    return tuple(
        Group(sid, rs[0]["section"], rs[0]["part"], tuple(rs), rs[0]["url"].split("#")[0]) for sid, rs in groups.items()
    )


def reply_for(body: dict) -> Reply:
    """The kind of reply an answer's JSON gets, and what it shows (widget.js `render` alike)."""
    asked = {
        "question": body["question"],
        "corrected": body.get("corrected"),
        "words": terms(body.get("corrected") or body["question"]),
    }
    if body["smalltalk"]:
        return Reply("smalltalk", smalltalk=body["smalltalk"], **asked)
    results, shown = body["results"], body.get("interpreted_as")
    asked["interpreted_as"] = shown
    if body["coverage"] == "answered":
        n = body.get("answering", len(results))
        return Reply("answered", groups=group_by_section(results[:n]), also=group_by_section(results[n:]), **asked)
    closest = group_by_section(results[:RELATED_SHOWN])
    broader = body.get("fallback")
    fallback = Fallback(broader["title"], group_by_section(broader["results"])) if broader else None
    if body["coverage"] == "related":
        return Reply("related", groups=closest, fallback=fallback, **asked)
    return Reply(
        "not_covered", groups=closest, nearest=group_by_section(results)[:NEAREST_SHOWN], fallback=fallback, **asked
    )


def next_prev(body: dict, prev: str | None) -> str:
    """The previous question the form carries to the next one (widget.js `nextPrev` alike): what
    was answered when it fits the limit, else the question; after small talk, `prev` unchanged.
    `body` is the answer's JSON."""
    if body["smalltalk"]:
        return prev or ""
    shown = body.get("interpreted_as")
    return shown if shown is not None and len(shown) <= limits.MAX_QUESTION else body["question"]


def make_environment(static: dict[str, Blob]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        auto_reload=False,  # compiled once: no file checks per request
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = pass_context(lambda context, name: static_url(static, name, context["site"].root))
    env.globals["limits"] = browser_limits()  # the server's own limits (qa.answering.limits)
    env.filters["marks"] = pieces  # a pledge's text in runs, the question's words marked
    for name in TEMPLATE_NAMES:
        env.get_template(name)
    return env


class Pages:
    """Renders the pages for one programme; the fixed ones once."""

    def __init__(self, env: Environment, programme: Programme, *, stored: bool = False, site: Site = DEFAULT_SITE) -> None:
        self._env = env
        self._stored = stored  # questions go to the anonymous log: say so
        self.site = site
        anchors: dict[str, list[str]] = {}  # pledge or section id ("" the top) -> old ids landing there
        for old, target in programme.aliases:
            anchors.setdefault(target, []).append(old)
        page = self._render("program.html", page="program", programme=programme, anchors=anchors)
        self.programme = Blob.of(page, HTML)
        self.empty_chat = Blob.of(self.chat(), HTML)
        self.compare_page = Blob.of(self.compare(), HTML)

    def _render(self, name: str, **context) -> bytes:
        return self._env.get_template(name).render(site=self.site, **context).encode()

    def chat(
        self,
        answer: Answer | dict | None = None,
        *,
        question: str = "",
        error: str | None = None,
        ask_id: str | None = None,
        prev: str | None = None,
        origin: str = "",
    ) -> bytes:
        """The chat page; `prev` is the previous question the request carried (the form's hidden
        field); `origin` ("https://host") makes the links it prints and shares absolute."""
        reply = None
        carried = _printable(prev or "")  # on an error page the conversation's context stays
        if answer is not None:
            body = answer if isinstance(answer, dict) else answer.as_dict()  # the API's JSON, or the answer
            question = body["question"]
            reply = reply_for(body)
            carried = next_prev(body, prev)
        return self._render(
            "chat.html",
            page="chat",
            examples=EXAMPLES if self.site.slug is None else (),
            question=question,
            reply=reply,
            error=error,
            ask_id=ask_id,
            stored=self._stored,
            prev=carried,
            origin=origin,
        )

    def compare(self, question: str = "", columns: list[dict] = (), slugs: str = "", error: str | None = None) -> bytes:
        return self._render("compare.html", page="compare", question=question, columns=columns, slugs=slugs, error=error)

    def error(self, title: str, message: str) -> bytes:
        return self._render("error.html", page="", title=title, message=message)


router = APIRouter(include_in_schema=False)


def site_of(entry: Entry, default: bool, root: str = "") -> Site:
    """Where the pages of a programme of the registry are, under the root path `root`."""
    if default:
        site = DEFAULT_SITE if entry.slug == DEFAULT_SLUG else Site(None, f"{entry.party} {entry.place}", entry.title)
    else:
        site = Site(entry.slug, f"{entry.party} {entry.place}", entry.title, f"/p/{entry.slug}/", f"/p/{entry.slug}/program")
    return site.under(root)


def pages_for(request: Request, slug: str | None = None) -> Pages | None:
    """The pages of programme `slug` (None: the default one) as served under this request's root
    path; None for a slug the registry does not have, or before start-up has made them."""
    sites = getattr(request.app.state, "sites", None)
    return None if sites is None else sites.at(root_of(request)).get(slug)


def _pages_of(request: Request, slug: str) -> Pages:
    """The pages of programme `slug`; a 404 for one the registry does not have."""
    pages = pages_for(request, slug)
    if pages is None:
        raise HTTPException(404, f"Ukjent program: {slug!r}.")
    return pages


@router.api_route("/", methods=["GET", "HEAD"])
async def chat_page(request: Request) -> Response:
    return await _chat(request, pages_for(request))


@router.api_route("/p/{slug}/", methods=["GET", "HEAD"])
async def programme_chat_page(request: Request, slug: str) -> Response:
    return await _chat(request, _pages_of(request, slug))


@router.api_route("/p/{slug}/program", methods=["GET", "HEAD"])
async def other_programme_page(request: Request, slug: str) -> Response:
    return _pages_of(request, slug).programme.respond(request, "public, max-age=300")


async def _chat(request: Request, pages: Pages) -> Response:
    query = request.scope["query_string"]
    if not query:
        return pages.empty_chat.respond(request, "no-cache")
    try:
        params = parse_question(query)
    except MissingQuestion:
        return pages.empty_chat.respond(request, "no-cache")
    except InvalidQuery as exc:
        return _chat_error(pages, 422, str(exc))
    params = replace(params, programme=pages.site.slug)  # the page's own programme, whatever the query says
    try:
        take_question_allowance(request)
        # Answering (and the question log's write) happen in the thread pool, off the event loop.
        return await run_in_threadpool(_answer_page, request, pages, params)
    except HTTPException as exc:
        return _chat_error(pages, exc.status_code, exc.detail, _printable(params.q), exc.headers, params.prev)


def _answer_page(request: Request, pages: Pages, params: QuestionParams) -> Response:
    library = request.app.state.library
    asked = ask_library(library, params)
    ask_id = record_answer(request, asked.answer, asked.entry.slug)
    peer = request.client.host if request.client else None
    settings = request.app.state.settings
    # The pages' links carry the root path already; this is only scheme and host.
    origin = public_origin(request.url.scheme, request.url.netloc, peer, request.headers, settings.proxies)
    body = pages.chat(asked_body(library, asked, pages.site.root), ask_id=ask_id, prev=params.prev, origin=origin)
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@router.api_route("/compare", methods=["GET", "HEAD"])
async def compare_page(request: Request) -> Response:
    """Each programme's answer side by side (`GET /api/compare`'s answers), with JavaScript off too.
    `programmes=a,b` names them; without it, the registry's first `MAX_COMPARED`."""
    pages: Pages = pages_for(request)
    library = request.app.state.library
    query = request.scope["query_string"]
    slugs = ",".join(e.slug for e in library.entries[:MAX_COMPARED])
    try:
        params, named = parse_compare(query + (b"" if b"programmes=" in query else b"&programmes=" + slugs.encode()))
    except MissingQuestion:
        return pages.compare_page.respond(request, "no-cache")
    except InvalidQuery as exc:
        return _page(pages.compare(error=str(exc)), 422)
    try:
        take_question_allowance(request)
        body = await run_in_threadpool(compare_body, library, params, named, pages.site.root)
    except HTTPException as exc:
        return _page(pages.compare(_printable(params.q), error=exc.detail), exc.status_code, exc.headers)
    columns = [{**p, "reply": reply_for(p)} for p in body["programmes"]]
    return _page(pages.compare(body["question"], columns, ",".join(named)), 200)


def _page(body: bytes, status: int, headers: dict | None = None) -> Response:
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def _chat_error(
    pages: Pages, status: int, message: str, question: str = "", headers: dict | None = None, prev: str | None = None
) -> Response:
    body = pages.chat(question=question, error=message, prev=prev)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def _printable(text: str) -> str:
    """The question as the voter can edit it again: visible characters, at most the input's size."""
    return "".join(c for c in text if c.isprintable())[: limits.MAX_QUESTION]


@router.api_route("/program", methods=["GET", "HEAD"])
async def programme_page(request: Request) -> Response:
    return pages_for(request).programme.respond(request, "public, max-age=300")
