"""The four kinds of reply (answered, related, not covered, smalltalk), in a real browser: on the
chat page with JavaScript and without it, and in the widget on the party's site.

The JavaScript renderers are held to the contract: /api/ask is fulfilled with the server's own
answer to a real question, moved into each band (README, "What /api/ask returns"). The page drawn
on the server gets real questions only where the band is clear-cut (a pledge asked word for word;
"hei"); otherwise `force_band` makes the real answerer answer in a given band. Both renderers must
then draw the same markup for the same answer, and each links sections by the JSON's
`section_id`: on the twin programme (two sections titled "Samferdsel"), a renderer that went by
title, or derived a section from a pledge id, would link one of them wrongly.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote, quote_plus

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_browser import QUESTION, open_widget, violations
from tests.test_web_sections import BUS, GREEN, ROADS, SAFE

VERBATIM = "forby all form for tråling i Oslofjorden"  # pledge oslofjorden-3, word for word
FIELDS = {"question", "coverage", "answered", "smalltalk", "corrected", "answering", "results", "programme"}
RESULT_FIELDS = {"id", "text", "part", "part_id", "section", "section_id", "number", "page", "score", "url", "programme"}
# The twin programme's answer: both sections titled "Samferdsel", interleaved, then another.
TWIN_HITS = [f"{ROADS}-1", "samferdsel-1", f"{ROADS}-2", "samferdsel-2", "skole-1"]

# What a voter reads; the same words as the spec of issue 10, not read from the code under test.
WORDS = {
    "nb": {
        "related": "Nærmeste treff Programmet svarer ikke direkte på dette. Dette er det nærmeste:",
        "none": "Programmet ser ikke ut til å si noe om dette.",
        "near": "Nærmeste tema i programmet:",
        "anyway": "Vis de nærmeste punktene likevel",
        "more": "Flere punkter som ligger nær spørsmålet",
        "greeting": "Hei! Spør meg om hva MDG Bærum vil gjøre – for eksempel om skole, buss eller natur. "
        "Svarene er sitater fra programmet.",
        "thanks": "Bare hyggelig! Spør gjerne om noe mer.",
        "notice": "Svarene velges automatisk av et søkeprogram fra programmets egen tekst; "
        "ingenting er skrevet av en maskin.",
    },
    "en": {
        "related": "Closest match The programme does not answer this directly. This is the closest it comes:",
        "none": "The programme does not seem to say anything about this.",
        "near": "Closest topics in the programme:",
        "anyway": "Show the nearest pledges anyway",
        "more": "More pledges close to the question",
        "greeting": "Hi! Ask me what MDG Bærum wants to do – for example about schools, buses or nature. "
        "The answers are quotes from the programme.",
        "thanks": "You’re welcome! Feel free to ask something else.",
        "notice": "Answers are picked automatically by a search program from the programme’s own text; "
        "nothing is machine-written.",
    },
}
KINDS = pytest.mark.parametrize(
    ("coverage", "smalltalk"),
    [("answered", None), ("related", None), ("not_covered", None), ("not_covered", "greeting"), ("not_covered", "thanks")],
    ids=["answered", "related", "not_covered", "greeting", "thanks"],
)
CORS = {"Access-Control-Allow-Origin": "*"}


def api_answer(server: str, question: str) -> dict:
    """The server's own /api/ask answer to `question`, checked to have the documented fields."""
    with urllib.request.urlopen(f"{server}/api/ask?q={quote(question)}") as response:
        body = json.load(response)
    assert set(body) == FIELDS  # no question log in these tests, so no ask_id
    assert body["answered"] is (body["coverage"] == "answered")
    assert all(set(r) == RESULT_FIELDS for r in body["results"])
    return body


def in_band(body: dict, coverage: str, smalltalk: str | None) -> dict:
    """`body` moved into a band, as the server would send it there (`answering` as qa.answer counts it)."""
    from qa.answer import close_to_best

    answering = close_to_best([r["score"] for r in body["results"]])
    moved = {**body, "coverage": coverage, "answered": coverage == "answered", "smalltalk": smalltalk}
    return {**moved, "answering": answering if coverage == "answered" and not smalltalk else 0}


def grouped(results: list[dict]) -> list[str]:
    """Result urls in the order both renderers show them: by section, sections by their best result."""
    sections: dict[str, list[str]] = {}
    for r in results:
        sections.setdefault(r["section_id"], []).append(r["url"])
    return [url for urls in sections.values() for url in urls]


