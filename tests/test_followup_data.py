"""The follow-up exchanges: tuning and check kept apart, and the decision fitted on the tuning file."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from qa.answering import followup
from qa.measuring.overlap import near_duplicates

pytestmark = pytest.mark.production_data  # these tests are about the production data itself

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
TUNING, CHECK = CORPUS / "followups.jsonl", CORPUS / "followups-check.jsonl"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _exchange(row: dict) -> str:
    return f"{row['prev']} {row['q']}"


def test_no_check_exchange_is_a_copy_or_near_copy_of_a_tuning_one():
    tuning, check = [_exchange(r) for r in _rows(TUNING)], [_exchange(r) for r in _rows(CHECK)]
    pairs = near_duplicates(check, tuning)
    assert not pairs, "; ".join(f"{check[i]!r} ~ {tuning[j]!r} ({x:.2f})" for i, j, x in pairs[:10])


def test_the_files_are_big_enough_and_hold_both_kinds():
    tuning, check = Counter(r["kind"] for r in _rows(TUNING)), Counter(r["kind"] for r in _rows(CHECK))
    assert sum(tuning.values()) >= 150 and sum(check.values()) >= 60
    assert min(tuning["dependent"], tuning["standalone"], check["dependent"], check["standalone"]) >= 20


def test_ids_are_unique_across_both_files():
    ids = [r["id"] for path in (TUNING, CHECK) for r in _rows(path)]
    assert len(ids) == len(set(ids))


def test_the_shipped_decision_was_fitted_on_the_tuning_file_as_it_is():
    data = json.loads(followup.FITTED.read_text(encoding="utf-8"))
    assert data["fitted_on"] == {TUNING.name: hashlib.sha256(TUNING.read_bytes()).hexdigest()}, (
        "refit: python -m qa tune-followups corpus/followups.jsonl"
    )
    assert data["features"] == list(followup.FEATURES)
