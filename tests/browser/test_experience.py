"""A voter's experience that never loses them (issue 14), in a real browser.

Land on the answer on a phone, with and without JavaScript; never drop a question typed while
another loads; title and Back follow the conversation, nothing stored; copy a link and a quote;
say what was answered when the spelling was mended and mark the matched words; print and dark
mode; feedback that says "takk" only when the server took it; compressed pages; the widget's
links and its modal panel on phones; the programme's contents on phones.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote, quote_plus

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_browser import QUESTION, ask_widget, open_widget, violations

SECOND = "Vil dere gjøre bussen billigere?"
NAME = "Spør om MDG Bærums program"
SMALL = {"width": 320, "height": 640}
CALM = {"reduced_motion": "reduce"}  # scrolling is instant, so positions can be read at once


def ask_chat(page, question: str) -> None:
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(question)
    box.press("Enter")


def api(server: str, question: str) -> dict:
    with urllib.request.urlopen(f"{server}/api/ask?q={quote(question)}") as response:
        return json.load(response)


def box_of(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box


def assert_in_view_above_the_question_box(page, locator) -> None:
    """`locator` is on screen, and not behind the sticky question box."""
    seen, form = box_of(locator), box_of(page.locator("#ask .ask-row"))
    assert seen["y"] >= 0
    assert seen["y"] + min(seen["height"], 40) <= form["y"]


# --- 1. Land on the answer -----------------------------------------------------------------


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_a_shared_link_and_a_question_asked_land_on_the_answer_on_a_phone(open_page, server, js):
    page = open_page(PHONE, java_script_enabled=js, **CALM)
    page.goto(f"{server}/?q={quote_plus(QUESTION)}")  # a shared link, no fragment
    assert_in_view_above_the_question_box(page, page.locator("#log .you"))
    assert_in_view_above_the_question_box(page, page.locator("#log blockquote").first)
    if js:
        assert page.evaluate("() => document.activeElement.id") == "svar"
    page.goto(server)
    ask_chat(page, QUESTION)
    if not js:
        page.wait_for_url(re.compile(r"/\?q=hva\+vil\+MDG.*#svar$"))  # the form targets the answer
    page.locator("#log .reply blockquote").first.wait_for()
    assert_in_view_above_the_question_box(page, page.locator("#log .you").last)
    assert page.errors == []


# --- 2. No question dropped ------------------------------------------------------------------


def test_a_question_typed_while_another_loads_waits_its_turn_and_the_wait_is_visible(open_page, server):
    page = open_page(PHONE, **CALM)
    held = []
    page.route(f"{server}/api/ask*", lambda route: held.append(route))
    page.goto(server)
    ask_chat(page, QUESTION)
    ask_chat(page, SECOND)  # while the first is still loading
    log = page.locator("#log")
    assert log.get_attribute("aria-busy") == "true"
    assert page.locator("#log .exchange .you span:last-child").all_inner_texts() == [QUESTION, SECOND]
    waiting = page.locator("#log .status").last
    assert waiting.inner_text() == "Leter i programmet …"
    assert_in_view_above_the_question_box(page, waiting)
    answered = page.locator("#log .exchange .reply")
    for _ in range(200):
        if answered.count() == 2:
            break
        if held:
            held.pop(0).continue_()
        page.wait_for_timeout(50)
    assert answered.count() == 2
    assert log.get_attribute("aria-busy") == "false"
    assert page.locator("#log .exchange .you span:last-child").all_inner_texts() == [QUESTION, SECOND]
    assert page.errors == []


# --- 3. Title, Back, nothing stored ---------------------------------------------------------------


def test_title_follows_the_last_question_and_back_returns_to_the_earlier_answer(open_page, server):
    page = open_page(**CALM)
    page.goto(server)
    assert page.title() == NAME
    ask_chat(page, QUESTION)
    page.locator("#log .reply").first.wait_for()
    assert page.title() == f"{QUESTION} – {NAME}"
    ask_chat(page, SECOND)
    page.locator("#log .reply").nth(1).wait_for()
    assert page.title() == f"{SECOND} – {NAME}"
    page.evaluate("() => { window.sameDocument = true; }")
    page.go_back()
    page.wait_for_url(f"{server}/?q={quote(QUESTION)}")
    assert page.title() == f"{QUESTION} – {NAME}"
    first = box_of(page.locator("#log .exchange").first)
    assert 0 <= first["y"] < DESKTOP["height"] / 2
    page.go_back()
    assert page.title() == NAME
    assert page.evaluate("() => window.sameDocument") is True  # the conversation is still there
    assert page.locator("#log .exchange").count() == 2
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    assert page.context.cookies() == []
    assert page.errors == []


# --- 4. Share and copy -------------------------------------------------------------------------


def test_copy_quote_and_copy_link_give_the_pledge_with_its_source_and_a_link_that_reproduces_it(open_page, server):
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    page.goto(server)
    ask_chat(page, QUESTION)
    pledge = page.locator("#log .pledges li").first
    pledge.wait_for()
    text = pledge.locator("blockquote").text_content()
    cite = pledge.locator("a.cite")
    pledge.get_by_role("button", name="Kopier sitat").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == f"«{text}»\n— MDG Bærum, valgprogrammet, {cite.text_content()}\n{cite.evaluate('a => a.href')}"
    assert cite.evaluate("a => a.href").startswith(f"{server}/program#oslofjorden-")
    page.get_by_role("button", name="Kopier lenke").click()
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link == f"{server}/?q={quote(QUESTION)}#svar"
    again = open_page(java_script_enabled=False)
    again.goto(link)
    assert again.locator("#log blockquote").first.text_content() == text
    assert page.errors == []


def test_a_shared_answer_previews_with_its_question(open_page, server):
    page = open_page(java_script_enabled=False)
    page.goto(f"{server}/?q={quote_plus(QUESTION)}")
    meta = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('meta[property^="og:"], meta[name^="twitter:"]')]
            .map(m => [m.getAttribute('property') || m.getAttribute('name'), m.content]))"""
    )
    assert meta["og:title"] == f"{QUESTION} – {NAME}"
    assert meta["twitter:title"] == f"{QUESTION} – {NAME}"
    assert meta["twitter:card"] == "summary"
    assert meta["og:url"] == f"{server}/?q={quote(QUESTION)}"
    assert meta["og:description"] and meta["og:type"] == "website"


