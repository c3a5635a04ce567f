"""Follow-up questions: `prev` on /api/ask and the chat page, `interpreted_as`, and the decision.

The fake embedder drives the real answerer; which way a follow-up goes is fixed by installing a
decision that always (or never) brings the previous question in, so these tests check the
contract, not how well the fitted decision does (tests/test_followup_model.py does that).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from qa.answering import followup
from qa.answering.limits import MAX_QUESTION
from qa.errors import BadQuestion, QAError
from qa.measuring.followups import load_exchanges
from tests.conftest import FakeEmbedder, write_jsonl
from web.app import create_app

N = len(followup.FEATURES)
ALWAYS = followup.Decision((0.0,) * N, 10.0, (0.0,) * N, (1.0,) * N)
NEVER = followup.Decision((0.0,) * N, -10.0, (0.0,) * N, (1.0,) * N)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        yield client


def decide(client, decision: followup.Decision) -> None:
    client.app.state.answerer.followup = decision


def test_a_follow_up_answered_with_prev_says_what_was_answered(client):
    decide(client, ALWAYS)
    body = client.get("/api/ask", params={"q": "og for skolen?", "prev": "Hva vil dere med karakterer?"}).json()
    assert body["question"] == "og for skolen?"
    assert body["interpreted_as"] == "Hva vil dere med karakterer? og for skolen?"
    assert body["results"][0]["id"] == "skole-1"


def test_a_follow_up_that_stands_alone_has_no_interpreted_as(client):
    decide(client, NEVER)
    body = client.get("/api/ask", params={"q": "sone 1 i kollektivtrafikken", "prev": "Hva med karakterer?"}).json()
    assert "interpreted_as" not in body
    assert body["results"][0]["id"] == "samferdsel-1"


def test_without_prev_or_with_an_empty_one_there_is_no_interpreted_as(client):
    decide(client, ALWAYS)
    assert "interpreted_as" not in client.get("/api/ask", params={"q": "tråling"}).json()
    assert "interpreted_as" not in client.get("/api/ask?q=tr%C3%A5ling&prev=").json()


def test_smalltalk_after_a_question_is_not_joined_to_it(client):
    decide(client, ALWAYS)
    body = client.get("/api/ask", params={"q": "takk", "prev": "Hva vil dere med karakterer?"}).json()
    assert body["smalltalk"] == "thanks" and "interpreted_as" not in body


def test_the_same_follow_up_after_different_questions_is_answered_for_each(client):
    decide(client, ALWAYS)
    one = client.get("/api/ask", params={"q": "og så?", "prev": "karakterer i grunnskolen"}).json()
    two = client.get("/api/ask", params={"q": "og så?", "prev": "tråling i Oslofjorden"}).json()
    assert one["results"][0]["id"] == "skole-1"
    assert two["results"][0]["id"] == "oslofjorden-1"


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("q=sykkel&prev=" + "a" * (MAX_QUESTION + 1), f"Forrige spørsmål (prev): Spørsmålet er {MAX_QUESTION + 1} tegn"),
        ("q=sykkel&prev=%01hei", "Forrige spørsmål (prev): Spørsmålet inneholder kontrolltegn."),
        ("q=sykkel&prev=%E2%80%AEhei", "Forrige spørsmål (prev): Spørsmålet inneholder usynlige tegn"),
        ("q=sykkel&prev=%20%20", "Forrige spørsmål (prev): Spørsmålet er tomt."),
        ("q=sykkel&prev=%3F%3F", "Forrige spørsmål (prev): Spørsmålet må inneholde bokstaver eller tall."),
        ("q=sykkel&prev=a&prev=b", "Parameteren prev er oppgitt 2 ganger; oppgi den én gang."),
    ],
)
def test_an_unusable_prev_is_a_422_saying_what_is_wrong(client, query, detail):
    response = client.get("/api/ask?" + query)
    assert response.status_code == 422
    assert set(response.json()) == {"detail"}
    assert response.json()["detail"].startswith(detail)


def test_answerer_rejects_a_bad_prev_naming_it(answerer):
    with pytest.raises(BadQuestion, match="^prev: the question is empty"):
        answerer.ask("sykkel", prev="   ")


def test_the_chat_page_without_javascript_shows_the_interpretation_and_carries_the_question_on(client):
    decide(client, ALWAYS)
    html = client.get("/", params={"q": "og for skolen?", "prev": "Hva vil dere med karakterer?"}).text
    assert '<p class="interpreted">Tolket som: <q>Hva vil dere med karakterer? og for skolen?</q></p>' in html
    assert '<input type="hidden" id="prev" name="prev" value="Hva vil dere med karakterer? og for skolen?">' in html


def test_the_chat_page_carries_the_question_asked_when_prev_was_not_used(client):
    decide(client, NEVER)
    html = client.get("/", params={"q": "sone 1", "prev": "karakterer"}).text
    assert "Tolket som" not in html
    assert '<input type="hidden" id="prev" name="prev" value="sone 1">' in html
    assert '<input type="hidden" id="prev" name="prev" value="" disabled>' in client.get("/").text  # not sent


def test_the_chat_page_keeps_prev_when_the_question_is_refused(client):
    response = client.get("/", params={"q": "?!", "prev": "karakterer"})
    assert response.status_code == 422
    assert '<input type="hidden" id="prev" name="prev" value="karakterer">' in response.text


def test_the_decision_fit_separates_what_it_was_shown():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, N))
    y = (x[:, 4] < 0).astype(float)  # short follow-ups lean on their predecessor
    decision = followup.fit(x, y)
    assert np.mean([decision.joined(row) for row in x] == y) > 0.95
    assert decision.coef[4] < 0


def test_a_decision_file_for_other_features_is_refused(tmp_path):
    path = tmp_path / "followup.json"
    path.write_text(json.dumps({"format": followup.FORMAT, "features": ["words"], "coef": [1], "bias": 0}))
    with pytest.raises(QAError, match="fitted for other features"):
        followup.load(path)


def test_a_saved_decision_loads_back_and_records_what_it_was_fitted_on(tmp_path):
    tuning = write_jsonl(tmp_path / "tuning.jsonl", {"id": "x"})
    path = tmp_path / "followup.json"
    followup.save(ALWAYS, path, model_id="fake-embedder", fitted_on=tuning)
    assert followup.load(path) == ALWAYS
    assert set(json.loads(path.read_text())["fitted_on"]) == {"tuning.jsonl"}


def test_exchange_files_name_the_bad_line(answerer, tmp_path):
    good = {"id": "a", "prev": "Hva med skolen?", "q": "og karakterer?", "kind": "dependent", "gold": ["avvikle karakterer"]}
    path = write_jsonl(tmp_path / "ex.jsonl", good)
    (case,) = load_exchanges(path, answerer.programme)
    assert case.gold == frozenset({"skole-1"}) and case.kind == "dependent"
    for bad, message in [
        ({**good, "kind": "other"}, ":2: kind must be one of dependent, standalone"),
        ({**good, "gold": ["finnes ikke i programmet"]}, ":2: gold 'finnes ikke i programmet' is in 0 pledges"),
        ({k: v for k, v in good.items() if k != "prev"}, ":2: not an exchange"),
    ]:
        write_jsonl(path, good, bad)
        with pytest.raises(QAError, match=message):
            load_exchanges(path, answerer.programme)


def test_eval_followups_reports_a_missing_file_in_one_line(capsys, tmp_path: Path, small_env):
    from qa.operations.cli import main

    assert main(["eval-followups", str(tmp_path / "missing.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read") and err.count("\n") == 1
