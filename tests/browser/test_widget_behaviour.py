"""What the widget promises about hostile text, cookies, screen readers and its second language,
checked by running it in Chromium rather than by reading widget.js for the right words.

A string in the source ("textContent", "credentials: 'omit'", "aria-live") proves neither that
it is used nor that it does what it should; these tests watch what a browser does with it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.test_bands import CORS, VERBATIM, api_answer, in_band
from tests.browser.test_browser import QUESTION as OSLOFJORDEN
from tests.browser.test_browser import ask_widget, open_widget

# Markup that would show, fetch /x and set window.pwned if it were ever parsed as HTML.
HOSTILE = '<img src="/x" onerror="window.pwned = 1"><b>fet</b>'
# A question with markup and with what would break a query string if it were not encoded.
QUESTION = "hva med <b>bussen</b> & sykkel? k=20 #svar + 50%"


def with_markup(body: dict) -> dict:
    """`body` with HOSTILE in every text a reply draws: part, section and pledge."""
    results = [{**r, **{f: r[f] + HOSTILE for f in ("part", "section", "text")}} for r in body["results"]]
    return {**in_band(body, "answered", None), "question": QUESTION, "results": results}


@pytest.mark.parametrize("where", ["widget", "chat page"])
def test_markup_in_a_question_an_answer_or_an_error_is_drawn_as_text(open_page, host_site, server, where):
    body = with_markup(api_answer(server, VERBATIM))
    asked: list[str] = []

    def handle(route):
        asked.append(route.request.url)
        if len(asked) == 1:
            route.fulfill(headers=CORS, json=body)
        else:
            route.fulfill(status=422, headers=CORS, json={"detail": HOSTILE})

    page = open_page()
    page.route(f"{server}/api/ask*", handle)
    if where == "widget":
        page.goto(f"{host_site}/plain")
        open_widget(page)
        scope = page.locator("mdg-sporsmal")
    else:
        page.goto(server)
        scope = page.locator("#log")
    ask_widget(page, QUESTION)  # the chat page's box has the same accessible name
    reply = scope.locator(".reply")
    reply.wait_for()
    ask_widget(page, "og dette?")
    error = scope.locator(".err")
    error.wait_for()

    assert parse_qs(urlsplit(asked[0]).query, keep_blank_values=True) == {"q": [QUESTION]}  # one parameter, intact
    assert scope.locator(".you").first.inner_text().endswith(QUESTION)
    quotes = reply.locator("blockquote").all_text_contents()  # the text itself, whatever the CSS does to it
    assert len(quotes) == len(body["results"]) and all(q.endswith(HOSTILE) for q in quotes)
    assert all(p.endswith(HOSTILE) for p in reply.locator(".part").all_text_contents())
    assert all(s.strip().endswith(HOSTILE) for s in reply.locator(".sec").all_text_contents())
    assert error.text_content() == HOSTILE
    assert scope.locator("img, b").count() == 0  # nothing was parsed as markup
    assert page.evaluate("() => window.pwned") is None
    assert [e for e in page.errors if "422" not in e] == []  # only the 422 itself: /x was never fetched


@contextlib.contextmanager
def own_site(server: str) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """A site that serves `server`'s widget from its own origin, sets a cookie, answers /api/ask
    with `server`'s answer and an ask_id, and takes feedback; yields its URL and, for every
    request it got, the path and the Cookie header the browser sent with it."""
    with urllib.request.urlopen(f"{server}/widget.js") as response:
        widget = response.read()
    answer = json.dumps({**api_answer(server, OSLOFJORDEN), "ask_id": "abc123"}).encode()
    page = b'<!doctype html><html lang="nb"><title>x</title><script src="/widget.js" async></script></html>'
    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, kind: str, body: bytes, *headers: tuple[str, str]) -> None:
            seen.append((urlsplit(self.path).path, self.headers.get("Cookie")))
            self.send_response(status)
            for name, value in (("Content-Type", kind), ("Content-Length", str(len(body))), *headers):
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = urlsplit(self.path).path
            if path == "/widget.js":
                self._send(200, "text/javascript; charset=utf-8", widget)
            elif path == "/api/ask":
                self._send(200, "application/json", answer)
            else:  # the page, which sets the cookie a tracking widget would send back
                self._send(200, "text/html; charset=utf-8", page, ("Set-Cookie", "visitor=zz-unique; Path=/"))

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(204, "text/plain", b"")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_widget_sends_no_cookie_even_to_its_own_origin_which_set_one(open_page, server):
    page = open_page()
    with own_site(server) as (site, seen):
        page.goto(f"{site}/")
        page.reload()  # the page's own request now carries the cookie: the browser does send it
        open_widget(page)
        ask_widget(page)
        with page.expect_response(f"{site}/api/feedback"):
            page.get_by_role("button", name="Ja, nyttig").click()
    assert ("/", "visitor=zz-unique") in seen and ("/widget.js", "visitor=zz-unique") in seen
    assert [(path, cookie) for path, cookie in seen if path.startswith("/api/")] == [
        ("/api/ask", None),
        ("/api/feedback", None),
    ]


def test_widget_answers_and_failures_arrive_in_a_polite_live_region(open_page, host_site, server):
    page = open_page()
    page.goto(f"{host_site}/plain")
    open_widget(page)
    log = page.get_by_role("log", name="Spør MDG Bærum")  # named like the panel
    assert log.get_attribute("aria-live") == "polite"
    ask_widget(page)
    log.locator(".reply").wait_for()  # the answer lands inside what a screen reader announces
    page.route(f"{server}/api/ask*", lambda route: route.abort("connectionrefused"))
    ask_widget(page, "og sykkel?")
    log.locator(".err").wait_for()  # and so does a failure


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        # Unreachable while online: the service is down, not the voter's connection (issue 14).
        ("abort", "The service is not answering right now. The fault is ours, not yours: please try again shortly."),
        ("slow", "The service is too slow to answer right now. Please try again shortly."),
        ({"status": 429, "body": "Too Many Requests"}, "Many are asking right now. Please wait a moment and try again."),
        ({"status": 503, "body": "Service Unavailable"}, "Something went wrong on our side. Please try again shortly."),
    ],
    ids=["unreachable", "slow", "429-without-detail", "503"],
)
def test_widget_in_english_explains_in_english_when_the_server_cannot_answer(
    open_page, host_site, server, reply, message
):
    page = open_page()

    def answer(route):
        if reply == "abort":
            route.abort("connectionrefused")
        elif reply != "slow":  # slow: never answered
            route.fulfill(status=reply["status"], headers=CORS, body=reply["body"], content_type="text/plain")

    page.route(f"{server}/api/ask*", answer)
    page.clock.install()  # the page's timers on a clock the test moves
    page.goto(f"{host_site}/configured")  # data-lang="en", the default timeout of 15 s
    page.get_by_role("button", name="Ask about the programme").click()
    box = page.get_by_role("textbox", name="Your question")
    box.fill("bikes?")
    box.press("Enter")
    if reply == "slow":
        page.clock.run_for(15_001)
    error = page.locator("mdg-sporsmal .err")
    error.wait_for()
    assert error.inner_text() == message
    assert box.input_value() == "bikes?"
    page.unroute_all(behavior="ignoreErrors")


def test_widget_and_chat_page_take_their_limits_from_the_server_that_serves_them(open_page, settings, monkeypatch):
    from tests.browser.conftest import serving
    from tests.conftest import FakeEmbedder
    from web.app import create_app

    # Limits no copy in widget.js, chat.js or a template could know: 120 characters a question, 80 a comment.
    monkeypatch.setattr("qa.answering.limits.MAX_QUESTION", 120)
    monkeypatch.setattr("qa.questionlog.store.MAX_COMMENT", 80)
    with serving(create_app(settings, embedder=FakeEmbedder())) as server, own_site(server) as (site, _):
        page = open_page()
        page.goto(server)
        chat_box = page.get_by_role("textbox", name="Ditt spørsmål")
        chat_box.fill("a" * 130)
        assert (chat_box.get_attribute("maxlength"), len(chat_box.input_value())) == ("120", 120)
        page.goto(site)  # the widget as that server serves it, on a page of its own
        open_widget(page)
        widget_box = page.get_by_role("textbox", name="Ditt spørsmål")
        widget_box.fill("a" * 130)
        assert (widget_box.get_attribute("maxlength"), len(widget_box.input_value())) == ("120", 120)
        ask_widget(page, "tråling")
        page.get_by_role("button", name="Nei, ikke nyttig").click()
        comment = page.get_by_role("textbox", name="Hva manglet? (valgfritt)")
        assert comment.get_attribute("maxlength") == "80"
        assert page.errors == []
