"""Alternates as JSON lines, so staff can keep them in git: `python -m qa alternates export|import`.

One object per line, `{"pledge_id": "...", "question": "..."}`; other fields are allowed and
ignored on import, except `created`, which is kept. Import checks every line before it writes
any: an unknown pledge id, an empty or over-long question (the limits of a voter's question), a
line that is not such an object, or the same question for the same pledge twice is a one-line
error naming the line, and nothing is written. A row already stored is left as it is (importing
an export is a no-op); `replace=True` makes the file the whole set.
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.curation.store import Alternate, Curation, CurationError
from qa.questionlog.store import normalise


def dumps(alternates: list[Alternate]) -> str:
    """The JSON lines of `alternates`, in the order given (oldest first from the store)."""
    return "".join(
        json.dumps({"pledge_id": a.pledge_id, "question": a.question, "created": a.created}, ensure_ascii=False) + "\n"
        for a in alternates
    )


def parse(text: str, curation: Curation, name: str = "input") -> list[tuple[str, str, str | None]]:
    """Checked `(pledge_id, question, created)` rows of `text`; `CurationError` at the first bad line."""
    rows, seen = [], {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "pledge_id" not in row or "question" not in row:
            raise _bad(f'{where}: expected an object with "pledge_id" and "question"')
        try:
            pledge_id, question = curation.checked(row["pledge_id"], row["question"])
        except CurationError as exc:
            raise _bad(f"{where}: {exc}") from None
        key = (pledge_id, normalise(question))
        if key in seen:
            raise _bad(f"{where}: the same question for {pledge_id} as line {seen[key]}")
        seen[key] = n
        created = row.get("created")
        rows.append((pledge_id, question, created if isinstance(created, str) and created else None))
    return rows


def read_file(path: Path, curation: Curation) -> list[tuple[str, str, str | None]]:
    """Checked rows of the file at `path` (see `parse`); nothing is written."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(f"cannot read {path}: {exc}") from None
    return parse(text, curation, str(path))


def import_file(path: Path, curation: Curation, *, replace: bool = False) -> tuple[int, int]:
    """Check every line of `path`, then store them all in one transaction; returns (added, already there)."""
    return curation.import_rows(read_file(path, curation), replace=replace)


def like_tuning(rows: list[tuple[str, str, str | None]], tuning: Path | None) -> list[tuple[int, str]]:
    """(row number, tuning question) for each row that is a near-duplicate of a tuning question.

    Alternates are never tuning data (README, "Staff curation"); an import says so when a file
    looks like it came from the tuning set, so staff can tell a real voter's question from a copy.
    """
    if tuning is None or not Path(tuning).is_file():
        return []
    from qa.measuring.overlap import near_duplicates

    questions = []
    for line in Path(tuning).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("q"), str):
            questions.append(row["q"])
    pairs = near_duplicates([question for _, question, _ in rows], questions)
    return [(i + 1, questions[j]) for i, j, _ in pairs]


def _bad(message: str) -> CurationError:
    return CurationError(message, message)
