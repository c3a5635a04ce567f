"""The embeddable widget and the static files, as served; what the browser tests cannot cheaply see."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeEmbedder
from tests.test_web import served_facts
from web.app import create_app
from web.assets import STATIC

WIDGET = (STATIC / "widget.js").read_text(encoding="utf-8")
FACTS = {"stored": False, "limits": {"question": 500, "comment": 500}, "base": "/"}  # this server's, as README says


def as_served(facts: dict = FACTS) -> bytes:
    """widget.js as the server should send it: the source with its SERVER line filled in."""
    line = "const SERVER = " + json.dumps(facts, separators=(",", ":")) + ";"
    return WIDGET.replace("const SERVER = {};", line).encode()


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        yield client


def test_widget_is_served_as_javascript_and_is_under_15_kb_gzipped(client):
    # The budget of issue 14 is what crosses the wire: the widget gzipped, as it is served.
    response = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == as_served()
    assert len(gzip.compress(as_served(), 9)) < 15 * 1024


def test_widget_can_be_loaded_by_any_site_and_is_cached_briefly(client):
    response = client.get("/widget.js")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "public, max-age=600"
    assert client.get("/widget.js", headers={"If-None-Match": response.headers["etag"]}).status_code == 304


def test_widget_is_sent_compressed_to_clients_that_accept_it(client):
    response = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == as_served()  # httpx decodes it
    assert len(gzip.compress(response.content)) < 15 * 1024  # the budget of issue 14


def test_static_files_are_versioned_in_pages_and_cached_for_a_year(client):
    html = client.get("/").text
    css = re.search(r'href="(/static/site\.css\?v=[0-9a-f]{10})"', html).group(1)
    response = client.get(css)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert 'src="/static/widget.js?v=' in html and 'data-mount="none"' in html
    assert re.search(r'src="/static/chat\.js\?v=[0-9a-f]{10}"', html)


def test_static_files_are_read_once_not_per_request(client, monkeypatch):
    client.get("/api/ask", params={"q": "sykkel"})  # the core may load lazily on its first question

    def no_reads(*args, **kwargs):
        raise AssertionError("a file was read during a request")

    monkeypatch.setattr("pathlib.Path.read_bytes", no_reads)
    monkeypatch.setattr("pathlib.Path.read_text", no_reads)
    monkeypatch.setattr("builtins.open", no_reads)
    for path in ["/widget.js", "/static/site.css", "/", "/program", "/?q=buss", "/api/ask?q=buss"]:
        assert client.get(path).status_code == 200, path


# --- one source of truth for the limits -----------------------------------------------------


def test_the_widget_and_the_chat_page_carry_the_servers_limits(client):
    # That they use them, and no number of their own, in a browser: tests/browser/test_widget_behaviour.py.
    assert served_facts(client.get("/widget.js").text)["limits"] == {"question": 500, "comment": 500}
    assert '<input id="q" name="q" type="text" maxlength="500" required' in client.get("/").text


def test_changing_the_servers_limits_changes_what_the_page_the_widget_and_the_api_use(settings, monkeypatch):
    monkeypatch.setattr("qa.answering.limits.MAX_QUESTION", 120)
    monkeypatch.setattr("qa.answering.limits.MAX_K", 7)
    monkeypatch.setattr("qa.questionlog.store.MAX_COMMENT", 80)
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        assert served_facts(client.get("/widget.js").text)["limits"] == {"question": 120, "comment": 80}
        home = client.get("/").text
        assert '<input id="q" name="q" type="text" maxlength="120" required' in home
        version = re.search(r'src="/static/widget\.js\?v=(\w+)"', home).group(1)
        assert served_facts(client.get(f"/static/widget.js?v={version}").text)["limits"]["question"] == 120
        assert client.get("/api/ask", params={"q": "a" * 120}).status_code == 200
        too_long = client.get("/api/ask", params={"q": "a" * 121})
        assert (too_long.status_code, too_long.json()) == (
            422,
            {"detail": "Spørsmålet er 121 tegn langt; det kan være på høyst 120 tegn."},
        )
        assert client.get("/api/ask", params={"q": "buss", "k": 7}).status_code == 200
        assert client.get("/api/ask", params={"q": "buss", "k": 8}).json() == {
            "detail": "k må være et helt tall fra 1 til 7, ikke 8."
        }
        page = client.get("/", params={"q": "a" * 130})
        assert page.status_code == 422 and f'value="{"a" * 120}"' in page.text


# --- whether this site may ask: a CORS refusal told from a network failure ------------------


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("https://mdgbaerum.no", True), ("https://elsewhere.example", False), (None, True)],
    ids=["allowed", "refused", "same-origin"],
)
def test_widget_allowed_says_whether_the_api_answers_the_pages_origin(settings, origin, allowed):
    restricted = settings.model_copy(update={"allowed_origins": "https://mdgbaerum.no, https://www.mdgbaerum.no"})
    with TestClient(create_app(restricted, embedder=FakeEmbedder())) as client:
        response = client.get("/widget/allowed", headers={"Origin": origin} if origin else {})
        assert (response.status_code, response.json()) == (200, {"allowed": allowed})
        assert response.headers["access-control-allow-origin"] == "*"  # readable where the API is not
        assert response.headers["cache-control"] == "no-store"
        api = client.get("/api/ask", params={"q": "sykkel"}, headers={"Origin": origin} if origin else {})
        assert ("access-control-allow-origin" in api.headers) == (allowed and origin is not None)


def test_widget_allowed_takes_every_origin_when_the_api_does(client):
    response = client.get("/widget/allowed", headers={"Origin": "https://anywhere.example"})
    assert response.json() == {"allowed": True}
