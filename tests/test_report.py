"""`python -m qa report`: the staff report as plain-text tables in the terminal."""

from __future__ import annotations

from qa.operations.settings import Settings
from qa.questionlog.report import report
from qa.questionlog.store import QuestionLog
from tests.test_questionlog import make_answer


def test_report_prints_the_tables_in_the_terminal_with_the_gaps_apart(log_db):
    settings = Settings(db=log_db)  # on SQLite and on PostgreSQL
    qlog = QuestionLog.open(settings)
    for _ in range(3):
        qlog.record(make_answer("Hva mener MDG om ulv?", coverage="not_covered", ids=("natur-1",), top=0.21))
    qlog.record(make_answer("Hva med elsparkesykler?", coverage="related", ids=("samferdsel-2",), top=0.4))
    qlog.record(make_answer("hei", coverage="not_covered", smalltalk="greeting", top=0.3))
    bad = qlog.record(make_answer("Buss", top=0.7))
    qlog.feedback(bad, False, "for langt svar")
    qlog.close()

    text = report(settings, days=7)

    assert text.startswith(
        "Spørsmål fra velgere, siste 7 dager: 6 spørsmål – 1 besvart, 1 bare beslektet, "
        "3 der programmet ikke sier noe; hilsener og takk (ikke hull i programmet): 1. "
        "Tilbakemeldinger: 0 nyttige, 1 ikke nyttige."
    )
    lines = text.splitlines()
    not_covered = lines[lines.index("Programmet sier ikke noe") :]
    assert not_covered[2].startswith("Spørsmål der velgeren fikk vite at programmet ikke ser ut til å si noe om saken.")
    assert "Hilsener og takk («hei», «takk!») er ikke med" in not_covered[2]
    assert not_covered[3].split() == ["Spørsmål", "Antall", "Sist", "stilt", "(UTC)", "Beste", "treff"]
    assert not_covered[5].startswith("Hva mener MDG om ulv?  ") and not_covered[5].endswith("0.21")
    assert "  3  " in not_covered[5]
    assert not_covered[6] == ""  # only that one: the greeting is not a gap, and "related" has its own table
    related = lines[lines.index("Bare beslektet") :]
    assert related[5].startswith("Hva med elsparkesykler?  ") and related[5].endswith("0.40")
    assert related[6] == ""
    asked = lines[lines.index("Mest stilte spørsmål") :]
    assert asked[2].split() == ["Spørsmål", "Antall", "Svar", "Sist", "stilt", "(UTC)", "Beste", "treff"]
    replies = {line.split("  ")[0]: line.split("  ")[1:] for line in asked[4:8]}
    assert {question: [cell.strip() for cell in cells if cell.strip()][1] for question, cells in replies.items()} == {
        "Hva mener MDG om ulv?": "sier ikke noe",
        "Buss": "besvart",
        "Hva med elsparkesykler?": "bare beslektet",
        "hei": "hilsen",
    }
    feedback = lines[lines.index("Negative tilbakemeldinger") :]
    assert "Buss" in feedback[4] and "for langt svar" in feedback[4] and "besvart" in feedback[4]
    assert "Spørsmål per dag" in lines


def test_report_says_when_the_log_is_off():
    assert report(Settings(db="off"), days=30) == "Spørsmålsloggen er slått av (QA_DB=off).\n"


def test_the_daily_table_shows_the_newest_days_when_there_are_more_than_it_shows():
    from qa.questionlog.report import SHOWN, Column, Table

    days = [{"day": f"d{i:03}", "count": i} for i in range(SHOWN + 40)]  # oldest first, as per_day gives them
    daily = Table("daily", "Spørsmål per dag", "", (Column("day", "Dato", "day"),), days, newest_last=True)
    assert daily.shown() == days[-SHOWN:] and daily.shown()[-1]["day"] == f"d{SHOWN + 39:03}"  # today is there
    top = Table("questions", "Mest stilte", "", (Column("day", "Dato"),), days)
    assert top.shown() == days[:SHOWN]  # a ranked table shows its first rows


def test_report_on_a_question_log_that_does_not_exist_says_so_and_makes_none(tmp_path, monkeypatch, capsys):
    from qa.operations.cli import main

    missing = tmp_path / "nowhere" / "x.sqlite3"
    monkeypatch.setenv("QA_DB", str(missing))
    assert main(["report"]) == 2
    assert capsys.readouterr().err == f"error: QA_DB: no question log at {missing}; the server writes it once voters ask\n"
    assert not missing.parent.exists()
    for days in ("0", "3651", "99999999999"):
        assert main(["report", "--days", days]) == 2
        assert "--days must be from 1 to 3650" in capsys.readouterr().err
