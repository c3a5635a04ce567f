"""The coverage band of an answer: "answered", "related" or "not_covered".

Two calibrated logistic models read the same few scale-free features of a ranking, and one
feature of the question alone (`Probe`):

- `right`: the probability that a pledge among the top three answers the question;
- `scope`: the probability that the programme addresses the question at all.

An answer is "answered" when `right` is at least `answer_at`; otherwise "not_covered" when
`scope` is below `deny_below`; otherwise "related" (the nearest pledges, shown as such).
Both thresholds are chosen by `qa.measuring.tune` on cross-validated probabilities, so that a wrong
confident answer and a denial that hides the right pledge stay rare.

Features do not depend on how many pledges or sections a programme has: the model puts
every question at cosine 0.7–0.9, so raw cosines separate poorly, and what carries the
signal is how far the best match stands out, and whether the question is closer to the
programme than to the background of off-topic and out-of-scope questions.

The probe is the one feature that reads the question itself: a linear model on its embedding,
fitted by `qa.measuring.tune` to tell the questions this programme answers (its voter-language
expansions and the tuning set's in-scope questions) from the messages it does not (the
background, the out-of-scope ones). It learns what kind of question is asked, which the
ranking's scores cannot see: "how many shelters are there?" sits as close to the pledge about
shelters as "will you build more shelters?" does, but only the second asks what a programme says.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field, fields, replace
from functools import cached_property

import numpy as np

ANSWERED, RELATED, NOT_COVERED = "answered", "related", "not_covered"
COVERAGE_BANDS = (ANSWERED, RELATED, NOT_COVERED)


@dataclass(frozen=True)
class Features:
    """What the band decision reads about one ranking."""

    top: float  # the best fused score
    best: float  # the best cosine to a pledge or one of its expansions
    standout: float  # how many standard deviations that best cosine stands above all pledges
    margin: float  # best fused score minus the fifth best
    section_z: float  # how many standard deviations the best section's cluster stands out
    topic_z: float  # how many standard deviations the best section's broad questions stand out
    background: float  # best cosine to a pledge, expansion or topic, minus best cosine to the background
    lexical: float  # best character n-gram similarity
    known: float  # share of the question's words the programme's texts use
    words: float  # log(1 + number of words)
    probe: float  # the probe's log-odds that the question is of a kind the programme answers

    @classmethod
    def of(cls, signals, ranked_scores: np.ndarray, section_starts: list[int], probe: float) -> Features:
        """Features of `signals` (a qa.answering.ranking.Signals) given its fused scores, best
        first, and the probe's reading of the question (`Probe.logit`)."""
        expansion = signals.expansion
        best = float(expansion.max())
        spread = float(expansion.std())
        clusters = signals.cluster[section_starts]
        cluster_spread = float(clusters.std())
        topics = signals.topic[section_starts]
        topic_spread = float(topics.std())
        near = max(best, float(signals.topic.max()))  # the closest text of the programme's side
        background = float(signals.background.max()) if len(signals.background) else near
        fifth = ranked_scores[min(4, len(ranked_scores) - 1)]
        return cls(
            top=float(ranked_scores[0]),
            best=best,
            standout=(best - float(expansion.mean())) / spread if spread > 0 else 0.0,
            margin=float(ranked_scores[0] - fifth),
            section_z=float(clusters.max() - clusters.mean()) / cluster_spread if cluster_spread > 0 else 0.0,
            topic_z=float(topics.max() - topics.mean()) / topic_spread if topic_spread > 0 else 0.0,
            background=near - background,
            lexical=float(signals.lexical.max()),
            known=float(signals.known),
            words=float(np.log1p(signals.words)),
            probe=probe,
        )

    def vector(self) -> np.ndarray:
        return np.array(astuple(self), dtype=np.float64)


FEATURES = tuple(f.name for f in fields(Features))