# --- 5. What the service understood ------------------------------------------------------------

MISSPELT = "hva vil dere gjøre med oslofjordn?"  # one letter missing


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_a_mended_question_says_what_was_answered_and_links_to_asking_exactly_what_was_typed(open_page, server, js):
    body = api(server, MISSPELT)
    assert body["question"] == MISSPELT
    assert body["corrected"] == "hva vil dere gjøre med oslofjorden?"
    with urllib.request.urlopen(f"{server}/api/ask?q={quote(MISSPELT)}&exact=1") as response:
        assert json.load(response)["corrected"] is None
    page = open_page(java_script_enabled=js)
    page.goto(server)
    ask_chat(page, MISSPELT)
    note = page.locator("#log .mended")
    note.wait_for()
    assert " ".join(note.inner_text().split()) == (
        f"Viser svar for: {body['corrected']} Spør om nøyaktig det du skrev: {MISSPELT}"
    )
    typed = note.get_by_role("link", name=MISSPELT)
    assert typed.evaluate("a => a.href") in {
        f"{server}/?q={quote(MISSPELT)}&exact=1#svar",
        f"{server}/?q={quote_plus(MISSPELT)}&exact=1#svar",
    }
    assert page.locator("#log .mended").count() == 1
    typed.click()  # asks exactly what was typed: answered, and nothing mended this time
    exchanges = page.locator("#log .exchange")
    exchanges.last.locator(".reply").wait_for()
    if js:  # asked in the conversation, which stays
        expect_count(exchanges, 2)
        assert re.search(r"[?&]exact=1", page.url)
    else:  # the page of that question, answered on the server
        page.wait_for_url(re.compile(r"exact=1#svar$"))
        expect_count(exchanges, 1)
    assert exchanges.last.locator(".you span:last-child").inner_text() == MISSPELT
    assert exchanges.last.locator(".mended").count() == 0
    assert page.errors == []


def expect_count(locator, n: int) -> None:
    for _ in range(100):
        if locator.count() == n:
            return
        locator.page.wait_for_timeout(50)
    assert locator.count() == n


def test_the_widgets_mended_note_asks_exactly_what_was_typed_in_the_widget(open_page, host_site, server):
    page = open_page()
    page.goto(f"{host_site}/plain")
    open_widget(page)
    ask_widget(page, MISSPELT)
    note = page.locator("mdg-sporsmal .mended")
    note.wait_for()
    typed = note.get_by_role("link", name=MISSPELT)
    assert typed.get_attribute("href") == f"{server}/?q={quote(MISSPELT)}&exact=1#svar"
    with page.expect_request(re.compile(r"/api/ask\?.*exact=1")) as asked:
        typed.click()
    assert "exact=1" in asked.value.url
    exchanges = page.locator("mdg-sporsmal .exchange")
    expect_count(exchanges, 2)
    exchanges.last.locator(".reply").wait_for()
    assert exchanges.last.locator(".mended").count() == 0
    assert page.url == f"{host_site}/plain"  # the host's page stays


