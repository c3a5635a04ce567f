"""How far fusing today's signals could go: each question ranked with the weights best for it.

`python -m qa ceiling FILE` ranks every answerable question of FILE at every point of a weight
grid wider than the one `qa tune` searches, and keeps for each question the point that places
its gold pledge best. That choice is made after seeing the answer, one question at a time, so no
single set of fusion weights (fitted or hand-picked) can rank any group of questions better: it
is a ceiling for the fusion, not for the service. A floor above it needs new evidence, such as
voters' own words for the pledges (expansions), not better weights. Beside it, the same
questions ranked with the weights the service uses, so the gap that fitting could still win
shows too. It follows the settings as `qa eval` does: `QA_EXPANSIONS=off QA_TOPICS=off` gives
the bare profile's ceiling.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict

import numpy as np

from qa.answering.bands import RELATED
from qa.answering.ranking import Ranker, Signals
from qa.measuring.evaluate import OUT_OF_SCOPE, Case, Outcome, format_table, score
from qa.measuring.tune import GRID, gold_places, grid_fused

# Every value of tune's GRID and more on both sides of it.
WIDE_GRID = {
    "pledge": (1.0,),
    "expansion": (0.0, 1.0, 1.5, 2.5, 4.0),
    "section": (0.0, 0.3, 1.0),
    "lexical": (0.0, 0.2, 0.35, 0.5, 1.0, 2.0),
    "focus": (0.0, 0.05, 0.1, 0.2),
    "sharpness": (50.0, 100.0, 200.0),
    "focus_section": (0.0, 1.0, 2.0, 4.0),
    "focus_topic": (0.0, 1.0, 2.0),
}
assert all(set(values) <= set(WIDE_GRID[name]) for name, values in GRID.items())
RANKING = ("Hit@1", "Hit@5", "MRR@10", "R@5")


def grid_points(ranker: Ranker) -> list[dict]:
    """WIDE_GRID's points, and the ranker's own weights last (so the ceiling is never below them)."""
    points = [dict(zip(WIDE_GRID, values)) for values in itertools.product(*WIDE_GRID.values())]
    return [*points, asdict(ranker.weights)]


def best_outcome(ranker: Ranker, s: Signals, case: Case, grid: list[dict]) -> Outcome:
    """The question's ranking at the grid point that places its gold pledge best (the first such)."""
    fused = grid_fused(ranker, s, grid)
    row = int(np.argmin(gold_places(ranker, fused, case)))
    order = np.argsort(-fused[row], kind="stable")[:10]
    return Outcome(tuple(ranker.ids[i] for i in order), RELATED)


def report(ranker: Ranker, cases: list[Case], section_of: dict[str, str]) -> str:
    """Ranking figures of the answerable `cases` with the ranker's weights, then at the ceiling."""
    cases = [c for c in cases if c.kind != OUT_OF_SCOPE]
    if not cases:
        return "no answerable questions: nothing to rank"
    grid = grid_points(ranker)
    signals = [ranker.signals(c.question) for c in cases]
    fitted = [ranker.decide(s, ranker.weights, ranker.bands) for s in signals]
    used = [Outcome(r.ids[:10], r.coverage) for r in fitted]
    best = [best_outcome(ranker, s, c, grid) for s, c in zip(signals, cases)]
    return (
        f"with the weights in use ({ranker.weights}):\n"
        f"{format_table(score(cases, used, section_of), RANKING)}\n\n"
        f"ceiling: each question at the best of {len(grid)} weightings for it (chosen knowing its answer):\n"
        f"{format_table(score(cases, best, section_of), RANKING)}"
    )
