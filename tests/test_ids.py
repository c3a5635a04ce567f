"""Stable pledge ids across editions (corpus/ids.py, corpus/ledger.py): every outcome of an edited
edition, the rule's edges, the ledger file and `python -m qa ids update`."""

from __future__ import annotations

import json
import textwrap

import pytest

from corpus.ids import MARGIN, THRESHOLD, apply, assign, initial_rows, similarity, update_ledger
from corpus.ledger import LedgerError, Row, dumps, ledger_for, read_ledger, write_ledger
from corpus.parse import parse_text
from qa.operations.cli import main

EDITION_1 = textwrap.dedent(
    """\
     Forord om et grønnere Bærum.

    Et grønt Bærum

    Klima
    Klimaet trenger oss.

    Vi vil:
    ● at klimagassutslippene i Bærum reduseres med 90 prosent innen 2030.
    ● at alle nye kommunale bygg skal være plusshus.
    ● kreve fossilfrie bygge- og anleggsplasser i alle kommunale prosjekter.
    ● plante flere trær langs veiene i hele kommunen.

    Samferdsel
    Bussen skal gå ofte.

    Vi vil:
    ● innføre sone 1 i kollektivtrafikken i hele Bærum.
    ● bygge et sammenhengende sykkelveinett av høy kvalitet.
    ● senke fartsgrensen til 30 km/t ved alle skoler.

    Natur
    Naturen er viktig.

    Vi vil:
    ● stanse all nedbygging av matjord i kommunen.
    ● verne all gjenværende villmark for fremtidige generasjoner.
    """
)


def edition_2() -> str:
    """The next edition: one pledge inserted, one lightly edited, two removed, one moved to another
    section, a section renamed, one pledge removed and another added in the same section."""
    text = EDITION_1
    edits = [
        # a new first pledge in Klima: every later position shifts
        ("● at klimagassutslippene", "● lage et klimabudsjett for hele kommunen hvert år.\n● at klimagassutslippene"),
        # a light edit
        ("skal være plusshus.", "skal være plusshus eller passivhus."),
        # removed
        ("● kreve fossilfrie bygge- og anleggsplasser i alle kommunale prosjekter.\n", ""),
        # moved to Natur
        ("● plante flere trær langs veiene i hele kommunen.\n", ""),
        (
            "Naturen er viktig.\n\nVi vil:\n",
            "Naturen er viktig.\n\nVi vil:\n● plante flere trær langs veiene i hele kommunen.\n",
        ),
        # Samferdsel renamed Transport; its last pledge removed
        ("Samferdsel\n", "Transport\n"),
        ("● senke fartsgrensen til 30 km/t ved alle skoler.\n", ""),
        # natur-2, the highest number in Natur, removed; a new pledge added there
        (
            "● verne all gjenværende villmark for fremtidige generasjoner.\n",
            "● lage en ny naturplan sammen med innbyggerne.\n",
        ),
    ]
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.fixture
def first():
    return parse_text(EDITION_1)


def test_the_first_ledger_records_the_positional_ids(first):
    assert [r.id for r in initial_rows(first)] == [p.id for p in first.pledges]
    again = assign(first, initial_rows(first))
    assert again.ids == tuple(p.id for p in first.pledges)
    assert {o.kind for o in again.outcomes} == {"kept"} and again.unseen == [] and again.aliases == ()


