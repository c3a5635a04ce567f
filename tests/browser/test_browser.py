"""What voters touch, in a real browser: the widget on another site, the chat page, the programme.

The real model answers, so assertions are those any sensible ranking satisfies: "hva vil MDG med
Oslofjorden?" brings at least three pledges from the Oslofjorden section.
"""

from __future__ import annotations

import json
import re

import pytest

from qa.answering.limits import MAX_QUESTION
from qa.questionlog.store import MAX_COMMENT
from tests.browser.conftest import DESKTOP, PHONE

QUESTION = "hva vil MDG med Oslofjorden?"
OSLOFJORDEN_CITE = re.compile(r"^Oslofjorden · punkt \d+ · s\. \d+$")
SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


def cited_oslofjorden(links, server: str) -> list[str]:
    """The hrefs of citation links that cite an Oslofjorden pledge."""
    found = []
    for link in links.all():
        href = link.get_attribute("href")
        if OSLOFJORDEN_CITE.match(link.inner_text().strip()):
            assert href.startswith(f"{server}/program#oslofjorden-") or href.startswith("/program#oslofjorden-")
            found.append(href)
    return found


def open_widget(page):
    """Click the launcher, found as a voter's screen reader names it."""
    launcher = page.get_by_role("button", name="Spør om programmet")
    launcher.click()
    return launcher


def ask_widget(page, question: str = QUESTION):
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(question)
    box.press("Enter")


# --- The widget on the party's site ------------------------------------------------------------


@SIZES
def test_widget_on_another_site_answers_with_cited_oslofjorden_pledges(open_page, host_site, server, viewport):
    page = open_page(viewport)
    page.goto(f"{host_site}/plain")
    launcher = open_widget(page)
    assert launcher.get_attribute("aria-expanded") == "true"
    dialog = page.get_by_role("dialog", name="Spør MDG Bærum")
    assert dialog.is_visible()
    ask_widget(page)
    cites = page.locator("mdg-sporsmal .reply a.cite")
    cites.first.wait_for()
    assert len(cited_oslofjorden(cites, server)) >= 3
    assert page.locator("mdg-sporsmal .you").inner_text().endswith(QUESTION)
    assert page.locator("mdg-sporsmal .part").first.inner_text() == "Et bærekraftig Bærum"
    assert page.get_by_role("textbox", name="Ditt spørsmål").evaluate("e => getComputedStyle(e).fontSize") == "16px"
    # A cached answer can arrive before the panel's opening animation (translateY) has ended.
    dialog.evaluate("e => Promise.all(e.getAnimations().map((a) => a.finished))")
    box = dialog.bounding_box()
    if viewport == PHONE:
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, PHONE["width"], PHONE["height"])
    else:
        assert box["width"] <= 400 and box["x"] + box["width"] <= DESKTOP["width"]
    assert page.errors == []


def test_widget_talks_only_to_its_own_server_and_sets_no_cookies(open_page, host_site, server):
    page = open_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{host_site}/plain")
    open_widget(page)
    ask_widget(page)
    page.locator("mdg-sporsmal .reply").wait_for()
    origins = {re.match(r"^https?://[^/]+", url).group(0) for url in requests}
    assert origins == {host_site, server}
    assert [u for u in requests if u.startswith(server)] == [
        f"{server}/widget.js",
        f"{server}/api/ask?q=hva%20vil%20MDG%20med%20Oslofjorden%3F",
    ]
    assert page.context.cookies() == []
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0


def test_widget_escape_closes_the_panel_and_returns_focus_to_the_launcher(open_page, host_site):
    page = open_page()
    page.goto(f"{host_site}/plain")
    launcher = open_widget(page)
    assert page.evaluate("() => document.activeElement.shadowRoot.activeElement.id") == "q"
    page.keyboard.press("Escape")
    assert launcher.get_attribute("aria-expanded") == "false"
    assert not page.get_by_role("dialog").is_visible()
    assert page.evaluate("() => document.activeElement.shadowRoot.activeElement.className") == "launch"
    # Keyboard only: Tab to the launcher, Enter opens it.
    page.keyboard.press("Enter")
    assert launcher.get_attribute("aria-expanded") == "true"


def test_widget_shows_a_focus_ring(open_page, host_site):
    page = open_page()
    page.goto(f"{host_site}/plain")
    page.locator("#host-button").focus()
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "() => { const e = document.activeElement.shadowRoot.activeElement;"
        " const s = getComputedStyle(e); return [e.className, s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline == ["launch", "solid", "3px"]


