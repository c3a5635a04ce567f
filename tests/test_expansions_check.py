"""`python -m qa expansions check`: which pledges have expansions, stale rows, missing pledges,
malformed lines, and staff alternates counting as expansions. On the five-pledge programme."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.operations.cli import main
from qa.operations.settings import DEFAULT_EXPANSIONS
from tests.conftest import write_jsonl

MISSING = ("oslofjorden-2", "samferdsel-2")  # the two pledges the small expansions file leaves out


@pytest.fixture
def env(monkeypatch, small_env: Path) -> Path:
    """The small programme and its expansions (three of five pledges); returns the expansions file."""
    return small_env



def test_check_lists_the_pledges_without_expansions_by_id_and_section_and_fails(env, capsys):
    assert main(["expansions", "check"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"3 of 5 pledges have expansions ({env}): min 1, median 1, max 1 each"
    assert "missing: 2 pledges have no expansions (python -m qa expansions draft):" in out
    assert "  oslofjorden-2  (Et grønt Bærum / Oslofjorden, section oslofjorden)" in out
    assert "  samferdsel-2  (Et grønt Bærum / Samferdsel, section samferdsel)" in out
    assert "stale" not in out and "malformed" not in out


def test_check_passes_when_every_pledge_has_expansions(env, capsys):
    with env.open("a", encoding="utf-8") as f:
        f.write(
            json.dumps({"text": "bygge et sammenhengende sykkelveinett av høy kvalitet.", "expansions": ["a", "b"]})
        )
        f.write("\n")
        text = "opprette en utleieordning for kajakker og robåter gratis mot at de som leier plukker plast."
        f.write(json.dumps({"text": text, "expansions": ["leie kajakk", "robåt", "plast"]}) + "\n")
    assert main(["expansions", "check"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("5 of 5 pledges have expansions") and "min 1, median 1, max 3" in out
    assert out.splitlines()[-1] == "missing: none"


def test_check_names_stale_rows_and_malformedwrite_jsonl(env, capsys):
    with env.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "skole-9", "text": "en gammel tekst som ikke er i programmet.", "expansions": ["x"]}))
        f.write("\n{not json\n[1, 2]\n")
        f.write(
            json.dumps({"id": "x", "text": "forby all form for tråling i Oslofjorden.", "expansions": "nope"}) + "\n"
        )
    assert main(["expansions", "check"]) == 1
    out = capsys.readouterr().out
    assert "stale: 1 rows whose text is no longer in the programme (ignored when answering): line 4 (skole-9)" in out
    assert "malformed: 3 lines are not entries" in out
    assert f"  {env.name} line 5: not JSON" in out
    assert f"  {env.name} line 6: not a JSON object" in out
    assert f'  {env.name} line 7: needs "text" and "expansions" (a list of strings)' in out


def test_staff_alternates_count_as_expansions_for_their_pledge(env, tmp_path, capsys):
    alternates = write_jsonl(
        tmp_path / "alternates.jsonl",
        {"pledge_id": "oslofjorden-2", "question": "kan jeg leie kajakk?"},
        {"pledge_id": "oslofjorden-2", "question": "robåt til utlån"},
        {"pledge_id": "samferdsel-2", "question": "sykkelvei hele veien til jobb?"},
        {"pledge_id": "samferdsel-1", "question": "billig buss"},
        {"pledge_id": "gone-3", "question": "en pledge som ikke finnes lenger"},
    )
    assert main(["expansions", "check", "--alternates", str(alternates)]) == 0
    out = capsys.readouterr().out
    assert "5 of 5 pledges have expansions" in out and "min 1, median 1, max 2 each (alternates included)" in out
    assert f"alternates ({alternates}): 4 count for a pledge" in out
    assert "  1 name no pledge of this programme: line 5 (gone-3)" in out
    assert out.splitlines()[-1] == "missing: none"


def test_a_malformed_alternate_is_reported_and_fails_the_check(env, tmp_path, capsys):
    alternates = write_jsonl(
        tmp_path / "alternates.jsonl",
        {"pledge_id": "oslofjorden-2", "question": "kajakk?"},
        {"pledge_id": "samferdsel-2", "question": "   "},
    )
    assert main(["expansions", "check", "--alternates", str(alternates)]) == 1
    out = capsys.readouterr().out
    assert 'alternates.jsonl line 2: needs "pledge_id" and a non-empty "question"' in out
    assert "missing: 1 pledges" in out and "  samferdsel-2  " in out


def test_a_missing_alternates_file_is_a_one_line_error(env, tmp_path, capsys):
    assert main(["expansions", "check", "--alternates", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --alternates: no such file: {tmp_path / 'nope.jsonl'}\n"


def test_check_needs_an_expansions_file(env, monkeypatch, capsys):
    monkeypatch.setenv("QA_EXPANSIONS", "off")
    assert main(["expansions", "check"]) == 2
    assert capsys.readouterr().err == "error: QA_EXPANSIONS is off: set it to the expansions file to work on\n"


@pytest.mark.production_data
def test_every_pledge_of_the_programme_has_expansions(capsys):
    assert main(["expansions", "check"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert out.startswith(f"449 of 449 pledges have expansions ({DEFAULT_EXPANSIONS}): min 17, median 18")


def test_check_follows_the_id_ledger_across_an_edition(env, monkeypatch, tmp_path, capsys):
    from tests.conftest import SMALL_PROGRAMME

    kayak = "opprette en utleieordning for kajakker og robåter gratis mot at de som leier plukker plast."
    programme = tmp_path / "edition.txt"
    programme.write_text(SMALL_PROGRAMME, encoding="utf-8")
    monkeypatch.setenv("QA_CORPUS", str(programme))
    monkeypatch.setenv("QA_IDS", str(tmp_path / "edition.ids.jsonl"))
    assert main(["ids", "update"]) == 0  # the first ledger: today's positional ids
    rows = [json.loads(line) for line in env.read_text(encoding="utf-8").splitlines()]
    rows += [
        {"id": "oslofjorden-2", "text": kayak, "expansions": ["leie kajakk billig"]},
        {"text": "bygge et sammenhengende sykkelveinett av høy kvalitet.", "expansions": ["sykkelvei"]},
    ]
    write_jsonl(env, *rows)
    # The next edition: the fjord's first pledge removed (positions shift), the kayak one lightly edited.
    text = SMALL_PROGRAMME.replace("● forby all form for tråling i Oslofjorden.\n", "")
    text = text.replace("kajakker og robåter", "kajakker, kanoer og robåter")
    programme.write_text(text, encoding="utf-8")
    assert main(["ids", "update"]) == 0
    capsys.readouterr()
    assert main(["expansions", "check"]) == 0
    out = capsys.readouterr().out
    assert "edited: 1 pledges changed since their expansions were written" in out and "oslofjorden-2" in out
    assert out.splitlines()[-1] == "missing: none"  # not "oslofjorden-1", its position in this edition
