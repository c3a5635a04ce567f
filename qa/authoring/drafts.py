"""Draft expansions for the pledges that have none: `python -m qa expansions draft`.

For each pledge of the programme whose text no expansions row matches (a new or changed pledge),
it sends the writing brief (`corpus/expansions-brief.md`) and the pledge, with its part and
section, to the configured chat-completions endpoint (`qa.authoring.client`), checks the reply
strictly (`qa.authoring.validate`) and adds a row to the drafts file:

    {"pledge_id", "text", "part", "section", "model", "status": "draft", "expansions": [...]}

for a person to review (`qa.authoring.accept` merges the reviewed ones). The drafts file is
rewritten atomically after every pledge, so a run that stops keeps what it drafted, and a
second run drafts only what is still missing. It never writes the expansions file, and nothing
it writes is shown to voters or read when answering.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import corpus
from corpus.expansions import read_expansions
from corpus.files import CannotWrite, write_text_atomically
from corpus.model import Pledge, Programme
from qa.authoring.client import ChatClient, EndpointError, ReplyRejected
from qa.authoring.validate import texts_from_reply
from qa.errors import QAError

BRIEF = Path(corpus.__file__).resolve().parent / "expansions-brief.md"
DRAFT, REVIEWED, REJECTED = "draft", "reviewed", "rejected"
STATUSES = (DRAFT, REVIEWED, REJECTED)
TIMEOUTS_IN_A_ROW = 3  # then the endpoint is taken to be down, not slow on one pledge


class DraftsError(QAError):
    """The drafts file cannot be read or written; the message names it and the line."""


@dataclass
class Outcome:
    drafted: list[str] = field(default_factory=list)  # pledge ids
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (pledge id, why)
    already: int = 0  # pledges with a draft in the file already
    left: int = 0  # pledges still without expansions or a draft (beyond --limit, or after a stop)


def messages(brief: str, pledge: Pledge) -> list[dict]:
    """The chat messages for one pledge: the brief as instructions, the pledge as the request."""
    user = (
        f"Part: {pledge.part}\nSection: {pledge.section}\n"
        f"Pledge (MDG Bærum will ...): {pledge.text}\n\n"
        'Write the eighteen expansions for this pledge as the brief says. Answer with JSON only: {"expansions": [...]}'
    )
    return [{"role": "system", "content": brief}, {"role": "user", "content": user}]


def without_expansions(programme: Programme, expansions: Path) -> list[Pledge]:
    """Pledges whose text no row of the expansions file matches, in programme order: new ones, and
    edited ones that answering still serves with their earlier text's expansions (by stable id)."""
    try:
        loaded = read_expansions(expansions, programme)
    except (OSError, UnicodeDecodeError) as exc:
        raise DraftsError(f"cannot read {expansions}: {exc}") from None
    return [p for p in programme.pledges if p.id not in loaded.texts or p.id in loaded.edited]


def read_drafts(path: Path) -> list[tuple[int, dict]]:
    """(line number, row) of every row of a drafts file; `DraftsError` at the first line that is not one."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DraftsError(f"cannot read {path}: {exc}") from None
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise DraftsError(f"{path} line {n}: not JSON ({exc.msg})") from None
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("text"), str)
            or not isinstance(row.get("pledge_id"), str)
        ):
            raise DraftsError(f'{path} line {n}: not a draft (needs "pledge_id", "text", "status", "expansions")')
        if row.get("status") not in STATUSES:
            raise DraftsError(f"{path} line {n}: status {row.get('status')!r}; one of {', '.join(STATUSES)}")
        rows.append((n, row))
    return rows


def draft(
    programme: Programme,
    expansions: Path,
    out: Path,
    client: ChatClient,
    *,
    brief: str,
    limit: int | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Outcome:
    """Draft expansions for up to `limit` pledges that have none and no draft yet; see the module."""
    rows = [row for _, row in read_drafts(out)]  # refuse before asking anything if it is damaged
    drafted_texts = {row["text"] for row in rows if row["status"] != REJECTED}  # a rejected one is drafted anew
    missing = without_expansions(programme, expansions)
    todo = [p for p in missing if p.text not in drafted_texts]
    outcome = Outcome(already=len(missing) - len(todo))
    if limit is not None:
        todo = todo[:limit]
    timeouts = 0
    for i, pledge in enumerate(todo, start=1):
        say(f"[{i}/{len(todo)}] {pledge.id}")
        try:
            texts = texts_from_reply(client.complete(messages(brief, pledge)), pledge.text)
        except ReplyRejected as exc:
            outcome.skipped.append((pledge.id, str(exc)))
            say(f"  skipped {pledge.id}: {exc}")
            timeouts = timeouts + 1 if str(exc).startswith("no reply within") else 0
            if timeouts >= TIMEOUTS_IN_A_ROW:
                raise EndpointError(
                    f"{TIMEOUTS_IN_A_ROW} requests in a row got no reply in time; stopped{_kept(outcome, out)}"
                ) from None
            continue
        except EndpointError as exc:
            raise EndpointError(f"{exc}{_kept(outcome, out)}") from None
        timeouts = 0
        rows = [r for r in rows if r["text"] != pledge.text]  # the new draft replaces a rejected one
        rows.append(_row(pledge, client.endpoint.model, texts))
        write_atomic(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        outcome.drafted.append(pledge.id)
    outcome.left = len(missing) - outcome.already - len(outcome.drafted)
    return outcome


def _kept(outcome: Outcome, out: Path) -> str:
    return f" ({len(outcome.drafted)} drafted before the stop are kept in {out})" if outcome.drafted else ""


def _row(pledge: Pledge, model: str, texts: list[str]) -> dict:
    return {
        "pledge_id": pledge.id,
        "text": pledge.text,
        "part": pledge.part,
        "section": pledge.section,
        "model": model,
        "status": DRAFT,
        "expansions": texts,
    }


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (corpus.files), as a `DraftsError` on failure."""
    try:
        write_text_atomically(path, text)
    except CannotWrite as exc:
        raise DraftsError(str(exc)) from None