@pytest.mark.parametrize(("motion", "animation"), [("no-preference", "up"), ("reduce", "none")])
def test_widget_animates_only_for_those_who_have_not_asked_for_reduced_motion(open_page, host_site, motion, animation):
    page = open_page(reduced_motion=motion)
    page.goto(f"{host_site}/plain")
    open_widget(page)
    assert page.get_by_role("dialog").evaluate("e => getComputedStyle(e).animationName") == animation


def test_widget_example_questions_ask_with_one_click(open_page, host_site, server):
    page = open_page()
    page.goto(f"{host_site}/plain")
    open_widget(page)
    page.get_by_role("button", name="Hva vil MDG med Oslofjorden?").click()
    cites = page.locator("mdg-sporsmal .reply a.cite")
    cites.first.wait_for()
    assert len(cited_oslofjorden(cites, server)) >= 3


def test_widget_is_configured_by_data_attributes(open_page, host_site):
    page = open_page()
    page.goto(f"{host_site}/configured")
    launcher = page.get_by_role("button", name="Ask about the programme")
    box = launcher.bounding_box()
    assert box["x"] < DESKTOP["width"] / 2  # data-position="left"
    colours = launcher.evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]")
    assert colours == ["rgb(255, 212, 0)", "rgb(17, 17, 17)"]  # light accent -> dark text, >= 4.5:1
    launcher.click()
    assert page.get_by_role("dialog", name="Ask the Greens").is_visible()
    assert page.get_by_text("Hello from the test.").is_visible()
    examples = page.locator("mdg-sporsmal .ex button")
    assert examples.all_inner_texts() == ["Cycling?", "Oslofjord?"]
    page.get_by_role("textbox", name="Your question").fill("What will MDG do about the Oslofjord?")
    page.keyboard.press("Enter")
    page.locator("mdg-sporsmal .reply").wait_for()
    assert re.search(r" · item \d+ · p\. \d+$", page.locator("mdg-sporsmal .cite").first.inner_text())


def test_widget_works_on_a_site_with_a_strict_content_security_policy(open_page, host_site, server):
    page = open_page()
    page.goto(f"{host_site}/strict")
    launcher = open_widget(page)
    assert launcher.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 122, 58)"
    ask_widget(page)
    cites = page.locator("mdg-sporsmal .reply a.cite")
    cites.first.wait_for()
    assert len(cited_oslofjorden(cites, server)) >= 3
    assert page.errors == []


def test_host_page_css_and_widget_css_do_not_leak_into_each_other(open_page, host_site):
    page = open_page()
    page.goto(f"{host_site}/hostile")
    launcher = open_widget(page)
    style = launcher.evaluate("e => [getComputedStyle(e).fontSize, getComputedStyle(e).backgroundColor]")
    assert style == ["16px", "rgb(31, 122, 58)"]
    assert page.get_by_role("textbox", name="Ditt spørsmål").is_visible()
    host_button = page.locator("#host-button").evaluate("e => getComputedStyle(e).fontSize")
    assert host_button == "40px"  # the host's own rules still apply to the host's own buttons


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            {
                "status": 429,
                "headers": {"Retry-After": "30"},
                "body": {"detail": "Du har stilt mange spørsmål på kort tid. Vent 30 sekunder og prøv igjen."},
            },
            "Du har stilt mange spørsmål på kort tid. Vent 30 sekunder og prøv igjen.",
        ),
        ({"status": 429, "body": "Too Many Requests"}, "Mange spør akkurat nå. Vent litt og prøv igjen."),
        ({"status": 503, "body": "Service Unavailable"}, "Noe gikk galt hos oss. Prøv igjen om litt."),
        (
            {"status": 422, "body": {"detail": "Spørsmålet må inneholde bokstaver eller tall."}},
            "Spørsmålet må inneholde bokstaver eller tall.",
        ),
        # Unreachable while online: the service is down, not the voter's connection (issue 14).
        ("abort", "Tjenesten svarer ikke akkurat nå. Feilen er hos oss, ikke hos deg: prøv igjen om litt."),
        ("slow", "Tjenesten bruker for lang tid på å svare. Prøv igjen om litt."),
    ],
    ids=["429", "429-without-detail", "503", "422", "unreachable", "slow"],
)
def test_widget_explains_kindly_when_the_server_cannot_answer(open_page, host_site, server, reply, message):
    page = open_page()

    def handle(route):
        if reply == "abort":
            route.abort("connectionrefused")
        elif reply == "slow":
            pass  # never answered: the widget gives up after the page's data-timeout of 400 ms
        else:
            body = reply["body"]
            route.fulfill(
                status=reply["status"],
                headers={"Access-Control-Allow-Origin": "*", **reply.get("headers", {})},
                body=json.dumps(body) if isinstance(body, dict) else body,
                content_type="application/json" if isinstance(body, dict) else "text/plain",
            )

    page.route(f"{server}/api/ask*", handle)
    page.goto(f"{host_site}/fast-timeout")
    open_widget(page)
    ask_widget(page, "hei")
    error = page.locator("mdg-sporsmal .err")
    error.wait_for()
    assert error.inner_text() == message
    # The question is kept so the voter can send it again.
    assert page.get_by_role("textbox", name="Ditt spørsmål").input_value() == "hei"
    page.unroute_all(behavior="ignoreErrors")


