"""The widget where a voter meets it (issue 14): at 200 % zoom and at 320×256, with the browser's
own font size, in two languages, clear of a cookie banner, inline in the host's page, and on a
site the service is not set up for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import DESKTOP, PHONE, serving, serving_pages
from tests.browser.test_browser import QUESTION, ask_widget, open_widget, violations

REFLOW = {"width": 320, "height": 256}  # WCAG 1.4.10
ZOOMED = {"width": 640, "height": 400}  # a 1280×800 window at 200 %
BANNER = 100  # the host's cookie banner, fixed to the bottom edge, in CSS pixels
STILL = {"reduced_motion": "reduce"}  # the panel opens without sliding in, so its box can be read at once

PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Partiets nettside</title>{head}</head>
<body>
<main>
<h1>Miljøpartiet De Grønne Bærum</h1>
<p><button type="button" id="host-button">Vertssidens knapp</button></p>
{inside}
<p><a id="after" href="#after">Etter spørretjenesten</a></p>
</main>
{outside}
<script src="{server}/widget.js" async{attrs}></script>
</body>
</html>
"""
COOKIE_BANNER = (
    f'<div id="cookies" style="position:fixed;left:0;right:0;bottom:0;height:{BANNER}px;'
    'background:#333;color:#fff;z-index:2147483647">Vi bruker informasjonskapsler. <button>OK</button></div>'
)
PAGES = {
    "plain": {},
    "english": {"lang": "en", "attrs": ' data-lang="en"'},
    "offset": {"outside": COOKIE_BANNER, "attrs": f' data-offset="{BANNER + 10}"'},
    "banner": {"outside": COOKIE_BANNER},
    "inline": {"inside": '<div id="ask-here"></div>', "attrs": ' data-target="#ask-here"'},
    "inline-missing": {"attrs": ' data-target="#nowhere"'},
}
REFUSED = "Spørretjenesten er ikke satt opp for dette nettstedet ennå. Du kan spørre på tjenestens egen side:"


def page_of(server: str, name: str) -> tuple[bytes, str] | None:
    if name not in PAGES:
        return None
    v = {"lang": "nb", "head": "", "inside": "", "outside": "", "attrs": "", **PAGES[name]}
    return PAGE.format(server=server, **v).encode(), "text/html; charset=utf-8"


@pytest.fixture(scope="module")
def site(server) -> Iterator[str]:
    """The party's site, another origin than the service, with the pages above."""
    with serving_pages(lambda name: page_of(server, name)) as url:
        yield url


@pytest.fixture(scope="module")
def refusing_server(chromium_present, tmp_path_factory) -> Iterator[str]:
    """A service that answers only https://mdgbaerum.example (QA_ALLOWED_ORIGINS), on the fake embedder."""
    from qa.operations.settings import Settings
    from tests.conftest import FakeEmbedder
    from tests.test_web_sections import TWIN_PROGRAMME
    from web.app import create_app

    folder = tmp_path_factory.mktemp("refusing")
    (folder / "p.txt").write_text(TWIN_PROGRAMME, encoding="utf-8")
    settings = Settings(
        corpus=folder / "p.txt", expansions=None, topics=None, questions=None, background=None, fitted=None,
        index_dir=folder / "index", db="off", rate_limit=0, allowed_origins="https://mdgbaerum.example",
    )  # fmt: skip
    with serving(create_app(settings, embedder=FakeEmbedder())) as url:
        yield url


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, "not rendered"
    return found


def answered(page) -> None:
    ask_widget(page)
    page.locator("mdg-sporsmal .reply blockquote").first.wait_for()


# --- 200 % zoom and 320×256 reflow (WCAG 1.4.10) ----------------------------------------------


