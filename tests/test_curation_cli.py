"""`python -m qa alternates export|import`: JSON lines staff can keep in git; an import is all or nothing."""

from __future__ import annotations

import json

import pytest

from qa.curation.store import Curation
from qa.operations.cli import main
from tests.curation_fixtures import PLEDGE, QUESTION


@pytest.fixture
def db(tmp_path, small_corpus, monkeypatch, log_db):
    path = log_db  # on SQLite and on PostgreSQL
    monkeypatch.setenv("QA_CORPUS", str(small_corpus))
    monkeypatch.setenv("QA_DB", str(path))
    monkeypatch.setenv("QA_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("QA_QUESTIONS", "off")  # the tests that compare with a tuning set bring their own
    return path


def stored(db) -> list[tuple[str, str]]:
    curation = Curation(str(db), ())
    try:
        return [(a.pledge_id, a.question) for a in curation.alternates()]
    finally:
        curation.close()


def lines(*rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)


def test_export_then_import_into_another_database_round_trips(db, tmp_path, capsys, monkeypatch):
    source = tmp_path / "alternates.jsonl"
    source.write_text(lines({"pledge_id": PLEDGE, "question": QUESTION, "note": "fra 👎"}, {"pledge_id": "samferdsel-1", "question": "Billigere buss?"}))
    assert main(["alternates", "import", str(source)]) == 0
    assert capsys.readouterr().out == f"{source}: 2 added, 0 already there\n"
    assert main(["alternates", "export"]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["pledge_id"], r["question"]) for r in exported] == [(PLEDGE, QUESTION), ("samferdsel-1", "Billigere buss?")]
    assert all(set(r) == {"pledge_id", "question", "created"} for r in exported)

    out = tmp_path / "export.jsonl"
    assert main(["alternates", "export", str(out)]) == 0
    monkeypatch.setenv("QA_DB", str(tmp_path / "other.sqlite3"))
    assert main(["alternates", "import", str(out)]) == 0
    assert stored(tmp_path / "other.sqlite3") == stored(db)
    again = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["created"] for r in again] == [r["created"] for r in exported]  # kept, not re-stamped


def test_importing_the_same_file_again_adds_nothing(db, tmp_path, capsys):
    source = tmp_path / "a.jsonl"
    source.write_text(lines({"pledge_id": PLEDGE, "question": QUESTION}))
    main(["alternates", "import", str(source)])
    capsys.readouterr()
    assert main(["alternates", "import", str(source)]) == 0
    assert capsys.readouterr().out == f"{source}: 0 added, 1 already there\n"
    assert stored(db) == [(PLEDGE, QUESTION)]


def test_replace_makes_the_file_the_whole_set(db, tmp_path):
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    first.write_text(lines({"pledge_id": PLEDGE, "question": QUESTION}, {"pledge_id": "skole-1", "question": "Karakterfri skole?"}))
    second.write_text(lines({"pledge_id": PLEDGE, "question": QUESTION}))
    main(["alternates", "import", str(first)])
    assert main(["alternates", "import", "--replace", str(second)]) == 0
    assert stored(db) == [(PLEDGE, QUESTION)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"pledge_id": "nope-1", "question": QUESTION}, "line 2: unknown pledge id 'nope-1'"),
        ({"pledge_id": PLEDGE, "question": " "}, "line 2: the question is empty"),
        ({"pledge_id": PLEDGE, "question": "x" * 501}, "line 2: the question is 501 characters; at most 500 are allowed"),
        ({"pledge_id": PLEDGE}, 'line 2: expected an object with "pledge_id" and "question"'),
        ("not json", "line 2: not JSON (Expecting value)"),
        ({"pledge_id": "samferdsel-1", "question": "billigere buss"}, "line 2: the same question for samferdsel-1 as line 1"),
    ],
)
def test_a_bad_line_is_one_error_line_and_nothing_is_written(db, tmp_path, capsys, row, message):
    source = tmp_path / "bad.jsonl"
    source.write_text(lines({"pledge_id": "samferdsel-1", "question": "Billigere buss?"}, row, {"pledge_id": PLEDGE, "question": QUESTION}))
    assert main(["alternates", "import", str(source)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {source} {message}\n"
    assert stored(db) == []


def test_a_missing_file_and_a_log_that_is_off_are_one_line_errors(db, tmp_path, capsys, monkeypatch):
    assert main(["alternates", "import", str(tmp_path / "none.jsonl")]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {tmp_path / 'none.jsonl'}: ")
    monkeypatch.setenv("QA_DB", "off")
    assert main(["alternates", "export"]) == 2
    assert capsys.readouterr().err == "error: QA_DB is off: alternates are kept in the question-log database; set QA_DB\n"


def test_an_import_warns_about_a_row_that_copies_a_tuning_question(db, tmp_path, capsys, monkeypatch):
    tuning = tmp_path / "questions.jsonl"
    tuning.write_text(lines({"id": "t1", "q": "Blir det gratis parkering i Sandvika?", "kind": "paraphrase"}))
    monkeypatch.setenv("QA_QUESTIONS", str(tuning))
    source = tmp_path / "a.jsonl"
    source.write_text(lines({"pledge_id": "samferdsel-1", "question": "Billigere buss?"}, {"pledge_id": PLEDGE, "question": "blir det gratis parkering i sandvika"}))
    assert main(["alternates", "import", str(source)]) == 0
    err = capsys.readouterr().err
    assert err == "warning: alternate 2 is close to the tuning question 'Blir det gratis parkering i Sandvika?'\n"


@pytest.mark.production_data
def test_the_tuning_set_itself_cannot_be_imported_as_alternates(db, capsys):
    from qa.operations.settings import DEFAULT_QUESTIONS

    assert main(["alternates", "import", str(DEFAULT_QUESTIONS)]) == 2
    assert capsys.readouterr().err.endswith('line 1: expected an object with "pledge_id" and "question"\n')
    assert stored(db) == []
