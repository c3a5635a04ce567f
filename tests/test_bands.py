"""The band decision, its logistic models and thresholds, and greetings: small exact cases."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from qa.answering.answerer import Answerer
from qa.answering.bands import ANSWERED, FEATURES, NOT_COVERED, RELATED, Bands, Logistic, Probe
from qa.answering.smalltalk import GREETING, THANKS, smalltalk
from qa.measuring.evaluate import OUT_OF_SCOPE
from qa.measuring.tune import FOLDS, MAX_DENIAL, MAX_MISLED, MAX_WRONG, Prepared, fit_probe, fold_of, thresholds


@pytest.mark.parametrize(
    "message, kind",
    [
        ("hei", GREETING),
        ("Hei hei!", GREETING),
        ("god morgen", GREETING),
        ("hello there", GREETING),
        ("heisann 👋", GREETING),
        ("takk!", THANKS),
        ("Tusen takk for svaret", THANKS),
        ("thanks a lot", THANKS),
        ("ha det", THANKS),
        ("hei, hva vil dere med bussen?", None),
        ("takk for at dere vil bygge sykkelvei", None),
        ("god skole", None),
        ("hei 123", None),
    ],
)
def test_only_messages_made_of_courtesy_words_are_smalltalk(message: str, kind: str | None):
    assert smalltalk(message) == kind


def test_a_greeting_gets_no_pledges_presented_as_an_answer(answerer: Answerer):
    answer = answerer.ask("Hei!")
    assert (answer.smalltalk, answer.coverage, answer.answered) == (GREETING, NOT_COVERED, False)
    assert answer.as_dict()["smalltalk"] == "greeting"
    assert answer.hits  # the nearest pledges are still carried, whatever the band


def _model(coef: dict[str, float], bias: float) -> Logistic:
    n = len(FEATURES)
    return Logistic((0.0,) * n, (1.0,) * n, tuple(coef.get(f, 0.0) for f in FEATURES), bias)


def _row(**values: float) -> np.ndarray:
    return np.array([[values.get(f, 0.0) for f in FEATURES]])


def test_bands_answer_when_right_is_likely_deny_when_scope_is_unlikely_else_related():
    bands = Bands(right=_model({"standout": 1.0}, 0.0), scope=_model({"background": 1.0}, 0.0), answer_at=0.8, deny_below=0.3)
    assert bands.bands_of(_row(standout=3.0, background=-5.0)) == [ANSWERED]  # right wins over scope
    assert bands.bands_of(_row(standout=0.0, background=-2.0)) == [NOT_COVERED]
    assert bands.bands_of(_row(standout=0.0, background=0.0)) == [RELATED]
    assert Bands.from_dict(bands.as_dict()) == bands


def test_logistic_fit_separates_a_separable_feature_and_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(FEATURES)))
    y = x[:, FEATURES.index("standout")] > 0.2
    model = Logistic.fit(x, y)
    assert model == Logistic.fit(x, y)
    p = model.probabilities(x)
    assert ((p > 0.5) == y).mean() > 0.95
    assert int(np.argmax(np.abs(model.coef))) == FEATURES.index("standout")


def test_a_logistic_model_with_the_wrong_number_of_values_is_refused():
    with pytest.raises(ValueError, match="values per list"):
        Logistic.from_dict({"mean": [0.0], "scale": [1.0], "coef": [1.0], "bias": 0.0})


def test_thresholds_keep_each_error_under_its_bound():
    rng = np.random.default_rng(1)
    n = 400
    scope = rng.random(n) < 0.7
    right = scope & (rng.random(n) < 0.85)
    p_right = np.clip(np.where(right, 0.7, 0.3) + rng.normal(0, 0.2, n), 0, 1)
    p_scope = np.clip(np.where(scope, 0.7, 0.3) + rng.normal(0, 0.2, n), 0, 1)
    answer_at, deny_below = thresholds(p_right, p_scope, right, scope)
    answered = p_right >= answer_at
    denied = ~answered & (p_scope < deny_below)
    assert (answered & scope & ~right).sum() / scope.sum() <= MAX_WRONG
    assert (answered & ~scope).sum() / (~scope).sum() <= MAX_MISLED
    assert (denied & right).sum() / scope.sum() <= MAX_DENIAL
    assert 0 < answered.mean() < 1 and 0 < denied.mean() < 1  # both bands are used, not switched off


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_probe_learns_which_side_of_a_direction_a_question_is_on_and_is_deterministic():
    rng = np.random.default_rng(2)
    direction = _unit(rng.normal(size=(1, 16)))[0]
    x = _unit(rng.normal(size=(300, 16)) + np.outer(rng.choice([-1.5, 1.5], 300), direction))
    y = (x @ direction > 0).astype(float)
    weight = np.ones(len(x))
    probe = Probe.fit(x, y, weight, ridge=1.0)
    assert probe == Probe.fit(x, y, weight, ridge=1.0)
    assert np.mean([(probe.logit(v) > 0) == bool(label) for v, label in zip(x, y)]) > 0.95
    # A row's weight is its say: the same rows with the positives weighed down move the bias down.
    lighter = Probe.fit(x, y, np.where(y == 1, 0.2, 1.8), ridge=1.0)
    assert lighter.bias < probe.bias
    bands = Bands(right=_model({}, 0.0), scope=_model({}, 0.0), answer_at=0.5, deny_below=0.5, probe=probe)
    assert Bands.from_dict(bands.as_dict()) == bands


def test_no_probe_reads_zero_and_a_vector_of_another_size_is_refused():
    assert Probe().logit(np.ones(5, np.float32)) == 0.0
    with pytest.raises(ValueError, match="3-dimensional"):
        Probe((1.0, 2.0, 3.0), 0.0).logit(np.ones(5, np.float32))
    with pytest.raises(KeyError):
        Bands.from_dict({k: v for k, v in Bands.default().as_dict().items() if k != "probe"})


def test_the_probe_is_fitted_without_the_background_of_folds_left_out(monkeypatch: pytest.MonkeyPatch):
    """The background holds the tuning set's out-of-scope questions, so a probe fitted for a fold
    must not see the background rows of the folds it leaves out."""
    dim = 4
    keys = [f"b{i}" for i in range(50)]
    ranker = SimpleNamespace(
        background_keys=keys, scope_examples=lambda: (np.eye(dim)[:2], np.tile(np.eye(dim)[2], (len(keys), 1)))
    )
    cases = [SimpleNamespace(kind="lexical" if i % 2 else OUT_OF_SCOPE) for i in range(10)]
    signals = [SimpleNamespace(query=np.eye(dim)[3]) for _ in cases]
    data = Prepared(cases, signals, np.arange(10) % FOLDS)
    seen = {}

    def capture(x, y, weight, ridge):
        seen.update(rows=len(x), weight=weight)
        return Probe()

    monkeypatch.setattr(Probe, "fit", staticmethod(capture))
    rows = np.flatnonzero(data.folds != 0)
    fit_probe(ranker, data, rows)
    kept = sum(fold_of(k) != 0 for k in keys)
    assert 0 < kept < len(keys)
    assert seen["rows"] == 2 + kept + len(rows)
    assert seen["weight"].sum() == pytest.approx(seen["rows"])  # weights sum to the number of rows


def test_bands_whose_probe_reads_other_vectors_carry_on_at_the_probes_mean():
    """A fitted file for another model (another dimension) must not break answering: the probe
    then reads the mean it was fitted around, which moves neither band model."""
    right = Logistic((0.0,) * (len(FEATURES) - 1) + (1.5,), (1.0,) * len(FEATURES), (0.0,) * (len(FEATURES) - 1) + (2.0,), 0.0)
    bands = Bands(right=right, scope=right, answer_at=0.5, deny_below=0.5, probe=Probe((1.0, 0.0, 0.0), 0.0))
    assert bands.for_dimension(3) is bands
    other = bands.for_dimension(384)
    assert other.probe.logit(np.ones(384, np.float32)) == 1.5
    assert other.right.probability(_features(probe=other.probe.logit(np.ones(384)))) == pytest.approx(0.5)


def _features(**values: float):
    from qa.answering.bands import Features

    return Features(**{f: values.get(f, 0.0) for f in FEATURES})


@pytest.mark.parametrize(
    ("typed", "ranked"),
    [
        ("hei, hva vil dere med skolen?", "hva vil dere med skolen?"),
        ("Hei MDG! Blir bussen billigere?", "Blir bussen billigere?"),
        ("takk, men hva med bussen?", "men hva med bussen?"),
        ("hello, we came to Norway this year", "we came to Norway this year"),
        ("Hva med bussen?", "Hva med bussen?"),  # no greeting
        ("hei på deg, hva med bussen", "hei på deg, hva med bussen"),  # "på deg" is not only courtesy: kept whole
        ("Sone 1, hva skjer?", "Sone 1, hva skjer?"),
        ("god kveld :)", "god kveld :)"),  # nothing but courtesy: smalltalk, left to it
        ("hei, takk!", "hei, takk!"),
    ],
)
def test_a_greeting_a_question_opens_with_is_left_out_of_the_ranking(typed: str, ranked: str):
    from qa.answering.smalltalk import without_courtesy

    assert without_courtesy(typed) == ranked


def test_a_question_ranks_the_same_with_or_without_a_greeting_before_it(answerer: Answerer):
    plain, greeted = answerer.ranker.rank("tråling i Oslofjorden?"), answerer.ranker.rank("Hei! tråling i Oslofjorden?")
    assert greeted.ids == plain.ids and np.array_equal(greeted.scores, plain.scores) and greeted.coverage == plain.coverage
