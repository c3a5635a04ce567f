"""Merge reviewed drafts into the expansions file: `python -m qa expansions draft --accept`.

A person reviews the drafts file: edits or deletes texts, and sets `"status": "reviewed"` on the
rows to keep (or `"rejected"`). Only reviewed rows are merged, and only when their text is still
a pledge's text exactly; a stale one is skipped with a message, as is one for a pledge that has
expansions already. A text that is a near copy of a tuning question is dropped (checks are never
training data). Every row is checked first: one malformed line and nothing is merged. The
expansions file is written atomically; its other lines stay byte for byte as they were. A row
replaces a stale row of the same pledge id in place; the others are added at the end.

The fitted numbers record the expansions' sha256, so `python -m qa tune` must be rerun after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from corpus.model import Programme
from qa.authoring.drafts import DRAFT, REJECTED, REVIEWED, DraftsError, read_drafts, write_atomic
from qa.authoring.validate import BadTexts, check_texts
from qa.measuring.overlap import near_duplicates


@dataclass
class Merged:
    merged: list[str] = field(default_factory=list)  # pledge ids
    skipped: list[str] = field(default_factory=list)  # why, one line each
    dropped: list[str] = field(default_factory=list)  # texts left out, one line each
    pending: int = 0  # rows still "draft"
    rejected: int = 0


def accept(programme: Programme, expansions: Path, drafts: Path, *, questions: list[str] = ()) -> Merged:
    """Merge the reviewed rows of `drafts` into `expansions`; see the module. `questions` are the
    tuning questions no expansion may nearly repeat."""
    if not drafts.is_file():
        raise DraftsError(f"no drafts file: {drafts} (python -m qa expansions draft writes it)")
    rows = read_drafts(drafts)
    checked: list[tuple[int, dict, list[str]]] = []
    result = Merged()
    for n, row in rows:
        if row["status"] == DRAFT:
            result.pending += 1
        elif row["status"] == REJECTED:
            result.rejected += 1
        elif row["status"] == REVIEWED:
            try:
                checked.append((n, row, check_texts(row.get("expansions"), row["text"])))
            except BadTexts as exc:
                raise DraftsError(f"{drafts} line {n} ({row['pledge_id']}): {exc}; nothing merged") from None

    try:
        lines = expansions.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError) as exc:
        raise DraftsError(f"cannot read {expansions}: {exc}") from None
    by_text = {p.text: p.id for p in programme.pledges}
    have, stale_at = set(), {}
    for i, line in enumerate(lines):
        try:
            row = json.loads(line)
        except ValueError:
            continue  # not ours to mend; `expansions check` reports it
        if isinstance(row, dict) and row.get("text") in by_text:
            have.add(row["text"])
        elif isinstance(row, dict) and isinstance(row.get("id"), str):
            stale_at.setdefault(row["id"], i)

    added = []
    for n, row, texts in checked:
        pledge_id = by_text.get(row["text"])
        if pledge_id is None:
            result.skipped.append(f"line {n} ({row['pledge_id']}): its text is no longer a pledge of the programme")
            continue
        if row["text"] in have:
            result.skipped.append(f"line {n} ({pledge_id}): that pledge has expansions already")
            continue
        texts = _without_copies(texts, questions, f"line {n} ({pledge_id})", result.dropped)
        if not texts:
            result.skipped.append(f"line {n} ({pledge_id}): every text was a near copy of a tuning question")
            continue
        entry = json.dumps({"id": pledge_id, "text": row["text"], "expansions": texts}, ensure_ascii=False) + "\n"
        if pledge_id in stale_at:
            lines[stale_at.pop(pledge_id)] = entry
        else:
            added.append(entry)
        have.add(row["text"])
        result.merged.append(pledge_id)
    if result.merged:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        write_atomic(expansions, "".join(lines + added))
    return result


def _without_copies(texts: list[str], questions: list[str], where: str, dropped: list[str]) -> list[str]:
    copies = {i: questions[j] for i, j, _ in near_duplicates(texts, list(questions))}
    for i, question in sorted(copies.items()):
        dropped.append(f"{where}: dropped {texts[i]!r}, a near copy of the tuning question {question!r}")
    return [t for i, t in enumerate(texts) if i not in copies]
