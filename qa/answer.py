"""What an answer is: ranked pledges, a coverage band, and the JSON the API and the widget draw.

`Answer.as_dict` is the one shape both renderers (web/templates/_answer.html and
web/static/widget.js) draw; README "What /api/ask returns" documents it.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.model import Pledge
from qa.answering.bands import ANSWERED

# In an answered reply, the hits that answer are those within CLOSE of the best one's score; the
# rest are drawn apart, as close to the question but not its answer. Measured on the tuning set's
# 463 questions answered in-sample (2026-12-06): of the gold pledges ranked 2nd to 5th, 87 % score
# within 0.07 of the first, and 48 % of the other pledges there; at 0.05, 76 % and 30 %.
CLOSE = 0.07


def close_to_best(scores: list[float]) -> int:
    """How many of `scores` (best first) lie within CLOSE of the first."""
    return next((i for i, score in enumerate(scores) if score < scores[0] - CLOSE), len(scores)) if scores else 0


@dataclass(frozen=True)
class Hit:
    pledge: Pledge
    score: float


@dataclass(frozen=True)
class Answer:
    """Ranked hits, best first, always the nearest pledges whatever the band.

    `coverage` is one of COVERAGE_BANDS: "answered" (the hits answer the question),
    "related" (the programme does not answer it directly; the hits are the nearest it comes)
    or "not_covered" (the programme seems to say nothing about it). `smalltalk` is
    "greeting" or "thanks" when the question was only that (then coverage is "not_covered").
    """

    question: str
    coverage: str
    hits: tuple[Hit, ...]
    smalltalk: str | None = None
    interpreted_as: str | None = None  # the text answered, when the previous question was used
    corrected: str | None = None  # the question as answered, when its spelling was mended


    @property
    def answered(self) -> bool:
        return self.coverage == ANSWERED

    @property
    def answering(self) -> int:
        """How many of the first hits answer the question: those within CLOSE of the best (0 unless answered)."""
        return close_to_best([h.score for h in self.hits]) if self.answered else 0

    def as_dict(self) -> dict:
        """The API's JSON: each result is its pledge's `as_dict` (with `section_id` and `part_id`,
        by which renderers group and link: titles may repeat) plus `score` and `url`."""
        body = {
            "question": self.question,
            "coverage": self.coverage,
            "answered": self.answered,
            "smalltalk": self.smalltalk,
            "corrected": self.corrected,
            "answering": self.answering,
            "results": [
                {**h.pledge.as_dict(), "score": round(h.score, 4), "url": f"/program#{h.pledge.id}"} for h in self.hits
            ],
        }
        if self.interpreted_as is not None:  # only when the previous question was used
            body["interpreted_as"] = self.interpreted_as
        return body
