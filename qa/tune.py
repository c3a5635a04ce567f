"""Fit the ranking weights and the "not covered" decision on labelled questions.

`python -m qa tune corpus/questions.jsonl [--check ../shared/eval/dev.jsonl]`

Signals are computed once per question; then a grid of signal weights is searched for the
best mean of Hit@1, Hit@5, MRR@10 and topic SecP@5, and a class-balanced logistic
regression is fitted for coverage. Fit on the team's own questions; `--check` only reports
on a second file, it never influences the fit. The printed values are what
`qa/ranking.py` carries as WEIGHTS and COVERAGE.
"""

from __future__ import annotations

import itertools

import numpy as np

from qa.answer import Answerer
from qa.evaluate import OUT_OF_SCOPE, Case, Outcome, format_table, score
from qa.ranking import COVERAGE_FEATURES, FUSED, Coverage, Signals, Weights, coverage_features

GRID = {
    "pledge": (1.0,),
    "expansion": (0.5, 1.0, 1.5),
    "section": (0.0, 0.3, 0.5),
    "lexical": (0.2, 0.3, 0.5),
    "focus": (0.0, 0.05, 0.1),
    "sharpness": (50.0, 100.0),
    "focus_section": (0.0, 1.0, 2.0, 4.0),
}
ALWAYS = Coverage(bias=1.0, **{name: 0.0 for name in COVERAGE_FEATURES})


def tune(answerer: Answerer, cases: list[Case]) -> tuple[Weights, Coverage]:
    """Best weights on `cases`, then a coverage decision fitted for them."""
    ranker = answerer.ranker
    signals = [ranker.signals(c.question) for c in cases]
    section_of = _section_of(answerer)
    best, best_value = None, -1.0
    for values in itertools.product(*GRID.values()):
        weights = Weights(**dict(zip(GRID, values)))
        outcomes = [_outcome(ranker.decide(s, weights, ALWAYS)) for s in signals]
        value = objective(score(cases, outcomes, section_of))
        if value > best_value + 1e-9:
            best, best_value = weights, value
    return best, fit_coverage(ranker, signals, cases, best)


def objective(results: dict[str, dict[str, float]]) -> float:
    overall = results["all"]
    topic = results.get("topic", {}).get("SecP@5", 0.0)
    return overall["Hit@1"] + overall["Hit@5"] + overall["MRR@10"] + topic


def fit_coverage(ranker, signals: list[Signals], cases: list[Case], weights: Weights) -> Coverage:
    """Class-balanced logistic regression on the coverage features, by Newton's method."""
    rows = []
    for s in signals:
        features = coverage_features(s, ranker.section_starts)
        rows.append([1.0, *(features[name] for name in COVERAGE_FEATURES)])
    x = np.array(rows, dtype=np.float64)
    y = np.array([c.kind != OUT_OF_SCOPE for c in cases], dtype=np.float64)
    sample = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    beta = np.zeros(x.shape[1])
    ridge = 1e-2
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ beta))
        grad = x.T @ (sample * (p - y)) + ridge * beta
        hess = (x * (sample * p * (1 - p))[:, None]).T @ x + ridge * np.eye(len(beta))
        beta -= np.linalg.solve(hess, grad)
    # Logistic loss is not balanced accuracy: move the threshold to where balanced accuracy
    # peaks on these questions (the middle of the best range, so it is not on a knife edge).
    logits = x[:, 1:] @ beta[1:]
    cuts = np.sort(logits)
    accuracy = [((logits[y == 1] > c).mean() + (logits[y == 0] <= c).mean()) / 2 for c in cuts]
    best = np.flatnonzero(np.isclose(accuracy, max(accuracy)))
    beta[0] = -(cuts[best[0]] + cuts[min(best[-1] + 1, len(cuts) - 1)]) / 2
    return Coverage(*(round(float(b), 3) for b in beta))  # field order: bias, *COVERAGE_FEATURES


def report(answerer: Answerer, cases: list[Case], weights: Weights, coverage: Coverage) -> str:
    """Metrics for `cases` with the given parameters, plus one row per signal left out."""
    ranker = answerer.ranker
    signals = [ranker.signals(c.question) for c in cases]
    section_of = _section_of(answerer)
    lines = [format_table(score(cases, [_outcome(ranker.decide(s, weights, coverage)) for s in signals], section_of))]
    lines.append("\nablation (all kinds):")
    for name in (*FUSED, "focus"):
        if getattr(weights, name) == 0:
            continue
        reduced = Weights(**{**weights.__dict__, name: 0.0})
        r = score(cases, [_outcome(ranker.decide(s, reduced, coverage)) for s in signals], section_of)
        a, secp = r["all"], r.get("topic", {}).get("SecP@5", float("nan"))
        lines.append(
            f"  without {name:10s} Hit@1 {a['Hit@1']:.2f}  Hit@5 {a['Hit@5']:.2f}  MRR@10 {a['MRR@10']:.2f}"
            f"  SecP@5 {secp:.2f}"
        )
    return "\n".join(lines)


def _outcome(ranking) -> Outcome:
    return Outcome(ranking.ids[:10], ranking.answered)


def _section_of(answerer: Answerer) -> dict[str, str]:
    return {p.id: s.id for s in answerer.programme.sections for p in s.pledges}
