"""What the curation tests share: a band model that reads only the best match, and helpers.

With the five-pledge fixture the plain default band rule never answers (no single pledge can stand
four standard deviations out of five), so these tests install a band model of their own, spelled
out here: "answered" when the best cosine to a pledge or its expansions (now: or its alternates)
is at least 0.9, "related" from 0.5, else "not_covered".
"""

from __future__ import annotations

from pathlib import Path

from qa.answering.bands import FEATURES, Bands, Logistic
from qa.answering.fitted import Fitted, input_hashes
from qa.answering.ranking import Weights
from qa.operations.settings import Settings

ANSWER_AT_BEST = 0.9
RELATED_FROM_BEST = 0.5
# Shares no word with any pledge: not covered until staff attach it to a pledge.
QUESTION = "Blir det gratis parkering?"
NEAR = "Blir det gratis parkering i sentrum?"  # close to QUESTION, not the same
PLEDGE = "skole-1"  # the pledge staff say answers it; last in the ranking before they do


def on_best(threshold: float) -> Logistic:
    """p >= 0.5 exactly when the feature `best` is at least `threshold`."""
    n = len(FEATURES)
    at = FEATURES.index("best")
    mean = tuple(threshold if i == at else 0.0 for i in range(n))
    scale = tuple(0.001 if i == at else 1.0 for i in range(n))
    coef = tuple(1.0 if i == at else 0.0 for i in range(n))
    return Logistic(mean, scale, coef, 0.0)


BANDS = Bands(right=on_best(ANSWER_AT_BEST), scope=on_best(RELATED_FROM_BEST), answer_at=0.5, deny_below=0.5)


def curation_settings(settings: Settings, tmp_path: Path, **changes) -> Settings:
    """`settings` with a question log in tmp_path, the admin token, and the band model above."""
    fitted = tmp_path / "fitted.json"
    hashes = input_hashes(settings.model_copy(update=changes))
    fitted.write_text(Fitted(Weights(), BANDS, "fake-embedder", hashes).as_json(), encoding="utf-8")
    update = {"db": str(tmp_path / "questions.sqlite3"), "fitted": fitted, "admin_token": TOKEN, **changes}
    return settings.model_copy(update=update)


TOKEN = "curation-staff-token-1234"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
