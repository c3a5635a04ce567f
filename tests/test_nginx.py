"""deploy/nginx.conf.example, run by a real nginx in front of a real server under /sporsmal.

The server is a real uvicorn process with the options of `python -m qa serve` on the fake
embedder (tests/live_server.py), QA_ROOT_PATH=/sporsmal and nginx as its only trusted proxy;
nginx is Debian's, started in the foreground with the example (tests/nginx.py). Checked: answers
come through, every link carries the prefix, the client's address (not what it claims in
X-Forwarded-For) reaches the app's rate limiter, and nginx's limit_req turns a burst away.
"""

from __future__ import annotations

import ipaddress
import socket
import sys

import httpx
import pytest

from tests.live_server import running, serve_fake, small_server_env
from tests.nginx import PREFIX, Nginx, free_port, need_nginx
from tests.test_root_path import links, outside
from tests.test_web import served_facts

QUESTION = "Hva vil dere med bussen?"
RATE_LIMIT = 3  # the app's questions per minute per client, low so a test can spend it


def local_address() -> str | None:
    """An address of this machine that is not loopback (a loopback client is never rate limited)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.fixture
def proxy(settings, tmp_path):
    need_nginx()
    port = free_port()
    env = small_server_env(settings, tmp_path, root_path=PREFIX, trusted_proxies="127.0.0.1", rate_limit=str(RATE_LIMIT))
    (tmp_path / "nginx").mkdir()
    with running(serve_fake(port), env, tmp_path / "server.log", port), Nginx(tmp_path / "nginx", port) as nginx:
        yield nginx


def test_answers_come_through_the_proxy_with_every_url_under_the_prefix(proxy):
    with httpx.Client(base_url=proxy.url + PREFIX) as client:
        body = client.get("/api/ask", params={"q": QUESTION}).json()
        assert body["results"] and all(r["url"].startswith(f"{PREFIX}/program#") for r in body["results"])
        for path in ("/", "/program", f"/?q={QUESTION}"):
            response = client.get(path)
            assert response.status_code == 200
            found = links(response.text)
            assert found and outside(found, origins=("http://127.0.0.1",)) == []
        script = next(u for u in links(client.get("/").text) if "/widget.js" in u)
        widget = httpx.get(proxy.url + script)
        assert widget.status_code == 200 and served_facts(widget.text)["base"] == f"{PREFIX}/"


def test_redirects_through_the_proxy_are_paths_under_the_prefix(proxy):
    headers = {"Host": "evil.example"}
    bare = httpx.get(proxy.url + PREFIX, headers=headers)  # nginx's own: /sporsmal -> /sporsmal/
    assert (bare.status_code, bare.headers["location"]) == (301, f"{PREFIX}/")
    slash = httpx.get(f"{proxy.url}{PREFIX}/program/", headers=headers)  # the app's
    assert (slash.status_code, slash.headers["location"]) == (307, f"{PREFIX}/program")


def test_the_clients_own_address_reaches_the_rate_limiter_not_the_one_it_claims(proxy):
    address = local_address()
    if address is None:
        pytest.skip("this machine has no address but loopback, and loopback clients are never limited")
    voter = httpx.Client(base_url=proxy.url + PREFIX, transport=httpx.HTTPTransport(local_address=address))
    with voter:
        answered = [voter.get("/api/ask", params={"q": QUESTION}).status_code for _ in range(RATE_LIMIT)]
        assert answered == [200] * RATE_LIMIT
        spent = voter.get("/api/ask", params={"q": QUESTION}, headers={"X-Forwarded-For": "203.0.113.9"})
        assert spent.status_code == 429  # the app's limit, on the address nginx saw
        assert spent.json()["detail"].startswith("Du har stilt mange spørsmål")
    # Another client (this machine, through the same nginx) has its own allowance.
    assert httpx.get(proxy.url + PREFIX + "/api/ask", params={"q": QUESTION}).status_code == 200


def test_nginx_turns_away_a_burst_before_it_reaches_the_app(proxy):
    with httpx.Client(base_url=proxy.url + PREFIX) as client:
        statuses = [client.get("/healthz") for _ in range(80)]
    codes = [r.status_code for r in statuses]
    assert codes[:10] == [200] * 10  # within the burst
    refused = [r for r in statuses if r.status_code == 429]
    assert refused, codes
    assert all("nginx" in r.text and "detail" not in r.text for r in refused)  # nginx's page, not the app's JSON
    assert set(codes) == {200, 429}


@pytest.mark.model
def test_python_m_qa_serve_with_a_root_path_answers_behind_nginx(settings, tmp_path):
    """The real command, on the real model: `python -m qa serve --root-path /sporsmal`."""
    need_nginx()
    port = free_port()
    env = small_server_env(settings, tmp_path, trusted_proxies="127.0.0.1")
    env.pop("QA_MODEL", None)
    command = [sys.executable, "-m", "qa", "serve", "--root-path", PREFIX, "--port", str(port)]
    (tmp_path / "nginx").mkdir()
    with running(command, env, tmp_path / "server.log", port, wait=180), Nginx(tmp_path / "nginx", port) as nginx:
        body = httpx.get(f"{nginx.url}{PREFIX}/api/ask", params={"q": QUESTION}, timeout=30).json()
        assert body["results"] and all(r["url"].startswith(f"{PREFIX}/program#") for r in body["results"])
        page = httpx.get(f"{nginx.url}{PREFIX}/", timeout=30)
        assert page.status_code == 200 and outside(links(page.text)) == []
