"""Serving under a sub-path (web.rootpath): behind a proxy that strips `/sporsmal`, every link,
form, script, the widget's API base and the API's `url` fields carry the prefix; trailing-slash
redirects are paths, never built from the Host header.

Two ways the root path reaches the app, both tested: the server puts it in the ASGI scope
(TestClient's `root_path`, as `uvicorn --root-path` does), or QA_ROOT_PATH does (`RootPath`).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from qa.errors import ConfigError
from qa.operations.cli import main
from qa.operations.settings import load_settings
from tests.curation_fixtures import BEARER, curation_settings
from tests.test_programmes import LOCAL, NATIONAL, OIL
from tests.test_programmes import psettings as programme_settings
from tests.test_web import Elements, served_facts
from web.app import create_app
from web.rootpath import SlashRedirect

ROOT = "/sporsmal"
LINK_ATTRIBUTES = ("href", "src", "action", "data-url")


def links(html: str) -> list[str]:
    """Every URL a page points at: href, src, action, data-url, og:url; in-page anchors left out."""
    parser = Elements(html)
    found = [a[name] for _, a in parser.tags for name in LINK_ATTRIBUTES if a.get(name) is not None]
    found += [a["content"] for t, a in parser.tags if t == "meta" and a.get("property") == "og:url"]
    return [u for u in found if not u.startswith("#")]


def outside(urls: list[str], root: str = ROOT, origins: tuple[str, ...] = ("http://testserver",)) -> list[str]:
    """The URLs that do not stay under `root` on this server (a path, or one of its `origins`)."""

    def path(url: str) -> str:
        return next((url.removeprefix(o) for o in origins if url.startswith(o + "/")), url)

    return [u for u in urls if not path(u).startswith(root + "/")]


@pytest.fixture
def client(settings, fake_embedder):
    """The app as a server with `--root-path /sporsmal` runs it, behind a stripping proxy."""
    with TestClient(create_app(settings, embedder=fake_embedder), root_path=ROOT) as client:
        yield client


psettings = programme_settings


@pytest.fixture
def programmes(psettings, fake_embedder):
    """Three programmes (tests/test_programmes.py), under the root path set by QA_ROOT_PATH."""
    with TestClient(create_app(psettings.model_copy(update={"root_path": ROOT}), embedder=fake_embedder)) as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/", "/?q=Hva+vil+dere+med+bussen%3F", "/program", "/compare", "/compare?q=buss", "/finnes-ikke"]
)
def test_every_link_form_and_script_of_a_page_starts_with_the_root_path(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("text/html")
    found = links(response.text)
    assert len(found) >= 5  # stylesheet, icon, scripts or home links: the page has some
    assert outside(found) == []


def test_the_answer_page_links_pledges_and_shares_its_address_under_the_root_path(client):
    html = client.get("/", params={"q": "Hva vil dere med bussen?"}).text
    hrefs = Elements(html).hrefs("cite")
    assert hrefs and all(h.startswith(f"{ROOT}/program#") for h in hrefs)
    assert '<meta property="og:url" content="http://testserver/sporsmal/?q=' in html


@pytest.mark.parametrize("path", ["/", "/program", "/compare?q=olje", f"/p/{NATIONAL}/", f"/p/{NATIONAL}/program", f"/p/{NATIONAL}/?q={OIL}"])
def test_pages_of_every_programme_stay_under_the_root_path_set_by_the_setting(programmes, path):
    response = programmes.get(ROOT + path)  # a proxy that keeps the prefix works as one that strips it
    assert response.status_code == 200
    assert outside(links(response.text)) == []
    assert outside(links(programmes.get(path).text)) == []


def test_api_url_fields_carry_the_root_path(client):
    body = client.get("/api/ask", params={"q": "Hva vil dere med bussen?"}).json()
    assert body["results"] and [r["url"] for r in body["results"]] == [f"{ROOT}/program#{r['id']}" for r in body["results"]]


def test_the_fallback_compare_and_programme_list_urls_carry_the_root_path(programmes):
    body = programmes.get("/api/ask", params={"q": OIL}).json()
    assert body["fallback"]["results"]
    assert {r["url"].split("#")[0] for r in body["fallback"]["results"]} == {f"{ROOT}/p/{NATIONAL}/program"}
    listed = programmes.get("/api/programmes").json()["programmes"]
    assert [p["url"] for p in listed][:2] == [f"{ROOT}/program", f"{ROOT}/p/{NATIONAL}/program"]
    compared = programmes.get("/api/compare", params={"q": OIL, "programmes": f"{LOCAL},{NATIONAL}"}).json()
    urls = [r["url"] for p in compared["programmes"] for r in p["results"]]
    assert urls and all(u.startswith(f"{ROOT}/") for u in urls)


@pytest.mark.parametrize("path", ["/widget.js", "/static/widget.js"])
def test_the_widget_is_served_with_the_root_path_as_its_api_base(client, path):
    assert served_facts(client.get(path).text)["base"] == f"{ROOT}/"


def test_the_chat_page_loads_the_widget_that_knows_the_root_path(client):
    src = re.search(r'<script src="([^"]*widget\.js[^"]*)"', client.get("/").text).group(1)
    assert src.startswith(f"{ROOT}/static/widget.js?v=")
    assert served_facts(client.get(src.removeprefix(ROOT)).text)["base"] == f"{ROOT}/"


def test_without_a_root_path_the_widget_base_is_the_servers_root(settings, fake_embedder):
    with TestClient(create_app(settings, embedder=fake_embedder)) as plain:
        assert served_facts(plain.get("/widget.js").text)["base"] == "/"
        assert outside(links(plain.get("/").text), root="") == []


def test_a_trailing_slash_redirect_is_a_path_under_the_root_and_ignores_the_host_header(programmes):
    for asked, there in [(f"/p/{NATIONAL}?q=olje", f"/p/{NATIONAL}/?q=olje"), ("/program/", "/program")]:
        response = programmes.get(asked, headers={"Host": "evil.example"}, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (307, ROOT + there)


def test_a_path_that_would_redirect_to_another_site_gets_no_redirect():
    router = Router([Route("/{rest:path}/", lambda request: PlainTextResponse("ok"))])  # answers any .../
    redirect = SlashRedirect(router)
    scope = {"type": "http", "path": "//evil.example", "root_path": "", "query_string": b"", "method": "GET"}
    assert redirect.location(scope) is None  # "//evil.example/" would leave the site
    assert redirect.location({**scope, "path": "/a b"}) == "/a%20b/"


def test_the_staff_report_and_curation_pages_link_under_the_root_path(settings, tmp_path, fake_embedder):
    app = create_app(curation_settings(settings, tmp_path), embedder=fake_embedder)
    with TestClient(app, root_path=ROOT) as staff:
        staff.get("/api/ask", params={"q": "Hva vil dere med bussen?"})  # a row, so the tables have links
        report = staff.get("/admin", headers=BEARER).text
        assert any(u.endswith(".csv?days=30") for u in links(report))
        assert outside(links(report)) == []
        curate = staff.get("/admin/curate", params={"question": "buss"}, headers=BEARER).text
        assert outside(links(curate)) == []


def test_cors_and_json_errors_apply_to_the_api_under_the_root_path(client):
    response = client.get("/api/ask", headers={"Origin": "https://parti.example", "Accept": "text/html"})
    assert response.status_code == 422
    assert response.headers["access-control-allow-origin"] == "*"
    assert "detail" in response.json()


def test_the_servers_root_path_wins_over_the_setting(settings, fake_embedder):
    app = create_app(settings.model_copy(update={"root_path": "/annet"}), embedder=fake_embedder)
    with TestClient(app, root_path=ROOT) as client:
        assert outside(links(client.get("/").text)) == []
        assert served_facts(client.get("/widget.js").text)["base"] == f"{ROOT}/"


@pytest.mark.parametrize(("given", "kept"), [("/sporsmal/", "/sporsmal"), ("/", ""), ("", ""), (" /a/b-c ", "/a/b-c")])
def test_a_root_path_setting_is_kept_without_its_trailing_slash(monkeypatch, given, kept):
    monkeypatch.setenv("QA_ROOT_PATH", given)
    assert load_settings().root_path == kept


@pytest.mark.parametrize("bad", ["sporsmal", "/spør mål", "//sporsmal", "/a/../b", "/a?b", "http://x/y"])
def test_a_bad_root_path_stops_start_up_with_one_line(monkeypatch, bad):
    monkeypatch.setenv("QA_ROOT_PATH", bad)
    with pytest.raises(ConfigError, match=r"^QA_ROOT_PATH: "):
        load_settings()


def test_serve_refuses_a_bad_root_path_with_one_line(capsys):
    assert main(["serve", "--root-path", "sporsmal", "--port", "1"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: QA_ROOT_PATH: must start with /") and err.count("\n") == 1
