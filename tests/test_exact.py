"""`exact=1`: ask exactly what was typed, with no spelling mended (issue 14, "what the service
understood"). The link under "Viser svar for: ..." uses it; without it, the server would mend the
question again and the link would not do what it says."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from qa.answering import followup
from qa.answering.answerer import Answerer
from tests.conftest import FakeEmbedder
from web.app import create_app

TYPED = "sone 1 i kollektivtrafiken"  # one letter missing
MENDED = "sone 1 i kollektivtrafikken"


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        yield client


def embedded(answerer: Answerer, monkeypatch) -> list[str]:
    """The questions the ranker embeds from now on (the first text of each call)."""
    seen: list[str] = []
    embedder = answerer.ranker.embedder
    original = embedder.embed_queries
    monkeypatch.setattr(embedder, "embed_queries", lambda texts: seen.append(texts[0]) or original(texts))
    return seen


def test_exact_ranks_the_words_as_typed_and_says_nothing_was_mended(answerer: Answerer, monkeypatch):
    seen = embedded(answerer, monkeypatch)
    mended, exact = answerer.ask(TYPED), answerer.ask(TYPED, exact=True)
    assert (mended.question, mended.corrected) == (TYPED, MENDED)
    assert (exact.question, exact.corrected) == (TYPED, None)
    assert seen == [MENDED, TYPED]
    # Cached apart: each way asked again gives its own answer, with nothing embedded again.
    assert answerer.ask(TYPED.upper(), exact=True).corrected is None
    assert answerer.ask(TYPED).corrected == MENDED
    assert seen == [MENDED, TYPED]


def test_exact_follow_up_is_not_mended_either(answerer: Answerer, monkeypatch):
    n = len(followup.FEATURES)
    answerer.followup = followup.Decision((0.0,) * n, 10.0, (0.0,) * n, (1.0,) * n)  # always joins
    seen = embedded(answerer, monkeypatch)
    answer = answerer.ask(TYPED, prev="hva med bussen?", exact=True)
    assert (answer.corrected, answer.interpreted_as) == (None, f"hva med bussen? {TYPED}")  # joined, as typed
    assert seen == [TYPED, f"hva med bussen? {TYPED}"]


@pytest.mark.parametrize(("exact", "corrected"), [("1", None), ("0", MENDED), ("", MENDED), (None, MENDED)])
def test_api_exact_1_answers_what_was_typed(client, exact, corrected):
    params = {"q": TYPED} if exact is None else {"q": TYPED, "exact": exact}
    response = client.get("/api/ask", params=params)
    assert response.status_code == 200
    assert (response.json()["question"], response.json()["corrected"]) == (TYPED, corrected)


@pytest.mark.parametrize("exact", ["yes", "2", "true"])
def test_api_exact_other_than_0_or_1_is_a_clear_422(client, exact):
    response = client.get("/api/ask", params={"q": TYPED, "exact": exact})
    assert (response.status_code, response.json()) == (
        422,
        {"detail": f"exact må være 1 (svar på nøyaktig det som ble skrevet) eller 0, ikke «{exact}»."},
    )


def test_api_exact_given_twice_is_a_clear_422(client):
    response = client.get(f"/api/ask?q={TYPED}&exact=1&exact=1")
    assert (response.status_code, response.json()) == (422, {"detail": "Parameteren exact er oppgitt 2 ganger; oppgi den én gang."})


def test_the_chat_pages_mended_note_links_to_the_exact_question_and_that_page_is_not_mended(client):
    page = client.get("/", params={"q": TYPED}).text
    note = re.search(r'<p class="mended">(.*?)</p>', page, re.S).group(1)
    assert f"<strong>{MENDED}</strong>" in note
    link = html.unescape(re.search(r'<a href="([^"]+)">', note).group(1))
    assert link == "/?q=sone%201%20i%20kollektivtrafiken&exact=1#svar"
    followed = client.get(link.split("#")[0])
    assert followed.status_code == 200
    assert 'class="mended"' not in followed.text
    assert f"<span>{TYPED}</span>" in followed.text  # the question, answered as typed


def test_a_bad_exact_on_the_chat_page_is_a_422_page_with_the_reason(client):
    response = client.get("/", params={"q": TYPED, "exact": "ja"})
    assert response.status_code == 422
    assert "exact må være 1" in html.unescape(response.text)