def sections_of(results: list[dict]) -> list[tuple[str, str, str]]:
    """(link, title, part) of each section of `results`, by `section_id`, in order of its best result."""
    seen: dict[str, tuple[str, str, str]] = {}
    for r in results:
        seen.setdefault(r["section_id"], (f"/program#{r['section_id']}", r["section"], r["part"]))
    return list(seen.values())


def drawn_sections(reply, server: str, groups: str = ".group") -> list[tuple[str, str, str]]:
    """(link, title, part) of each group of pledges a reply draws (those `groups` selects)."""
    return [
        (hrefs(g.locator("h3.sec a"), server)[0], g.locator("h3.sec").text_content(), g.locator(".part").text_content())
        for g in reply.locator(groups).all()
    ]


def hrefs(links, server: str) -> list[str]:
    return [link.evaluate("a => a.href").removeprefix(server) for link in links.all()]


def check_reply(reply, body: dict, lang: str, server: str) -> None:
    """`reply` (a .reply element) shows `body` the way its band should look, in `lang`."""
    words = WORDS[lang]
    kind = "smalltalk" if body["smalltalk"] else body["coverage"]
    results = body["results"]
    cites = reply.locator("a.cite")
    assert reply.get_attribute("class") == f"reply {kind}"
    framed = reply.evaluate("e => getComputedStyle(e).borderTopStyle")
    assert (framed == "dashed") is (kind == "related")  # related looks unlike a confident answer
    if kind == "smalltalk":
        assert reply.inner_text().strip() == words[body["smalltalk"]]
        assert cites.count() == 0 and reply.locator("blockquote, a, details").count() == 0
    elif kind == "answered":
        lead, rest = results[: body["answering"]], results[body["answering"] :]
        assert lead, "an answered reply answers with its first result at least"
        assert hrefs(reply.locator(":scope > .group a.cite"), server) == grouped(lead)
        assert drawn_sections(reply, server, ":scope > .group") == sections_of(lead)
        assert all(c.is_visible() for c in reply.locator(":scope > .group a.cite").all())
        assert words["none"] not in reply.inner_text() and reply.locator(".band").count() == 0
        # The rest are close to the question, not its answer: apart, behind a <details>.
        assert hrefs(reply.locator("details.anyway a.cite"), server) == grouped(rest)
        if rest:
            assert reply.locator("details.anyway > summary").inner_text() == words["more"]
        else:
            assert reply.locator("details").count() == 0
    elif kind == "related":
        assert " ".join(reply.locator(".band").text_content().split()) == words["related"]
        assert reply.locator(".band .label").is_visible()  # a label, not colour alone
        assert hrefs(cites, server) == grouped(results[:3])
        assert drawn_sections(reply, server) == sections_of(results[:3])
        assert all(c.is_visible() for c in cites.all())
        assert reply.locator("details").count() == 0
    else:
        assert reply.locator(".none").inner_text() == words["none"]
        assert reply.locator(".near-label").inner_text() == words["near"]
        near = reply.locator(".near a")
        assert list(zip(hrefs(near, server), near.all_text_contents())) == [
            (link, title) for link, title, _ in sections_of(results)[:3]
        ]
        summary = reply.locator("details.anyway > summary")
        assert summary.inner_text() == words["anyway"]
        assert hrefs(cites, server) == grouped(results[:3])
        assert drawn_sections(reply, server) == sections_of(results[:3])
        assert not any(c.is_visible() for c in cites.all())  # folded away until asked for
        summary.click()
        assert all(c.is_visible() for c in cites.all())


def ask_chat(page, question: str) -> None:
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill(question)
    box.press("Enter")


# --- The chat page with JavaScript: chat.js draws the API's answer ---------------------------


@KINDS
def test_chat_page_with_javascript_draws_each_kind_of_reply_from_the_api(
    open_page, server, axe_source, coverage, smalltalk
):
    body = in_band(api_answer(server, QUESTION), coverage, smalltalk)
    page = open_page(bypass_csp=True)  # axe is injected as a script
    page.route(f"{server}/api/ask*", lambda route: route.fulfill(json=body))
    page.goto(server)
    ask_chat(page, QUESTION)
    reply = page.locator("#log .reply")
    reply.wait_for()
    check_reply(reply, body, "nb", server)  # for not_covered, this also opens the <details>
    assert violations(page, axe_source) == []  # none at all, of any impact
    assert page.errors == []


# --- The chat page without JavaScript: the server draws it -----------------------------------


