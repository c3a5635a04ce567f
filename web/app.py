"""The FastAPI app: chat page, programme, JSON API, embeddable widget.

`create_app()` wires the parts; the work happens in the lifespan, once: parse the programme,
load the model and the index of each programme (`qa.programmes.library.load_library`), pre-render the fixed pages. Request
handlers then only read `app.state`. Importing this module loads nothing heavy; `web.app:app`, the
app made from the QA_* settings for `uvicorn web.app:app` started directly, is made on first access.

    web.api         GET /api/ask, GET /healthz
    web.pages       GET /, GET /program
    web.assets      GET /static/<file>, GET /widget.js
    web.feedback    POST /api/feedback
    web.admin       the staff report at /admin and /api/admin/* (QA_ADMIN_TOKEN)
    web.admin_auth  the admin token
    web.curation    staff curation as JSON: /api/admin/alternates, /api/admin/not-covered
    web.curate_page staff curation in the admin pages, plain forms: /admin/curate
    web.charts      the report's chart geometry
    web.deps        what handlers share; the Annotated dependencies
    web.security    security headers everywhere, CORS on /api/*
    web.ratelimit   questions per minute per client
    web.openapi     the OpenAPI document, matched to what the routes do
    web.rootpath    serving under a sub-path (QA_ROOT_PATH), trailing-slash redirects
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match

from index.embedders import Embedder
from qa.answering.spelling import load_word_lists_in_background
from qa.curation.sync import attach_library
from qa.errors import ConfigError
from qa.operations.settings import Settings, load_settings
from qa.programmes.library import load_library
from qa.questionlog.store import QuestionLog
from web import admin, api, assets, curate_page, curation, feedback, openapi, pages
from web.ratelimit import RateLimiter
from web.rootpath import PerRoot, RootPath, SlashRedirect, route_path
from web.security import ApiCORS, SecurityHeaders

WORD_LISTS_AFTER = 0.5  # seconds after start-up: uvicorn is listening by then


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """Build the app. `embedder` replaces the configured model (tests pass a fake one)."""
    settings = settings or _settings_from_environment()
    static = assets.load_static()
    widget_source = static["widget.js"]
    root = settings.root_path  # the server's own root path, when it has one, wins (web.rootpath)
    static["widget.js"] = assets.serve_widget(widget_source, stored=False, root=root)
    env = pages.make_environment(static)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.library = load_library(settings, embedder=embedder)
        app.state.answerer = app.state.library.answerer()  # the default programme's
        # With the question log on, answers carry an ask_id, and the pages and the widget
        # offer 👍/👎 and say that questions are stored (web.deps.record_answer).
        questionlog = QuestionLog.open(settings)
        app.state.questionlog = questionlog
        app.state.recorder = questionlog.record if questionlog.enabled else None
        # Staff curation lives in the same database: each programme's answerer gets its own, and
        # follows changes (web.curation); `curation` is the default programme's.
        syncs = attach_library(app.state.library, questionlog.target) if questionlog.enabled else {}
        app.state.curations = syncs
        app.state.curation = syncs.get(app.state.library.default.slug)
        stored = app.state.recorder is not None
        app.state.widgets = PerRoot(lambda root: assets.serve_widget(widget_source, stored=stored, root=root))
        static["widget.js"] = app.state.widgets.at(root)  # the version in the pages' script URLs
        library = app.state.library

        def site(root: str) -> dict[str | None, pages.Pages]:
            """Each programme's pages under `root`, by slug; the default one's also under None (/ and /program)."""
            by_slug = {
                e.slug: pages.Pages(env, library.answerer(e.slug).programme, stored=stored, site=pages.site_of(e, e.default, root))
                for e in library.entries
            }
            return {None: by_slug[library.default.slug], **by_slug}

        app.state.sites = PerRoot(site)
        app.state.sites.at(root)  # rendered now, not on the first request
        # The speller's word lists (~0.4 s of Python) load on a thread once the server listens:
        # started here, before uvicorn binds its socket, they held the GIL through its start
        # (warm start until /healthz, five alternated runs: median 1.01 s with, 0.89 s without the
        # thread at start-up). A question that needs them sooner loads them itself
        # (spelling.load_word_lists).
        asyncio.get_running_loop().call_later(WORD_LISTS_AFTER, load_word_lists_in_background)
        yield
        questionlog.close()
        if app.state.curation is not None:
            app.state.curation.curation.close()  # the connections every programme's curation shares

    app = FastAPI(
        title="MDG Bærum: spør om programmet",
        summary="Answers voters' questions with verbatim, cited pledges from MDG Bærum's programme.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs need inline and third-party scripts; /openapi.json stays
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.static = static
    app.state.widgets = PerRoot(lambda root: assets.serve_widget(widget_source, stored=False, root=root))
    app.state.limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None
    app.state.recorder = None  # the question log's hook; see the lifespan
    app.state.curation = None  # staff curation (qa.curation.sync); see the lifespan
    app.state.curations = {}  # the same, per programme slug

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(assets.router)
    app.include_router(feedback.router)
    app.include_router(admin.router)
    app.include_router(curation.router)
    app.include_router(curate_page.router)

    openapi.document(app, lambda: _pledge_ids(app))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(ApiCORS, origins=settings.origins)
    # Answer pages and API answers are rendered per request: compress them on the way out.
    # Static files and the fixed pages are gzipped once (web.assets) and pass through untouched.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RootPath, root=root)  # outermost: every layer below sees the root path
    SlashRedirect(app.router)  # /p/x -> /p/x/ as a path, never with the request's Host
    return app


def _settings_from_environment() -> Settings:
    """The QA_* settings; a bad value ends the process with one line. Exit code 3 is uvicorn's
    "failed to start": its supervisor (--workers) then stops instead of restarting the worker."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(3) from None


