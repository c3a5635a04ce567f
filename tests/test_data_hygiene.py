"""Checks are never training data: tuning questions, expansions and the evaluation sets do not overlap.

Near-duplicate means a character-trigram Jaccard similarity above 0.6 (qa/measuring/overlap.py), or the
same text after normalising case, punctuation and spacing. The evaluation sets live beside
the checkout in ../shared/eval (CI has them; a developer without them skips those checks).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from qa.measuring.overlap import near_duplicates
from qa.operations.settings import DEFAULT_BACKGROUND, DEFAULT_EXPANSIONS, DEFAULT_QUESTIONS, DEFAULT_TOPICS

pytestmark = pytest.mark.production_data  # these tests are about the production data itself

EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _expansions() -> list[str]:
    """Every text ranking searches besides the programme: pledge expansions and broad topic questions."""
    return [text for path in (DEFAULT_EXPANSIONS, DEFAULT_TOPICS) for row in _rows(path) for text in row["expansions"]]


def _eval_questions() -> list[str]:
    files = [EVAL / "dev.jsonl", EVAL / "dev2.jsonl"]
    if not all(f.is_file() for f in files):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{EVAL} is missing; CI must have ../shared/eval beside the checkout")
        pytest.skip(f"{EVAL} is not here")
    return [row["q"] for f in files for row in _rows(f)]


def _show(pairs, a, b) -> str:
    return "; ".join(f"{a[i]!r} ~ {b[j]!r} ({x:.2f})" for i, j, x in pairs[:10])


def test_near_duplicates_finds_copies_and_close_variants_only():
    a = ["Hva vil dere med bussen?", "helt annet spørsmål om skole", "Tusen takk"]
    b = ["hva vil dere med bussen", "Hva vil dere med bussene?", "noe om fjorden", "tusen takk!"]
    pairs = {(i, j) for i, j, _ in near_duplicates(a, b)}
    assert pairs == {(0, 0), (0, 1), (2, 3)}


def test_no_tuning_question_is_among_the_expansions():
    questions = [row["q"] for row in _rows(DEFAULT_QUESTIONS)]
    expansions = _expansions()
    pairs = near_duplicates(questions, expansions)
    assert not pairs, _show(pairs, questions, expansions)


def test_no_evaluation_question_is_among_the_expansions():
    questions, expansions = _eval_questions(), _expansions()
    pairs = near_duplicates(questions, expansions)
    assert not pairs, _show(pairs, questions, expansions)


def test_no_evaluation_question_is_in_the_tuning_set():
    questions, tuning = _eval_questions(), [row["q"] for row in _rows(DEFAULT_QUESTIONS)]
    pairs = near_duplicates(questions, tuning)
    assert not pairs, _show(pairs, questions, tuning)


def test_the_background_repeats_neither_an_evaluation_nor_a_tuning_question():
    background = [row["q"] for row in _rows(DEFAULT_BACKGROUND)]
    for other in (_eval_questions(), [row["q"] for row in _rows(DEFAULT_QUESTIONS)]):
        pairs = near_duplicates(other, background)
        assert not pairs, _show(pairs, other, background)


def test_the_tuning_set_is_large_and_in_every_style_voters_use():
    rows = _rows(DEFAULT_QUESTIONS)
    styles = Counter(row.get("style") for row in rows)
    assert len(rows) >= 600
    assert sum(row["kind"] == "out_of_scope" for row in rows) >= 150
    for style in ("keyword", "life", "topic", "english", "newcomer", "nynorsk", "dialect", "typo", "hard",
                  "offtopic", "nearmiss", "party"):  # fmt: skip
        assert styles[style] >= 15, style
    assert len({row["id"] for row in rows}) == len(rows)