@pytest.mark.parametrize(
    ("question", "forced", "expected"),
    [
        (VERBATIM, None, ("answered", None)),
        ("hei", None, ("not_covered", "greeting")),
        ("takk!", None, ("not_covered", "thanks")),
        (QUESTION, "related", ("related", None)),
        ("hvem vinner fotball-VM?", "not_covered", ("not_covered", None)),
    ],
    ids=["answered", "greeting", "thanks", "related", "not_covered"],
)
def test_chat_page_without_javascript_draws_each_kind_of_reply(open_page, server, force_band, question, forced, expected):
    if forced:
        force_band(forced)
    body = api_answer(server, question)
    assert (body["coverage"], body["smalltalk"]) == expected
    if question == VERBATIM:
        assert body["results"][0]["id"] == "oslofjorden-3"
    page = open_page(java_script_enabled=False)
    page.goto(server)
    ask_chat(page, question)
    page.wait_for_url(f"{server}/?q={quote_plus(question)}#svar")  # the form targets the answer
    reply = page.locator("#log .reply")
    check_reply(reply, body, "nb", server)  # the <details> opens without JavaScript too


# --- One markup, two renderers -----------------------------------------------------------------

STRUCTURE = """root => [root, ...root.querySelectorAll('*')].map(e => [
    e.tagName, e.className, e.href || '',
    [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').replace(/\\s+/g, ' ').trim(),
])"""


@pytest.mark.parametrize(
    ("programme", "question", "coverage"),
    [
        ("real", QUESTION, "answered"),
        ("real", QUESTION, "related"),
        ("real", QUESTION, "not_covered"),
        ("real", "hei", "not_covered"),
        ("real", "takk", "answered"),
        ("twin", "trafikk", "answered"),
        ("twin", "trafikk", "related"),
        ("twin", "trafikk", "not_covered"),
    ],
    ids=["answered", "related", "not_covered", "greeting", "thanks", "twin-answered", "twin-related", "twin-not_covered"],
)
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_server_and_javascript_draw_the_same_markup_for_the_same_answer(
    open_page, request, axe_source, programme, question, coverage, viewport
):
    if programme == "real":
        site = request.getfixturevalue("server")
        request.getfixturevalue("force_band")(coverage)  # "takk" stays smalltalk whatever its band
    else:  # two sections titled "Samferdsel"
        site = request.getfixturevalue("twin_server")
        request.getfixturevalue("twin_answers")(TWIN_HITS, coverage)
    body = api_answer(site, question)
    page = open_page(viewport, bypass_csp=True)
    page.goto(f"{site}/?q={quote_plus(question)}")
    served = page.locator("#log .reply").evaluate(STRUCTURE)
    assert violations(page, axe_source) == []  # none at all, of any impact
    check_reply(page.locator("#log .reply"), body, "nb", site)  # the server's drawing, held to the JSON
    page.goto(site)
    ask_chat(page, question)
    page.locator("#log .reply").wait_for()
    drawn = page.locator("#log .reply").evaluate(STRUCTURE)
    assert drawn == served
    assert len(served) > 1 and re.fullmatch(r"reply \w+", served[0][1])
    check_reply(page.locator("#log .reply"), body, "nb", site)  # and the JavaScript's
    assert page.errors == []


# --- The widget on the party's site --------------------------------------------------------


@KINDS
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_widget_draws_each_kind_of_reply_from_the_api(open_page, host_site, server, axe_source, lang, coverage, smalltalk):
    body = in_band(api_answer(server, QUESTION), coverage, smalltalk)
    page = open_page()
    page.route(f"{server}/api/ask*", lambda route: route.fulfill(headers=CORS, json=body))
    if lang == "nb":
        page.goto(f"{host_site}/plain")
        open_widget(page)
        box = page.get_by_role("textbox", name="Ditt spørsmål")
    else:
        page.goto(f"{host_site}/configured")  # data-lang="en"
        page.get_by_role("button", name="Ask about the programme").click()
        box = page.get_by_role("textbox", name="Your question")
    box.fill(QUESTION)
    box.press("Enter")
    reply = page.locator("mdg-sporsmal .reply")
    reply.wait_for()
    check_reply(reply, body, lang, server)
    assert violations(page, axe_source) == []  # none at all, of any impact
    assert page.errors == []


