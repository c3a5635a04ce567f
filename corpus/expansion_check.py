"""How well the expansions fit this edition of the programme: `python -m qa expansions check`.

Counts, per pledge, the expansions that answering uses (`corpus.expansions.read_expansions`: the
row whose text is the pledge's text, else, for a lightly edited pledge, the row with its stable
id), plus any staff-curated alternate phrasings from a file of `{"pledge_id": "...", "question":
"..."}` lines, which count as expansions for their pledge. It names the edited pledges (kept by
id: review them, `expansions draft` drafts new ones), the rows that are stale (their pledge is no
longer in the programme), the pledges that have none (by id and section) and the lines that are
not entries at all.

It only reads; writing expansions is `qa.authoring` (draft, review, accept).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from corpus.expansions import read_expansions
from corpus.model import Pledge, Programme


@dataclass(frozen=True)
class Coverage:
    """What `check` found. `counts` has every pledge id, in programme order (0 for none)."""

    counts: dict[str, int]
    missing: tuple[Pledge, ...]
    stale: tuple[str, ...]  # "line N (id)" of expansion rows whose text names no pledge
    malformed: tuple[str, ...]  # "FILE line N: why"
    duplicates: tuple[str, ...]  # pledge ids with more than one expansions row (the last one counts)
    alternates: int  # alternate phrasings that counted
    alternates_unknown: tuple[str, ...]  # "line N (pledge_id)" naming no pledge of this programme
    edited: tuple[str, ...] = ()  # pledge ids whose expansions were written for an earlier text

    @property
    def ok(self) -> bool:
        """Every pledge has expansions and every line could be read."""
        return not self.missing and not self.malformed


def check(programme: Programme, expansions: Path, alternates: Path | None = None) -> Coverage:
    """Count the expansions (and alternates) of every pledge of `programme`.

    Raises `OSError` or `UnicodeDecodeError` when a file cannot be read.
    """
    by_text = {p.text: p.id for p in programme.pledges}
    edited = read_expansions(expansions, programme).edited  # kept by stable id although the text changed
    counts = {p.id: 0 for p in programme.pledges}
    stale, malformed, duplicates, seen = [], [], [], set()
    for n, row in _rows(expansions, malformed):
        texts = row.get("expansions")
        if not isinstance(row.get("text"), str) or not _strings(texts):
            malformed.append(f'{expansions.name} line {n}: needs "text" and "expansions" (a list of strings)')
            continue
        pledge_id = by_text.get(row["text"]) or (row.get("id") if row.get("id") in edited else None)
        if pledge_id is None:
            stale.append(f"line {n} ({row.get('id') or 'no id'})")
            continue
        if pledge_id in seen:
            duplicates.append(pledge_id)
        seen.add(pledge_id)
        counts[pledge_id] = sum(1 for t in texts if t.strip())  # as corpus.expansions: the last row counts

    extra, unknown = 0, []
    if alternates is not None:
        for n, row in _rows(alternates, malformed):
            pid, question = row.get("pledge_id"), row.get("question")
            if not isinstance(pid, str) or not isinstance(question, str) or not question.strip():
                malformed.append(f'{alternates.name} line {n}: needs "pledge_id" and a non-empty "question"')
            elif pid not in counts:
                unknown.append(f"line {n} ({pid})")
            else:
                counts[pid] += 1
                extra += 1

    missing = tuple(p for p in programme.pledges if counts[p.id] == 0)
    return Coverage(counts, missing, tuple(stale), tuple(malformed), tuple(duplicates), extra, tuple(unknown), edited)


def report(coverage: Coverage, expansions: Path, alternates: Path | None = None) -> str:
    """The check as lines for staff to read."""
    have = [c for c in coverage.counts.values() if c]
    total = len(coverage.counts)
    lines = [f"{len(have)} of {total} pledges have expansions ({expansions})"]
    if have:
        lines[0] += f": min {min(have)}, median {statistics.median(have):g}, max {max(have)} each"
        if alternates is not None:
            lines[0] += " (alternates included)"
    if alternates is not None:
        lines.append(f"alternates ({alternates}): {coverage.alternates} count for a pledge")
        if coverage.alternates_unknown:
            lines.append(
                f"  {len(coverage.alternates_unknown)} name no pledge of this programme: "
                + ", ".join(coverage.alternates_unknown)
            )
    if coverage.stale:
        lines.append(
            f"stale: {len(coverage.stale)} rows whose text is no longer in the programme (ignored when answering): "
            + ", ".join(coverage.stale)
        )
    if coverage.edited:
        lines.append(
            f"edited: {len(coverage.edited)} pledges changed since their expansions were written (used by stable id; "
            "review them, or draft new ones with python -m qa expansions draft): " + ", ".join(coverage.edited)
        )
    if coverage.duplicates:
        lines.append("more than one row, the last one counts: " + ", ".join(coverage.duplicates))
    if coverage.malformed:
        lines.append(f"malformed: {len(coverage.malformed)} lines are not entries")
        lines.extend(f"  {m}" for m in coverage.malformed)
    if coverage.missing:
        lines.append(f"missing: {len(coverage.missing)} pledges have no expansions (python -m qa expansions draft):")
        lines.extend(f"  {p.id}  ({p.part} / {p.section}, section {p.section_id})" for p in coverage.missing)
    else:
        lines.append("missing: none")
    return "\n".join(lines)


def _rows(path: Path, malformed: list[str]):
    """(line number, JSON object) for every non-blank line; the others go to `malformed`."""
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            malformed.append(f"{Path(path).name} line {n}: not JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            malformed.append(f"{Path(path).name} line {n}: not a JSON object")
            continue
        yield n, row


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(t, str) for t in value)
