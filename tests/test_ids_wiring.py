"""Stable ids where they are used: the setting, start-up, the programme page's old anchors, the
expansions' fallback to the id, the report's pledge names, and the production ledger itself."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from corpus.expansions import read_expansions
from corpus.ids import initial_rows, with_ledger
from corpus.ledger import Row, read_ledger, write_ledger
from corpus.parse import parse_file, parse_text
from qa.answering.startup import load_programme
from qa.errors import ConfigError
from qa.operations.settings import DEFAULT_CORPUS, Settings
from qa.questionlog.report import pledge_names
from tests.conftest import SMALL_PROGRAMME, FakeEmbedder
from web.app import create_app

# The small programme's next edition: its second Samferdsel pledge is edited, its kayak pledge gone.
EDITED = "bygge et sammenhengende sykkelveinett av svært høy kvalitet."
NEXT_EDITION = SMALL_PROGRAMME.replace("bygge et sammenhengende sykkelveinett av høy kvalitet.", EDITED).replace(
    "● opprette en utleieordning for kajakker og robåter\n\ngratis mot at de som leier plukker plast.\n", ""
)


@pytest.fixture
def ledger(settings):
    """The small programme's ledger, beside it (where QA_IDS looks by default)."""
    path = settings.ids
    write_ledger(path, initial_rows(parse_file(settings.corpus)))
    return path


def test_the_ledger_setting_defaults_to_beside_the_programme_and_can_be_off(tmp_path, monkeypatch):
    assert Settings().ids == DEFAULT_CORPUS.with_name("mdg-baerum-program.ids.jsonl")
    corpus = tmp_path / "other.txt"
    corpus.write_text(SMALL_PROGRAMME, encoding="utf-8")
    assert Settings(corpus=corpus).ids == tmp_path / "other.ids.jsonl"
    monkeypatch.setenv("QA_IDS", "off")
    assert Settings().ids is None


def test_without_a_ledger_the_ids_are_positional(settings):
    assert not settings.ids.exists()
    assert [p.id for p in load_programme(settings.corpus, settings.ids).pledges] == [
        p.id for p in parse_file(settings.corpus).pledges
    ]


def test_start_up_applies_the_ledger_and_warns_once_when_it_is_behind(settings, ledger, caplog):
    settings.corpus.write_text(NEXT_EDITION, encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="qa.answering.startup"):
        first = load_programme(settings.corpus, settings.ids)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"QA_IDS ({ledger}): the programme has changes the ledger has not seen (1 edited, 1 retired "
        "(samferdsel-2, oslofjorden-2)); run 'python -m qa ids update' and commit the ledger"
    ]
    assert first.by_id["samferdsel-2"].text == EDITED and first.by_id["samferdsel-2"].number == 2
    assert first.landing == {"oslofjorden-2": "oslofjorden"}
    again = load_programme(settings.corpus, settings.ids)
    assert [p.id for p in again.pledges] == [p.id for p in first.pledges]  # the same on every start


def test_a_broken_ledger_stops_start_up_naming_the_setting(settings):
    settings.ids.write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^QA_IDS: .*line 1: 'id' must be a string$"):
        load_programme(settings.corpus, settings.ids)


def test_the_programme_page_carries_retired_ids_where_their_links_land(settings, ledger):
    rows = read_ledger(ledger) + [
        Row("skole-7", "gammel tekst.", "skole", "Skole", retired=True, lands="skole-1"),  # a successor
        Row("kultur-1", "gammel kultur.", "kultur", "Kultur", retired=True),  # section gone: the top
    ]
    write_ledger(ledger, rows)
    settings.corpus.write_text(NEXT_EDITION, encoding="utf-8")
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        html = client.get("/program").text
    # the removed kayak pledge lands on its section, the successor on its pledge, the rest on top
    assert re.search(
        r'<section class="section" id="oslofjorden">\s*<span id="oslofjorden-2" class="old-id"></span>', html
    )
    assert '<li id="skole-1" value="1"><span id="skole-7" class="old-id"></span>' in html
    assert re.search(r'<span id="kultur-1" class="old-id"></span><span id="kultur" class="old-id"></span>\s*<h1>', html)
    assert '<li id="samferdsel-2" value="2">' in html and EDITED in html
    assert len(re.findall(r'id="([^"]+)"', html)) == len(set(re.findall(r'id="([^"]+)"', html)))  # ids unique


