"""What is embedded for a programme: its pledges in context, their voter-language expansions,
broad questions per section, and the background of messages the programme does not answer.

Each is one collection of (key, text) passages in the index (index/store.py).
"""

from __future__ import annotations

from corpus.model import Programme
from index.store import Passages


def passages_for(
    programme: Programme,
    expansions: dict[str, tuple[str, ...]] | None = None,
    background: list[tuple[str, str]] | None = None,
    topics: dict[str, tuple[str, ...]] | None = None,
) -> Passages:
    """Everything that is embedded: pledges in context, their expansions, broad questions about
    each section, and the background."""
    expansions, topics = expansions or {}, topics or {}
    return {
        "pledges": [(p.id, f"{p.part}, {p.section}: {p.text}") for p in programme.pledges],
        "expansions": [(p.id, text) for p in programme.pledges for text in expansions.get(p.id, ())],
        "topics": [(s.id, text) for s in programme.sections for text in topics.get(s.id, ())],
        "background": list(background or ()),
    }
