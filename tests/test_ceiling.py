"""`python -m qa ceiling FILE`: each question ranked at the weights best for it, a bound that no
single set of fusion weights can pass, beside the figures with the weights in use."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from qa.measuring import ceiling
from qa.measuring.evaluate import Case, first_gold
from qa.measuring.tune import GRID, gold_places, grid_fused
from qa.operations.cli import main
from tests.conftest import write_jsonl


@pytest.fixture
def ranker(settings, fake_embedder):
    from qa.answering.startup import load_answerer

    return load_answerer(settings, embedder=fake_embedder).ranker


def _case(ranker, question: str, gold: str) -> Case:
    return Case(id=question, question=question, kind="paraphrase", gold=frozenset({gold}), section=None)


def test_a_grid_point_sums_the_signals_as_the_service_ranks_with_them(ranker):
    signals = ranker.signals("Hva vil dere gjøre med bussen?")
    fused = grid_fused(ranker, signals, [asdict(ranker.weights), {**asdict(ranker.weights), "lexical": 3.0}])
    assert fused[0] == pytest.approx(ranker.fused(signals, ranker.weights), abs=1e-6)
    assert not np.allclose(fused[0], fused[1])  # another point ranks otherwise


def test_the_ceiling_places_each_gold_pledge_as_well_as_its_best_grid_point(ranker):
    grid = ceiling.grid_points(ranker)
    assert grid[-1] == asdict(ranker.weights)  # the weights in use are always among the points
    question = "karakterer i grunnskolen"
    signals = ranker.signals(question)
    in_use = ranker.decide(signals, ranker.weights, ranker.bands).ids
    fused = grid_fused(ranker, signals, grid)
    for place, pid in enumerate(in_use, start=1):  # every pledge as if it were the answer
        case = _case(ranker, question, pid)
        bound = int(gold_places(ranker, fused, case).min())
        assert bound <= place  # never below the weights in use
        assert first_gold(case, ceiling.best_outcome(ranker, signals, case, grid)) == (bound if bound <= 10 else None)


def test_the_wide_grid_holds_every_point_tune_searches():
    for name, values in GRID.items():
        assert set(values) <= set(ceiling.WIDE_GRID[name]), name


def test_the_report_gives_both_tables_and_leaves_out_questions_out_of_scope(ranker):
    pledges = [ranker.ids[0], ranker.ids[-1]]
    cases = [_case(ranker, "tråling i fjorden", pledges[0]), _case(ranker, "sykkel", pledges[1])]
    cases.append(Case(id="x", question="hvem vant kampen?", kind="out_of_scope", gold=frozenset(), section=None))
    text = ceiling.report(ranker, cases, {pid: "s" for pid in ranker.ids})
    used, best = text.split("\n\n")
    assert used.startswith("with the weights in use") and best.startswith("ceiling: each question at the best of")
    for table in (used, best):
        header, everything = table.splitlines()[1:3]
        assert header.split() == ["group", "n", "Hit@1", "Hit@5", "MRR@10", "R@5"]
        assert everything.split()[:2] == ["all", "2"]  # the out-of-scope question is not ranked
    assert ceiling.report(ranker, cases[2:], {}) == "no answerable questions: nothing to rank"


def test_the_command_prints_the_two_tables(small_env, tmp_path, capsys):
    from corpus.parse import parse_text
    from tests.conftest import SMALL_PROGRAMME

    first = parse_text(SMALL_PROGRAMME).pledges[0].text
    cases = write_jsonl(
        tmp_path / "cases.jsonl",
        {"id": "a", "q": first, "kind": "lexical", "gold": [" ".join(first.split()[:5])]},
        {"id": "b", "q": "hvem vant kampen?", "kind": "out_of_scope", "gold": []},
    )
    assert main(["ceiling", str(cases)]) == 0
    out = capsys.readouterr().out
    assert "ceiling: each question at the best of" in out
    assert [line.split()[:3] for line in out.splitlines() if line.startswith("all ")] == [["all", "1", "1.00"]] * 2
    assert main(["ceiling", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
