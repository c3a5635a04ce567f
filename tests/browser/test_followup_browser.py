"""Follow-up questions in a real browser: the chat page sends the previous question and shows
"Tolket som: ..." when the answer used it (the real model and the shipped decision)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

FIRST = "Hva vil dere med psykisk helse?"
FOLLOW_UP = "og for eldre?"


def test_chat_page_sends_the_previous_question_and_shows_how_the_follow_up_was_read(open_page, server):
    page = open_page()
    sent = []
    page.on("request", lambda r: sent.append(parse_qs(urlsplit(r.url).query)) if "/api/ask" in r.url else None)
    page.goto(server)
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(FIRST)
    box.press("Enter")
    page.locator("#log .exchange .reply").first.wait_for()
    box.fill(FOLLOW_UP)
    box.press("Enter")
    second = page.locator("#log .exchange").nth(1)
    second.locator(".reply").wait_for()
    assert sent == [{"q": [FIRST]}, {"q": [FOLLOW_UP], "prev": [FIRST]}]
    assert second.locator(".interpreted").inner_text() == f"Tolket som: {FIRST} {FOLLOW_UP}"
    assert page.locator("#log .exchange").first.locator(".interpreted").count() == 0
    assert page.errors == []


def test_chat_page_without_javascript_carries_the_previous_question_in_the_form(open_page, server):
    page = open_page(java_script_enabled=False)
    page.goto(server)
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(FIRST)
    box.press("Enter")
    page.wait_for_url("**/?q=*")
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(FOLLOW_UP)
    box.press("Enter")
    page.wait_for_url("**prev=*")
    assert parse_qs(urlsplit(page.url).query) == {"q": [FOLLOW_UP], "prev": [FIRST]}
    assert page.locator("#log .interpreted").inner_text() == f"Tolket som: {FIRST} {FOLLOW_UP}"
