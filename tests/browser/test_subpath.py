"""The chat page and the widget under /sporsmal, in Chromium, through a real nginx that strips
the prefix (deploy/nginx.conf.example, tests/nginx.py) in front of a real server process on the
fake embedder (tests/live_server.py). Every request the browser makes must stay under the prefix:
one that escaped it would be a 404 at nginx, which `page.errors` collects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import HOST_PAGE, serving_pages
from tests.browser.test_browser import ask_widget, open_widget
from tests.live_server import running, serve_fake, small_server_env
from tests.nginx import PREFIX, Nginx, free_port, need_nginx

QUESTION = "Hva vil dere med bussen?"


@pytest.fixture
def proxied(chromium_present, settings, tmp_path) -> Iterator[str]:
    """The app under nginx at http://127.0.0.1:PORT/sporsmal; yields that URL."""
    need_nginx()
    port = free_port()
    env = small_server_env(settings, tmp_path, root_path=PREFIX, rate_limit="0")
    (tmp_path / "nginx").mkdir()
    with running(serve_fake(port), env, tmp_path / "server.log", port), Nginx(tmp_path / "nginx", port) as nginx:
        yield nginx.url + PREFIX


def requests_of(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def test_the_chat_page_answers_under_the_prefix_with_links_into_it(open_page, proxied):
    page = open_page()
    seen = requests_of(page)
    page.goto(proxied + "/")
    ask_widget(page, QUESTION)  # the chat page's box has the same accessible name
    reply = page.locator("#log .exchange .reply")
    reply.wait_for()
    hrefs = reply.locator("a").evaluate_all("(links) => links.map((a) => a.href)")
    assert hrefs and all(h.startswith(proxied + "/") for h in hrefs)
    assert any(u.startswith(proxied + "/api/ask?") for u in seen)
    assert all(u.startswith(proxied + "/") for u in seen), seen
    assert page.errors == []


def test_the_widget_on_another_site_answers_through_the_prefix(open_page, proxied):
    host_page = HOST_PAGE.format(lang="nb", head="", server=proxied, attrs="").encode()
    with serving_pages(lambda name: (host_page, "text/html; charset=utf-8") if name == "plain" else (b"", "")) as site:
        page = open_page()
        seen = requests_of(page)
        page.goto(f"{site}/plain")
        open_widget(page)
        ask_widget(page, QUESTION)
        reply = page.locator("mdg-sporsmal .reply")
        reply.wait_for()
        hrefs = reply.locator("a").evaluate_all("(links) => links.map((a) => a.href)")
        assert hrefs and all(h.startswith(proxied + "/") for h in hrefs)
        assert [u for u in seen if not u.startswith(site)] and all(u.startswith(proxied + "/") for u in seen if not u.startswith(site))
        assert page.errors == []
