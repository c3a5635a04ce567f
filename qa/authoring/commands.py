"""`python -m qa expansions check|draft`: the command line of the authoring tools.

    expansions check [--alternates FILE]     which pledges have expansions; exit 1 when some have none
    expansions draft [--out FILE] [--limit N] [--brief FILE] [--timeout S] [--retries N]
                                             ask QA_AUTHOR_URL for drafts of the missing ones
    expansions draft --accept [--out FILE]   merge the reviewed drafts into QA_EXPANSIONS

`qa.operations.cli` adds these under its `expansions` command (`configure`). Exit codes: 0 done,
1 some pledge lacks expansions (check) or was skipped (draft), 2 an error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.errors import QAError

DRAFTS_NAME = "expansions.drafts.jsonl"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `check` and `draft` actions to the `expansions` command's parser."""
    sub = parser.add_subparsers(required=True, metavar="action")
    p = sub.add_parser("check", help="which pledges have expansions; exit 1 when some have none")
    p.add_argument("--alternates", type=Path, help='staff alternates, lines of {"pledge_id", "question"}')
    p.set_defaults(run=_check)

    p = sub.add_parser("draft", help="draft expansions for pledges without any (QA_AUTHOR_URL); --accept merges")
    p.add_argument("--out", type=Path, help=f"drafts file (default: {DRAFTS_NAME} beside QA_EXPANSIONS)")
    p.add_argument("--limit", type=int, help="draft at most this many pledges")
    p.add_argument("--accept", action="store_true", help="merge the drafts marked reviewed into QA_EXPANSIONS")
    # No default here: naming it would import the drafting client for every command, `serve` too.
    p.add_argument("--brief", type=Path, help="the writing brief sent as instructions (default: corpus/expansions-brief.md)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one reply (default 120)")
    p.add_argument("--retries", type=int, default=4, help="further tries after HTTP 429 or 5xx (default 4)")
    p.set_defaults(run=_draft)


def _inputs():
    from qa.answering.startup import load_programme
    from qa.operations.settings import load_settings

    settings = load_settings()
    if settings.expansions is None:
        raise QAError("QA_EXPANSIONS is off: set it to the expansions file to work on")
    return settings, load_programme(settings.corpus, settings.ids)


def _check(args) -> int:
    from corpus.expansion_check import check, report

    settings, programme = _inputs()
    if args.alternates is not None and not args.alternates.is_file():
        raise QAError(f"--alternates: no such file: {args.alternates}")
    try:
        coverage = check(programme, settings.expansions, args.alternates)
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read: {exc}") from None
    print(report(coverage, settings.expansions, args.alternates))
    return 0 if coverage.ok else 1


def _draft(args) -> int:
    settings, programme = _inputs()
    out = args.out or Path(settings.expansions).with_name(DRAFTS_NAME)
    if args.accept:
        return _accept(settings, programme, out)
    from qa.authoring.client import ChatClient, endpoint_from
    from qa.authoring.drafts import BRIEF, draft

    brief_path = args.brief or BRIEF
    if args.limit is not None and args.limit < 1:
        raise QAError(f"--limit must be at least 1, got {args.limit}")
    if not args.timeout > 0:
        raise QAError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")
    if not out.parent.is_dir():
        raise QAError(f"--out: no such folder: {out.parent}")
    endpoint = endpoint_from(settings, timeout=args.timeout, retries=args.retries)
    try:
        brief = brief_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read the brief {brief_path}: {exc}") from None
    with ChatClient(endpoint, say=_note) as client:
        outcome = draft(programme, settings.expansions, out, client, brief=brief, limit=args.limit, say=_note)
    if not outcome.drafted and not outcome.skipped:
        print(f"nothing to draft: every pledge has expansions or a draft in {out} ({outcome.already})")
        return 0
    print(f"drafted {len(outcome.drafted)} pledges into {out} (model {endpoint.model})")
    for pledge_id, why in outcome.skipped:
        print(f"skipped {pledge_id}: {why}")
    if outcome.left:
        print(f"{outcome.left} pledges still have neither expansions nor a draft: run draft again")
    print(
        f'next: review {out} (edit or delete texts; set "status": "reviewed" or "rejected" on each row), '
        "then: python -m qa expansions draft --accept"
    )
    return 1 if outcome.skipped else 0


def _accept(settings, programme, out: Path) -> int:
    from qa.authoring.accept import accept

    result = accept(programme, Path(settings.expansions), out, questions=_tuning_questions(settings.questions))
    for line in result.skipped:
        print(f"skipped {line}")
    for line in result.dropped:
        print(line)
    print(
        f"merged {len(result.merged)} reviewed drafts into {settings.expansions}"
        + (f" ({', '.join(result.merged)})" if result.merged else "")
        + f"; {result.pending} still marked draft, {result.rejected} rejected"
    )
    if result.merged:
        print(
            "now rerun `python -m qa tune`: qa/answering/fitted.json records the expansions' sha256, "
            "and then `python -m qa expansions check`"
        )
    return 0


def _tuning_questions(path: Path | None) -> list[str]:
    """The tuning set's questions, which no expansion may nearly repeat (none when it is off)."""
    if path is None:
        return []
    try:
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise QAError(f"QA_QUESTIONS: cannot read {path}: {exc}") from None
    return [row["q"] for row in rows if isinstance(row, dict) and isinstance(row.get("q"), str)]


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
