"""`python -m qa expansions draft --accept`: reviewed drafts merged into the expansions file,
atomically and only while their pledge text still matches; stale, pending and malformed rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.expansions import read_expansions
from corpus.parse import parse_text
from qa.operations.cli import main
from tests.conftest import SMALL_PROGRAMME, write_jsonl

KAJAKK = "opprette en utleieordning for kajakker og robåter gratis mot at de som leier plukker plast."
SYKKEL = "bygge et sammenhengende sykkelveinett av høy kvalitet."
TEXTS = ["Kan jeg leie kajakk gratis?", "robåt utleie plast", "Will you lend kayaks for free?"]


@pytest.fixture
def env(monkeypatch, small_env: Path) -> Path:
    return small_env


def _draft(pledge_id: str, text: str, status: str = "reviewed", texts=TEXTS) -> dict:
    return {"pledge_id": pledge_id, "text": text, "part": "Et grønt Bærum", "section": "x", "model": "m",
            "status": status, "expansions": list(texts)}  # fmt: skip


def _accept(drafts: Path) -> int:
    return main(["expansions", "draft", "--accept", "--out", str(drafts)])


def test_reviewed_drafts_are_merged_and_the_other_lines_stay_as_they_were(env, tmp_path, capsys):
    before = env.read_bytes()
    drafts = write_jsonl(tmp_path / "d.jsonl", _draft("oslofjorden-2", KAJAKK), _draft("samferdsel-2", SYKKEL, "draft"))
    assert _accept(drafts) == 0
    after = env.read_bytes()
    assert after.startswith(before)
    added = after[len(before) :].decode()
    assert json.loads(added) == {"id": "oslofjorden-2", "text": KAJAKK, "expansions": TEXTS}
    loaded = read_expansions(env, parse_text(SMALL_PROGRAMME))
    assert loaded.texts["oslofjorden-2"] == tuple(TEXTS) and loaded.without == ("samferdsel-2",)
    out = capsys.readouterr().out
    assert "merged 1 reviewed drafts into" in out and "(oslofjorden-2); 1 still marked draft, 0 rejected" in out
    assert "now rerun `python -m qa tune`: qa/answering/fitted.json records the expansions' sha256" in out


def test_a_stale_draft_is_skipped_with_a_message_and_nothing_is_written(env, tmp_path, capsys):
    before = env.read_bytes()
    drafts = write_jsonl(tmp_path / "d.jsonl", _draft("oslofjorden-2", "en utleieordning som programmet ikke har lenger."))
    assert _accept(drafts) == 0
    assert env.read_bytes() == before
    out = capsys.readouterr().out
    assert "skipped line 1 (oslofjorden-2): its text is no longer a pledge of the programme" in out
    assert "merged 0 reviewed drafts" in out and "python -m qa tune" not in out


def test_stale_rows_are_skipped_and_the_current_ones_merged(env, tmp_path, capsys):
    drafts = write_jsonl(
        tmp_path / "d.jsonl",
        _draft("samferdsel-2", "bygge et sykkelveinett."),
        _draft("samferdsel-2", SYKKEL),
        _draft("skole-1", "avvikle karakterer helt eller delvis i hele grunnskolen."),
        _draft("oslofjorden-2", KAJAKK, "rejected"),
    )
    assert _accept(drafts) == 0
    loaded = read_expansions(env, parse_text(SMALL_PROGRAMME))
    assert loaded.texts["samferdsel-2"] == tuple(TEXTS)
    assert loaded.texts["skole-1"] == ("skole uten karakterer",)  # it had expansions: not replaced
    out = capsys.readouterr().out
    assert "skipped line 1 (samferdsel-2): its text is no longer a pledge" in out
    assert "skipped line 3 (skole-1): that pledge has expansions already" in out
    assert "merged 1 reviewed drafts" in out and "0 still marked draft, 1 rejected" in out


def test_a_draft_replaces_the_stale_row_of_its_pledge_in_place(env, tmp_path):
    rows = env.read_text(encoding="utf-8").splitlines(keepends=True)
    stale = json.dumps({"id": "samferdsel-2", "text": "bygge sykkelveier.", "expansions": ["sykkel"]}) + "\n"
    env.write_text(rows[0] + stale + "".join(rows[1:]), encoding="utf-8")
    assert _accept(write_jsonl(tmp_path / "d.jsonl", _draft("samferdsel-2", SYKKEL))) == 0
    after = env.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(after) == len(rows) + 1 and after[0] == rows[0] and after[2:] == rows[1:]
    assert json.loads(after[1]) == {"id": "samferdsel-2", "text": SYKKEL, "expansions": TEXTS}


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "line 2: not JSON"),
        ('["a list"]', 'line 2: not a draft (needs "pledge_id", "text", "status", "expansions")'),
        (_draft("samferdsel-2", SYKKEL, "approved"), "line 2: status 'approved'; one of draft, reviewed, rejected"),
        (_draft("samferdsel-2", SYKKEL, texts=["sykkel", "Sykkel "]), "line 2 (samferdsel-2): text 2 repeats"),
        (_draft("samferdsel-2", SYKKEL, texts=[]), "line 2 (samferdsel-2): 0 texts; between 1 and 25 wanted"),
        (_draft("samferdsel-2", SYKKEL, texts=[SYKKEL]), "line 2 (samferdsel-2): text 1 is the pledge itself"),
    ],
)
def test_a_malformed_drafts_file_merges_nothing(env, tmp_path, capsys, bad, message):
    before = env.read_bytes()
    drafts = write_jsonl(tmp_path / "d.jsonl", _draft("oslofjorden-2", KAJAKK), bad)
    assert _accept(drafts) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {drafts} {message}") and err.count("\n") == 1
    assert env.read_bytes() == before


def test_no_drafts_file_is_a_one_line_error(env, tmp_path, capsys):
    assert _accept(tmp_path / "none.jsonl") == 2
    assert capsys.readouterr().err.startswith(f"error: no drafts file: {tmp_path / 'none.jsonl'}")


def test_a_text_that_nearly_repeats_a_tuning_question_is_dropped(env, tmp_path, monkeypatch, capsys):
    questions = write_jsonl(tmp_path / "questions.jsonl", {"q": "kan jeg leie en kajakk gratis?", "ids": ["oslofjorden-2"]})
    monkeypatch.setenv("QA_QUESTIONS", str(questions))
    assert _accept(write_jsonl(tmp_path / "d.jsonl", _draft("oslofjorden-2", KAJAKK))) == 0
    assert read_expansions(env, parse_text(SMALL_PROGRAMME)).texts["oslofjorden-2"] == tuple(TEXTS[1:])
    out = capsys.readouterr().out
    assert "line 1 (oslofjorden-2): dropped 'Kan jeg leie kajakk gratis?', a near copy of the tuning question" in out


def test_drafts_of_a_run_can_be_accepted_once_reviewed(env, tmp_path, monkeypatch, capsys):
    """draft → review (set the status) → accept, with a real server on loopback."""
    from tests.fake_openai import FakeOpenAI, expansions_reply

    good = [f"tekst {i} fra modellen" for i in range(15)]
    drafts = tmp_path / "drafts.jsonl"
    monkeypatch.setenv("QA_AUTHOR_MODEL", "test-model")
    with FakeOpenAI(expansions_reply(*good)) as fake:
        monkeypatch.setenv("QA_AUTHOR_URL", fake.url)
        assert main(["expansions", "draft", "--out", str(drafts)]) == 0
    assert _accept(drafts) == 0  # nothing reviewed yet
    assert "merged 0 reviewed drafts" in capsys.readouterr().out
    drafts.write_text(drafts.read_text(encoding="utf-8").replace('"status": "draft"', '"status": "reviewed"'))
    assert _accept(drafts) == 0
    assert main(["expansions", "check"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "missing: none"
