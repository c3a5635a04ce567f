"""Browser tests: the real app with the real model, Debian's Chromium, and a host site elsewhere.

Session fixtures start, once: the app in uvicorn on a free loopback port (its index built or
copied into a temporary folder, never into the checkout); a second app, the "twin" programme of
tests/test_web_sections.py (two sections titled "Samferdsel" in two parts) on the fake embedder;
a tiny HTTP server on another port that plays the party's website and embeds the widget with
the one script line; and headless Chromium driven by Playwright. Without /usr/bin/chromium the
tests skip, except in CI (`CI=true`), where they fail: there .ci/run installs it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa.answer import Answer, Hit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
IN_CI = os.environ.get("CI") == "true"


def need(present: bool, what: str) -> None:
    """Skip when a tool is missing on a developer's machine; fail in CI, where it must be there."""
    if present:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing; .ci/run should have installed it")
    pytest.skip(f"{what} is missing")


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker("browser")


def _listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:  # that port is taken: any free one will do
        sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@pytest.fixture(scope="session")
def chromium_present() -> None:
    need(CHROMIUM.exists(), str(CHROMIUM))


@pytest.fixture(scope="session")
def live_app(chromium_present, real_settings):
    """The app the browser tests talk to: the real default model, the session's real index."""
    from web.app import create_app

    return create_app(real_settings)  # the session's real index, shared with the integration tests


@contextlib.contextmanager
def serving(app, port: int = 0) -> Iterator[str]:
    """`app` in uvicorn on loopback (on `port` if it is free, else any free port), in a thread; yields its base URL."""
    import uvicorn

    sock = _listening_socket(port)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def server(live_app) -> Iterator[str]:
    """`live_app` on a free loopback port; yields its base URL."""
    with serving(live_app) as url:
        yield url


@pytest.fixture(scope="session")
def twin_app(chromium_present, tmp_path_factory):
    """The app over the twin programme (two sections titled "Samferdsel"), on the fake embedder."""
    from qa.operations.settings import Settings
    from tests.conftest import FakeEmbedder
    from tests.test_web_sections import TWIN_PROGRAMME
    from web.app import create_app

    folder = tmp_path_factory.mktemp("twin")
    corpus = folder / "twin.txt"
    corpus.write_text(TWIN_PROGRAMME, encoding="utf-8")
    settings = Settings(
        corpus=corpus,
        expansions=None,
        topics=None,
        questions=None,
        background=None,
        fitted=None,
        index_dir=folder / "index",
        db="off",
        rate_limit=0,
    )
    return create_app(settings, embedder=FakeEmbedder())


@pytest.fixture(scope="session")
def twin_server(twin_app) -> Iterator[str]:
    with serving(twin_app) as url:
        yield url


@pytest.fixture
def twin_answers(twin_app, twin_server, monkeypatch) -> Callable[[list[str], str], None]:
    """`twin_answers(ids, coverage)`: until the test ends, the twin server answers every question
    with these pledges, best first, in this band (the fake embedder's ranking is not the point)."""

    def install(ids: list[str], coverage: str = "answered") -> None:
        answerer = twin_app.state.answerer
        hits = tuple(Hit(answerer.programme.by_id[i], 0.9 - n / 100) for n, i in enumerate(ids))
        monkeypatch.setattr(answerer, "ask", lambda q, k=5: Answer(" ".join(q.split()), coverage, hits))

    return install


@pytest.fixture
def force_band(live_app, server, monkeypatch) -> Callable[[str], None]:
    """`force_band(coverage)`: until the test ends, the server answers every question as the real
    model ranks it, but in that band. Which band a borderline question lands in is the band
    model's business and changes when it is refitted; this tests what each band looks like."""

    def force(coverage: str) -> None:
        answerer = live_app.state.answerer
        ask = answerer.ask
        monkeypatch.setattr(answerer, "ask", lambda q, k=5: dataclasses.replace(ask(q, k), coverage=coverage))

    return force


HOST_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{head}
<title>Partiets nettside</title>
</head>
<body>
<main>
<h1>Miljøpartiet De Grønne Bærum</h1>
<p>En side på partiets eget nettsted. Spørretjenesten ligger nede i hjørnet.</p>
<p><button type="button" id="host-button">Vertssidens knapp</button></p>
</main>
<script src="{server}/widget.js" async{attrs}></script>
</body>
</html>
"""

# Variants of the party's page: /plain, /configured, /strict (a strict CSP), /hostile (CSS that
# would wreck the widget if it leaked in).
HOST_VARIANTS = {
    "plain": {},
    "configured": {
        "lang": "en",
        "attrs": ' data-title="Ask the Greens" data-accent="#ffd400" data-position="left"'
        ' data-greeting="Hello from the test." data-examples="Cycling?| Oslofjord? " data-lang="en"',
    },
    "fast-timeout": {"attrs": ' data-timeout="400"'},
    "strict": {
        "head": '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src {server}; connect-src {server}; style-src 'self'\">"
    },
    "hostile": {
        "head": '<link rel="stylesheet" href="/hostile.css">',
    },
    "twin": {"server": "twin"},  # the widget of the twin programme's server
}
HOSTILE_CSS = b"""
* { font-family: "Comic Sans MS", cursive !important; }
button { font-size: 40px !important; background: red !important; color: yellow !important; }
input { font-size: 9px !important; display: none !important; }
.launch, .panel, .log, .cite { display: none !important; }
"""


@contextlib.contextmanager
def serving_pages(page_for: Callable[[str], tuple[bytes, str] | None]) -> Iterator[str]:
    """A static site on loopback, another origin than the app's: `page_for(path)` gives (body,
    content type), an empty body for 204, or None for 404. Yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            page = page_for(self.path.strip("/"))
            if page is None:
                self.send_error(404)
                return
            body, kind = page
            self.send_response(200 if body else 204)
            if body:
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def host_site(server, twin_server) -> Iterator[str]:
    """The party's website on another origin; yields its base URL (pages at /plain etc.)."""
    servers = {"real": server, "twin": twin_server}

    def page_for(name: str) -> tuple[bytes, str] | None:
        if name == "favicon.ico":
            return b"", ""
        if name == "hostile.css":
            return HOSTILE_CSS, "text/css"
        if name not in HOST_VARIANTS:
            return None
        v = HOST_VARIANTS[name]
        origin = servers[v.get("server", "real")]
        page = HOST_PAGE.format(
            lang=v.get("lang", "nb"),
            head=v.get("head", "").replace("{server}", origin),
            server=origin,
            attrs=v.get("attrs", ""),
        )
        return page.encode(), "text/html; charset=utf-8"

    with serving_pages(page_for) as url:
        yield url


@pytest.fixture(scope="session")
def browser(chromium_present):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser) -> Iterator[Callable]:
    """`open_page(viewport=DESKTOP, **context_options)` -> a new page; console errors collected in page.errors."""
    contexts = []

    def make(viewport: dict = DESKTOP, **options):
        if viewport == PHONE:
            options = {"is_mobile": True, "has_touch": True, "device_scale_factor": 3, **options}
        context = browser.new_context(viewport=viewport, locale="nb-NO", **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: page.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    need(AXE.exists(), f"{AXE} (run npm ci in tests/browser)")
    return AXE.read_text(encoding="utf-8")