def newton_logistic(
    z: np.ndarray, y: np.ndarray, weight: np.ndarray, ridge: float, *, bias: int, iterations: int, tolerance: float
) -> np.ndarray:
    """The coefficients of each column of `z` in a weighted logistic regression with an L2 penalty
    `ridge` on every column but the `bias` one, by Newton's method from zero until no step exceeds
    `tolerance` (deterministic). Every logistic model here is fitted by it: the band models, the
    probe, the follow-up decision."""
    penalty = ridge * np.eye(z.shape[1])
    penalty[bias, bias] = 0.0  # the bias is not shrunk
    beta = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(z @ beta, -50, 50)))  # the clip only keeps exp finite
        grad = z.T @ (weight * (p - y)) + penalty @ beta
        hess = (z * (weight * p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < tolerance:
            break
    return beta


@dataclass(frozen=True)
class Logistic:
    """p = sigmoid(bias + coef . (x - mean) / scale), over Features in FEATURES order."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    bias: float

    def probability(self, features: Features) -> float:
        return float(self.probabilities(features.vector()[None, :])[0])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = self.bias + ((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.coef)
        return 1 / (1 + np.exp(-np.clip(z, -50, 50)))  # saturated either way; no overflow on wild inputs

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, ridge: float = 1.0) -> Logistic:
        """L2-regularised logistic regression by Newton's method (deterministic)."""
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
        beta = newton_logistic(z, y, np.ones(len(z)), ridge, bias=0, iterations=100, tolerance=1e-10)
        r = lambda v: tuple(round(float(a), 6) for a in v)  # noqa: E731
        return cls(r(mean), r(scale), r(beta[1:]), round(float(beta[0]), 6))

    def as_dict(self) -> dict:
        return {"mean": list(self.mean), "scale": list(self.scale), "coef": list(self.coef), "bias": self.bias}

    @classmethod
    def from_dict(cls, d: dict) -> Logistic:
        parts = (tuple(map(float, d["mean"])), tuple(map(float, d["scale"])), tuple(map(float, d["coef"])))
        if any(len(p) != len(FEATURES) for p in parts):
            raise ValueError(f"a logistic model needs {len(FEATURES)} values per list ({', '.join(FEATURES)})")
        return cls(*parts, float(d["bias"]))


@dataclass(frozen=True)
class Probe:
    """Log-odds = bias + weights . v, for a question's unit vector v; no weights reads the bias for all."""

    weights: tuple[float, ...] = ()
    bias: float = 0.0

    @cached_property
    def _vector(self) -> np.ndarray:
        return np.array(self.weights, dtype=np.float32)

    def logit(self, vector: np.ndarray) -> float:
        if not self.weights:
            return self.bias
        if len(vector) != len(self.weights):
            raise ValueError(f"the probe reads {len(self.weights)}-dimensional vectors, not {len(vector)}")
        return float(self.bias + self._vector @ vector)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, weight: np.ndarray, ridge: float) -> Probe:
        """Weighted L2-regularised logistic regression on raw vectors, by Newton's method
        (deterministic); `weight` is each row's say, summing to the number of rows."""
        z = np.hstack([np.ones((len(x), 1)), x.astype(np.float64)])
        beta = newton_logistic(z, y, weight, ridge, bias=0, iterations=100, tolerance=1e-8)
        return cls(tuple(round(float(b), 6) for b in beta[1:]), round(float(beta[0]), 6))

    def as_dict(self) -> dict:
        return {"weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_dict(cls, d: dict) -> Probe:
        return cls(tuple(map(float, d["weights"])), float(d["bias"]))


@dataclass(frozen=True)
class Bands:
    """The band decision: two logistic models, their two thresholds, and the question probe."""

    right: Logistic
    scope: Logistic
    answer_at: float
    deny_below: float
    probe: Probe = field(default_factory=Probe)

    def for_dimension(self, dim: int) -> Bands:
        """These bands for questions of `dim` dimensions. A probe fitted on another model's vectors
        cannot read them: it is replaced by one that reads the mean it was fitted around, so the
        band models carry on without it (as on a fitted file for another model: refit)."""
        if not self.probe.weights or len(self.probe.weights) == dim:
            return self
        return replace(self, probe=Probe((), self.right.mean[FEATURES.index("probe")]))

    def band(self, features: Features) -> str:
        x = features.vector()[None, :]
        return self.bands_of(x)[0]

    def bands_of(self, x: np.ndarray) -> list[str]:
        """The band of each row of a (questions, FEATURES) matrix."""
        right, scope = self.right.probabilities(x), self.scope.probabilities(x)
        return [
            ANSWERED if r >= self.answer_at else NOT_COVERED if s < self.deny_below else RELATED
            for r, s in zip(right, scope)
        ]

    @classmethod
    def default(cls) -> Bands:
        """Before anything is fitted: answer when the best match stands out, as a plain rule."""
        n = len(FEATURES)
        standout = tuple(1.0 if name == "standout" else 0.0 for name in FEATURES)
        flat = Logistic((0.0,) * n, (1.0,) * n, standout, -4.0)
        return cls(right=flat, scope=flat, answer_at=0.5, deny_below=0.5)

    def as_dict(self) -> dict:
        return {
            "answer_at": self.answer_at,
            "deny_below": self.deny_below,
            "right": self.right.as_dict(),
            "scope": self.scope.as_dict(),
            "probe": self.probe.as_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Bands:
        return cls(
            right=Logistic.from_dict(d["right"]),
            scope=Logistic.from_dict(d["scope"]),
            answer_at=float(d["answer_at"]),
            deny_below=float(d["deny_below"]),
            probe=Probe.from_dict(d["probe"]),
        )
