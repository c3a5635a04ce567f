"""Voter-language expansions of pledges: words a voter might use, for retrieval only.

`corpus/expansions.jsonl` holds, for each pledge, a few short texts that say in everyday
words what the pledge is about (document expansion, as in doc2query). They were written
per pledge from the programme alone, never from test questions. They are searched, never
shown: answers always quote the pledge itself.

Each line: {"id": "...", "text": "<pledge text>", "expansions": ["...", ...]}. An entry
whose text no longer matches a pledge (a new edition of the programme) is ignored, so a
stale file degrades gracefully to no expansions for the changed pledges.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.model import Programme

DEFAULT = Path(__file__).resolve().parent / "expansions.jsonl"


def load_expansions(path: str | Path | None, programme: Programme) -> dict[str, tuple[str, ...]]:
    """Expansions by pledge id, for pledges whose text matches the file's text exactly."""
    if path is None or not Path(path).is_file():
        return {}
    by_text = {p.text: p.id for p in programme.pledges}
    out: dict[str, tuple[str, ...]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            pid = by_text.get(row.get("text", ""))
        except (ValueError, AttributeError, TypeError):  # blank or malformed: not an entry
            continue
        texts = tuple(" ".join(t.split()) for t in row.get("expansions", []) if isinstance(t, str) and t.strip())
        if pid is not None and texts:
            out[pid] = texts
    return out


TOPICS = Path(__file__).resolve().parent / "topics.jsonl"


def load_topics(path: str | Path | None, programme: Programme) -> dict[str, tuple[str, ...]]:
    """Broad voter questions about a whole section, by section id, for sections whose heading matches.

    Each line of `corpus/topics.jsonl`: {"section": "<heading>", "expansions": ["...", ...]};
    written per section from the programme alone, like the pledge expansions. A heading that
    no longer exists (a new edition) is ignored.
    """
    if path is None or not Path(path).is_file():
        return {}
    by_title: dict[str, list[str]] = {}
    for s in programme.sections:
        by_title.setdefault(s.title, []).append(s.id)
    out: dict[str, tuple[str, ...]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            ids = by_title.get(row.get("section", ""), [])
        except (ValueError, AttributeError, TypeError):
            continue
        texts = tuple(" ".join(t.split()) for t in row.get("expansions", []) if isinstance(t, str) and t.strip())
        if len(ids) == 1 and texts:  # a heading used by two sections is ambiguous: skip it
            out[ids[0]] = texts
    return out
