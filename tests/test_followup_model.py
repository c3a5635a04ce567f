"""Follow-ups with the real model and the shipped decision (marked `model` by tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from qa.measuring.followups import K, load_exchanges

CHECK = Path(__file__).resolve().parent.parent / "corpus" / "followups-check.jsonl"


def ids(answer) -> list[str]:
    return [h.pledge.id for h in answer.hits]


def test_a_follow_up_that_cannot_stand_alone_is_answered_with_the_previous_question(real_answerer):
    answer = real_answerer.ask("og for eldre?", prev="Hva vil dere med psykisk helse?")
    assert answer.interpreted_as == "Hva vil dere med psykisk helse? og for eldre?"
    assert ids(answer)[0].startswith("satsing-pa-psykisk-helse-")


def test_a_follow_up_that_stands_alone_is_answered_on_its_own(real_answerer):
    answer = real_answerer.ask("forresten, hva med bompenger?", prev="Hva vil dere gjøre for barnehagene?")
    assert answer.interpreted_as is None
    assert not any(pid.startswith("barnehage-") for pid in ids(answer))
    assert "bomstasjoner" in answer.hits[0].pledge.text


def test_the_check_file_reaches_the_floor(real_answerer):
    """Hit@5 with prev >= 0.80 on dependent follow-ups, and no loss on standalone ones."""
    found = {"dependent": [], "standalone": []}
    for ex in load_exchanges(CHECK, real_answerer.programme):
        with_prev = bool(ex.gold & set(ids(real_answerer.ask(ex.q, K, prev=ex.prev))[:K]))
        alone = bool(ex.gold & set(ids(real_answerer.ask(ex.q, K))[:K]))
        found[ex.kind].append((with_prev, alone))
    dependent = sum(w for w, _ in found["dependent"]) / len(found["dependent"])
    assert dependent >= 0.80
    standalone_with, standalone_alone = (sum(r[i] for r in found["standalone"]) for i in (0, 1))
    assert standalone_with >= standalone_alone