def test_an_edited_edition_keeps_moves_edits_and_retires_every_id_as_the_rules_say(first):
    second = parse_text(edition_2())
    assert [p.id for p in second.pledges][:2] == ["klima-1", "klima-2"]  # positional: shifted
    result = assign(second, initial_rows(first))
    got = {p.text: pid for p, pid in zip(second.pledges, result.ids)}
    assert got == {
        "lage et klimabudsjett for hele kommunen hvert år.": "klima-5",  # new: past klima-4
        "at klimagassutslippene i Bærum reduseres med 90 prosent innen 2030.": "klima-1",  # moved down
        "at alle nye kommunale bygg skal være plusshus eller passivhus.": "klima-2",  # edited
        "innføre sone 1 i kollektivtrafikken i hele Bærum.": "samferdsel-1",  # section renamed
        "bygge et sammenhengende sykkelveinett av høy kvalitet.": "samferdsel-2",
        "plante flere trær langs veiene i hele kommunen.": "klima-4",  # moved to Natur
        "stanse all nedbygging av matjord i kommunen.": "natur-1",
        "lage en ny naturplan sammen med innbyggerne.": "natur-3",  # natur-2 is retired, never reused
    }
    kinds = {o.id: o.kind for o in result.outcomes}
    assert kinds == {
        "klima-5": "new",
        "klima-1": "kept",
        "klima-2": "edited",
        "samferdsel-1": "kept",
        "samferdsel-2": "kept",
        "klima-4": "kept",
        "natur-1": "kept",
        "natur-3": "new",
        "klima-3": "retired",
        "samferdsel-3": "retired",
        "natur-2": "retired",
    }
    edited = result.of("edited")[0]
    assert edited.old_text == "at alle nye kommunale bygg skal være plusshus."
    assert edited.similarity == round(similarity(edited.old_text, edited.text), 3) and edited.similarity >= THRESHOLD
    # Retired ids land on their section; the renamed section's on where its pledges went.
    assert {o.id: o.lands for o in result.of("retired")} == {
        "klima-3": "klima",
        "samferdsel-3": "transport",
        "natur-2": "natur",
    }
    assert dict(result.aliases) == {
        "klima-3": "klima",
        "samferdsel-3": "transport",
        "natur-2": "natur",
        "samferdsel": "transport",
    }


def test_the_new_ledger_holds_every_pledge_then_the_retired_ids(first):
    second = parse_text(edition_2())
    rows = assign(second, initial_rows(first)).rows
    live = [r for r in rows if not r.retired]
    assert [r.id for r in live] == list(assign(second, initial_rows(first)).ids)
    assert [(r.section_id, r.section) for r in live if r.id == "samferdsel-1"] == [("transport", "Transport")]
    assert [(r.id, r.lands) for r in rows if r.retired] == [
        ("klima-3", "klima"),
        ("samferdsel-3", "transport"),
        ("natur-2", "natur"),
    ]
    # Applied a second time, the new ledger changes nothing: ids are the same on every start.
    again = assign(second, list(rows))
    assert again.ids == assign(second, initial_rows(first)).ids and again.unseen == [] and again.rows == rows


def test_apply_renames_the_pledges_and_carries_the_aliases(first):
    second = parse_text(edition_2())
    renamed = apply(second, assign(second, initial_rows(first)))
    assert renamed.by_id["klima-2"].text == "at alle nye kommunale bygg skal være plusshus eller passivhus."
    assert renamed.by_id["klima-2"].number == 3 and renamed.by_id["klima-4"].section_id == "natur"
    assert renamed.landing["klima-3"] == "klima" and "klima-3" not in renamed.by_id
    assert [p.text for p in renamed.pledges] == [p.text for p in second.pledges]


def _programme(*sections: tuple[str, list[str]]) -> str:
    out = [" Forord.", "", "Del", ""]
    for title, pledges in sections:
        out += [title, "Intro.", "", "Vi vil:", *(f"● {p}" for p in pledges), ""]
    return "\n".join(out) + "\n"


def test_a_text_twice_keeps_its_ids_by_section_then_by_order():
    same = "sikre trygge skoleveier for alle barn."
    old = parse_text(_programme(("Skole", [same, same]), ("Trafikk", [same])))
    assert [p.id for p in old.pledges] == ["skole-1", "skole-2", "trafikk-1"]
    new = parse_text(_programme(("Trafikk", [same]), ("Skole", [same, same])))
    assert assign(new, initial_rows(old)).ids == ("trafikk-1", "skole-1", "skole-2")


