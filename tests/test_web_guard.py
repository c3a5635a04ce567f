"""What keeps the web layer safe: security headers, CORS, rate limits, junk input, static paths."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from qa.operations.settings import proxy_networks
from tests.conftest import FakeEmbedder
from web.app import create_app
from web.ratelimit import RateLimiter, client_address, is_loopback, too_many_questions

PAGES = ["/", "/?q=tr%C3%A5ling", "/?q=", "/program", "/finnes-ikke"]


def app_client(settings, **changes) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes), embedder=FakeEmbedder()))


@pytest.fixture
def client(settings):
    with app_client(settings) as client:
        yield client


# --- Headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_html_page_carries_the_security_headers(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_event_handlers(client, path):
    html = client.get(path, headers={"Accept": "text/html"}).text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "a script element with inline code"
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"
    assert "style=" not in html


def test_json_responses_are_not_sniffed(client):
    response = client.get("/api/ask", params={"q": "buss"})
    assert response.headers["x-content-type-options"] == "nosniff"


# --- CORS --------------------------------------------------------------------------------------


def test_api_is_open_to_every_origin_by_default(client):
    response = client.get("/api/ask", params={"q": "buss"}, headers={"Origin": "https://mdg.no"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_api_allows_a_configured_origin(settings):
    with app_client(settings, allowed_origins="https://baerum.mdg.no, https://mdg.no") as client:
        response = client.get("/api/ask", params={"q": "buss"}, headers={"Origin": "https://mdg.no"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://mdg.no"
        assert "Origin" in response.headers["vary"]


def test_api_gives_a_disallowed_origin_no_allow_origin(settings):
    with app_client(settings, allowed_origins="https://baerum.mdg.no") as client:
        response = client.get("/api/ask", params={"q": "buss"}, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in response.headers
        preflight = client.options(
            "/api/ask",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_api_preflight_for_an_allowed_origin_succeeds(settings):
    with app_client(settings, allowed_origins="https://baerum.mdg.no") as client:
        response = client.options(
            "/api/feedback",
            headers={
                "Origin": "https://baerum.mdg.no",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://baerum.mdg.no"
        assert "POST" in response.headers["access-control-allow-methods"]


def test_pages_carry_no_cors_headers(client):
    response = client.get("/program", headers={"Origin": "https://mdg.no"})
    assert "access-control-allow-origin" not in response.headers


def test_rate_limited_answer_is_readable_cross_origin(settings):
    with app_client(settings, rate_limit=1) as client:
        headers = {"Origin": "https://mdg.no"}
        client.get("/api/ask", params={"q": "buss"}, headers=headers)
        response = client.get("/api/ask", params={"q": "buss"}, headers=headers)
        assert response.status_code == 429
        assert response.headers["access-control-allow-origin"] == "*"
        assert "retry-after" in response.headers["access-control-expose-headers"].lower()


# --- Rate limit --------------------------------------------------------------------------------


def test_too_many_questions_get_429_with_retry_after_and_a_norwegian_detail(settings):
    with app_client(settings, rate_limit=3) as client:
        statuses = [client.get("/api/ask", params={"q": f"buss {n}"}).status_code for n in range(3)]
        assert statuses == [200, 200, 200]
        response = client.get("/api/ask", params={"q": "buss"})
        assert response.status_code == 429
        wait = int(response.headers["retry-after"])
        assert 1 <= wait <= 20
        assert response.json() == {"detail": too_many_questions(wait)}
        assert response.json()["detail"].startswith("Du har stilt mange spørsmål på kort tid. Vent ")


def test_the_chat_page_counts_against_the_same_limit(settings):
    with app_client(settings, rate_limit=2) as client:
        assert client.get("/", params={"q": "buss"}).status_code == 200
        assert client.get("/api/ask", params={"q": "buss"}).status_code == 200
        response = client.get("/", params={"q": "buss"})
        assert response.status_code == 429
        assert "retry-after" in response.headers
        assert "Du har stilt mange spørsmål på kort tid." in response.text
        assert 'value="buss"' in response.text
        # Pages without a question, the programme and the health check are never limited.
        for path in ["/", "/program", "/healthz", "/widget.js"]:
            assert client.get(path).status_code == 200


def test_this_machine_is_not_limited_but_voters_behind_a_local_proxy_are(settings):
    app = create_app(settings.model_copy(update={"rate_limit": 1}), embedder=FakeEmbedder())
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert [local.get("/api/ask", params={"q": f"buss {n}"}).status_code for n in range(5)] == [200] * 5

        def via_proxy(address: str) -> int:
            return local.get("/api/ask", params={"q": "buss"}, headers={"X-Forwarded-For": address}).status_code

        assert via_proxy("192.0.2.1") == 200
        assert via_proxy("192.0.2.1") == 429  # loopback is a trusted proxy by default
        assert via_proxy("127.0.0.1, 192.0.2.1") == 429  # a client cannot claim to be the machine
    with TestClient(app, client=("192.0.2.50", 50000)) as remote:
        assert remote.get("/api/ask", params={"q": "buss"}).status_code == 200
        assert remote.get("/api/ask", params={"q": "buss"}, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 429


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("127.8.0.3", True), ("::1", True), ("192.0.2.1", False), ("testclient", False), ("unknown", False)],
)
def test_loopback_addresses_are_recognised(address: str, loopback: bool):
    assert is_loopback(address) is loopback


def test_rate_limit_zero_turns_it_off(client):
    assert all(client.get("/api/ask", params={"q": "buss"}).status_code == 200 for _ in range(100))


def test_rate_limit_is_per_client_behind_a_trusted_proxy(settings):
    app = create_app(settings.model_copy(update={"rate_limit": 1, "trusted_proxies": "10.0.0.0/8"}), embedder=FakeEmbedder())
    with TestClient(app, client=("10.1.2.3", 50000)) as client:

        def ask(address: str) -> int:
            return client.get("/api/ask", params={"q": "buss"}, headers={"X-Forwarded-For": address}).status_code

        assert ask("192.0.2.1") == 200
        assert ask("192.0.2.2") == 200
        assert ask("192.0.2.1") == 429
        assert ask("198.51.100.7, 192.0.2.2") == 429  # the hop the proxy saw is what counts


def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    with app_client(settings, rate_limit=1) as client:
        assert client.get("/api/ask?q=buss", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 200
        assert client.get("/api/ask?q=buss", headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 429


def test_rate_limiter_refills_over_time_and_says_how_long_to_wait():
    now = [1000.0]
    limiter = RateLimiter(6, clock=lambda: now[0])  # one question per 10 s, bursts of 6
    assert [limiter.wait("a") for _ in range(6)] == [0] * 6
    assert limiter.wait("a") == 10
    assert limiter.wait("b") == 0
    now[0] += 4.0
    assert limiter.wait("a") == 6
    now[0] += 6.0
    assert limiter.wait("a") == 0
    assert limiter.wait("a") == 10


def test_rate_limiter_forgets_clients_whose_allowance_is_full(monkeypatch):
    monkeypatch.setattr("web.ratelimit.MAX_CLIENTS", 4)
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    for n in range(4):
        limiter.wait(f"c{n}")
    now[0] += 60
    limiter.wait("new")
    assert list(limiter._buckets) == ["new"]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("192.0.2.9", [], set(), "192.0.2.9"),
        ("192.0.2.9", ["203.0.113.5"], set(), "192.0.2.9"),
        ("10.0.0.1", ["203.0.113.5"], {"10.0.0.1"}, "203.0.113.5"),
        ("10.0.0.1", ["1.1.1.1, 203.0.113.5"], {"10.0.0.1"}, "203.0.113.5"),
        ("10.0.0.1", ["203.0.113.5, 10.0.0.2"], {"10.0.0.1", "10.0.0.2"}, "203.0.113.5"),
        ("10.0.0.1", ["1.1.1.1", "203.0.113.5"], {"10.0.0.1"}, "203.0.113.5"),
        ("10.0.0.1", ["10.0.0.2"], {"10.0.0.1", "10.0.0.2"}, "10.0.0.2"),
        ("10.0.0.1", [" , "], {"10.0.0.1"}, "unknown"),
        (None, ["203.0.113.5"], set(), "unknown"),
    ],
)
def test_client_address_trusts_forwarded_for_only_from_trusted_proxies(peer, forwarded, trusted, client):
    assert client_address(peer, forwarded, proxy_networks(",".join(trusted))) == client


def test_retry_message_is_norwegian_and_counts_seconds():
    assert too_many_questions(1) == "Du har stilt mange spørsmål på kort tid. Vent 1 sekund og prøv igjen."
    assert too_many_questions(12).endswith("Vent 12 sekunder og prøv igjen.")


# --- Junk and paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/..%5capp.py",
        "/static/%2e%2e/templates/base.html",
        "/static/templates/base.html",
        "/static/",
        "/static/site.css%00.js",
        "/static/.%2e/.%2e/etc/passwd",
        "/widget.js/../app.py",
        "/program/../../etc/passwd",
    ],
)
def test_paths_outside_the_static_files_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/api/ask?q=%ZZ", "%-tegn som ikke er en gyldig koding"),
        ("/api/ask?q=50%", "%-tegn som ikke er en gyldig koding"),
        ("/api/ask?q=%E2%82", "ikke er gyldig UTF-8"),
        ("/api/ask?q=hei&k=%ff", "ikke er gyldig UTF-8"),
        ("/api/ask?%ff=1&q=hei", "ikke er gyldig UTF-8"),
        ("/?q=%ff", "ikke er gyldig UTF-8"),
        ("/?q=hei&q=hallo", "Parameteren q er oppgitt 2 ganger"),
        ("/?q=hei&k=0", "k må være et helt tall fra 1 til 20, ikke 0."),
    ],
)
def test_malformed_query_strings_are_422_with_a_detail(client, path, detail):
    response = client.get(path)
    assert response.status_code == 422
    if path.startswith("/api/"):
        assert detail in response.json()["detail"]
    else:
        error = re.search(r'<p class="error" id="ask-error" role="alert">([^<]*)</p>', response.text)
        assert error and detail in error.group(1)


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.text(max_size=600), k=st.one_of(st.none(), st.integers(-5, 30), st.text(max_size=5)))
def test_no_question_ever_causes_a_server_error(client, question, k):
    params = {"q": question} if k is None else {"q": question, "k": str(k)}
    response = client.get("/api/ask", params=params)
    assert response.status_code in (200, 422), response.text
    body = response.json()
    if response.status_code == 422:
        assert isinstance(body["detail"], str) and body["detail"]
    else:
        assert body["question"] == " ".join(question.split())


@hypothesis_settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=80))
def test_no_raw_query_string_causes_a_server_error(client, raw):
    query = "".join(f"%{b:02X}" if b not in b"=&" else chr(b) for b in raw)
    for path in ("/api/ask?", "/?"):
        response = client.get(path + query)
        assert response.status_code < 500, (path + query, response.text)
