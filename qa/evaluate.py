"""Measure ranking against labelled voter questions (the format of shared/eval/dev.jsonl).

Each line: {"id", "q", "kind", "lang", "gold": [snippet, ...], "section"}. A gold snippet
names the one pledge whose whitespace-collapsed text contains it; out-of-scope questions
have no gold. Metrics (k = 5 unless said): Hit@1, Hit@5, MRR@10, R@5, SecP@5 (topic
questions) and balanced not-covered accuracy.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from corpus.model import Programme
from qa.errors import QAError

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    kind: str
    gold: frozenset[str]  # pledge ids
    section: str | None  # section id of the first gold pledge


@dataclass(frozen=True)
class Outcome:
    """What the system said for one question: ranked pledge ids and whether it answered."""

    ids: tuple[str, ...]
    answered: bool


def load_cases(path: str | Path, programme: Programme) -> list[Case]:
    """Read a question file and resolve gold snippets to pledge ids."""
    squashed = {p.id: " ".join(p.text.split()) for p in programme.pledges}
    section_of = {p.id: s.id for s in programme.sections for p in s.pledges}
    cases = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read {path}: {exc}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, kind, snippets = row["q"], row["kind"], row.get("gold", [])
        except (ValueError, KeyError, TypeError) as exc:
            raise QAError(f"{path}:{n}: not a question record ({exc})") from None
        gold = []
        for snippet in snippets:
            snippet = " ".join(snippet.split())
            hits = [pid for pid, text in squashed.items() if snippet in text]
            if len(hits) != 1:
                raise QAError(f"{path}:{n}: gold snippet {snippet!r} matches {len(hits)} pledges, not 1")
            gold.append(hits[0])
        cases.append(Case(row.get("id", f"line{n}"), question, kind, frozenset(gold), section_of.get(gold[0]) if gold else None))
    return cases


def score(cases: Iterable[Case], outcomes: Iterable[Outcome], section_of: dict[str, str]) -> dict[str, dict[str, float]]:
    """Metrics overall and per kind: {"all": {...}, "lexical": {...}, ...}."""
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    for case, out in zip(cases, outcomes, strict=True):
        m: dict[str, float] = {}
        if case.kind == OUT_OF_SCOPE:
            m["refused"] = float(not out.answered)
        else:
            ranks = [i for i, pid in enumerate(out.ids[:10], start=1) if pid in case.gold]
            first = ranks[0] if ranks else None
            m["Hit@1"] = float(first == 1)
            m["Hit@5"] = float(first is not None and first <= 5)
            m["MRR@10"] = 1.0 / first if first else 0.0
            m["R@5"] = len(set(out.ids[:5]) & case.gold) / min(5, len(case.gold))
            m["answered"] = float(out.answered)
            if case.kind == "topic":
                m["SecP@5"] = sum(section_of.get(pid) == case.section for pid in out.ids[:5]) / 5
        rows[case.kind].append(m)
        rows["all"].append(m)
    return {kind: _summarise(ms) for kind, ms in rows.items()}


def _summarise(ms: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {"n": float(len(ms))}
    keys = ["Hit@1", "Hit@5", "MRR@10", "R@5", "SecP@5"]
    for key in keys:
        values = [m[key] for m in ms if key in m]
        if values:
            out[key] = sum(values) / len(values)
    answered = [m["answered"] for m in ms if "answered" in m]
    refused = [m["refused"] for m in ms if "refused" in m]
    if answered and refused:
        out["NotCov"] = (sum(answered) / len(answered) + sum(refused) / len(refused)) / 2
    elif answered:
        out["answered"] = sum(answered) / len(answered)
    elif refused:
        out["refused"] = sum(refused) / len(refused)
    return out


def run(cases: list[Case], ask: Callable[[str], Outcome], programme: Programme) -> dict[str, dict[str, float]]:
    """Ask every question and score the answers."""
    section_of = {p.id: s.id for s in programme.sections for p in s.pledges}
    return score(cases, [ask(c.question) for c in cases], section_of)


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table, "all" first, then kinds alphabetically."""
    columns = ["n", "Hit@1", "Hit@5", "MRR@10", "R@5", "SecP@5", "NotCov", "answered", "refused"]
    order = ["all", *sorted(k for k in results if k != "all")]
    lines = ["kind".ljust(16) + "".join(c.rjust(9) for c in columns)]
    for kind in order:
        r = results[kind]
        cells = [(f"{r[c]:.0f}" if c == "n" else f"{r[c]:.2f}") if c in r else "" for c in columns]
        lines.append(kind.ljust(16) + "".join(c.rjust(9) for c in cells))
    return "\n".join(lines)
