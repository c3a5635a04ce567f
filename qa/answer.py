"""What an answer is: ranked pledges, a coverage band, and the JSON the API and the widget draw.

`Answer.as_dict` is the one shape both renderers (web/templates/_answer.html and
web/static/widget.js) draw; README "What /api/ask returns" documents it.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.model import Pledge
from qa.answering.bands import ANSWERED


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

    def as_dict(self) -> dict:
        """The API's JSON: each result is its pledge's `as_dict` (with `section_id` and `part_id`,
        by which renderers group and link: titles may repeat) plus `score` and `url`."""
        body = {
            "question": self.question,
            "coverage": self.coverage,
            "answered": self.answered,
            "smalltalk": self.smalltalk,
            "corrected": self.corrected,
            "results": [
                {**h.pledge.as_dict(), "score": round(h.score, 4), "url": f"/program#{h.pledge.id}"} for h in self.hits
            ],
        }
        if self.interpreted_as is not None:  # only when the previous question was used
            body["interpreted_as"] = self.interpreted_as
        return body