@pytest.mark.parametrize("viewport", [REFLOW, ZOOMED], ids=["320x256", "200-percent"])
def test_a_short_screen_gets_the_whole_screen_with_at_least_half_of_it_for_answers(
    open_page, host_site, axe_source, viewport
):
    page = open_page(viewport, bypass_csp=True, device_scale_factor=2, **STILL)
    page.goto(f"{host_site}/plain")
    open_widget(page)
    answered(page)
    panel, answers = box(page.locator("mdg-sporsmal .panel")), box(page.locator("mdg-sporsmal .body"))
    assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, viewport["width"], viewport["height"])
    assert answers["height"] >= panel["height"] / 2
    for name in ["Ditt spørsmål", "Spør", "Lukk"]:  # every control on screen, none cut off
        control = box(page.get_by_role("textbox" if name == "Ditt spørsmål" else "button", name=name, exact=True))
        assert control["x"] >= 0 and control["x"] + control["width"] <= viewport["width"], name
        assert control["y"] >= 0 and control["y"] + control["height"] <= viewport["height"], name
    sideways = "e => e.scrollWidth - e.clientWidth"
    assert page.locator("mdg-sporsmal .body").evaluate(sideways) == 0  # reflows: scrolls one way only
    assert page.get_by_role("dialog", name="Spør MDG Bærum").get_attribute("aria-modal") == "true"
    note = page.locator("mdg-sporsmal .note")
    assert note.evaluate("e => getComputedStyle(e).position") == "static"  # scrolls with the answers
    assert violations(page, axe_source) == []


def test_a_tall_screen_keeps_the_note_in_view_below_the_answers(open_page, host_site):
    page = open_page(DESKTOP, **STILL)
    page.goto(f"{host_site}/plain")
    open_widget(page)
    answered(page)
    note, form = box(page.locator("mdg-sporsmal .note")), box(page.locator("mdg-sporsmal .panel > form"))
    assert note["y"] + note["height"] == pytest.approx(form["y"], abs=1)  # just above the question box


# --- Font sizes follow the browser's setting --------------------------------------------------


def font_sizes(page) -> dict[str, float]:
    sizes = {}
    for name, selector in [("input", "input"), ("title", "h2"), ("quote", "blockquote"), ("note", ".note")]:
        sizes[name] = float(page.locator(f"mdg-sporsmal {selector}").first.evaluate("e => getComputedStyle(e).fontSize")[:-2])
    return sizes


def test_text_follows_the_font_size_set_in_the_browser(open_page, host_site):
    sizes = []
    for standard in (16, 24):
        page = open_page()
        page.context.new_cdp_session(page).send("Page.setFontSizes", {"fontSizes": {"standard": standard}})
        page.goto(f"{host_site}/plain")
        open_widget(page)
        answered(page)
        sizes.append(font_sizes(page))
    assert sizes[0] == {"input": 16, "title": 17, "quote": 16, "note": 13}
    assert sizes[1] == {name: size * 1.5 for name, size in sizes[0].items()}


# --- Languages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("page_name", "lang"), [("english", "en"), ("inline", "nb")])
def test_the_panel_has_its_language_and_quoted_norwegian_is_marked_nb(open_page, site, page_name, lang):
    page = open_page()
    page.goto(f"{site}/{page_name}")
    if lang == "en":
        page.get_by_role("button", name="Ask about the programme").click()
    page.get_by_role("textbox", name="Your question" if lang == "en" else "Ditt spørsmål").fill(QUESTION)
    page.keyboard.press("Enter")
    reply = page.locator("mdg-sporsmal .reply")
    reply.locator("blockquote").first.wait_for()
    assert page.locator("mdg-sporsmal .w").get_attribute("lang") == lang
    language_of = "e => e.closest('[lang]').getAttribute('lang')"
    for selector in ["blockquote", ".part", ".sec"]:  # the programme's own words
        assert {e.evaluate(language_of) for e in reply.locator(selector).all()} == {"nb"}, selector
    assert {e.evaluate(language_of) for e in reply.locator(".vivil").all()} == {lang}  # the widget's words
    if lang == "en":
        assert reply.locator("blockquote").first.get_attribute("lang") == "nb"


# --- The launcher -----------------------------------------------------------------------------------


def test_the_launcher_has_a_clear_icon_beside_its_words(open_page, host_site):
    page = open_page()
    page.goto(f"{host_site}/plain")
    launcher = page.get_by_role("button", name="Spør om programmet")  # the icon adds nothing to the name
    icon = launcher.locator("svg")
    assert icon.get_attribute("aria-hidden") == "true"
    size = box(icon)
    assert size["width"] >= 18 and size["height"] >= 18
    colours = launcher.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b.querySelector('path')).fill]")
    assert colours[0] == colours[1]  # drawn in the launcher's text colour, so it has its contrast


