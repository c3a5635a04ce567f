"""Several programmes in a browser: the fallback on the chat page with JavaScript, a programme's
own chat page, and the widget with and without `data-programme`, on the fictional programmes of
tests/fixtures/programmes (fake embedder, the band model of tests/test_programmes.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.browser.conftest import HOST_PAGE, PHONE, serving, serving_pages
from tests.browser.test_browser import ask_widget, open_widget, serious_violations
from tests.test_programmes import BANDS, FIXTURES, NATIONAL, OIL, OTHER

FALLBACK_LINE = "Grønt Testpartis nasjonale program sier:"


@pytest.fixture(scope="module")
def programmes_server(chromium_present, tmp_path_factory) -> Iterator[str]:
    from qa.answering.fitted import Fitted, Profile
    from qa.answering.ranking import Weights
    from qa.operations.settings import Settings
    from tests.conftest import FakeEmbedder
    from web.app import create_app

    folder = tmp_path_factory.mktemp("programmes")
    shutil.copytree(FIXTURES, folder / "programmes")
    fitted = folder / "fitted.json"
    fitted.write_text(Fitted(Weights(), BANDS, "fake-embedder", {}, bare=Profile(Weights(), BANDS)).as_json(), encoding="utf-8")
    settings = Settings(
        programmes=folder / "programmes", questions=None, background=None, fitted=fitted,
        index_dir=folder / "index", db="off", rate_limit=0,
    )  # fmt: skip
    with serving(create_app(settings, embedder=FakeEmbedder())) as url:
        yield url


@pytest.fixture(scope="module")
def party_site(programmes_server) -> Iterator[str]:
    """The party's own site on another loopback port: /local has the widget's one script tag,
    /national the same with data-programme naming the national programme."""
    pages = {
        "local": HOST_PAGE.format(lang="nb", head="", server=programmes_server, attrs=""),
        "national": HOST_PAGE.format(lang="nb", head="", server=programmes_server, attrs=f' data-programme="{NATIONAL}"'),
    }
    with serving_pages(lambda name: (pages[name].encode(), "text/html; charset=utf-8") if name in pages else None) as url:
        yield url


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_chat_page_with_javascript_shows_the_broader_answer_under_its_own_line(open_page, programmes_server, axe_source, viewport):
    page = open_page(viewport) if viewport else open_page()
    page.goto(programmes_server)
    ask_widget(page, OIL)
    fallback = page.locator("#log .reply.fallback")
    fallback.wait_for()
    assert FALLBACK_LINE in fallback.locator(".band").inner_text()
    cite = fallback.locator("a.cite").first
    assert cite.get_attribute("href") == f"{programmes_server}/p/{NATIONAL}/program#energi-1"
    assert page.locator("#log .reply").first.get_attribute("class") != "reply answered"  # the local band stays honest
    assert serious_violations(page, axe_source) == []
    assert page.errors == []


def test_a_programmes_own_chat_page_asks_that_programme(open_page, programmes_server):
    page = open_page()
    page.goto(f"{programmes_server}/p/{OTHER}/")
    ask_widget(page, "fjerne eiendomsskatten")
    reply = page.locator("#log .reply.answered")
    reply.wait_for()
    assert reply.locator("a.cite").first.get_attribute("href") == f"{programmes_server}/p/{OTHER}/program#skatt-1"
    assert page.errors == []


def test_the_widget_with_data_programme_answers_from_that_programme(open_page, programmes_server, party_site, axe_source):
    page = open_page()
    page.goto(f"{party_site}/national")
    open_widget(page)
    ask_widget(page, OIL)
    reply = page.locator("mdg-sporsmal .reply.answered")
    reply.wait_for()
    assert reply.locator("a.cite").first.get_attribute("href") == f"{programmes_server}/p/{NATIONAL}/program#energi-1"
    assert page.locator("mdg-sporsmal .reply.fallback").count() == 0
    assert serious_violations(page, axe_source) == []


def test_the_widget_of_the_local_programme_shows_the_broader_answer_attributed(open_page, programmes_server, party_site, axe_source):
    page = open_page(PHONE)
    page.goto(f"{party_site}/local")
    open_widget(page)
    ask_widget(page, OIL)
    fallback = page.locator("mdg-sporsmal .reply.fallback")
    fallback.wait_for()
    assert FALLBACK_LINE in fallback.inner_text()
    assert fallback.locator("a.cite").first.get_attribute("href") == f"{programmes_server}/p/{NATIONAL}/program#energi-1"
    assert serious_violations(page, axe_source) == []


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_compare_page_is_accessible(open_page, programmes_server, axe_source, viewport):
    page = open_page(viewport) if viewport else open_page()
    page.goto(f"{programmes_server}/compare?q=fjerne+eiendomsskatten")
    assert page.locator("section.programme-answer").count() == 3
    assert serious_violations(page, axe_source) == []
    assert page.errors == []
