"""The small pieces of ranking: spelling, character n-grams, expansions, metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corpus.expansions import load_expansions
from corpus.parse import parse_text
from qa.answering.lexical import CharTfidf, grams
from qa.answering.ranking import LEXICAL_SCALE, Signals, agreeing_best, fusion_inputs
from qa.answering.spelling import Speller
from qa.errors import QAError
from qa.measuring.evaluate import Case, Outcome, format_table, load_cases, score
from tests.conftest import SMALL_PROGRAMME

VOCABULARY = ["på skolen og i barnehagen", "anonyme jobbsøknader i kommunen", "båter og kajakker", "Bærum"]
COMMON = {"på": 7.2, "pa": 4.3, "båter": 3.5, "jobbsøknader": 2.3, "pleier": 4.8, "leier": 4.0, "bærum": 3.9, "kommune": 5.0, "gamle": 5.0, "mer": 6.0}


@pytest.fixture
def speller() -> Speller:
    return Speller(VOCABULARY, common=lambda w: COMMON.get(w, 0.0), common_nb=lambda w: COMMON.get(w, 0.0))


@pytest.mark.parametrize(
    "typed, mended",
    [
        ("mer praktiske fag pa skolen?", "mer praktiske fag på skolen?"),
        ("anonyme jobsøknader", "anonyme jobbsøknader"),
        ("gamle bater", "gamle båter"),
        ("Baerum kommune", "Bærum kommune"),
    ],
)
def test_spelling_is_mended_towards_the_programmes_words(speller: Speller, typed: str, mended: str):
    assert speller.correct(typed) == mended


def test_real_words_the_programme_lacks_are_left_alone(speller: Speller):
    assert speller.correct("Jeg pleier mamma hjemme") == "Jeg pleier mamma hjemme"


def test_punctuation_and_spacing_survive_correction(speller: Speller):
    assert speller.correct("  pa,skolen!! ") == "  på,skolen!! "


def test_char_grams_are_taken_within_words():
    g = grams("Buss til")
    assert g[" bu"] == 1 and g["ss "] == 1 and g[" til "] == 1
    assert not any(" " in gram.strip() for gram in g)


def test_char_tfidf_ranks_a_misspelt_compound_to_its_document():
    tfidf = CharTfidf(["anonyme jobbsøknader i kommunen", "flere sykkelveier", "forby tråling i fjorden"])
    scores = tfidf.scores("anonyme jobsøknader")
    assert int(np.argmax(scores)) == 0
    assert scores[0] == pytest.approx(float(scores.max())) and scores[1] < 0.1
    assert tfidf.scores("")[0] == 0.0


def test_expansions_attach_by_exact_pledge_text_and_stale_ones_are_ignored(tmp_path):
    programme = parse_text(SMALL_PROGRAMME)
    path = tmp_path / "exp.jsonl"
    rows = [
        {"id": "whatever", "text": "forby all form for tråling i Oslofjorden.", "expansions": ["stopp tråling", " "]},
        {"id": "samferdsel-1", "text": "en gammel tekst som ikke finnes lenger", "expansions": ["billigere buss"]},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\nnot json\n", encoding="utf-8")
    assert load_expansions(path, programme) == {"oslofjorden-1": ("stopp tråling",)}
    assert load_expansions(tmp_path / "missing.jsonl", programme) == {}
    assert load_expansions(None, programme) == {}


def _cases():
    return [
        Case("q1", "a?", "lexical", frozenset({"x-1"}), "x", "keyword"),
        Case("q2", "b?", "topic", frozenset({"x-1", "x-2"}), "x", "topic"),
        Case("q3", "c?", "out_of_scope", frozenset(), None, "offtopic"),
        Case("q4", "d?", "paraphrase", frozenset({"x-2"}), "x", "life"),
        Case("q5", "e?", "out_of_scope", frozenset(), None, "offtopic"),
    ]


def test_metrics_are_computed_as_documented():
    section_of = {"x-1": "x", "x-2": "x", "y-1": "y", "y-2": "y", "y-3": "y"}
    outcomes = [
        Outcome(("y-1", "x-1", "y-2"), "answered"),  # gold at rank 2: direct
        Outcome(("x-2", "y-1", "x-1", "y-2", "y-3"), "not_covered"),  # topic, gold first: a false denial
        Outcome(("y-1",), "not_covered"),  # out of scope, refused
        Outcome(("y-1", "y-2", "y-3", "x-2"), "answered"),  # gold at rank 4: found, but a wrong answer
        Outcome(("y-1",), "related"),  # out of scope, shown as related: neither misled nor refused
    ]
    r = score(_cases(), outcomes, section_of)
    a = r["all"]
    assert a["Hit@1"] == pytest.approx(1 / 3) and a["Hit@5"] == 1.0
    assert a["MRR@10"] == pytest.approx((0.5 + 1.0 + 0.25) / 3)
    assert r["topic"]["SecP@5"] == pytest.approx(2 / 5)
    assert r["topic"]["R@5"] == 1.0
    assert (a["direct"], a["shown"], a["denied"], a["wrong"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3, 1 / 3))
    assert (a["misled"], a["refused"]) == (0.0, 0.5)
    assert r["style:life"]["wrong"] == 1.0 and r["style:offtopic"]["n"] == 2
    table = format_table(r).splitlines()
    assert "Hit@1" in table[0] and "misled" in table[0]
    assert [line.split()[0] for line in table[1:]][-1] == "style:topic"


def test_an_unknown_band_is_refused():
    with pytest.raises(ValueError, match="unknown coverage band"):
        Outcome(("x-1",), "maybe")


def test_gold_snippets_resolve_to_exactly_one_pledge(tmp_path):
    programme = parse_text(SMALL_PROGRAMME)
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": "a", "q": "tråling?", "kind": "lexical", "gold": ["all  form for\ntråling"]}) + "\n")
    assert load_cases(good, programme)[0].gold == {"oslofjorden-1"}
    ambiguous = tmp_path / "bad.jsonl"
    ambiguous.write_text(json.dumps({"id": "a", "q": "?", "kind": "lexical", "gold": ["i"]}) + "\n")
    with pytest.raises(QAError, match="matches .* pledges, not 1"):
        load_cases(ambiguous, programme)
    with pytest.raises(QAError, match="cannot read"):
        load_cases(tmp_path / "missing.jsonl", programme)


def test_topics_attach_to_a_section_by_its_heading_and_unknown_headings_are_ignored(tmp_path):
    from corpus.expansions import load_topics

    programme = parse_text(SMALL_PROGRAMME)
    path = tmp_path / "topics.jsonl"
    rows = [
        {"section": "Samferdsel", "expansions": ["hva vil dere med trafikken?", "  "]},
        {"section": "Ingen slik overskrift", "expansions": ["noe"]},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")
    assert load_topics(path, programme) == {"samferdsel": ("hva vil dere med trafikken?",)}
    assert load_topics(None, programme) == {}


def test_the_topic_signal_is_the_best_broad_question_of_each_section(settings, fake_embedder, tmp_path):
    from qa.answering.startup import load_answerer

    path = tmp_path / "topics.jsonl"
    path.write_text(json.dumps({"section": "Skole", "expansions": ["karakterer og prøver i skolen"]}) + "\n")
    answerer = load_answerer(settings.model_copy(update={"topics": path}), embedder=fake_embedder)
    signals = answerer.ranker.signals("karakterer og prøver i skolen")
    by_section = {p.section: float(signals.topic[i]) for i, p in enumerate(answerer.programme.pledges)}
    assert by_section["Skole"] == pytest.approx(1.0, abs=1e-5)  # the question is the broad text itself
    assert by_section["Samferdsel"] == 0.0 == by_section["Oslofjorden"]  # sections without topics score nothing


def test_tuning_can_rank_a_question_without_its_nearest_expansion(settings, fake_embedder, small_expansions):
    from qa.answering.startup import load_answerer

    answerer = load_answerer(settings.model_copy(update={"expansions": small_expansions}), embedder=fake_embedder)
    ranker, twin = answerer.ranker, "Skal bunntråling i fjorden stoppes?"  # an expansion, word for word
    pledge = next(i for i, p in enumerate(answerer.programme.pledges) if "tråling" in p.text)
    seen = ranker.signals(twin)
    hidden = ranker.signals(twin, hide_nearest=1)
    assert seen.expansion[pledge] == pytest.approx(1.0, abs=1e-4)  # its own twin (rows kept in half precision)
    assert hidden.expansion[pledge] == pytest.approx(float(hidden.pledge[pledge]))  # only the pledge itself is left
    assert hidden.expansion[pledge] < 0.99
    assert np.array_equal(np.delete(hidden.expansion, pledge), np.delete(seen.expansion, pledge))  # nothing else moves


def _signals(lexical: np.ndarray) -> Signals:
    rng = np.random.default_rng(3)
    n = len(lexical)
    pledge, expansion, section = (rng.uniform(0.7, 0.9, n).astype(np.float32) for _ in range(3))
    zeros = np.zeros(n, np.float32)
    return Signals(
        pledge=pledge, expansion=expansion, agreement=zeros, section=section, lexical=lexical.astype(np.float32),
        cluster=zeros, topic=zeros, background=zeros, known=1.0, words=3, query=np.zeros(8, np.float32),
    )


def test_the_lexical_signal_is_summed_standardised_so_its_scale_per_question_does_not_matter():
    lexical = np.array([0.0, 0.02, 0.3, 0.05, 0.0, 0.11])
    parts = fusion_inputs(_signals(lexical))
    assert parts[3].mean() == pytest.approx(0.0, abs=1e-7) and parts[3].std() == pytest.approx(LEXICAL_SCALE, rel=1e-5)
    assert int(np.argmax(parts[3])) == 2  # the best lexical match stays the best
    # A long question's cosines are a fraction of a stub's: the same matches count the same.
    assert np.allclose(fusion_inputs(_signals(lexical / 4))[3], parts[3], atol=1e-6)
    flat = fusion_inputs(_signals(np.zeros(6)))[3]  # no gram in common with any pledge: no say at all
    assert flat.tolist() == [0.0] * 6
    assert [p.tolist() for p in parts[:3]] == [p.tolist() for p in fusion_inputs(_signals(np.zeros(6)))[:3]]


def test_the_band_features_read_the_probe_of_the_bands_they_are_given(settings, fake_embedder):
    from dataclasses import replace

    from qa.answering.bands import Probe
    from qa.answering.startup import load_answerer

    ranker = load_answerer(settings, embedder=fake_embedder).ranker
    question = "Hva vil dere gjøre med bussen?"
    signals = ranker.signals(question)
    assert signals.query == pytest.approx(fake_embedder.embed_queries([question])[0])
    scores = np.sort(ranker.fused(signals, ranker.weights))[::-1]
    first = np.zeros(len(signals.query))
    first[0] = 2.0
    probed = replace(ranker.bands, probe=Probe(tuple(first), 0.5))
    assert ranker.features(signals, scores, probed).probe == pytest.approx(0.5 + 2.0 * float(signals.query[0]))
    assert ranker.features(signals, scores).probe == ranker.bands.probe.logit(signals.query)


def test_a_pledges_section_is_its_row_among_the_sections(settings, fake_embedder):
    from qa.answering.startup import load_answerer

    answerer = load_answerer(settings, embedder=fake_embedder)
    sections = [s for s in answerer.programme.sections if s.pledges]
    for row, section in enumerate(sections):
        assert {answerer.ranker.section_of(p.id) for p in section.pledges} == {row}
    with pytest.raises(ValueError, match="unknown pledge id"):
        answerer.ranker.section_of("no-such-pledge")


def test_agreeing_rows_lift_a_pledge_above_one_lucky_row_by_a_bounded_amount():
    # Two pledges with the same best row: the first has two more rows that nearly match.
    scores = np.array([[0.80], [0.795], [0.79], [0.80], [0.40], [0.30]], np.float32)
    starts = np.array([0, 3])
    best, pooled = agreeing_best(scores, starts, 0.01)
    assert best[:, 0].tolist() == pytest.approx([0.80, 0.80])
    assert pooled[0, 0] > pooled[1, 0] >= best[1, 0]  # agreement counts; a lone best row keeps its score
    assert pooled[0, 0] <= best[0, 0] + 0.01 * np.log(3) + 1e-6  # never more than T log(rows) above
    same, plain = agreeing_best(scores, starts, 0.0)
    assert np.array_equal(same, plain) and np.array_equal(plain, best)  # temperature 0 is the plain max


def test_hidden_rows_count_for_nothing_in_the_pooled_expansion_score():
    scores = np.array([[0.8], [-np.inf], [-np.inf], [-np.inf]], np.float32)
    best, pooled = agreeing_best(scores, np.array([0, 2]), 0.01)
    assert pooled[0, 0] == pytest.approx(0.8)  # the hidden row adds nothing
    assert np.isneginf(pooled[1, 0]) and np.isneginf(best[1, 0])  # every row hidden: still nothing