@pytest.mark.parametrize(("variant", "lang", "other"), [("plain", "nb", "en"), ("configured", "en", "nb")])
def test_widget_says_in_both_languages_that_answers_are_picked_by_a_search_program(open_page, host_site, variant, lang, other):
    page = open_page()
    page.goto(f"{host_site}/{variant}")
    page.locator("mdg-sporsmal .launch").click()
    note = page.locator("mdg-sporsmal .note")
    assert note.is_visible()
    assert note.inner_text().startswith(WORDS[lang]["notice"] + " " + WORDS[other]["notice"])
    assert page.locator("mdg-sporsmal .w").get_attribute("lang") == lang
    assert note.locator(f'span[lang="{other}"]').inner_text() == WORDS[other]["notice"]


@pytest.mark.parametrize("path", ["/", "/program", "/finnes-ikke"])
def test_every_page_says_in_both_languages_that_answers_are_picked_by_a_search_program(open_page, server, path):
    page = open_page()
    page.goto(server + path)
    notice = page.locator("footer .transparency")
    notice.scroll_into_view_if_needed()
    assert notice.is_visible()
    assert notice.inner_text() == WORDS["nb"]["notice"] + " " + WORDS["en"]["notice"]
    assert notice.locator('span[lang="en"]').inner_text() == WORDS["en"]["notice"]
    if path == "/":  # on the chat page also under the title, on the first screen
        assert " ".join(page.locator(".quote-note").text_content().split()) == "Sitater " + WORDS["nb"]["notice"]


@pytest.mark.parametrize(("smalltalk", "buttons"), [(None, 1), ("greeting", 0)], ids=["related", "greeting"])
def test_only_a_reply_to_a_real_question_asks_for_feedback(open_page, server, smalltalk, buttons):
    body = {**in_band(api_answer(server, QUESTION), "related", smalltalk), "ask_id": "abc123"}  # a log is on
    page = open_page()
    page.route(f"{server}/api/ask*", lambda route: route.fulfill(json=body))
    page.goto(server)
    ask_chat(page, QUESTION)
    page.locator("#log .reply").wait_for()
    assert page.locator("#log .reply .fb").count() == buttons


# --- Two sections with one title ---------------------------------------------------------------


def section_at(page, url: str) -> tuple[str, str, list[str]]:
    """Open `url` (a section's link) and say what a reader finds at its anchor: the section's
    title, its part's title and the ids of the pledges under it."""
    page.goto(url)
    anchor = url.split("#", 1)[1]
    return page.evaluate(
        """id => { const s = document.getElementById(id); return [
            s.querySelector('h3').firstChild.textContent.trim(),
            s.closest('section.part').querySelector('h2').textContent,
            [...s.querySelectorAll('li[id]')].map((li) => li.id)]; }""",
        anchor,
    )


@pytest.mark.parametrize("coverage", ["answered", "not_covered"])
def test_widget_links_two_sections_with_one_title_each_to_its_own_anchor(
    open_page, host_site, twin_server, twin_answers, coverage
):
    twin_answers(TWIN_HITS, coverage)
    body = api_answer(twin_server, "trafikk")
    page = open_page()
    page.goto(f"{host_site}/twin")
    open_widget(page)
    box = page.get_by_role("textbox", name="Ditt spørsmål")
    box.fill("trafikk")
    box.press("Enter")
    reply = page.locator("mdg-sporsmal .reply")
    reply.wait_for()
    check_reply(reply, body, "nb", twin_server)
    groups = drawn_sections(reply, twin_server)
    assert groups[:2] == [(f"/program#{ROADS}", "Samferdsel", SAFE), (f"/program#{BUS}", "Samferdsel", GREEN)]
    cited = {g: hrefs(reply.locator(".group").nth(i).locator("a.cite"), twin_server) for i, g in enumerate(groups)}
    links = [link for link, _, _ in groups]
    if coverage == "not_covered":
        links += hrefs(reply.locator(".near a"), twin_server)
        assert links[-3:] == [f"/program#{ROADS}", f"/program#{BUS}", "/program#skole"]
    assert page.errors == []
    programme = open_page()
    for (link, title, part), cites in cited.items():
        found_title, found_part, pledge_ids = section_at(programme, twin_server + link)
        assert (found_title, found_part) == (title, part)
        assert {c.removeprefix("/program#") for c in cites} <= set(pledge_ids)
    for link in links:
        section_id = link.removeprefix("/program#")
        _, _, pledge_ids = section_at(programme, twin_server + link)
        expected = [r["id"] for r in body["results"] if r["section_id"] == section_id]
        assert set(expected) <= set(pledge_ids)
