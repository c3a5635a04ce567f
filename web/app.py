"""The FastAPI app: chat page, programme, JSON API, embeddable widget.

`create_app()` wires the parts; the work happens in the lifespan, once: parse the programme,
load the model and the index of each programme (`qa.programmes.library.load_library`), pre-render the fixed pages. Request
handlers then only read `app.state`. Importing this module loads nothing heavy.

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
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match

from index.embedders import Embedder
from qa.curation.sync import attach
from qa.operations.settings import Settings, load_settings
from qa.programmes.library import load_library
from qa.questionlog.store import QuestionLog
from web import admin, api, assets, curate_page, curation, feedback, openapi, pages
from web.ratelimit import RateLimiter
from web.security import ApiCORS, SecurityHeaders


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """Build the app. `embedder` replaces the configured model (tests pass a fake one)."""
    settings = settings or load_settings()
    static = assets.load_static()
    widget_source = static["widget.js"]
    static["widget.js"] = assets.serve_widget(widget_source, stored=False)
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
        # Staff curation lives in the same database: load it, and follow changes (web.curation).
        app.state.curation = attach(app.state.answerer, questionlog.target) if questionlog.enabled else None
        stored = app.state.recorder is not None
        static["widget.js"] = assets.serve_widget(widget_source, stored=stored)
        library = app.state.library
        app.state.pages_by_slug = {
            e.slug: pages.Pages(env, library.answerer(e.slug).programme, stored=stored and e.default, site=pages.site_of(e, e.default))
            for e in library.entries
        }
        app.state.pages = app.state.pages_by_slug[library.default.slug]  # also at / and /program
        yield
        questionlog.close()
        if app.state.curation is not None:
            app.state.curation.curation.close()

    app = FastAPI(
        title="MDG Bærum: spør om programmet",
        summary="Answers voters' questions with verbatim, cited pledges from MDG Bærum's programme.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs need inline and third-party scripts; /openapi.json stays
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.static = static
    app.state.limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None
    app.state.recorder = None  # the question log's hook; see the lifespan
    app.state.curation = None  # staff curation (qa.curation.sync); see the lifespan

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
    return app


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


_TITLES = {404: "Siden finnes ikke", 405: "Metoden er ikke tillatt"}


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Errors as JSON `{"detail": ...}`; a browser asking for a page gets a page."""
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Siden finnes ikke."
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed(request)}
    if _wants_html(request) and getattr(request.app.state, "pages", None) is not None:
        title = _TITLES.get(exc.status_code, "Noe gikk galt")
        body = request.app.state.pages.error(title, str(detail))
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
