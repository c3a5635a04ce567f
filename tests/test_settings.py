"""Settings: where the data and the writable folder are, data files that must exist or be `off`,
and the admin token as a secret. Start-up's report on how the expansions fit the programme.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import corpus
from corpus.expansions import read_expansions, read_topics
from corpus.parse import parse_text
from qa.answering.startup import load_inputs
from qa.errors import ConfigError
from qa.operations import settings as settings_module
from qa.operations.cli import main
from qa.operations.settings import ROOT, Settings, default_var_dir, load_settings
from tests.conftest import SMALL_PROGRAMME, FakeEmbedder

DATA_SETTINGS = ["QA_EXPANSIONS", "QA_TOPICS", "QA_QUESTIONS", "QA_BACKGROUND", "QA_FITTED"]
TOKEN = "a-staff-token-of-24-chars"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No QA_* variable from the shell that runs the tests leaks into these."""
    for name in [*DATA_SETTINGS, "QA_CORPUS", "QA_VAR_DIR", "QA_INDEX_DIR", "QA_DB", "QA_ADMIN_TOKEN", "XDG_STATE_HOME"]:
        monkeypatch.delenv(name, raising=False)


# -- where things are -----------------------------------------------------------------------


def test_the_data_defaults_are_the_files_installed_with_the_packages():
    s = load_settings()
    data = Path(corpus.__file__).resolve().parent
    assert s.corpus == data / "mdg-baerum-program.txt"
    assert (s.expansions, s.topics, s.questions, s.background) == (
        data / "expansions.jsonl", data / "topics.jsonl", data / "questions.jsonl", data / "background.jsonl",
    )  # fmt: skip
    assert s.fitted == Path(settings_module.__file__).resolve().parents[1] / "answering" / "fitted.json"
    assert all(p.is_file() for p in (s.corpus, s.expansions, s.topics, s.questions, s.background, s.fitted))


def test_in_a_checkout_the_index_and_the_question_log_are_in_var():
    s = load_settings()
    assert (ROOT / "pyproject.toml").is_file()
    assert s.var_dir == ROOT / "var"
    assert s.index_dir == ROOT / "var" / "index"
    assert s.db == str(ROOT / "var" / "questions.sqlite3")