def test_the_words_that_matched_are_marked_and_the_quote_stays_verbatim(open_page, server):
    body = api(server, QUESTION)
    for js in (True, False):
        page = open_page(java_script_enabled=js)
        page.goto(server)
        ask_chat(page, QUESTION)
        quotes = page.locator("#log blockquote")
        quotes.first.wait_for()
        shown = {q.text_content() for q in quotes.all()}
        assert shown <= {r["text"] for r in body["results"]}  # verbatim: only emphasis was added
        marks = page.locator("#log blockquote mark").all_text_contents()
        assert marks and all(m.lower().startswith("oslof") for m in marks)


# --- 6. Print and dark mode ------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"/?q={quote_plus(QUESTION)}", "/program#oslofjorden-3"])
def test_dark_mode_is_dark_and_clean(open_page, server, axe_source, path):
    page = open_page(PHONE, bypass_csp=True, color_scheme="dark")
    page.goto(server + path)
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 21, 18)"
    assert violations(page, axe_source) == []


def test_print_shows_the_answer_with_its_citation_urls_and_none_of_the_controls(open_page, server, axe_source):
    page = open_page(bypass_csp=True)
    page.goto(f"{server}/?q={quote_plus(QUESTION)}")
    page.locator("#log .copy").first.wait_for()  # chat.js has added its buttons
    page.emulate_media(media="print")
    hidden = "s => [...document.querySelectorAll(s)].every(e => getComputedStyle(e).display === 'none')"
    for selector in [".ask", ".top nav", ".copy", ".tools", ".examples", ".fb"]:
        assert page.evaluate(hidden, selector), selector
    cite = page.locator("#log a.cite").first
    printed = cite.evaluate("a => getComputedStyle(a, '::after').content")
    assert f"{server}/program#oslofjorden-" in printed
    assert page.locator("#log .reply").evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    assert page.locator("#log .you").evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    assert violations(page, axe_source) == []


# --- 7. Feedback -------------------------------------------------------------------------------


def with_ask_id(route):  # as if the question log were on
    response = route.fetch()
    body = response.text().replace('<article class="exchange">', '<article class="exchange" data-ask-id="srv1">')
    route.fulfill(response=response, body=body)


def test_feedback_has_labelled_icons_and_says_takk_only_when_the_server_took_it(open_page, server):
    page = open_page(PHONE)
    replies = ["down", 500, 204]
    posted = []

    def feedback(route):
        posted.append(json.loads(route.request.post_data))
        reply = replies.pop(0)
        if reply == "down":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=reply, json={"detail": "nei"} if reply == 500 else None)

    page.route(re.compile(r"/\?q="), with_ask_id)
    page.route(f"{server}/api/feedback", feedback)
    page.goto(f"{server}/?q=sykkel")
    yes = page.get_by_role("button", name="Ja, nyttig")
    assert yes.inner_text().strip() == "Ja, nyttig"  # a text label, not an emoji alone
    assert yes.locator("svg").count() == 1
    for button in [yes, page.get_by_role("button", name="Nei, ikke nyttig")]:
        size = box_of(button)
        assert size["width"] >= 44 and size["height"] >= 44
    yes.click()
    down = page.get_by_role("alert").filter(has_text="Tjenesten svarer ikke")
    down.wait_for()
    assert "Feilen er hos oss, ikke hos deg" in down.inner_text()
    assert page.get_by_text("Takk for tilbakemeldingen!").count() == 0
    page.get_by_role("button", name="Prøv igjen").click()
    page.get_by_text("Tilbakemeldingen ble ikke lagret.").wait_for()
    assert page.get_by_text("Takk for tilbakemeldingen!").count() == 0
    page.get_by_role("button", name="Prøv igjen").click()
    page.get_by_text("Takk for tilbakemeldingen!").wait_for()
    assert posted == [{"ask_id": "srv1", "helpful": True}] * 3


def test_a_question_the_service_could_not_take_can_be_sent_again(open_page, server):
    page = open_page()
    page.route(f"{server}/api/ask*", lambda route: route.abort("connectionrefused"))
    page.goto(server)
    ask_chat(page, QUESTION)
    error = page.locator("#log .err")
    error.wait_for()
    assert error.inner_text() == "Tjenesten svarer ikke akkurat nå. Feilen er hos oss, ikke hos deg: prøv igjen om litt."
    page.unroute_all(behavior="ignoreErrors")
    page.get_by_role("button", name="Prøv igjen").click()
    page.locator("#log .reply blockquote").first.wait_for()
    assert page.locator("#log .err").count() == 0 and page.locator("#log .exchange").count() == 1


# --- 8. Compressed --------------------------------------------------------------------------------


