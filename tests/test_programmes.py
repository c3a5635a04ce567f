"""Several programmes in one service (qa.programmes): the registry, fallback and compare, and
their pages, on three fictional programmes in tests/fixtures/programmes (a municipal one whose
party has a national programme as its fallback, that national one, and a second party)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.answering.bands import Bands
from qa.answering.fitted import Fitted, Profile
from qa.answering.ranking import Weights
from qa.errors import ConfigError
from qa.operations.settings import Settings
from qa.programmes.registry import load_registry
from tests.conftest import PROGRAMME_FIXTURES, FakeEmbedder
from tests.curation_fixtures import on_best
from web.app import create_app

FIXTURES = PROGRAMME_FIXTURES
LOCAL, NATIONAL, OTHER = "gront-eksempelby", "gront-norge", "blatt-eksempelby"
# Words of the national programme's pledge only: the local programme says nothing about oil.
OIL = "stanse all ny leting etter olje og gass"
BIKE = "trygge sykkelveier langs alle skoleveier"  # the local programme's own words

# Answer when the best match is close; the same for the bare profile (the fixtures have no expansions).
BANDS = Bands(right=on_best(0.55), scope=on_best(0.4), answer_at=0.5, deny_below=0.5)


@pytest.fixture
def psettings(tmp_path: Path, registry: Path) -> Settings:
    fitted = tmp_path / "fitted.json"
    bare = Profile(Weights(), BANDS)
    fitted.write_text(Fitted(Weights(), BANDS, "fake-embedder", {}, bare=bare).as_json(), encoding="utf-8")
    return Settings(
        programmes=registry, questions=None, background=None, fitted=fitted,
        index_dir=tmp_path / "index", db="off", rate_limit=0,
    )  # fmt: skip


@pytest.fixture
def client(psettings: Settings):
    with TestClient(create_app(psettings, embedder=FakeEmbedder())) as client:
        yield client


def test_the_registry_reads_every_programme_in_folder_order_with_one_default(registry: Path):
    entries = load_registry(registry)
    assert [e.slug for e in entries] == [LOCAL, NATIONAL, OTHER]
    assert [e.slug for e in entries if e.default] == [LOCAL]
    assert entries[0].fallback == NATIONAL and entries[0].level == "municipality" and entries[1].level == "national"
    assert entries[0].programme.name == "programme.txt"


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name / "programme.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("1-gront-eksempelby", 'fallback = "gront-norge"', 'fallback = "gront-sverige"'), "fallback 'gront-sverige' is not a programme"),
        (("3-blatt-eksempelby", 'slug = "blatt-eksempelby"', 'slug = "gront-norge"'), "slug 'gront-norge' is used twice"),
        (("2-gront-norge", 'level = "national"', 'level = "national"\nfallback = "gront-eksempelby"'), "cycle: gront-eksempelby -> gront-norge -> gront-eksempelby"),
        (("3-blatt-eksempelby", 'place = "Eksempelby"', 'fallback = "gront-norge"\nplace = "Eksempelby"'), "another party's programme"),
        (("2-gront-norge", 'level = "national"', 'level = "galactic"'), "level 'galactic' must be one of"),
        (("2-gront-norge", 'title = "Grønt Testpartis nasjonale program"\n', ""), "title must be a non-empty string"),
        (("2-gront-norge", 'level = "national"', 'level = "national"\ndefault = true'), "exactly one programme must say default = true"),
        (("2-gront-norge", 'level = "national"', 'level = "national"\ncolour = "green"'), "unknown fields colour"),
        (("2-gront-norge", 'slug = "gront-norge"', 'slug = "Grønt Norge"'), "must be lower-case letters"),
    ],
)
def test_a_bad_registry_is_one_line_naming_the_problem(registry: Path, change, message):
    _edit(registry, *change)
    with pytest.raises(ConfigError, match="QA_PROGRAMMES") as caught:
        load_registry(registry)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_programme_folder_without_its_programme_file_is_named(registry: Path):
    (registry / "2-gront-norge" / "programme.txt").unlink()
    with pytest.raises(ConfigError, match="2-gront-norge has no programme.txt or programme.pdf"):
        load_registry(registry)


def test_a_bad_registry_stops_start_up_with_one_line(registry: Path, psettings: Settings):
    (registry / "3-blatt-eksempelby" / "programme.toml").write_text("slug = ", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"3-blatt-eksempelby/programme.toml: cannot read"):
        with TestClient(create_app(psettings, embedder=FakeEmbedder())):
            pass


def test_a_question_the_local_programme_does_not_answer_gets_the_national_answer_attributed(client):
    body = client.get("/api/ask", params={"q": OIL}).json()
    assert body["programme"] == LOCAL and body["coverage"] != "answered"
    assert {r["programme"] for r in body["results"]} == {LOCAL}  # never mixed into the local results
    fallback = body["fallback"]
    assert fallback["programme"] == NATIONAL and fallback["coverage"] == "answered"
    assert fallback["title"] == "Grønt Testpartis nasjonale program"
    top = fallback["results"][0]
    assert top["id"] == "energi-1" and top["programme"] == NATIONAL
    assert top["url"] == f"/p/{NATIONAL}/program#energi-1"


def test_a_question_the_local_programme_answers_has_no_fallback(client):
    body = client.get("/api/ask", params={"q": BIKE, "programme": LOCAL}).json()
    assert body["coverage"] == "answered" and "fallback" not in body
    assert body["results"][0]["id"] == "sykkel-1" and body["results"][0]["url"] == "/program#sykkel-1"


def test_the_national_programme_can_be_asked_itself(client):
    body = client.get("/api/ask", params={"q": OIL, "programme": NATIONAL}).json()
    assert body["programme"] == NATIONAL and body["coverage"] == "answered" and "fallback" not in body


def test_a_programme_without_a_fallback_says_so_alone(client):
    body = client.get("/api/ask", params={"q": OIL, "programme": OTHER}).json()
    assert body["programme"] == OTHER and body["coverage"] != "answered" and "fallback" not in body


def test_an_unknown_programme_is_a_404_with_a_detail(client):
    response = client.get("/api/ask", params={"q": OIL, "programme": "ukjent-parti"})
    assert response.status_code == 404
    assert response.json()["detail"] == "Ukjent program: 'ukjent-parti'. Se /api/programmes."


def test_compare_gives_every_programme_its_own_band_in_the_registry_order(client):
    response = client.get("/api/compare", params={"q": "fjerne eiendomsskatten", "programmes": f"{OTHER},{LOCAL}"})
    assert response.status_code == 200
    body = response.json()
    assert [p["programme"] for p in body["programmes"]] == [LOCAL, OTHER]  # the operator's order, not the asked one
    local, other = body["programmes"]
    assert other["coverage"] == "answered" and other["results"][0]["id"] == "skatt-1"
    assert local["coverage"] != "answered"  # it says nothing about property tax, and compare says so
    assert other["party"] == "Blått Testparti" and local["title"] == "Grønt Testpartis program for Eksempelby"
    assert all("fallback" not in p for p in body["programmes"])


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"q": "skatt", "programmes": "a,b,c,d,e,f,g"}, 422, "høyst 6 programmer"),
        ({"q": "skatt", "programmes": f"{LOCAL},ukjent"}, 404, "ukjent program: 'ukjent'"),
        ({"q": "skatt"}, 422, "Programmene mangler"),
        ({"programmes": LOCAL}, 422, "Spørsmålet mangler"),
    ],
)
def test_bad_compare_requests_are_4xx_with_a_detail(client, params, status, detail):
    response = client.get("/api/compare", params=params)
    assert response.status_code == status
    assert detail in response.json()["detail"]


def test_the_programmes_are_listed_with_their_pages(client):
    body = client.get("/api/programmes").json()
    assert body["default"] == LOCAL
    assert [(p["slug"], p["url"]) for p in body["programmes"]] == [
        (LOCAL, "/program"), (NATIONAL, f"/p/{NATIONAL}/program"), (OTHER, f"/p/{OTHER}/program"),
    ]  # fmt: skip


def test_each_programme_has_its_own_chat_page_and_programme_page(client):
    page = client.get(f"/p/{OTHER}/")
    assert page.status_code == 200
    assert "<h1>Spør om Blått Testpartis program for Eksempelby</h1>" in page.text
    assert f'action="/p/{OTHER}/#svar"' in page.text and f'data-programme="{OTHER}"' in page.text
    programme = client.get(f"/p/{OTHER}/program")
    assert programme.status_code == 200 and "fjerne eiendomsskatten i Eksempelby." in programme.text
    assert client.get("/p/ukjent/").status_code == 404
    assert "Spør om Grønt Testpartis program for Eksempelby" in client.get("/").text  # / is the default programme


def test_the_chat_page_without_javascript_shows_the_fallback_under_its_own_line(client):
    page = client.get("/", params={"q": OIL})
    assert page.status_code == 200
    assert '<div class="reply fallback answered">' in page.text
    assert "<span class=\"label\">Bredere program</span> Grønt Testpartis nasjonale program sier:" in page.text
    assert f'href="/p/{NATIONAL}/program#energi-1"' in page.text


def test_a_programme_page_answers_from_its_own_programme_whatever_the_query_says(client):
    page = client.get(f"/p/{OTHER}/", params={"q": "fjerne eiendomsskatten", "programme": LOCAL})
    assert f'href="/p/{OTHER}/program#skatt-1"' in page.text


def test_each_programme_has_its_own_index_and_changing_one_does_not_re_embed_the_others(psettings: Settings, registry: Path):
    with TestClient(create_app(psettings, embedder=FakeEmbedder())):
        pass
    manifests = {slug: (psettings.index_dir / slug / "manifest.json") for slug in (LOCAL, NATIONAL, OTHER)}
    before = {slug: (m.read_bytes(), m.stat().st_mtime_ns) for slug, m in manifests.items()}
    text = registry / "3-blatt-eksempelby" / "programme.txt"
    text.write_text(text.read_text(encoding="utf-8").replace("flere parkeringshus", "flere og større parkeringshus"), encoding="utf-8")
    with TestClient(create_app(psettings, embedder=FakeEmbedder())) as client:
        assert client.get("/api/ask", params={"q": "større parkeringshus", "programme": OTHER}).status_code == 200
    after = {slug: (m.read_bytes(), m.stat().st_mtime_ns) for slug, m in manifests.items()}
    assert after[LOCAL] == before[LOCAL] and after[NATIONAL] == before[NATIONAL]
    assert after[OTHER][0] != before[OTHER][0]  # only the changed programme was rebuilt


def test_the_compare_page_shows_every_programme_in_order_including_those_that_say_nothing(client):
    page = client.get("/compare", params={"q": "fjerne eiendomsskatten"})
    assert page.status_code == 200
    text = page.text
    titles = ["Grønt Testpartis program for Eksempelby", "Grønt Testpartis nasjonale program", "Blått Testpartis program for Eksempelby"]
    positions = [text.index(f">{t}</h2>") for t in titles]
    assert positions == sorted(positions)  # the registry's order, whatever the scores
    assert "Grønt Testpartis nasjonale program sier ikke noe om dette." in text
    assert f'href="/p/{OTHER}/program#skatt-1"' in text


def test_the_compare_page_without_a_question_is_the_form_and_a_bad_one_is_a_4xx_page(client):
    empty = client.get("/compare")
    assert empty.status_code == 200 and 'action="/compare"' in empty.text
    too_many = client.get("/compare", params={"q": "skatt", "programmes": "a,b,c,d,e,f,g"})
    assert too_many.status_code == 422 and "høyst 6 programmer" in too_many.text
    unknown = client.get("/compare", params={"q": "skatt", "programmes": "ukjent"})
    assert unknown.status_code == 404 and "ukjent program" in unknown.text


def test_health_counts_the_programmes(client):
    assert client.get("/healthz").json() == {"status": "ok", "pledges": 3, "model": "fake-embedder", "programmes": 3}


def test_a_programme_given_as_a_pdf_is_read_as_the_import_reads_it(registry: Path, psettings: Settings):
    from tests.pdfmaker import render_programme_text

    folder = registry / "3-blatt-eksempelby"
    text = folder / "programme.txt"
    render_programme_text(text.read_text(encoding="utf-8"), folder / "programme.pdf")
    text.unlink()
    assert load_registry(registry)[2].programme.name == "programme.pdf"
    with TestClient(create_app(psettings, embedder=FakeEmbedder())) as client:
        body = client.get("/api/ask", params={"q": "fjerne eiendomsskatten", "programme": OTHER}).json()
    assert body["results"][0]["id"] == "skatt-1" and body["results"][0]["text"] == "fjerne eiendomsskatten i Eksempelby."


def test_build_with_a_registry_builds_each_programme_into_its_own_folder_and_nothing_at_the_root(
    registry: Path, tmp_path: Path, monkeypatch, capsys
):
    from qa.operations.cli import main

    for name, value in {"QA_PROGRAMMES": registry, "QA_INDEX_DIR": tmp_path / "index", "QA_VAR_DIR": tmp_path / "var"}.items():
        monkeypatch.setenv(name, str(value))
    for name in ("QA_QUESTIONS", "QA_BACKGROUND", "QA_FITTED"):
        monkeypatch.setenv(name, "off")
    assert main(["build"]) == 0
    slugs = [e.slug for e in load_registry(registry)]
    folders = sorted(p.name for p in (tmp_path / "index").iterdir() if not p.name.startswith("."))  # caches are dot-files
    assert folders == sorted(slugs) and not (tmp_path / "index" / "manifest.json").exists()  # no index at the root
    out = capsys.readouterr().out
    for slug in slugs:
        assert (tmp_path / "index" / slug / "manifest.json").is_file()
        assert f"index ready in {tmp_path / 'index' / slug}" in out
    before = {slug: (tmp_path / "index" / slug / "manifest.json").stat().st_mtime_ns for slug in slugs}
    assert main(["build"]) == 0  # up to date: nothing rebuilt, nothing removed
    assert {slug: (tmp_path / "index" / slug / "manifest.json").stat().st_mtime_ns for slug in slugs} == before


def test_serve_with_a_registry_it_cannot_read_is_one_line_before_anything_starts(tmp_path: Path, monkeypatch, capsys):
    from qa.operations.cli import main

    monkeypatch.setenv("QA_PROGRAMMES", str(tmp_path / "no-such-registry"))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "index").exists()  # no index was built for a programme nobody serves