def test_widget_feedback_sends_a_verdict_then_an_optional_comment(open_page, host_site, server):
    page = open_page()
    cors = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type",
    }
    posted = []

    def feedback(route):
        if route.request.method == "POST":
            posted.append(json.loads(route.request.post_data))
        route.fulfill(status=204, headers=cors)

    # A server with the question log on answers with an ask_id.
    answer = {
        "question": "hva med ulv?",
        "coverage": "not_covered",
        "answered": False,
        "smalltalk": None,
        "results": [],
        "ask_id": "abc123",
    }
    page.route(f"{server}/api/ask*", lambda route: route.fulfill(status=200, headers=cors, json=answer))
    page.route(f"{server}/api/feedback", feedback)
    page.goto(f"{host_site}/plain")
    open_widget(page)
    ask_widget(page, "hva med ulv?")
    page.get_by_role("button", name="Nei, ikke nyttig").click()
    comment = page.get_by_role("textbox", name="Hva manglet? (valgfritt)")
    assert comment.get_attribute("maxlength") == str(MAX_COMMENT)  # the server's limit, as served
    focused = page.evaluate("() => document.activeElement.shadowRoot.activeElement.placeholder")
    assert focused == "Hva manglet? (valgfritt)"
    comment.fill("Noe om båtliv")
    comment.press("Enter")
    page.get_by_text("Takk for tilbakemeldingen!").wait_for()
    assert posted == [
        {"ask_id": "abc123", "helpful": False},
        {"ask_id": "abc123", "helpful": False, "comment": "Noe om båtliv"},
    ]


def test_widget_and_chat_page_take_no_longer_question_than_the_server_allows(open_page, host_site, server):
    page = open_page()
    page.goto(f"{host_site}/plain")
    open_widget(page)
    widget_box = page.get_by_role("textbox", name="Ditt spørsmål")
    assert widget_box.get_attribute("maxlength") == str(MAX_QUESTION)
    widget_box.fill("a" * (MAX_QUESTION + 10))
    assert len(widget_box.input_value()) == MAX_QUESTION
    page.goto(server)
    chat_box = page.get_by_role("textbox", name="Ditt spørsmål")
    assert chat_box.get_attribute("maxlength") == str(MAX_QUESTION)


# --- The chat page -----------------------------------------------------------------------------


@SIZES
def test_chat_page_answers_with_cited_oslofjorden_pledges_without_reloading(open_page, server, viewport):
    page = open_page(viewport)
    page.goto(server)
    page.evaluate("() => { window.sameDocument = true; }")
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(QUESTION)
    box.press("Enter")
    cites = page.locator("#log .exchange a.cite")
    cites.first.wait_for()
    assert len(cited_oslofjorden(cites, server)) >= 3
    assert box.input_value() == ""
    assert page.url == f"{server}/?q=hva%20vil%20MDG%20med%20Oslofjorden%3F"
    # A second question joins the conversation; the page was never reloaded.
    page.get_by_role("link", name="Vil dere gjøre bussen billigere?").click()
    page.locator("#log .exchange .reply").nth(1).wait_for()
    assert page.locator("#log .exchange").count() == 2
    assert page.evaluate("() => window.sameDocument") is True
    assert box.evaluate("e => getComputedStyle(e).fontSize") == "16px"
    assert page.errors == []