def __getattr__(name: str) -> FastAPI:
    """`web.app:app`, for `uvicorn web.app:app`: the app from the QA_* settings, made on first
    access (so importing this module stays instant)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()["app"] = made = create_app()
    return made


def _wants_html(request: Request) -> bool:
    return not route_path(request.scope).startswith("/api/") and "text/html" in request.headers.get("accept", "")


_TITLES = {404: "Siden finnes ikke", 405: "Metoden er ikke tillatt"}


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Errors as JSON `{"detail": ...}`; a browser asking for a page gets a page."""
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Siden finnes ikke."
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        allowed = _allowed(request)
        headers = {**(headers or {}), "Allow": allowed}
        if detail == "Method Not Allowed":
            detail = f"{request.method} er ikke tillatt her; bruk {' eller '.join(allowed.split(', '))}."
    site = pages.pages_for(request)
    if _wants_html(request) and site is not None:
        title = _TITLES.get(exc.status_code, "Noe gikk galt")
        body = site.error(title, str(detail))
        return HTMLResponse(body, status_code=exc.status_code, headers=headers)
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


def _allowed(request: Request) -> str:
    """Every method some route serves at this path (Starlette's own 405 names only the first
    route's, so GET was missing where GET and POST are separate routes, as on /api/admin/alternates)."""
    methods: set[str] = set()
    for route in _leaves(request.app.router.routes):
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


def _leaves(routes):
    """The routes themselves, also those of included routers (FastAPI keeps those nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _leaves(inner.routes) if inner is not None else (route,)


def _pledge_ids(app: FastAPI):
    """The default programme's pledge ids, once the lifespan has loaded it; None before."""
    answerer = getattr(app.state, "answerer", None)
    return None if answerer is None else list(answerer.programme.by_id)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """The framework's own parameter checks, as one sentence rather than a list of dicts."""
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors())
    return JSONResponse({"detail": f"Ugyldig forespørsel: {problems}"}, status_code=422)