def test_expansions_follow_a_lightly_edited_pledge_by_its_id_and_say_so(settings, ledger, tmp_path):
    settings.corpus.write_text(NEXT_EDITION, encoding="utf-8")
    programme = load_programme(settings.corpus, settings.ids)
    path = tmp_path / "expansions.jsonl"
    entries = [
        {
            "id": "samferdsel-2",
            "text": "bygge et sammenhengende sykkelveinett av høy kvalitet.",
            "expansions": ["sykkel"],
        },
        {"id": "samferdsel-1", "text": "innføre sone 1 i kollektivtrafikken i hele Bærum.", "expansions": ["buss"]},
        # an id whose pledge now says something else entirely is not followed
        {"id": "skole-1", "text": "plante mange nye trær i alle parker og langs veiene.", "expansions": ["trær"]},
    ]
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    loaded = read_expansions(path, programme)
    assert loaded.texts == {"samferdsel-2": ("sykkel",), "samferdsel-1": ("buss",)}
    assert loaded.edited == ("samferdsel-2",) and loaded.stale == ("skole-1",) and loaded.matched == 2


def test_an_exact_entry_wins_over_an_edited_one_for_the_same_pledge(tmp_path):
    programme = parse_text(SMALL_PROGRAMME)
    path = tmp_path / "expansions.jsonl"
    entries = [
        {"id": "skole-1", "text": "avvikle karakterer helt i hele grunnskolen.", "expansions": ["gammel"]},
        {"id": "x", "text": "avvikle karakterer helt eller delvis i hele grunnskolen.", "expansions": ["ny"]},
    ]
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    loaded = read_expansions(path, programme)
    assert loaded.texts == {"skole-1": ("ny",)} and loaded.edited == () and loaded.stale == ("skole-1",)


def test_the_report_names_logged_ids_as_they_are_now(settings, ledger):
    settings.corpus.write_text(NEXT_EDITION, encoding="utf-8")
    programme = load_programme(settings.corpus, settings.ids)
    logged = ["samferdsel-2", "oslofjorden-2", "natur-9"]  # edited since, retired since, never known
    assert (
        pledge_names(logged, programme) == "samferdsel-2, oslofjorden-2 (utgått, se oslofjorden), natur-9 (finnes ikke)"
    )
    assert pledge_names(logged, None) == "samferdsel-2, oslofjorden-2, natur-9"


@pytest.mark.production_data
def test_the_production_ledger_keeps_all_449_positional_ids():
    programme = parse_file(DEFAULT_CORPUS)
    positional = [p.id for p in programme.pledges]
    assert len(positional) == 449
    rows = read_ledger(Settings().ids)
    assert [r.id for r in rows if not r.retired] == positional
    stable, assignment = with_ledger(programme, Settings().ids)
    assert [p.id for p in stable.pledges] == positional
    assert assignment is not None and assignment.unseen == [] and list(assignment.rows) == rows
    assert [p.id for p in load_programme(DEFAULT_CORPUS, Settings().ids).pledges] == positional


def test_start_up_reports_expansions_kept_through_an_edit_for_review(settings, ledger, tmp_path, caplog):
    from qa.answering.startup import load_inputs

    settings.corpus.write_text(NEXT_EDITION, encoding="utf-8")
    path = tmp_path / "edited-expansions.jsonl"
    entry = {
        "id": "samferdsel-2",
        "text": "bygge et sammenhengende sykkelveinett av høy kvalitet.",
        "expansions": ["sykkel"],
    }
    path.write_text(json.dumps(entry, ensure_ascii=False) + "\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="qa.answering.startup"):
        inputs = load_inputs(settings.model_copy(update={"expansions": path}), embedder=FakeEmbedder())
    assert inputs.expansions == {"samferdsel-2": ("sykkel",)}
    records = [r for r in caplog.records if r.getMessage().startswith("QA_EXPANSIONS")]
    assert [r.levelno for r in records] == [logging.WARNING]
    lines = [r.getMessage() for r in records]
    assert (
        "1 entries match a pledge, 0 stale, 1 matched by id although the pledge was edited (review them) (samferdsel-2)"
        in lines[0]
    )


@pytest.mark.production_data
def test_no_two_pledges_of_the_current_edition_are_alike_enough_to_be_taken_for_an_edit():
    from difflib import SequenceMatcher

    from corpus.ids import THRESHOLD, words

    texts = [words(p.text) for p in parse_file(DEFAULT_CORPUS).pledges]
    best = 0.0
    for i, a in enumerate(texts):
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(a)
        for b in texts[i + 1 :]:
            matcher.set_seq1(b)
            if matcher.quick_ratio() > best:
                best = max(best, matcher.ratio())
    assert round(best, 2) == 0.70 and best < THRESHOLD
