"""Follow-up questions: answer "og for eldre?" with the previous question in mind, "forresten,
hva med bompenger?" on its own.

Given the voter's previous question, the follow-up is ranked twice: alone, and joined to the
previous question ("prev q"). A small logistic decision, fitted on written two-turn exchanges
(`python -m qa tune-followups`, corpus/followups.jsonl) and read from qa/answering/followup.json,
says whether the follow-up leans on its predecessor, from scale-free features: how far the alone
ranking's best match stands out and how sure its band is, how much the joined ranking changes
that, how alike the two rankings are (their top three, and whether their best pledges share a
section: a follow-up whose own best match lies in another section than the joined question's is
usually a change of topic), and how long the follow-up is. No word lists: what makes
a follow-up lean on its predecessor is learned from the exchanges.

This module decides and fits; it does not rank (qa.answering.ranking) nor know about HTTP.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.answering.bands import ANSWERED, RELATED, newton_logistic
from qa.answering.ranking import Ranker, Ranking, Signals
from qa.errors import QAError

FITTED = Path(__file__).with_name("followup.json")
FORMAT = 1
TOP = 5  # the rankings are compared over their first TOP pledges
FEATURES = (
    "alone_standout",
    "alone_section_z",
    "alone_background",
    "alone_band",
    "alone_words",
    "alone_known",
    "gain_standout",
    "gain_section_z",
    "gain_background",
    "gain_band",
    "agree",
    "same_section",
)


def combine(prev: str, question: str) -> str:
    """The previous question and the follow-up as one question: what is ranked when both are meant."""
    return f"{prev} {question}"


@dataclass(frozen=True)
class Read:
    """One question ranked: its ranking and its signals."""

    ranking: Ranking
    signals: Signals


def read(ranker: Ranker, question: str, *, exact: bool = False) -> Read:
    """Rank `question` (as typed when `exact`), keeping the signals the decision reads."""
    signals = ranker.signals(question, exact=exact)
    ranking = ranker.decide(signals, ranker.weights, ranker.bands)
    return Read(ranking, signals)


def _band(ranking: Ranking) -> float:
    return {ANSWERED: 2.0, RELATED: 1.0}.get(ranking.coverage, 0.0)


def features(ranker: Ranker, alone: Read, joined: Read) -> np.ndarray:
    """The decision's inputs, in FEATURES order; all scale-free."""
    a = ranker.features(alone.signals, alone.ranking.scores)
    j = ranker.features(joined.signals, joined.ranking.scores)
    agree = len(set(alone.ranking.ids[:TOP]) & set(joined.ranking.ids[:TOP])) / TOP
    same_section = float(ranker.section_of(alone.ranking.ids[0]) == ranker.section_of(joined.ranking.ids[0]))
    return np.array(
        [
            a.standout,
            a.section_z,
            a.background,
            _band(alone.ranking),
            a.words,
            a.known,
            j.standout - a.standout,
            j.section_z - a.section_z,
            j.background - a.background,
            _band(joined.ranking) - _band(alone.ranking),
            agree,
            same_section,
        ],
        np.float64,
    )


@dataclass(frozen=True)
class Decision:
    """A logistic decision on standardised features: use the joined question when p >= 0.5."""

    coef: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def probability(self, x: np.ndarray) -> float:
        z = (x - np.array(self.mean)) / np.array(self.scale)
        return float(1 / (1 + np.exp(-(z @ np.array(self.coef) + self.bias))))

    def joined(self, x: np.ndarray) -> bool:
        return self.probability(x) >= 0.5


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, l2: float = 1.0) -> Decision:
    """Fit the logistic decision by Newton's method with an L2 penalty (deterministic)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.ones(len(x)) if weight is None else weight
    beta = newton_logistic(z, y, w, l2, bias=z.shape[1] - 1, iterations=50, tolerance=1e-9)
    return Decision(tuple(map(float, beta[:-1])), float(beta[-1]), tuple(map(float, mean)), tuple(map(float, scale)))


def save(decision: Decision, path: Path, *, model_id: str, fitted_on: Path) -> None:
    """Write the decision with what it was fitted on (the file's sha256) and the model id."""
    data = {
        "format": FORMAT,
        "model": model_id,
        "fitted_on": {fitted_on.name: hashlib.sha256(fitted_on.read_bytes()).hexdigest()},
        "features": list(FEATURES),
        "coef": list(decision.coef),
        "bias": decision.bias,
        "mean": list(decision.mean),
        "scale": list(decision.scale),
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


@lru_cache(maxsize=4)
def load(path: Path = FITTED) -> Decision:
    """The fitted decision; a missing or foreign file is a QAError naming it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise QAError(f"cannot read the follow-up decision {path}: {exc}") from None
    if data.get("format") != FORMAT or data.get("features") != list(FEATURES):
        raise QAError(f"{path} was fitted for other features: refit with 'python -m qa tune-followups'")
    return Decision(tuple(data["coef"]), float(data["bias"]), tuple(data["mean"]), tuple(data["scale"]))


@dataclass(frozen=True)
class Resolved:
    """The ranking to answer with, and the joined text when the previous question was used."""

    ranking: Ranking
    interpreted_as: str | None


def resolve(ranker: Ranker, decision: Decision, prev: str, question: str, *, exact: bool = False) -> Resolved:
    """Rank the follow-up alone and joined to `prev`; keep the one the decision chooses."""
    text = combine(prev, question)
    alone, joined = read(ranker, question, exact=exact), read(ranker, text, exact=exact)
    if decision.joined(features(ranker, alone, joined)):
        return Resolved(joined.ranking, text)
    return Resolved(alone.ranking, None)
