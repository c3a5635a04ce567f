"""Voter-language expansions of pledges: words a voter might use, for retrieval only.

`corpus/expansions.jsonl` holds, for each pledge, a few short texts that say in everyday
words what the pledge is about (document expansion, as in doc2query). They were written
per pledge from the programme alone, never from test questions. They are searched, never
shown: answers always quote the pledge itself.

Each line: {"id": "...", "text": "<pledge text>", "expansions": ["...", ...]}. An entry matches
the pledge with its exact text. Failing that (a new edition edited the pledge), it matches the
pledge with its `id`, the stable id from the id ledger (`corpus.ids`), when that pledge has no
exact entry of its own and the two texts are still alike (`corpus.ids.similarity` at least
`corpus.ids.THRESHOLD`, the rule that let the pledge keep its id): those are counted as
`edited`, for staff to review. Any other entry is stale and ignored, so a stale file degrades
to no expansions for the changed pledges; `read_expansions` counts what matched, what was
edited, what was stale and which pledges have none, for start-up to report.

`corpus/topics.jsonl` does the same for whole sections (`read_topics`). This module only reads
the files: whether a missing file is an error is start-up's call (`qa.answering.startup`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from corpus.ids import THRESHOLD, similarity
from corpus.model import Programme

DEFAULT = Path(__file__).resolve().parent / "expansions.jsonl"
TOPICS = Path(__file__).resolve().parent / "topics.jsonl"


@dataclass(frozen=True)
class Loaded:
    """Texts by pledge (or section) id from one file, and how well the file fits the programme.

    `matched` entries named a pledge (section) of this programme; `stale` ones named none (their
    text or heading changed, or a heading is ambiguous); `malformed` lines were not entries at
    all; `without` are the ids that got no texts, in programme order.
    """

    texts: dict[str, tuple[str, ...]]
    matched: int
    stale: tuple[str, ...]  # the stale entries' own ids (or line numbers), for naming them
    malformed: int
    without: tuple[str, ...]
    edited: tuple[str, ...] = ()  # ids matched by id although the pledge's text changed


def read_expansions(path: str | Path, programme: Programme) -> Loaded:
    """Expansions by pledge id: by exact text, else by stable id for a lightly edited pledge.

    Raises `OSError` or `UnicodeDecodeError` when the file cannot be read.
    """
    by_text = {p.text: p.id for p in programme.pledges}
    rows = (row for _, row in _entries(path) if isinstance(row, dict))
    exact = {by_text[t] for row in rows if isinstance(t := row.get("text"), str) and t in by_text}
    edited: list[str] = []

    def targets(row: dict) -> list[str]:
        text, pid = row.get("text"), row.get("id")
        if text in by_text:
            return [by_text[text]]
        pledge = programme.by_id.get(pid) if isinstance(pid, str) else None
        if pledge is None or pid in exact or not isinstance(text, str) or similarity(text, pledge.text) < THRESHOLD:
            return []
        edited.append(pid)
        return [pid]

    loaded = _read(path, targets, tuple(p.id for p in programme.pledges))
    return replace(loaded, edited=tuple(edited))


def read_topics(path: str | Path, programme: Programme) -> Loaded:
    """Broad voter questions about a whole section, by section id, for sections whose heading matches.

    Each line of `corpus/topics.jsonl`: {"section": "<heading>", "expansions": ["...", ...]};
    written per section from the programme alone, like the pledge expansions. A heading that
    no longer exists (a new edition), or that two sections share, is stale.
    """
    by_title: dict[str, list[str]] = {}
    for s in programme.sections:
        by_title.setdefault(s.title, []).append(s.id)
    return _read(path, lambda row: by_title.get(row.get("section"), []), tuple(s.id for s in programme.sections))


def load_expansions(path: str | Path | None, programme: Programme) -> dict[str, tuple[str, ...]]:
    """`read_expansions(...).texts`, or none for no path or a missing file (for tools and tests;
    start-up refuses a missing file instead)."""
    return read_expansions(path, programme).texts if path is not None and Path(path).is_file() else {}


def load_topics(path: str | Path | None, programme: Programme) -> dict[str, tuple[str, ...]]:
    """`read_topics(...).texts`, or none for no path or a missing file (as `load_expansions`)."""
    return read_topics(path, programme).texts if path is not None and Path(path).is_file() else {}


def _read(path: str | Path, targets, ids: tuple[str, ...]) -> Loaded:
    """Read a JSON-lines file of {"expansions": [...]} entries; `targets(row)` names the ids an
    entry belongs to, and it counts only when it names exactly one."""
    texts: dict[str, tuple[str, ...]] = {}
    matched, stale, malformed = 0, [], 0
    for n, row in _entries(path):
        try:
            found = targets(row)
            raw = row.get("expansions", [])
        except (ValueError, AttributeError, TypeError):  # not a JSON object: not an entry
            malformed += 1
            continue
        if len(found) != 1:
            stale.append(str(row.get("id") or row.get("section") or f"line {n}"))
            continue
        matched += 1
        cleaned = tuple(" ".join(t.split()) for t in raw if isinstance(t, str) and t.strip()) if isinstance(raw, list) else ()
        if cleaned:
            texts[found[0]] = cleaned
    return Loaded(texts, matched, tuple(stale), malformed, tuple(i for i in ids if i not in texts))


def _entries(path: str | Path):
    """(line number, parsed JSON or None when it is not JSON) for each non-blank line."""
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except ValueError:
                yield n, None
