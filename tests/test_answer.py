"""Answering on the five-pledge programme with the fake embedder: fast, exact."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.expansions import load_expansions
from qa.answering.answerer import Answerer
from qa.answering.limits import clean_question
from qa.answering.startup import load_answerer
from qa.errors import BadQuestion, ConfigError
from qa.operations.settings import Settings


def test_question_brings_back_the_pledge_that_answers_it(answerer: Answerer):
    answer = answerer.ask("forby tråling i Oslofjorden?")
    assert answer.hits[0].pledge.id == "oslofjorden-1"
    assert [h.score for h in answer.hits] == sorted((h.score for h in answer.hits), reverse=True)


def test_answer_json_has_exactly_the_api_fields(answerer: Answerer):
    data = answerer.ask("sone 1 i kollektivtrafikken", k=2).as_dict()
    assert set(data) == {"question", "coverage", "answered", "smalltalk", "corrected", "answering", "results"}
    assert data["corrected"] is None  # every word is the programme's own
    assert data["coverage"] in {"answered", "related", "not_covered"}
    assert data["answered"] == (data["coverage"] == "answered")
    assert data["smalltalk"] is None
    assert data["question"] == "sone 1 i kollektivtrafikken"
    assert len(data["results"]) == 2
    first = data["results"][0]
    assert set(first) == {"id", "text", "part", "part_id", "section", "section_id", "number", "page", "score", "url"}
    assert first["id"] == "samferdsel-1"
    assert first["url"] == "/program#samferdsel-1"
    assert (first["section"], first["number"], first["part"]) == ("Samferdsel", 1, "Et grønt Bærum")
    assert (first["section_id"], first["part_id"]) == ("samferdsel", "et-gront-baerum")


def test_answer_says_what_it_answered_when_the_spelling_was_mended(answerer: Answerer):
    answer = answerer.ask("sone 1 i kollektivtrafiken")  # one letter missing
    assert answer.question == "sone 1 i kollektivtrafiken"
    assert answer.corrected == "sone 1 i kollektivtrafikken"
    assert answer.as_dict()["corrected"] == "sone 1 i kollektivtrafikken"
    # From the cache, in other letters' case, it still names its own words.
    assert answerer.ask("Sone 1 i kollektivtrafiken").corrected == "Sone 1 i kollektivtrafikken"


def test_k_is_clamped_to_the_number_of_pledges(answerer: Answerer):
    assert len(answerer.ask("skole", k=20).hits) == 5


@pytest.mark.parametrize("k", [0, -1, 21, 1000])
def test_k_out_of_range_is_refused(answerer: Answerer, k: int):
    with pytest.raises(BadQuestion, match="k must be between 1 and 20"):
        answerer.ask("skole", k=k)


@pytest.mark.parametrize(
    "question, message",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 501, "at most 500"),
        ("hei\x00du", "control characters"),
        ("hei\x85du", "control characters"),
        ("abc\u202edef", "right-to-left"),
        ("?!…", "no letters or digits"),
    ],
)
def test_bad_questions_are_refused_with_a_reason(question: str, message: str):
    with pytest.raises(BadQuestion, match=message) as refused:
        clean_question(question)
    assert refused.value.voter_message.startswith(("Spørsmålet", "k må"))


def test_whitespace_is_collapsed_and_500_characters_are_allowed():
    assert clean_question("  hva   vil\nMDG  ") == "hva vil MDG"
    assert len(clean_question("a" * 500)) == 500


def test_a_repeated_question_is_answered_from_the_cache_without_the_model(answerer: Answerer, fake_embedder):
    first = answerer.ask("Hva med bussen?")
    calls = fake_embedder.calls
    again = answerer.ask("hva   med BUSSEN?")
    assert fake_embedder.calls == calls
    assert again.hits == first.hits
    assert again.question == "hva med BUSSEN?"


def test_each_new_question_costs_exactly_one_embedding_call(answerer: Answerer, fake_embedder):
    calls = fake_embedder.calls
    answerer.ask("karakterer i grunnskolen")
    answerer.ask("kajakker og robåter")
    assert fake_embedder.calls == calls + 2


def test_the_cache_is_bounded(settings: Settings, fake_embedder):
    answerer = load_answerer(settings.model_copy(update={"cache_size": 2}), embedder=fake_embedder)
    for q in ["en", "to", "tre", "fire"]:
        answerer.ask(q)
    calls = fake_embedder.calls
    answerer.ask("en")  # evicted: asks the model again
    assert fake_embedder.calls == calls + 1


def test_nearest_sections_follow_the_hits(answerer: Answerer):
    answer = answerer.ask("kollektivtrafikken sone 1")
    sections = answerer.nearest_sections(answer)
    assert sections[0].title == "Samferdsel"
    assert len({s.id for s in sections}) == len(sections)


def test_unreadable_corpus_is_a_config_error_naming_it(settings: Settings, fake_embedder, tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError, match="QA_CORPUS.*nope.txt"):
        load_answerer(settings.model_copy(update={"corpus": missing}), embedder=fake_embedder)


def test_corpus_without_pledges_is_a_config_error(settings: Settings, fake_embedder, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("Bare tekst.\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no pledges"):
        load_answerer(settings.model_copy(update={"corpus": empty}), embedder=fake_embedder)


@pytest.mark.model  # loads the sentence-transformers backend to find the model missing
def test_unknown_model_is_a_config_error_naming_it(settings: Settings, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="QA_MODEL.*no-such-model"):
        load_answerer(settings.model_copy(update={"model": str(tmp_path / "no-such-model")}))


def test_the_section_signal_is_the_question_against_the_centre_of_each_section(
    answerer: Answerer, settings: Settings, fake_embedder
):
    ranker = answerer.ranker
    programme = answerer.programme
    expansions = load_expansions(settings.expansions, programme)
    q = fake_embedder.embed_queries(["sykkel og buss"])[0]
    section = ranker.signals("sykkel og buss").section
    for s in programme.sections:
        texts = [f"{p.part}, {p.section}: {p.text}" for p in s.pledges]
        texts += [text for p in s.pledges for text in expansions.get(p.id, ())]
        centre = fake_embedder.embed_passages(texts).sum(axis=0)
        expected = float(centre @ q / np.linalg.norm(centre))
        assert [round(float(section[programme.pledges.index(p)]), 5) for p in s.pledges] == [round(expected, 5)] * len(s.pledges)
    # The two pledges of "Samferdsel" share one value, and it differs from Oslofjorden's.
    by_section = {p.section: float(section[i]) for i, p in enumerate(programme.pledges)}
    assert by_section["Samferdsel"] > by_section["Oslofjorden"]


def test_a_question_of_several_sentences_is_also_scored_by_its_best_sentence(answerer: Answerer, fake_embedder):
    from qa.answering.ranking import segments

    assert segments("Hva med bussen?") == []
    assert segments("Jeg bor langt unna. Ok?") == []  # a two-word sentence is not a sentence to score alone
    story = "Jeg har tre barn og bor langt fra byen. Kan dere innføre sone 1 i kollektivtrafikken?"
    assert segments(story) == ["Jeg har tre barn og bor langt fra byen.", "Kan dere innføre sone 1 i kollektivtrafikken?"]
    calls = fake_embedder.calls
    assert answerer.ask(story).hits[0].pledge.id == "samferdsel-1"
    assert fake_embedder.calls == calls + 1  # the sentences are embedded in the same call


def test_an_answer_says_how_many_of_its_first_hits_answer_and_the_page_draws_the_rest_apart(answerer: Answerer):
    from dataclasses import replace

    from qa.answer import CLOSE, Answer, Hit
    from web.pages import reply_for

    pledges = answerer.programme.pledges
    scores = [0.82, 0.82 - CLOSE + 0.001, 0.82 - CLOSE - 0.001, 0.706, 0.705]
    answer = Answer("bompenger", "answered", tuple(Hit(p, s) for p, s in zip(pledges, scores)))
    assert answer.answering == 2  # the next is just over CLOSE below the first
    body = {**answer.as_dict(), "programme": "x"}
    assert body["answering"] == 2
    reply = reply_for(body)
    drawn = [r["id"] for g in reply.groups for r in g.results]
    apart = [r["id"] for g in reply.also for r in g.results]
    assert drawn == [p.id for p in pledges[:2]] and apart == [p.id for p in pledges[2:5]]
    for band in ("related", "not_covered"):
        assert replace(answer, coverage=band).answering == 0
    assert replace(answer, hits=()).answering == 0
