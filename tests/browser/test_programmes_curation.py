"""Curating a programme other than the default one in a real browser: staff pick the national
programme on /admin/curate, attach a question to one of its pledges with the plain forms, and a
voter asking that programme's own chat page (/p/SLUG/) gets that pledge first, while the local
programme's curation stays empty. The fictional programmes of tests/fixtures/programmes, the fake
embedder, a question log in tmp_path and an admin token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.browser.conftest import serving
from tests.browser.test_browser import ask_widget, violations
from tests.browser.test_curation import staff_page
from tests.curation_fixtures import TOKEN
from tests.test_programmes import BANDS, FIXTURES, LOCAL, NATIONAL
from tests.test_programmes_curation import WIND, WOLF

WIND_TEXT = "bygge ut havvind langs hele kysten."


@pytest.fixture
def curated_programmes(chromium_present, tmp_path) -> Iterator[str]:
    from qa.answering.fitted import Fitted, Profile
    from qa.answering.ranking import Weights
    from qa.operations.settings import Settings
    from tests.conftest import FakeEmbedder
    from web.app import create_app

    shutil.copytree(FIXTURES, tmp_path / "programmes")
    fitted = tmp_path / "fitted.json"
    fitted.write_text(Fitted(Weights(), BANDS, "fake-embedder", {}, bare=Profile(Weights(), BANDS)).as_json(), encoding="utf-8")
    settings = Settings(
        programmes=tmp_path / "programmes", questions=None, background=None, fitted=fitted, index_dir=tmp_path / "index",
        db=str(tmp_path / "questions.sqlite3"), admin_token=TOKEN, rate_limit=0,
    )  # fmt: skip
    with serving(create_app(settings, embedder=FakeEmbedder())) as url:
        yield url


def first_reply(page):
    reply = page.locator("#log .exchange .reply").first
    reply.wait_for()
    return reply


def test_staff_curate_a_question_for_the_national_programme_and_its_chat_page_answers_with_it(open_page, curated_programmes, axe_source):
    voter = open_page()
    voter.goto(f"{curated_programmes}/p/{NATIONAL}/")
    ask_widget(voter, WOLF)
    assert "answered" not in first_reply(voter).get_attribute("class")  # before staff step in

    staff = staff_page(open_page, bypass_csp=True)  # axe is injected as a script
    staff.goto(f"{curated_programmes}/admin/curate")
    staff.get_by_role("combobox", name="Program").select_option(NATIONAL)
    staff.get_by_role("button", name="Bytt program").click()
    staff.wait_for_url(f"**programme={NATIONAL}**")
    assert staff.get_by_role("heading", level=1).inner_text() == "Rett opp svar: Grønt Testpartis nasjonale program"
    question = staff.get_by_role("textbox", name="Spørsmål fra en velger")
    question.fill(WOLF)
    question.press("Enter")
    staff.wait_for_url("**question=**")
    search = staff.get_by_role("searchbox", name="Søk etter punkt (ord eller id)")
    search.fill("havvind")
    search.press("Enter")
    staff.wait_for_url("**find=havvind**")
    found = staff.locator("ol.pledges li").filter(has_text=WIND_TEXT).last
    found.get_by_role("button", name="Svar med dette punktet").click()
    staff.get_by_role("status").wait_for()
    assert staff.get_by_role("status").inner_text() == "Lagret. Spørsmålet besvares nå med punktet du valgte."
    assert WIND_TEXT in staff.locator("#alternates").inner_text()
    assert f"programme={NATIONAL}" in staff.url  # the page stays on the programme staff picked
    assert violations(staff, axe_source) == []  # the picker included; every impact, minor included

    staff.get_by_role("combobox", name="Program").select_option(LOCAL)
    staff.get_by_role("button", name="Bytt program").click()
    staff.wait_for_url(f"**programme={LOCAL}**")
    assert staff.locator("#alternates").inner_text().endswith("Ingen ennå.")  # the local programme's own: none

    voter = open_page()
    voter.goto(f"{curated_programmes}/p/{NATIONAL}/")
    ask_widget(voter, WOLF)
    reply = first_reply(voter)
    cite = reply.locator("a.cite").first
    cite.wait_for()
    assert cite.get_attribute("href").endswith(f"/p/{NATIONAL}/program#{WIND}")
    assert "answered" in reply.get_attribute("class")
    assert voter.errors == [] and staff.errors == []

    staff.goto(f"{curated_programmes}/admin")  # every programme's questions, with a Program column and a picker
    assert staff.get_by_role("navigation", name="Program").get_by_role("link").count() == 4  # all, then each of three
    assert NATIONAL in staff.locator("#questions").inner_text()
    assert violations(staff, axe_source) == []