def test_qa_var_dir_moves_the_index_and_the_question_log(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_VAR_DIR", str(tmp_path / "state"))
    s = load_settings()
    assert s.index_dir == tmp_path / "state" / "index"
    assert s.db == str(tmp_path / "state" / "questions.sqlite3")


def test_qa_index_dir_and_qa_db_still_win_over_qa_var_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_VAR_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("QA_DB", "off")
    s = load_settings()
    assert (s.index_dir, s.db) == (tmp_path / "elsewhere", "off")


def test_outside_a_checkout_the_var_dir_is_the_users_state_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(settings_module, "IN_CHECKOUT", False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_var_dir() == tmp_path / "home" / ".local" / "state" / "mdg-qa"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_var_dir() == tmp_path / "xdg" / "mdg-qa"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/is/ignored")  # as the XDG spec says
    assert default_var_dir() == tmp_path / "home" / ".local" / "state" / "mdg-qa"
    assert load_settings().index_dir == tmp_path / "home" / ".local" / "state" / "mdg-qa" / "index"


# -- data files: there, or off --------------------------------------------------------------


@pytest.mark.parametrize("name", DATA_SETTINGS)
def test_a_data_file_that_does_not_exist_stops_start_up_naming_the_setting_and_path(monkeypatch, tmp_path, name):
    monkeypatch.setenv(name, str(tmp_path / "expansjoner.jsonl"))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        f"{name}: no such file: {tmp_path / 'expansjoner.jsonl'} (give the path of a file, or 'off' to run without it)"
    )


def test_a_relative_path_that_does_not_exist_is_named_as_given_and_in_full(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QA_EXPANSIONS", "corpus/expansion.jsonl")
    with pytest.raises(ConfigError, match="corpus/expansion.jsonl") as caught:
        load_settings()
    assert str(tmp_path / "corpus" / "expansion.jsonl") in str(caught.value)


@pytest.mark.parametrize("name", DATA_SETTINGS)
@pytest.mark.parametrize("value", ["off", "OFF", " Off "])
def test_off_turns_a_data_file_off(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert getattr(load_settings(), name.removeprefix("QA_").lower()) is None


def test_a_missing_programme_stops_start_up_and_cannot_be_turned_off(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_CORPUS", "off")
    with pytest.raises(ConfigError, match=r"^QA_CORPUS: no such file: off \(.*\) \(give the path of a file\)$"):
        load_settings()


def test_the_command_line_refuses_a_mistyped_expansions_path_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("QA_EXPANSIONS", str(tmp_path / "typo.jsonl"))
    assert main(["pledges"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: QA_EXPANSIONS: no such file: {tmp_path / 'typo.jsonl'} (give the path of a file, or 'off' to run without it)"
    ]


def test_start_up_refuses_a_missing_file_set_past_validation(settings, tmp_path):
    # model_copy skips validation; start-up checks again rather than run without the file.
    changed = settings.model_copy(update={"background": tmp_path / "gone.jsonl"})
    with pytest.raises(ConfigError, match=r"^QA_BACKGROUND: no such file: .*gone\.jsonl"):
        load_inputs(changed, embedder=FakeEmbedder())


def test_the_test_settings_turn_the_optional_files_off_with_none(settings):
    assert (settings.topics, settings.questions, settings.background, settings.fitted) == (None, None, None, None)
    inputs = load_inputs(settings, embedder=FakeEmbedder())
    assert inputs.topics == {} and inputs.background == [] and inputs.fitted is None


# -- how the expansions fit the programme ---------------------------------------------------


def _write(path: Path, rows: list, extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + extra, encoding="utf-8")
    return path


def test_reading_expansions_counts_matched_stale_and_malformed_entries_and_pledges_without(tmp_path):
    programme = parse_text(SMALL_PROGRAMME)
    path = _write(
        tmp_path / "exp.jsonl",
        [
            {"id": "oslofjorden-1", "text": "forby all form for tråling i Oslofjorden.", "expansions": ["stopp tråling"]},
            {"id": "gammel-7", "text": "en tekst fra forrige program", "expansions": ["noe"]},
            {"id": "skole-1", "text": "avvikle karakterer helt eller delvis i hele grunnskolen.", "expansions": [" "]},
        ],
        "\nnot json\n[1, 2]\n",
    )
    loaded = read_expansions(path, programme)
    assert loaded.texts == {"oslofjorden-1": ("stopp tråling",)}
    assert (loaded.matched, loaded.stale, loaded.malformed) == (2, ("gammel-7",), 2)
    assert loaded.without == ("oslofjorden-2", "samferdsel-1", "samferdsel-2", "skole-1")


def test_reading_topics_counts_unknown_headings_as_stale(tmp_path):
    programme = parse_text(SMALL_PROGRAMME)
    path = _write(
        tmp_path / "topics.jsonl",
        [{"section": "Samferdsel", "expansions": ["trafikk?"]}, {"section": "Borte", "expansions": ["x"]}],
    )
    loaded = read_topics(path, programme)
    assert (loaded.texts, loaded.matched, loaded.stale, loaded.without) == (
        {"samferdsel": ("trafikk?",)}, 1, ("Borte",), ("oslofjorden", "skole"),
    )  # fmt: skip


def test_start_up_warns_with_the_counts_when_expansions_are_stale_or_missing(settings, tmp_path, caplog):
    path = _write(
        tmp_path / "exp.jsonl",
        [
            {"id": "oslofjorden-1", "text": "forby all form for tråling i Oslofjorden.", "expansions": ["stopp tråling"]},
            {"id": "gammel-7", "text": "en tekst fra forrige program", "expansions": ["noe"]},
        ],
    )
    with caplog.at_level(logging.INFO, logger="qa.answering.startup"):
        inputs = load_inputs(settings.model_copy(update={"expansions": path}), embedder=FakeEmbedder())
    assert inputs.expansions == {"oslofjorden-1": ("stopp tråling",)}
    [record] = [r for r in caplog.records if r.getMessage().startswith("QA_EXPANSIONS")]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        f"QA_EXPANSIONS ({path}): 1 entries match a pledge, 1 stale (gammel-7); "
        "4 of 5 pledges have none (oslofjorden-2, samferdsel-1, samferdsel-2, skole-1)"
    )


@pytest.mark.production_data
def test_start_up_reports_the_real_expansions_as_a_complete_fit(caplog):
    s = load_settings(index_dir="/nonexistent", db="off")
    with caplog.at_level(logging.INFO, logger="qa.answering.startup"):
        inputs = load_inputs(s, embedder=FakeEmbedder())
    n = len(inputs.programme.pledges)
    [record] = [r for r in caplog.records if r.getMessage().startswith("QA_EXPANSIONS")]
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        f"QA_EXPANSIONS ({s.expansions}): {n} entries match a pledge, 0 stale; 0 of {n} pledges have none"
    )


def test_expansions_set_to_off_are_logged_and_none_are_used(settings, caplog):
    with caplog.at_level(logging.INFO, logger="qa.answering.startup"):
        inputs = load_inputs(settings.model_copy(update={"expansions": None}), embedder=FakeEmbedder())
    assert inputs.expansions == {}
    assert "QA_EXPANSIONS is off" in caplog.text


# -- the admin token ------------------------------------------------------------------------


def test_the_admin_token_is_a_secret_that_no_repr_shows(monkeypatch):
    monkeypatch.setenv("QA_ADMIN_TOKEN", TOKEN)
    s = load_settings()
    assert s.admin_token_value() == TOKEN
    assert TOKEN not in repr(s) and TOKEN not in str(s) and TOKEN not in str(s.model_dump())


@pytest.mark.parametrize("token", ["kort", "fifteen-chars!!", "æøå" * 5])
def test_a_short_admin_token_stops_start_up_without_showing_it(monkeypatch, capsys, token):
    monkeypatch.setenv("QA_ADMIN_TOKEN", token)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == "QA_ADMIN_TOKEN: must be at least 16 characters (value not shown)"
    assert main(["pledges"]) == 2
    assert token not in capsys.readouterr().err


def test_sixteen_characters_are_enough():
    assert load_settings(admin_token="x" * 16).admin_token_value() == "x" * 16


@pytest.mark.parametrize("token", ["", "   "])
def test_a_blank_admin_token_means_no_admin_routes(monkeypatch, token):
    monkeypatch.setenv("QA_ADMIN_TOKEN", token)
    s = load_settings()
    assert s.admin_token is None and s.admin_token_value() == ""


def test_another_bad_setting_does_not_show_the_admin_token(monkeypatch):
    monkeypatch.setenv("QA_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("QA_RATE_LIMIT", "lots")
    with pytest.raises(ConfigError, match="QA_RATE_LIMIT") as caught:
        load_settings()
    assert TOKEN not in str(caught.value)


def test_settings_built_in_code_check_the_same_way():
    with pytest.raises(ValueError, match="at least 16"):
        Settings(admin_token="short")
    with pytest.raises(ValueError, match="no such file"):
        Settings(topics=Path("/no/such/topics.jsonl"))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        # QA_VAR_DIR="" once made the index folder the checkout's own index/ package, rebuilt over it.
        ("QA_VAR_DIR", "", "QA_VAR_DIR: is empty: give a folder"),
        ("QA_INDEX_DIR", " ", "QA_INDEX_DIR: is empty: give a folder"),
        ("QA_INDEX_DIR", "{file}", "is a file, not a folder for the index"),
        ("QA_IDS", "", "QA_IDS: is empty"),
        ("QA_IDS", "{folder}", "is a folder; give the ledger's file"),
        ("QA_DB", "mysql://db/qa", "mysql:// is not a database this service uses"),
        ("QA_ALLOWED_ORIGINS", "https://mdg.no,not a url", "'not a url' is not an origin"),
        ("QA_ALLOWED_ORIGINS", "https://mdg.no/sporsmal", "is not an origin"),
    ],
)
def test_a_folder_database_or_origin_setting_that_cannot_be_one_stops_start_up_naming_it(
    monkeypatch, tmp_path, name, value, message
):
    (tmp_path / "a-file").write_text("important")
    monkeypatch.setenv(name, value.format(file=tmp_path / "a-file", folder=tmp_path))
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings()
    assert "\n" not in str(caught.value)
    assert (tmp_path / "a-file").read_text() == "important"


def test_good_folder_database_and_origin_settings_pass(monkeypatch, tmp_path):
    for name, value in {
        "QA_INDEX_DIR": tmp_path / "new-index", "QA_IDS": "off", "QA_DB": "postgresql://qa@127.0.0.1/qa",
        "QA_ALLOWED_ORIGINS": "https://baerum.mdg.no, http://localhost:8080",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, str(value))
    settings = load_settings()
    assert settings.ids is None and settings.db.startswith("postgresql://") and len(settings.origins) == 2