@pytest.mark.parametrize("path", ["/", "/?q=hva+vil+MDG+med+Oslofjorden%3F", "/program#oslofjorden-8"])
def test_pages_fit_a_phone_screen_without_sideways_scrolling(open_page, server, path):
    page = open_page(PHONE)
    page.goto(server + path)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("() => scrollX") == 0


def test_chat_page_offers_feedback_on_an_answer_rendered_by_the_server(open_page, server):
    page = open_page()

    def with_ask_id(route):  # as if the question log were on
        response = route.fetch()
        body = response.text().replace('<article class="exchange">', '<article class="exchange" data-ask-id="srv1">')
        route.fulfill(response=response, body=body)

    posted = []

    def feedback(route):
        posted.append(json.loads(route.request.post_data))
        route.fulfill(status=204)

    page.route(re.compile(r"/\?q="), with_ask_id)
    page.route(f"{server}/api/feedback", feedback)
    page.goto(f"{server}/?q=sykkel")
    page.get_by_role("button", name="Ja, nyttig").click()
    page.get_by_text("Takk for tilbakemeldingen!").wait_for()
    assert posted == [{"ask_id": "srv1", "helpful": True}]
    assert page.errors == []


def test_chat_page_answers_with_javascript_off(open_page, server):
    page = open_page(java_script_enabled=False)
    page.goto(server)
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(QUESTION)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/\?q=hva\+vil\+MDG"))
    cites = page.locator("#log .exchange a.cite")
    assert len(cited_oslofjorden(cites, server)) >= 3


def test_a_citation_leads_to_its_pledge_highlighted_in_the_programme(open_page, server):
    page = open_page()
    page.goto(f"{server}/?q=hva+vil+MDG+med+Oslofjorden%3F")
    cite = page.locator("#log a.cite").first
    href = cite.get_attribute("href")
    pledge_text = page.locator("#log blockquote").first.inner_text()
    cite.click()
    page.wait_for_url(f"{server}{href}")
    target = page.locator(f"li#{href.split('#')[1]}")
    assert target.locator(".text").inner_text() == pledge_text
    assert target.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 243, 191)"
    assert target.is_visible()
    assert 0 <= target.bounding_box()["y"] < DESKTOP["height"]


def test_chat_page_and_programme_run_under_their_own_csp(open_page, server):
    page = open_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    for path in ["/", "/?q=sykkel", "/program"]:
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
    assert violations == []
    assert page.errors == []


# --- Accessibility -----------------------------------------------------------------------------


def violations(page, axe_source: str, impacts=("minor", "moderate", "serious", "critical")) -> list[str]:
    """axe-core's violations on the page (open shadow roots included) of the given impacts."""
    page.evaluate(axe_source)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def serious_violations(page, axe_source: str) -> list[str]:
    return violations(page, axe_source, ("serious", "critical"))


def test_the_accessibility_check_finds_a_known_violation(open_page, axe_source):
    page = open_page()
    page.set_content('<html lang="nb"><title>x</title><main><img src="data:,"></main></html>')
    assert [v.split(" ")[0] for v in serious_violations(page, axe_source)] == ["image-alt"]


@SIZES
def test_chat_page_has_no_serious_accessibility_violations(open_page, server, axe_source, viewport):
    page = open_page(viewport, bypass_csp=True)  # axe is injected as a script
    page.goto(server)
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(QUESTION)
    box.press("Enter")
    page.locator("#log .reply").wait_for()
    page.get_by_role("textbox", name="Ditt spørsmål").fill("hvem vinner fotball-VM?")
    page.keyboard.press("Enter")
    page.locator("#log .reply").nth(1).wait_for()
    assert serious_violations(page, axe_source) == []


@SIZES
def test_programme_page_has_no_serious_accessibility_violations(open_page, server, axe_source, viewport):
    page = open_page(viewport, bypass_csp=True)
    page.goto(f"{server}/program#oslofjorden-3")
    assert serious_violations(page, axe_source) == []


@SIZES
def test_open_widget_has_no_serious_accessibility_violations(open_page, host_site, axe_source, viewport):
    page = open_page(viewport)
    page.goto(f"{host_site}/plain")
    open_widget(page)
    ask_widget(page)
    page.locator("mdg-sporsmal .reply").wait_for()
    assert serious_violations(page, axe_source) == []
