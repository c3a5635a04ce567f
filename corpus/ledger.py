"""The id ledger of a programme: one JSON object per line, kept in git beside the programme.

Each row is a pledge id and what it was last seen with:

    {"id": "klima-3", "text": "...", "section_id": "klima", "section": "Klima", "retired": false}

A retired row (its pledge is gone from the programme) also says where links to it land:
`"lands": "<id>"`, a pledge id (a successor, which staff may set by hand) or a section id, or
"" for the top of the programme. Retired ids stay in the ledger for good, so no id is ever
given to another pledge. `corpus.ids` decides the rows; this module only reads and writes them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from corpus.files import CannotWrite, write_text_atomically

SUFFIX = ".ids.jsonl"


class LedgerError(ValueError):
    """The ledger file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    section_id: str
    section: str  # the section's title
    retired: bool = False
    lands: str = ""  # for a retired row: the pledge or section its links land on; "" is the top


def ledger_for(programme_path: str | Path) -> Path:
    """The default ledger of a programme file: `x.txt` -> `x.ids.jsonl` beside it."""
    path = Path(programme_path)
    return path.with_name(path.stem + SUFFIX)


def read_ledger(path: str | Path) -> list[Row]:
    """Rows in file order. Raises `LedgerError` for an unreadable file, a bad line or a repeated id."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"cannot read {path}: {exc}") from None
    rows: list[Row] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = _row(line, f"{path}, line {n}")
        if row.id in seen:
            raise LedgerError(f"{path}, line {n}: id {row.id!r} appears twice")
        seen.add(row.id)
        rows.append(row)
    return rows


def _row(line: str, where: str) -> Row:
    try:
        data = json.loads(line)
    except ValueError:
        raise LedgerError(f"{where}: not JSON") from None
    if not isinstance(data, dict):
        raise LedgerError(f"{where}: not a JSON object")
    for key in ("id", "text", "section_id", "section"):
        if not isinstance(data.get(key), str):
            raise LedgerError(f"{where}: {key!r} must be a string")
    if not data["id"].strip():
        raise LedgerError(f"{where}: empty id")
    retired, lands = data.get("retired", False), data.get("lands", "")
    if not isinstance(retired, bool) or not isinstance(lands, str):
        raise LedgerError(f"{where}: 'retired' must be true or false and 'lands' a string")
    return Row(data["id"], data["text"], data["section_id"], data["section"], retired, lands if retired else "")


def dumps(rows: list[Row]) -> str:
    """The file's text: one row a line, live rows without the retired-only fields."""
    out = []
    for row in rows:
        data = asdict(row)
        if not row.retired:
            del data["lands"]
        out.append(json.dumps(data, ensure_ascii=False) + "\n")
    return "".join(out)


def write_ledger(path: str | Path, rows: list[Row]) -> None:
    """Write the ledger atomically (corpus.files): the old file stays as it was on any failure.

    Raises `LedgerError` when it cannot be written.
    """
    try:
        write_text_atomically(path, dumps(rows))
    except CannotWrite as exc:
        raise LedgerError(str(exc)) from None