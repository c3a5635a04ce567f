"""Staff curation in a real browser: a voter's question logged on the chat page, attached to a
pledge by staff through /admin with plain forms, and answered with that pledge the next time.

Its own app, on the five-pledge fixture and the fake embedder, with a question log and an admin
token, served on this feature's own port (8924) when it is free.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser.conftest import DESKTOP, PHONE, serving
from tests.browser.test_browser import violations
from tests.conftest import FakeEmbedder
from tests.curation_fixtures import PLEDGE, QUESTION, TOKEN, curation_settings

PORT = 8924
FIX_LINK = re.compile("^Rett opp +svaret på «" + re.escape(QUESTION) + "»$")
PLEDGE_TEXT = "avvikle karakterer helt eller delvis i hele grunnskolen."


@pytest.fixture
def curated_server(chromium_present, settings, tmp_path) -> Iterator[str]:
    from web.app import create_app

    app = create_app(curation_settings(settings, tmp_path), embedder=FakeEmbedder())
    with serving(app, PORT) as url:
        yield url


def staff_page(open_page, viewport=DESKTOP, **options):
    """A page that logs in as staff. The admin pages link no icon; the browser's own /favicon.ico is not an error."""
    page = open_page(viewport, http_credentials={"username": "stab", "password": TOKEN}, **options)
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return page


def first_cited(page) -> str:
    cite = page.locator("#log .exchange a.cite").first
    cite.wait_for()
    return cite.get_attribute("href")


def test_staff_attach_a_logged_question_to_a_pledge_and_the_chat_page_answers_with_it(open_page, curated_server):
    voter = open_page()
    voter.goto(curated_server)
    box = voter.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(QUESTION)
    box.press("Enter")
    voter.locator("#log .exchange .reply").first.wait_for()
    assert "ikke" in voter.locator("#log .exchange .reply").first.inner_text()  # not covered, before staff step in

    staff = staff_page(open_page)
    staff.goto(f"{curated_server}/admin")
    staff.get_by_role("link", name=FIX_LINK).first.click()
    staff.wait_for_url(f"{curated_server}/admin/curate?*")
    assert staff.get_by_role("textbox", name="Spørsmål fra en velger").input_value() == QUESTION
    search = staff.get_by_role("searchbox", name="Søk etter punkt (ord eller id)")
    search.fill("karakterer")
    search.press("Enter")
    staff.wait_for_url("**find=karakterer**")
    found = staff.locator("ol.pledges li").filter(has_text=PLEDGE_TEXT).last
    assert "Skole · punkt 1 · s. 2" in found.inner_text()
    found.get_by_role("button", name="Svar med dette punktet").click()
    staff.get_by_role("status").wait_for()
    assert staff.get_by_role("status").inner_text() == "Lagret. Spørsmålet besvares nå med punktet du valgte."
    assert PLEDGE_TEXT in staff.locator("#alternates").inner_text()

    voter = open_page()
    voter.goto(curated_server)
    box = voter.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(QUESTION)
    box.press("Enter")
    assert first_cited(voter).endswith(f"/program#{PLEDGE}")
    assert voter.errors == [] and staff.errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_admin_and_curation_pages_have_no_accessibility_violations(open_page, curated_server, axe_source, viewport):
    voter = open_page()
    voter.goto(f"{curated_server}/?q=Blir+det+gratis+parkering%3F")
    staff = staff_page(open_page, viewport, bypass_csp=True)  # axe is injected as a script
    staff.goto(f"{curated_server}/admin")
    assert staff.get_by_role("link", name=FIX_LINK).count() >= 1
    assert violations(staff, axe_source) == []  # every impact, minor included
    staff.goto(f"{curated_server}/admin/curate?question=Blir+det+gratis+parkering%3F&find=buss")
    staff.get_by_role("button", name="Svar med dette punktet").first.click()
    staff.get_by_role("status").wait_for()
    assert violations(staff, axe_source) == []  # every impact, minor included
