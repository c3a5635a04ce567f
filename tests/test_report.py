"""`python -m qa report`: the staff report as plain-text tables in the terminal."""

from __future__ import annotations

from qa.questionlog import QuestionLog
from qa.report import report
from qa.settings import Settings
from tests.test_questionlog import make_answer


def test_report_prints_the_tables_in_the_terminal(tmp_path):
    settings = Settings(db=str(tmp_path / "questions.sqlite3"))
    qlog = QuestionLog.open(settings)
    for _ in range(3):
        qlog.record(make_answer("Hva mener MDG om ulv?", coverage="not_covered", ids=("natur-1",), top=0.21))
    bad = qlog.record(make_answer("Buss", top=0.7))
    qlog.feedback(bad, False, "for langt svar")
    qlog.close()

    text = report(settings, days=7)

    assert text.startswith(
        "Spørsmål fra velgere, siste 7 dager: 4 spørsmål, 3 ubesvarte; tilbakemeldinger: 0 nyttige, 1 ikke nyttige."
    )
    lines = text.splitlines()
    unanswered = lines[lines.index("Spørsmål programmet ikke svarer på") :]
    assert unanswered[2].split() == ["Spørsmål", "Antall", "Sist", "stilt", "(UTC)", "Beste", "treff"]
    assert unanswered[4].startswith("Hva mener MDG om ulv?  ") and unanswered[4].endswith("0.21")
    assert "  3  " in unanswered[4]
    feedback = lines[lines.index("Negative tilbakemeldinger") :]
    assert "Buss" in feedback[4] and "for langt svar" in feedback[4]
    assert "Spørsmål per dag" in lines


def test_report_says_when_the_log_is_off():
    assert report(Settings(db="off"), days=30) == "Spørsmålsloggen er slått av (QA_DB=off).\n"
