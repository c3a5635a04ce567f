"""The axe gate (issue 14): every page a voter can reach, in every state it can be in, on a phone
in light and dark mode and on a desktop, has no axe violation of any impact, the open widget
included. (The staff pages: tests/browser/test_curation.py; each band's reply, forced:
tests/browser/test_bands.py.)
"""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_browser import QUESTION, ask_widget, open_widget, violations
from tests.browser.test_experience import MISSPELT

STATES = {
    "chat": "/",
    "answered": f"/?q={quote_plus(QUESTION)}",
    "mended": f"/?q={quote_plus(MISSPELT)}",
    "not-covered": f"/?q={quote_plus('hvem vinner fotball-VM?')}",
    "smalltalk": "/?q=hei",
    "too-long": f"/?q={'a' * 600}",  # the chat page with its error
    "programme": "/program",
    "programme-at-a-pledge": "/program#oslofjorden-3",
    "compare": f"/compare?q={quote_plus(QUESTION)}",
    "not-found": "/finnes-ikke",
    "widget": None,  # the widget open on the party's site, with an answer
}
LOOKS = {
    "phone-light": (PHONE, "light"),
    "phone-dark": (PHONE, "dark"),
    "desktop-light": (DESKTOP, "light"),
}


@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize("state", STATES)
def test_every_page_and_state_is_axe_clean(open_page, server, host_site, axe_source, state, look):
    viewport, scheme = LOOKS[look]
    page = open_page(viewport, bypass_csp=True, color_scheme=scheme)  # axe is injected as a script
    if STATES[state] is None:
        page.goto(f"{host_site}/plain")
        open_widget(page)
        ask_widget(page)
        page.locator("mdg-sporsmal .reply").wait_for()
    else:
        response = page.goto(server + STATES[state])
        assert response.status == {"too-long": 422, "not-found": 404}.get(state, 200)
        if state not in ("programme", "programme-at-a-pledge", "not-found"):
            page.get_by_role("textbox", name="Ditt spørsmål").wait_for()
    assert violations(page, axe_source) == []