def test_an_edit_close_to_two_old_pledges_gets_a_new_id_and_both_retire():
    a = "at utslippene i Bærum reduseres med 90 prosent innen 2030 i alle sektorer."
    b = "at utslippene i Bærum reduseres med 95 prosent innen 2030 i alle sektorer."
    old = parse_text(_programme(("Klima", [a, b])))
    new = parse_text(
        _programme(("Klima", ["at utslippene i Bærum reduseres med 93 prosent innen 2030 i alle sektorer."]))
    )
    assert similarity(a, new.pledges[0].text) - similarity(b, new.pledges[0].text) < MARGIN
    result = assign(new, initial_rows(old))
    assert result.ids == ("klima-3",)
    assert [(o.id, o.kind) for o in result.outcomes] == [
        ("klima-3", "new"),
        ("klima-1", "retired"),
        ("klima-2", "retired"),
    ]


def test_a_rewrite_below_the_threshold_is_a_new_pledge():
    old = parse_text(_programme(("Natur", ["verne all gjenværende villmark for fremtidige generasjoner."])))
    new = parse_text(_programme(("Natur", ["verne skogen i Vestmarka mot hogst."])))
    assert similarity(old.pledges[0].text, new.pledges[0].text) < THRESHOLD
    assert [(o.id, o.kind) for o in assign(new, initial_rows(old)).outcomes] == [
        ("natur-2", "new"),
        ("natur-1", "retired"),
    ]


def test_a_retired_text_that_comes_back_gets_its_old_id_back():
    text = "innføre gratis buss for barn og unge."
    ledger = [
        Row("buss-1", text, "buss", "Buss", retired=True, lands="buss"),
        Row("buss-2", "noe annet.", "buss", "Buss"),
    ]
    result = assign(parse_text(_programme(("Buss", ["noe annet.", text]))), ledger)
    assert result.ids == ("buss-2", "buss-1")
    assert result.outcomes[1].revived and [o.id for o in result.unseen] == ["buss-1"]
    assert all(not r.retired for r in result.rows) and result.aliases == ()


def test_a_successor_set_by_hand_is_followed_and_a_gone_section_lands_on_top():
    ledger = [
        Row("buss-1", "gammel tekst om buss.", "buss", "Buss", retired=True, lands="buss-3"),
        Row("buss-3", "enda en gammel tekst om trikk.", "buss", "Buss", retired=True, lands="tog-1"),
        Row("skip-1", "bygge kaier.", "skip", "Skip"),
        Row("tog-1", "bygge ny jernbane til Sandvika.", "tog", "Tog"),
    ]
    result = assign(parse_text(_programme(("Tog", ["bygge ny jernbane til Sandvika."]))), ledger)
    lands = dict(result.aliases)
    assert lands["buss-1"] == "tog-1" and lands["buss-3"] == "tog-1"  # successors followed
    assert lands["skip-1"] == "" and lands["skip"] == "" and lands["buss"] == ""  # nowhere better: the top


def test_fresh_numbers_pass_every_number_the_ledger_ever_held():
    ledger = [Row("natur-7", "x y z.", "natur", "Natur", retired=True, lands="natur")]
    result = assign(parse_text(_programme(("Natur", ["helt ny tekst her."]))), ledger)
    assert result.ids == ("natur-8",)


# ------------------------------------------------------------------ the ledger file and the command


def test_the_ledger_round_trips_and_is_written_atomically(tmp_path, first):
    path = tmp_path / "p.ids.jsonl"
    rows = list(assign(parse_text(edition_2()), initial_rows(first)).rows)
    write_ledger(path, rows)
    assert read_ledger(path) == rows
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    first_line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first_line == {
        "id": "klima-5",
        "text": "lage et klimabudsjett for hele kommunen hvert år.",
        "section_id": "klima",
        "section": "Klima",
        "retired": False,
    }
    assert '"lands": "klima"' in dumps([r for r in rows if r.id == "klima-3"])
    assert ledger_for(tmp_path / "program.txt") == tmp_path / "program.ids.jsonl"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json\n", "line 1: not JSON"),
        ('["a"]\n', "line 1: not a JSON object"),
        ('{"id": "a", "text": 3, "section_id": "s", "section": "S"}\n', "line 1: 'text' must be a string"),
        ('{"id": "a", "text": "t", "section_id": "s", "section": "S"}\n' * 2, "line 2: id 'a' appears twice"),
    ],
)
def test_a_bad_ledger_is_refused_naming_the_line(tmp_path, content, message):
    path = tmp_path / "p.ids.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LedgerError, match=message):
        read_ledger(path)