def test_answer_pages_are_served_compressed(open_page, server):
    page = open_page()
    response = page.goto(f"{server}/?q={quote_plus(QUESTION)}")
    assert response.all_headers().get("content-encoding") == "gzip"
    sizes = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0]; return [n.encodedBodySize, n.decodedBodySize]; }"
    )
    assert 0 < sizes[0] < sizes[1] / 2


# --- 9. The widget ------------------------------------------------------------------------------


def test_widget_citations_open_in_a_new_tab_and_the_host_page_stays(open_page, host_site, server):
    page = open_page()
    page.goto(f"{host_site}/plain")
    open_widget(page)
    ask_widget(page)
    cites = page.locator("mdg-sporsmal .reply a.cite")
    cites.first.wait_for()
    assert {(c.get_attribute("target"), c.get_attribute("rel")) for c in cites.all()} == {("_blank", "noopener")}
    with page.context.expect_page() as opened:
        cites.first.click()
    opened.value.wait_for_load_state()
    assert opened.value.url.startswith(f"{server}/program#oslofjorden-")
    assert page.url == f"{host_site}/plain"
    assert page.locator("mdg-sporsmal .reply").count() == 1  # the conversation is still there


def test_widget_on_a_phone_is_a_modal_dialog_that_holds_focus_and_the_page(open_page, host_site):
    page = open_page(PHONE)
    page.goto(f"{host_site}/plain")
    launcher = open_widget(page)
    dialog = page.get_by_role("dialog", name="Spør MDG Bærum")
    assert dialog.get_attribute("aria-modal") == "true"
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflow") == "hidden"
    inside = "() => { const a = document.activeElement; const r = a.shadowRoot; return !!(r && r.activeElement && r.activeElement.closest('.panel')); }"
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        assert page.evaluate(inside), key
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert page.evaluate("() => document.activeElement.shadowRoot.activeElement.className") == "launch"
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflow") == "visible"


def test_widget_on_a_desktop_is_not_modal(open_page, host_site):
    page = open_page()
    page.goto(f"{host_site}/plain")
    open_widget(page)
    assert page.get_by_role("dialog", name="Spør MDG Bærum").get_attribute("aria-modal") == "false"
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflow") == "visible"


# --- 10. The programme on a phone ------------------------------------------------------------------


def test_programme_contents_fold_on_a_phone_and_back_to_top_returns(open_page, server):
    page = open_page(PHONE, **CALM)
    page.goto(f"{server}/program")
    fold = page.locator("details.toc-fold")
    assert fold.evaluate("d => d.open") is False  # the programme starts on the first screen
    assert box_of(page.locator(".doc h1"))["y"] < PHONE["height"]
    page.get_by_text("Innhold", exact=True).click()
    assert fold.evaluate("d => d.open") is True
    link = page.locator(".toc a[href='#oslofjorden']")
    link.click()
    assert fold.evaluate("d => d.open") is False
    assert 0 <= box_of(page.locator("#oslofjorden h3"))["y"] < PHONE["height"] / 2
    top = page.get_by_role("link", name="Til toppen")
    assert top.is_visible()
    top.click()
    assert page.evaluate("() => scrollY") < 100
    assert page.errors == []


def test_a_linked_pledge_deep_in_its_section_shows_the_heading_and_vi_vil_above_it(open_page, server):
    page = open_page(PHONE, **CALM)
    page.goto(f"{server}/program")
    last = page.evaluate(  # the last pledge of the longest section, far below its heading
        "() => [...document.querySelectorAll('.doc .section')].sort((a, b) => b.querySelectorAll('.pledges > li').length"
        " - a.querySelectorAll('.pledges > li').length)[0].querySelector('.pledges > li:last-child').id"
    )
    page.goto(f"{server}/program#{last}")
    page.wait_for_load_state("load")
    pledge = page.locator(f"li#{last}")
    section = page.locator(f".doc .section:has(li#{last})")
    head, vivil = box_of(section.locator("> h3")), box_of(section.locator("> .vivil"))
    shown = box_of(pledge)
    assert section.locator("> h3").evaluate("h => getComputedStyle(h).position") == "sticky"
    assert 0 <= head["y"] and head["y"] + head["height"] <= vivil["y"] + 1  # heading, then "Vi vil:"
    assert vivil["y"] + vivil["height"] <= shown["y"] + 1  # then the pledge, not hidden under them
    assert shown["y"] + min(shown["height"], 80) <= PHONE["height"]  # and the pledge on screen
    assert page.errors == []


@pytest.mark.parametrize("path", ["/program", "/program#oslofjorden-8", "/", f"/?q={quote_plus(QUESTION)}"])
def test_nothing_scrolls_sideways_at_320_px(open_page, server, path):
    page = open_page(SMALL)
    page.goto(server + path)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= SMALL["width"]
    assert page.evaluate("() => scrollX") == 0

