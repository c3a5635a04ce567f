"""Staff curation over HTTP, in the real app on the fake embedder: the JSON API, the admin page's
plain forms, and what a change does to the very next answer."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.curation_fixtures import BEARER, NEAR, PLEDGE, QUESTION, TOKEN, curation_settings
from web.app import create_app
from web.curate_page import form_token


@pytest.fixture
def csettings(settings, tmp_path, log_db):
    return curation_settings(settings, tmp_path, db=log_db)  # on SQLite and on PostgreSQL


@pytest.fixture
def app_on(fake_embedder):
    return lambda s: create_app(s, embedder=fake_embedder)


@pytest.fixture
def client(csettings, app_on):
    with TestClient(app_on(csettings)) as client:
        yield client


def ask(client, question: str) -> tuple[list[str], str]:
    body = client.get("/api/ask", params={"q": question}).json()
    return [hit["id"] for hit in body["results"]], body["coverage"]


def post(client, pledge_id, question, headers=BEARER):
    return client.post("/api/admin/alternates", json={"pledge_id": pledge_id, "question": question}, headers=headers)


# --- the JSON API ----------------------------------------------------------------------------


def test_a_posted_alternate_changes_the_very_next_answer_and_delete_restores_it(client):
    before_ids, before_band = ask(client, QUESTION)
    assert before_ids[0] != PLEDGE and before_band == "not_covered"
    assert ask(client, NEAR)[1] == "not_covered"

    response = post(client, PLEDGE, QUESTION)
    assert response.status_code == 201
    row = response.json()
    assert {k: row[k] for k in ("pledge_id", "question")} == {"pledge_id": PLEDGE, "question": QUESTION}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["created"])

    # No restart: the next question has it, in ranking and in the band (the band model reads
    # the best match; tests/curation_fixtures.py): the same words are answered, close ones related.
    ids, band = ask(client, QUESTION)
    assert (ids[0], band) == (PLEDGE, "answered")
    near_ids, near_band = ask(client, NEAR)
    assert (near_ids[0], near_band) == (PLEDGE, "related")
    assert client.get("/api/admin/alternates", headers=BEARER).json() == [row]

    assert client.delete(f"/api/admin/alternates/{row['id']}", headers=BEARER).status_code == 204
    assert ask(client, QUESTION) == (before_ids, before_band)
    assert client.get("/api/admin/alternates", headers=BEARER).json() == []


def test_an_alternate_survives_a_restart(csettings, app_on):
    with TestClient(app_on(csettings)) as client:
        assert post(client, PLEDGE, QUESTION).status_code == 201
    with TestClient(app_on(csettings)) as restarted:  # a new app on the same database
        assert [a["question"] for a in restarted.get("/api/admin/alternates", headers=BEARER).json()] == [QUESTION]
        ids, band = ask(restarted, QUESTION)
        assert (ids[0], band) == (PLEDGE, "answered")


def test_an_edited_alternate_answers_with_its_new_pledge(client):
    row = post(client, PLEDGE, QUESTION).json()
    response = client.patch(f"/api/admin/alternates/{row['id']}", json={"pledge_id": "samferdsel-2"}, headers=BEARER)
    assert response.status_code == 200 and response.json()["pledge_id"] == "samferdsel-2"
    assert ask(client, QUESTION)[0][0] == "samferdsel-2"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"pledge_id": "nope-1", "question": QUESTION}, 422, "Ukjent punkt-id «nope-1»."),
        ({"pledge_id": PLEDGE, "question": "  "}, 422, "Spørsmålet er tomt. Skriv et spørsmål på 1–500 tegn."),
        (
            {"pledge_id": PLEDGE, "question": "å" * 501},
            422,
            "Spørsmålet er 501 tegn langt; det kan være på høyst 500 tegn.",
        ),
        ({"pledge_id": PLEDGE, "question": 7}, 422, "Spørsmålet må være tekst."),
        ({"pledge_id": PLEDGE}, 422, "Mangler «question»."),
        ({}, 422, "Mangler «pledge_id» og «question»."),
        ([PLEDGE, QUESTION], 422, "Forventet et JSON-objekt."),
    ],
)
def test_a_bad_alternate_is_a_4xx_with_a_detail_and_nothing_is_stored(client, body, status, detail):
    response = client.post("/api/admin/alternates", json=body, headers=BEARER)
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert client.get("/api/admin/alternates", headers=BEARER).json() == []


def test_a_duplicate_alternate_is_409(client):
    first = post(client, PLEDGE, QUESTION).json()
    response = post(client, PLEDGE, QUESTION.upper())
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"«{QUESTION.upper()}» er allerede en alternativ formulering for {PLEDGE} (id {first['id']})."
    }


def test_a_body_that_is_not_json_is_refused(client):
    plain = {**BEARER, "Content-Type": "text/plain"}  # what a form on another site could send
    form = client.post("/api/admin/alternates", content=b'{"pledge_id": "skole-1"}', headers=plain)
    assert (form.status_code, form.json()) == (415, {"detail": "Send JSON (Content-Type: application/json)."})
    broken = client.post("/api/admin/alternates", content=b"{", headers={**BEARER, "Content-Type": "application/json"})
    assert (broken.status_code, broken.json()) == (422, {"detail": "Ugyldig JSON."})


def test_deleting_an_unknown_alternate_is_404(client):
    response = client.delete("/api/admin/alternates/99", headers=BEARER)
    assert (response.status_code, response.json()) == (404, {"detail": "Fant ingen alternativ formulering med id 99."})
    assert client.delete("/api/admin/alternates/abc", headers=BEARER).status_code == 422


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-1234567"}])
@pytest.mark.parametrize(
    ("method", "url"),
    [("get", "/api/admin/alternates"), ("post", "/api/admin/alternates"), ("delete", "/api/admin/alternates/1"),
     ("get", "/api/admin/not-covered"), ("get", "/admin/curate"), ("post", "/admin/curate/attach")],
)  # fmt: skip
def test_curation_without_the_right_token_is_401_and_changes_nothing(client, method, url, headers):
    response = client.request(method, url, json={"pledge_id": PLEDGE, "question": QUESTION}, headers=headers)
    assert (response.status_code, response.json()) == (401, {"detail": "Krever administratortoken."})
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert ask(client, QUESTION)[0][0] != PLEDGE


def test_curation_does_not_exist_without_an_admin_token(settings, tmp_path, app_on):
    with TestClient(app_on(curation_settings(settings, tmp_path, admin_token=None))) as client:
        assert post(client, PLEDGE, QUESTION, headers={}).status_code == 404
        assert client.get("/admin/curate").status_code == 404


def test_curation_needs_the_question_log(settings, tmp_path, app_on):
    with TestClient(app_on(curation_settings(settings, tmp_path, db="off"))) as client:
        response = post(client, PLEDGE, QUESTION)
        assert (response.status_code, response.json()) == (
            503,
            {"detail": "Kuratering krever spørsmålsloggen (QA_DB er slått av)."},
        )


def test_not_covered_marks_over_json_are_listed_and_removed(client):
    response = client.post("/api/admin/not-covered", json={"question": "Hva mener MDG om ulv?"}, headers=BEARER)
    assert response.status_code == 201
    mark = response.json()
    assert client.get("/api/admin/not-covered", headers=BEARER).json() == [mark]
    again = client.post("/api/admin/not-covered", json={"question": "hva mener mdg om ulv"}, headers=BEARER)
    assert again.status_code == 409
    assert client.delete(f"/api/admin/not-covered/{mark['id']}", headers=BEARER).status_code == 204
    assert client.get("/api/admin/not-covered", headers=BEARER).json() == []


# --- the admin page and its forms --------------------------------------------------------------


def fields(html: str, action: str) -> dict[str, str]:
    """The hidden and visible inputs of the first form posting to `action`, as a browser would send them."""
    start = html.index(f'action="{action}"')
    form = html[start : html.index("</form>", start)]
    pairs = re.findall(r'name="([^"]+)" [^>]*?value="([^"]*)"', form)
    return {name: value.replace("&#34;", '"').replace("&amp;", "&") for name, value in pairs}


def test_every_logged_question_in_the_report_links_to_its_curation_with_the_thumbs_down_first(client):
    client.get("/api/ask", params={"q": QUESTION})
    ask_id = client.get("/api/ask", params={"q": "Hva med sykkelveier?"}).json()["ask_id"]
    client.post("/api/feedback", json={"ask_id": ask_id, "helpful": False, "comment": "feil punkt"})
    html = client.get("/admin", headers=BEARER).text
    headings = re.findall(r'<h2 id="([a-z_]+)-heading"', html)
    assert headings[:2] == ["chart", "feedback"]  # the 👎 and their comments first
    feedback = html[html.index('id="feedback-heading"') : html.index("</section>", html.index('id="feedback-heading"'))]
    assert "feil punkt" in feedback
    assert '<a href="/admin/curate?question=Hva+med+sykkelveier%3F&amp;days=30">Rett opp<span class="visually-hidden"> svaret på «Hva med sykkelveier?»</span>' in feedback
    assert '<a href="/admin/curate?question=Blir+det+gratis+parkering%3F&amp;days=30">Rett opp' in html


def test_attaching_through_the_admin_form_changes_the_next_answer(client):
    page = client.get("/admin/curate", params={"question": QUESTION, "find": "karakterer"}, headers=BEARER)
    assert page.status_code == 200
    html = page.text
    assert "Velgeren får nå: <strong>sier ikke noe</strong>" in html
    assert "«avvikle karakterer helt eller delvis i hele grunnskolen.»" in html  # the search box found it
    assert "Et grønt Bærum · Skole · punkt 1 · s. 2 · <code>skole-1</code>" in html
    csp = page.headers["Content-Security-Policy"]
    assert "form-action 'self'" in csp and "script-src" not in csp and "<script" not in html

    form = fields(html, "/admin/curate/attach")
    assert form["csrf"] == form_token(TOKEN.encode())
    form["pledge_id"] = PLEDGE
    response = client.post("/admin/curate/attach", data=form, headers=BEARER, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/curate?question=Blir+det+gratis+parkering%3F&done=attached&days=30"
    ids, band = ask(client, QUESTION)
    assert (ids[0], band) == (PLEDGE, "answered")
    after = client.get(response.headers["location"], headers=BEARER).text
    assert "Lagret. Spørsmålet besvares nå med punktet du valgte." in after
    assert "Velgeren får nå: <strong>besvart</strong>" in after
    assert f'value="{QUESTION}"' in after and "Spørsmålet er knyttet til dette punktet." in after


def test_a_form_without_its_token_is_403_and_changes_nothing(client):
    body = {"question": QUESTION, "pledge_id": PLEDGE, "csrf": "guessed"}
    response = client.post("/admin/curate/attach", data=body, headers=BEARER)
    assert response.status_code == 403
    assert client.get("/api/admin/alternates", headers=BEARER).json() == []


def test_a_refused_form_shows_the_page_again_with_the_reason(client):
    token = form_token(TOKEN.encode())
    body = {"question": QUESTION, "pledge_id": "nope-1", "csrf": token, "days": "7"}
    response = client.post("/admin/curate/attach", data=body, headers=BEARER)
    assert response.status_code == 422
    assert '<p class="notice" role="alert">Ukjent punkt-id «nope-1».</p>' in response.text


def test_marking_not_covered_through_the_form_puts_it_in_the_staff_report(client):
    token = form_token(TOKEN.encode())
    body = {"question": "Hva mener MDG om ulv?", "csrf": token}
    response = client.post("/admin/curate/not-covered", data=body, headers=BEARER, follow_redirects=False)
    assert response.status_code == 303
    report = client.get("/admin", headers=BEARER).text
    marks = report[report.index('id="marks-heading"') : report.index("</section>", report.index('id="marks-heading"'))]
    assert "Hva mener MDG om ulv?" in marks
    assert client.get("/admin/marks.csv", headers=BEARER).text.splitlines()[1].startswith("Hva mener MDG om ulv?,")
    page = client.get("/admin/curate", headers=BEARER).text
    remove = fields(page, "/admin/curate/marks/1/remove")
    assert client.post("/admin/curate/marks/1/remove", data=remove, headers=BEARER, follow_redirects=False).status_code == 303
    assert client.get("/api/admin/not-covered", headers=BEARER).json() == []


def test_alternates_are_edited_and_removed_through_the_forms(client):
    row = post(client, PLEDGE, QUESTION).json()
    page = client.get("/admin/curate", headers=BEARER).text
    edit = fields(page, f"/admin/curate/alternates/{row['id']}/edit")
    assert (edit["question"], edit["pledge_id"]) == (QUESTION, PLEDGE)
    edit["pledge_id"] = "samferdsel-2"
    assert client.post(f"/admin/curate/alternates/{row['id']}/edit", data=edit, headers=BEARER).status_code == 200
    assert ask(client, QUESTION)[0][0] == "samferdsel-2"
    remove = fields(page, f"/admin/curate/alternates/{row['id']}/remove")
    assert client.post(f"/admin/curate/alternates/{row['id']}/remove", data=remove, headers=BEARER).status_code == 200
    assert client.get("/api/admin/alternates", headers=BEARER).json() == []


@pytest.mark.parametrize(
    "url",
    [
        "/admin/curate/alternates/99999999999999999999/edit",
        "/admin/curate/alternates/0/remove",
        "/admin/curate/marks/99999999999999999999/remove",
    ],
)
def test_a_form_for_an_id_no_database_can_hold_is_a_4xx_not_a_crash(client, url):
    token = form_token(TOKEN.encode())
    response = client.post(url, data={"csrf": token, "question": "abc", "pledge_id": PLEDGE}, headers=BEARER)
    assert response.status_code == 422 and "detail" in response.json()


def test_a_form_with_odd_days_or_bytes_that_are_not_utf8_is_refused_or_defaulted_never_a_crash(client):
    token = form_token(TOKEN.encode())
    body = {"question": QUESTION, "pledge_id": PLEDGE, "csrf": token, "days": "²"}  # a digit to str.isdigit
    response = client.post("/admin/curate/attach", data=body, headers=BEARER, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("days=30")
    raw = f"csrf={token}&question=abc%ED%A0%80&pledge_id={PLEDGE}"  # a surrogate's bytes: not UTF-8
    response = client.post(
        "/admin/curate/attach", content=raw, headers={**BEARER, "content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 422 and "ikke kunne leses" in response.text
    assert [a["question"] for a in client.get("/api/admin/alternates", headers=BEARER).json()] == [QUESTION]


@pytest.mark.parametrize("url", ["/api/admin/alternates", "/api/admin/not-covered"])
def test_a_lone_surrogate_in_the_json_is_a_422_not_a_crash(client, url):
    body = '{"pledge_id": "' + PLEDGE + '", "question": "hei \\ud800 du"}'  # valid JSON, not valid text
    response = client.post(url, content=body, headers={**BEARER, "content-type": "application/json"})
    assert (response.status_code, response.json()) == (422, {"detail": "Spørsmålet inneholder ugyldige tegn."})
    assert client.get(url, headers=BEARER).json() == []