def test_update_writes_a_first_ledger_then_records_an_edition(tmp_path):
    programme, ledger = tmp_path / "p.txt", tmp_path / "p.ids.jsonl"
    programme.write_text(EDITION_1, encoding="utf-8")
    _, text = update_ledger(parse_text(EDITION_1), ledger, write=False)
    assert "dry run" in text and not ledger.exists()
    _, text = update_ledger(parse_text(EDITION_1), ledger)
    assert "records the 9 pledges' positional ids" in text
    assert [r.id for r in read_ledger(ledger)] == [p.id for p in parse_text(EDITION_1).pledges]


def test_ids_update_command_prints_every_change_and_rewrites_the_ledger(tmp_path, monkeypatch, capsys):
    programme, ledger = tmp_path / "p.txt", tmp_path / "p.ids.jsonl"
    programme.write_text(EDITION_1, encoding="utf-8")
    monkeypatch.setenv("QA_CORPUS", str(programme))
    assert main(["ids", "update"]) == 0 and ledger.is_file()
    programme.write_text(edition_2(), encoding="utf-8")
    capsys.readouterr()
    assert main(["ids", "update", "--dry-run"]) == 0
    assert len(read_ledger(ledger)) == 9  # untouched
    assert main(["ids", "update"]) == 0
    out = capsys.readouterr().out
    assert "edited   klima-2  (similarity 0.89)" in out
    assert "new      klima-5  lage et klimabudsjett for hele kommunen hvert år." in out
    assert "retired  samferdsel-3  -> #transport" in out
    assert "moved    klima-4  'Klima' -> 'Natur'" in out
    assert "renamed  section 'Samferdsel' -> 'Transport'  (2 pledges kept their ids)" in out
    assert "5 kept, 1 kept after an edit, 2 new, 3 retired; 3 of those kept in another section than before" in out
    assert len(read_ledger(ledger)) == 11
    assert main(["ids", "update"]) == 0
    again = capsys.readouterr().out
    assert again.splitlines()[0] == "8 kept, 0 kept after an edit, 0 new, 0 retired"  # nothing moved since


def test_ids_update_with_a_broken_ledger_is_one_error_line(tmp_path, monkeypatch, capsys):
    programme, ledger = tmp_path / "p.txt", tmp_path / "p.ids.jsonl"
    programme.write_text(EDITION_1, encoding="utf-8")
    ledger.write_text("oops\n", encoding="utf-8")
    monkeypatch.setenv("QA_CORPUS", str(programme))
    assert main(["ids", "update"]) == 2
    assert capsys.readouterr().err == f"error: {ledger}, line 1: not JSON\n"
    assert ledger.read_text(encoding="utf-8") == "oops\n"  # nothing lost


def test_ids_update_into_a_missing_folder_is_one_clean_error_line(tmp_path, monkeypatch, capsys):
    programme = tmp_path / "p.txt"
    programme.write_text(EDITION_1, encoding="utf-8")
    monkeypatch.setenv("QA_CORPUS", str(programme))
    monkeypatch.setenv("QA_IDS", str(tmp_path / "nowhere" / "p.ids.jsonl"))
    assert main(["ids", "update"]) == 2
    assert capsys.readouterr().err == f"error: cannot write {tmp_path / 'nowhere' / 'p.ids.jsonl'}: no folder {tmp_path / 'nowhere'}\n"


def test_ids_update_refuses_when_ids_are_off(tmp_path, monkeypatch, capsys):
    programme = tmp_path / "p.txt"
    programme.write_text(EDITION_1, encoding="utf-8")
    monkeypatch.setenv("QA_CORPUS", str(programme))
    monkeypatch.setenv("QA_IDS", "off")
    assert main(["ids", "update"]) == 2
    assert "QA_IDS is off" in capsys.readouterr().err
