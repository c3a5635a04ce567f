"""Find pledges for staff by words or by id: the admin page's search box.

Plain and predictable rather than clever: a query that is a pledge id finds that pledge; otherwise
every word of three letters or more is looked for (as the start of a word, casefolded) in the
pledge's text, its section and its part, and pledges are ordered by how many of the query's words
they contain, then by programme order. Semantic suggestions come from the ranker itself (the
admin page shows the current answer's pledges next to the search).
"""

from __future__ import annotations

import re

from corpus.model import Pledge, Programme

LIMIT = 10
_WORD = re.compile(r"\w+")


def citation(pledge: Pledge) -> str:
    """Where a pledge stands, as the answers cite it: part · section · punkt N · s. P."""
    return f"{pledge.part} · {pledge.section} · punkt {pledge.number} · s. {pledge.page}"


def search(programme: Programme, query: str, limit: int = LIMIT) -> list[Pledge]:
    """Pledges matching `query` (an id, or words), best first, at most `limit`."""
    query = " ".join(query.split())
    if not query:
        return []
    exact = programme.by_id.get(query.casefold())
    if exact is not None:
        return [exact]
    words = [w for w in _WORD.findall(query.casefold()) if len(w) >= 3 or w.isdigit()]
    if not words:
        return []
    found = []
    for order, pledge in enumerate(programme.pledges):
        tokens = _WORD.findall(f"{pledge.id} {pledge.text} {pledge.section} {pledge.part}".casefold())
        hits = sum(any(t.startswith(w) for t in tokens) for w in words)
        if hits:
            found.append((-hits, order, pledge))
    found.sort(key=lambda item: item[:2])
    return [pledge for _, _, pledge in found[:limit]]
