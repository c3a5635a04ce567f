"""Several programmes, each with its own curation and its own questions in the log: schema
migration 5, the store scoped to a programme, the admin API, /admin/curate and the staff report
with `programme`, and `qa ask|eval|alternates --programme`. On SQLite and on PostgreSQL (`log_db`),
on the fictional programmes of tests/fixtures/programmes and the fake embedder."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.answering.fitted import Fitted, Profile
from qa.answering.ranking import Weights
from qa.curation.store import Curation, Duplicate, NoSuchEntry, UnknownPledge
from qa.operations.cli import main
from qa.operations.settings import Settings
from qa.programmes.registry import DEFAULT_SLUG
from qa.questionlog.backend import connect
from qa.questionlog.schema import FIRST_PROGRAMME, SCHEMA_VERSION, migrate, schema_version
from qa.questionlog.store import hour_of
from tests.conftest import FakeEmbedder
from tests.curation_fixtures import BEARER, TOKEN
from tests.postgres import rows
from tests.test_programmes import BANDS, LOCAL, NATIONAL, OIL, OTHER
from web.app import create_app
from web.curate_page import form_token

# Words of no fixture programme: no programme answers it until staff attach it to a pledge.
WOLF = "Hva skjer med ulvene i Nordmarka?"
WIND = "energi-2"  # the national programme's pledge on offshore wind, which staff say answers it


@pytest.fixture
def fitted(tmp_path: Path) -> Path:
    path = tmp_path / "fitted.json"
    path.write_text(Fitted(Weights(), BANDS, "fake-embedder", {}, bare=Profile(Weights(), BANDS)).as_json(), encoding="utf-8")
    return path


@pytest.fixture
def psettings(tmp_path: Path, registry: Path, fitted: Path, log_db: str) -> Settings:
    return Settings(
        programmes=registry, questions=None, background=None, fitted=fitted,
        index_dir=tmp_path / "index", db=log_db, rate_limit=0, admin_token=TOKEN,
    )  # fmt: skip


@pytest.fixture
def client(psettings: Settings):
    with TestClient(create_app(psettings, embedder=FakeEmbedder())) as client:
        yield client


def ask(client, question: str, programme: str | None = None) -> dict:
    params = {"q": question} if programme is None else {"q": question, "programme": programme}
    response = client.get("/api/ask", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- migration 5 -------------------------------------------------------------------------------


def test_a_log_from_before_several_programmes_keeps_every_row_as_the_first_programmes(tmp_path, log_db):
    conn = connect(log_db, 5.0)
    migrate(conn, to=4)
    hour = hour_of(datetime.now(UTC))
    conn.execute("INSERT INTO asks VALUES ('a1', ?, 'q', 'Q', 0, NULL, '[]', 'not_covered', NULL)", (hour,))
    conn.execute("INSERT INTO alternates (id, pledge_id, question, key, created) VALUES (7, 'skole-1', 'Q?', 'q', '2026-01-01T00:00:00Z')")
    conn.execute("INSERT INTO not_covered_marks (id, question, key, created) VALUES (3, 'Ulv?', 'ulv', '2026-01-01T00:00:00Z')")
    (version_before,) = conn.execute("SELECT version FROM curation_version").fetchone()
    migrate(conn)
    assert schema_version(conn) == SCHEMA_VERSION >= 5
    conn.close()
    assert FIRST_PROGRAMME == DEFAULT_SLUG  # the one programme a service without a registry has
    assert rows(log_db, "SELECT ask_id, programme FROM asks") == [("a1", "mdg-baerum")]
    assert rows(log_db, "SELECT id, programme, pledge_id, question FROM alternates") == [(7, "mdg-baerum", "skole-1", "Q?")]
    assert rows(log_db, "SELECT id, programme, question FROM not_covered_marks") == [(3, "mdg-baerum", "Ulv?")]
    assert rows(log_db, "SELECT version FROM curation_version") == [(version_before,)]  # moving rows is no change

    store = Curation(log_db, {"skole-1"})  # the default scope: the first programme's rows
    try:
        assert [(a.id, a.programme) for a in store.alternates()] == [(7, "mdg-baerum")]
        store.add("skole-1", "Blir det gratis parkering?")  # the triggers were made again: the counter moves
        assert store.version() == version_before + 1
        other = store.for_programme("gront-norge", {"skole-1"})
        other.add("skole-1", "Q?")  # the same question and pledge id, another programme: no duplicate
        other.mark_not_covered("Ulv?")
        with pytest.raises(Duplicate):
            store.mark_not_covered("ulv")
    finally:
        store.close()


# --- the store, scoped to one programme --------------------------------------------------------


@pytest.fixture
def stores(log_db):
    local = Curation(log_db, {"sykkel-1", "sykkel-2"}, programme=LOCAL)
    national = local.for_programme(NATIONAL, {"energi-1", WIND})
    yield local, national
    local.close()


def test_each_programme_reads_and_changes_only_its_own_curation(stores):
    local, national = stores
    mine = local.add("sykkel-1", WOLF)
    theirs = national.add(WIND, WOLF)
    mark = national.mark_not_covered("Hva med NATO?")
    assert [(a.id, a.pledge_id, a.programme) for a in local.alternates()] == [(mine.id, "sykkel-1", LOCAL)]
    assert [(a.id, a.pledge_id, a.programme) for a in national.alternates()] == [(theirs.id, WIND, NATIONAL)]
    assert local.marks() == [] and [m.programme for m in national.marks()] == [NATIONAL]
    assert [m.id for m in local.every_mark()] == [mark.id]
    assert local.programmes() == {LOCAL, NATIONAL}
    with pytest.raises(NoSuchEntry):
        local.remove(theirs.id)  # another programme's row is not there for this one
    with pytest.raises(NoSuchEntry):
        local.update(theirs.id, question="Hva?")
    with pytest.raises(NoSuchEntry):
        local.unmark(mark.id)
    with pytest.raises(UnknownPledge, match="unknown pledge id 'energi-1'"):
        local.add("energi-1", "Olje?")  # a pledge of another programme
    assert local.import_rows([("sykkel-2", "Parkering?", None)], replace=True) == (1, 0)
    assert [a.pledge_id for a in local.alternates()] == ["sykkel-2"]
    assert [a.id for a in national.alternates()] == [theirs.id]  # replace touched only its own programme


# --- the admin API -----------------------------------------------------------------------------


def test_an_alternate_for_the_national_programme_reaches_only_its_ranker(client):
    assert ask(client, WOLF, NATIONAL)["coverage"] != "answered"
    response = client.post("/api/admin/alternates", json={"programme": NATIONAL, "pledge_id": WIND, "question": WOLF}, headers=BEARER)
    assert response.status_code == 201
    row = response.json()
    assert (row["programme"], row["pledge_id"], row["question"]) == (NATIONAL, WIND, WOLF)

    body = ask(client, WOLF, NATIONAL)
    assert (body["results"][0]["id"], body["coverage"]) == (WIND, "answered")
    library = client.app.state.library
    assert {e.slug: len(library.answerer(e.slug).ranker.curated.vectors) for e in library.entries} == {LOCAL: 0, NATIONAL: 1, OTHER: 0}
    local = ask(client, WOLF)  # the local programme has no alternate: its fallback, attributed, answers
    assert local["programme"] == LOCAL and local["coverage"] != "answered"
    assert (local["fallback"]["programme"], local["fallback"]["results"][0]["id"]) == (NATIONAL, WIND)

    listed = client.get("/api/admin/alternates", params={"programme": NATIONAL}, headers=BEARER).json()
    assert listed == [row]
    assert client.get("/api/admin/alternates", headers=BEARER).json() == []  # default: the default programme's
    gone = client.delete(f"/api/admin/alternates/{row['id']}", headers=BEARER)
    assert gone.status_code == 404  # not the default programme's row
    assert client.delete(f"/api/admin/alternates/{row['id']}", params={"programme": NATIONAL}, headers=BEARER).status_code == 204
    assert ask(client, WOLF, NATIONAL)["coverage"] != "answered"


def test_the_admin_api_without_programme_is_the_default_programmes(client):
    response = client.post("/api/admin/alternates", json={"pledge_id": "sykkel-1", "question": WOLF}, headers=BEARER)
    assert response.status_code == 201 and response.json()["programme"] == LOCAL
    mark = client.post("/api/admin/not-covered", params={"programme": OTHER}, json={"question": OIL}, headers=BEARER)
    assert mark.status_code == 201 and mark.json()["programme"] == OTHER
    assert [m["question"] for m in client.get("/api/admin/not-covered", params={"programme": OTHER}, headers=BEARER).json()] == [OIL]
    assert client.get("/api/admin/not-covered", headers=BEARER).json() == []


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "detail"),
    [
        ("get", "/api/admin/alternates", {"params": {"programme": "ukjent"}}, 404, "Ukjent program: 'ukjent'. Se /api/programmes."),
        ("post", "/api/admin/alternates", {"json": {"programme": "ukjent", "pledge_id": WIND, "question": WOLF}}, 404, "Ukjent program: 'ukjent'. Se /api/programmes."),
        ("post", "/api/admin/alternates", {"json": {"programme": 7, "pledge_id": WIND, "question": WOLF}}, 422, "«programme» må være et programs kortnavn (slug)."),
        ("post", "/api/admin/alternates", {"json": {"programme": OTHER, "pledge_id": WIND, "question": WOLF}}, 422, f"Ukjent punkt-id «{WIND}»."),
        ("post", "/api/admin/alternates", {"json": {"pledge_id": WIND, "question": WOLF}}, 422, f"Ukjent punkt-id «{WIND}»."),
        ("delete", "/api/admin/not-covered/1", {"params": {"programme": "ukjent"}}, 404, "Ukjent program: 'ukjent'. Se /api/programmes."),
    ],
)
def test_an_unknown_programme_or_another_programmes_pledge_is_a_4xx_with_a_detail(client, method, url, kwargs, status, detail):
    response = getattr(client, method)(url, headers=BEARER, **kwargs)
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert client.get("/api/admin/alternates", params={"programme": OTHER}, headers=BEARER).json() == []


def test_curation_stored_for_a_programme_the_registry_lost_is_named_at_start_up(psettings, caplog):
    store = Curation(psettings.db, {"skole-1"})  # a service that had only mdg-baerum
    store.add("skole-1", WOLF)
    store.close()
    with TestClient(create_app(psettings, embedder=FakeEmbedder())) as client:
        assert ask(client, WOLF)["programme"] == LOCAL
    assert "curation is stored for programme 'mdg-baerum', which the registry does not have" in caplog.text


# --- the question log and the report -----------------------------------------------------------


def test_questions_to_every_programme_are_logged_with_it_and_the_report_filters_by_programme(client):
    assert "ask_id" in ask(client, OIL, NATIONAL)
    assert "ask_id" in ask(client, OIL)  # the local one, with the national fallback: logged as the local one's
    page = client.get(f"/p/{OTHER}/", params={"q": "fjerne eiendomsskatten"})
    assert page.status_code == 200 and "data-ask-id=" in page.text  # its page offers feedback too

    everything = client.get("/api/admin/questions", headers=BEARER).json()
    assert sorted((r["programme"], r["question"]) for r in everything) == sorted(
        [(NATIONAL, OIL), (LOCAL, OIL), (OTHER, "fjerne eiendomsskatten")]
    )  # one question asked of two programmes is two rows
    only = client.get("/api/admin/questions", params={"programme": NATIONAL}, headers=BEARER).json()
    assert [(r["programme"], r["question"], r["coverage"]) for r in only] == [(NATIONAL, OIL, "answered")]
    missing = client.get("/api/admin/questions", params={"programme": "ukjent"}, headers=BEARER)
    assert (missing.status_code, missing.json()["detail"]) == (404, "Ukjent program: 'ukjent'. Se /api/programmes.")

    report = client.get("/admin", headers=BEARER).text
    assert '<th scope="col" class="text">Program</th>' in report
    assert f'<td class="text">{NATIONAL}</td>' in report and f'<td class="text">{OTHER}</td>' in report
    assert f"/admin/curate?question=stanse+all+ny+leting+etter+olje+og+gass&amp;days=30&amp;programme={NATIONAL}" in report
    assert 'href="/admin?days=30&amp;programme=gront-norge">Grønt Testpartis nasjonale program</a>' in report
    one = client.get("/admin", params={"programme": OTHER}, headers=BEARER).text
    assert "fjerne eiendomsskatten" in one and OIL not in one and "Program</th>" not in one
    assert "<dt>Spørsmål</dt><dd>1</dd>" in one

    csv = client.get("/admin/questions.csv", params={"programme": NATIONAL}, headers=BEARER)
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "Spørsmål,Antall,Svar,Sist stilt (UTC),Beste treff" and len(lines) == 2 and lines[1].startswith(OIL)
    assert "gront-norge-questions-30d" in csv.headers["content-disposition"]
    every = client.get("/admin/questions.csv", headers=BEARER).text.lstrip("\ufeff").splitlines()
    assert every[0] == "Spørsmål,Program,Antall,Svar,Sist stilt (UTC),Beste treff" and len(every) == 4


def test_feedback_on_a_non_default_programmes_answer_is_in_its_report(client):
    ask_id = ask(client, OIL, NATIONAL)["ask_id"]
    assert client.post("/api/feedback", json={"ask_id": ask_id, "helpful": False, "comment": "Feil"}).status_code == 204
    page = client.get("/admin", params={"programme": NATIONAL}, headers=BEARER).text
    assert "<dt>Ikke nyttige svar</dt><dd>1</dd>" in page and "energi-1" in page
    other = client.get("/admin", params={"programme": OTHER}, headers=BEARER).text
    assert "<dt>Ikke nyttige svar</dt><dd>0</dd>" in other


def test_the_terminal_report_names_each_questions_programme(psettings, client):
    from qa.questionlog.report import report

    ask(client, OIL, NATIONAL)
    ask(client, "fjerne eiendomsskatten", OTHER)
    lines = report(psettings, days=7).splitlines()
    asked = lines[lines.index("Mest stilte spørsmål") :]
    assert asked[2].split()[:3] == ["Spørsmål", "Program", "Antall"]
    after = {q: line[len(q) :].split()[0] for line in asked[4:6] for q in (OIL, "fjerne eiendomsskatten") if line.startswith(q)}
    assert after == {OIL: NATIONAL, "fjerne eiendomsskatten": OTHER}  # the column after the question


# --- /admin/curate -----------------------------------------------------------------------------


def test_the_curation_page_picks_a_programme_and_its_forms_change_only_that_one(client):
    page = client.get("/admin/curate", params={"programme": NATIONAL, "question": WOLF, "find": "havvind"}, headers=BEARER)
    assert page.status_code == 200
    assert "<h1>Rett opp svar: Grønt Testpartis nasjonale program</h1>" in page.text
    assert f'<option value="{NATIONAL}" selected>' in page.text and f'<option value="{LOCAL}">' in page.text
    assert f"<code>{WIND}</code>" in page.text  # the search looks in the chosen programme
    assert f'<input type="hidden" name="programme" value="{NATIONAL}">' in page.text
    csrf = form_token(TOKEN.encode())
    form = {"csrf": csrf, "days": "30", "question": WOLF, "pledge_id": WIND, "programme": NATIONAL}
    done = client.post("/admin/curate/attach", data=form, headers=BEARER, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].endswith(f"&programme={NATIONAL}")
    assert ask(client, WOLF, NATIONAL)["results"][0]["id"] == WIND
    refused = client.post("/admin/curate/attach", data={**form, "programme": OTHER}, headers=BEARER)
    assert refused.status_code == 422 and f"Ukjent punkt-id «{WIND}»." in refused.text
    default = client.get("/admin/curate", headers=BEARER).text
    assert "<h1>Rett opp svar: Grønt Testpartis program for Eksempelby</h1>" in default and WOLF not in default
    assert client.get("/admin/curate", params={"programme": "ukjent"}, headers=BEARER).status_code == 404


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, tmp_path, registry, fitted, log_db):
    monkeypatch.setenv("QA_PROGRAMMES", str(registry))
    monkeypatch.setenv("QA_FITTED", str(fitted))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("QA_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("QA_DB", log_db)
    for name in ("QA_QUESTIONS", "QA_BACKGROUND"):
        monkeypatch.setenv(name, "off")
    monkeypatch.setattr("qa.answering.startup.load_embedder", lambda model: FakeEmbedder())


def test_qa_ask_answers_from_the_programme_named(cli_env, capsys):
    assert main(["ask", OIL, "--programme", NATIONAL, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["coverage"], answer["results"][0]["id"]) == ("answered", "energi-1")
    assert main(["ask", "fjerne eiendomsskatten", "--programme", OTHER, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["id"] == "skatt-1"
    assert main(["ask", "trygge sykkelveier langs alle skoleveier", "--json"]) == 0  # default: the default one
    assert json.loads(capsys.readouterr().out)["results"][0]["id"] == "sykkel-1"


def test_qa_eval_measures_the_programme_named(cli_env, tmp_path, capsys):
    questions = tmp_path / "national.jsonl"
    cases = [
        {"id": "n1", "q": "stanse leting etter olje og gass", "kind": "paraphrase", "gold": ["stanse all ny leting etter olje"]},
        {"id": "n2", "q": "havvind langs kysten", "kind": "paraphrase", "gold": ["bygge ut havvind"]},
    ]
    questions.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    assert main(["eval", str(questions), "--programme", NATIONAL]) == 0
    table = capsys.readouterr().out
    assert re.search(r"^all\s+2\s+1\.00\s+1\.00\s", table, re.M), table  # n = 2, Hit@1 and Hit@5 both 1.00
    assert main(["eval", str(questions)]) == 2  # the default programme has no such pledges
    assert "gold snippet 'stanse all ny leting etter olje' matches 0 pledges" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["ask", OIL], ["eval", "questions.jsonl"], ["alternates", "export"]])
def test_a_bad_programme_is_one_line_and_exit_2_before_any_model_is_loaded(cli_env, monkeypatch, capsys, command):
    monkeypatch.setattr("qa.answering.startup.load_embedder", lambda model: pytest.fail("no model for a bad slug"))
    assert main([*command, "--programme", "ukjent"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: unknown programme 'ukjent'; QA_PROGRAMMES has {LOCAL}, {NATIONAL}, {OTHER}\n"


def test_without_a_registry_only_the_one_programme_can_be_named(cli_env, monkeypatch, capsys):
    monkeypatch.delenv("QA_PROGRAMMES")
    assert main(["ask", OIL, "--programme", NATIONAL]) == 2
    assert capsys.readouterr().err == (
        f"error: unknown programme '{NATIONAL}': QA_PROGRAMMES is not set, so the only one is 'mdg-baerum'\n"
    )


def test_alternates_export_and_import_move_one_programmes_alternates(cli_env, tmp_path, log_db, capsys):
    source = tmp_path / "national.jsonl"
    source.write_text(json.dumps({"pledge_id": WIND, "question": WOLF}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["alternates", "import", str(source)]) == 2  # into the default programme: not its pledge
    assert capsys.readouterr().err == f"error: {source} line 1: unknown pledge id '{WIND}'\n"
    assert main(["alternates", "import", str(source), "--programme", NATIONAL]) == 0
    assert capsys.readouterr().out == f"{source}: 1 added, 0 already there\n"
    assert main(["alternates", "export", "--programme", NATIONAL]) == 0
    assert [(r["pledge_id"], r["question"]) for r in map(json.loads, capsys.readouterr().out.splitlines())] == [(WIND, WOLF)]
    assert main(["alternates", "export"]) == 0 and capsys.readouterr().out == ""  # the default programme has none
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    local = Curation(log_db, {"sykkel-1"}, programme=LOCAL)
    local.add("sykkel-1", WOLF)
    local.close()
    assert main(["alternates", "import", "--replace", str(empty), "--programme", NATIONAL]) == 0
    assert rows(log_db, "SELECT programme, pledge_id FROM alternates") == [(LOCAL, "sykkel-1")]