# --- data-offset: clear of the host's cookie banner -----------------------------------------------


def test_data_offset_keeps_the_launcher_and_the_panel_clear_of_a_cookie_banner(open_page, site):
    page = open_page(**STILL)
    page.goto(f"{site}/banner")
    plain = box(page.get_by_role("button", name="Spør om programmet"))
    assert plain["y"] + plain["height"] > DESKTOP["height"] - BANNER  # without it: under the banner
    page.goto(f"{site}/offset")
    launcher = open_widget(page)
    lifted = box(launcher)
    assert lifted["y"] + lifted["height"] == pytest.approx(DESKTOP["height"] - BANNER - 10 - 20, abs=1)
    panel = box(page.get_by_role("dialog", name="Spør MDG Bærum"))
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= lifted["y"]
    launcher.click()  # and it still works: closes
    assert page.get_by_role("dialog").count() == 0 or page.get_by_role("dialog").is_hidden()


# --- Inline in the host's page ---------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_inline_widget_sits_open_in_the_host_element_in_reading_order(open_page, site, axe_source, viewport):
    page = open_page(viewport, bypass_csp=True)
    page.goto(f"{site}/inline")
    assert page.locator("#ask-here > mdg-sporsmal").count() == 1
    assert page.get_by_role("button", name="Spør om programmet").count() == 0  # no launcher to find last
    region = page.get_by_role("region", name="Spør MDG Bærum")
    assert region.is_visible() and page.get_by_role("dialog").count() == 0
    assert region.evaluate("e => getComputedStyle(e).position") == "relative"  # in the flow, even on a phone
    inside = "() => !!(document.activeElement.shadowRoot && document.activeElement.shadowRoot.activeElement)"
    page.locator("#host-button").focus()
    page.keyboard.press("Tab")
    assert page.evaluate(inside)  # the next stop after the host's button
    for _ in range(20):
        page.keyboard.press("Tab")
        if not page.evaluate(inside):
            break
    assert page.evaluate("() => document.activeElement.id") == "after"  # then on to the host's page
    answered(page)
    page.keyboard.press("Escape")
    assert region.is_visible()
    assert box(region)["y"] > box(page.locator("#host-button"))["y"]
    assert violations(page, axe_source) == []
    assert page.errors == []


def test_a_target_that_matches_nothing_falls_back_to_the_launcher_and_says_why(open_page, site):
    page = open_page()
    warnings = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(f"{site}/inline-missing")
    open_widget(page)
    assert page.get_by_role("dialog", name="Spør MDG Bærum").is_visible()
    assert any('data-target "#nowhere" matches no element' in w for w in warnings)


# --- A site the service is not set up for ----------------------------------------------------------


def test_a_site_whose_origin_is_not_allowed_is_told_so_not_to_check_its_network(open_page, refusing_server):
    with serving_pages(lambda name: page_of(refusing_server, "english" if name == "en" else "plain")) as other:
        for path, words, message in [
            ("nb", ("Spør om programmet", "Ditt spørsmål"), REFUSED),
            ("en", ("Ask about the programme", "Your question"),
             "The question service is not set up for this website yet. You can ask on the service’s own page:"),
        ]:  # fmt: skip
            page = open_page()
            page.goto(f"{other}/{path}")
            page.get_by_role("button", name=words[0]).click()
            box_ = page.get_by_role("textbox", name=words[1])
            box_.fill("sykkel")
            box_.press("Enter")
            error = page.locator("mdg-sporsmal .err")
            error.wait_for()
            assert error.inner_text().startswith(message)
            away = error.get_by_role("link")
            assert away.get_attribute("href") == f"{refusing_server}/"
            assert away.get_attribute("target") == "_blank"
            assert page.locator("mdg-sporsmal .retry").count() == 0  # asking again would not help
            assert box_.input_value() == "sykkel"


# --- axe on the open widget at phone size, in dark mode -------------------------------------------


def test_open_widget_at_phone_size_in_dark_mode_is_axe_clean(open_page, host_site, axe_source):
    page = open_page(PHONE, color_scheme="dark", bypass_csp=True)
    page.goto(f"{host_site}/plain")
    open_widget(page)
    answered(page)
    assert violations(page, axe_source) == []
