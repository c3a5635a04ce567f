"""The band decision, its logistic models and thresholds, and greetings: small exact cases."""

from __future__ import annotations

import numpy as np
import pytest

from qa.answering.answerer import Answerer
from qa.answering.bands import ANSWERED, FEATURES, NOT_COVERED, RELATED, Bands, Logistic
from qa.answering.smalltalk import GREETING, THANKS, smalltalk
from qa.measuring.tune import MAX_DENIAL, MAX_MISLED, MAX_WRONG, thresholds


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
