"""`python -m qa alternates export [FILE]` and `python -m qa alternates import FILE [--replace]`.

Registered into the main command line by `register`; the work is in `qa.curation.jsonl`. Both read
the question-log database of `QA_DB` (where the server keeps them) and never load the model: the
server embeds imported alternates itself, within a second, without a restart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa.errors import QAError


def register(sub) -> None:
    """Add the `alternates` command to the main parser's subcommands."""
    p = sub.add_parser("alternates", help="export or import staff-curated alternate phrasings (JSON lines)")
    inner = p.add_subparsers(required=True, metavar="action")
    e = inner.add_parser("export", help="write every alternate as JSON lines")
    e.add_argument("file", type=Path, nargs="?", help="where to write (default: standard output)")
    e.set_defaults(run=_export)
    i = inner.add_parser("import", help="check every line of FILE, then add them all (or none)")
    i.add_argument("file", type=Path)
    i.add_argument("--replace", action="store_true", help="remove alternates that are not in FILE")
    i.set_defaults(run=_import)


def _curation(pledge_ids=()):
    from qa.curation.store import Curation
    from qa.operations.settings import load_settings

    settings = load_settings()
    db = settings.db.strip()
    if db.lower() in ("", "off"):
        raise QAError("QA_DB is off: alternates are kept in the question-log database; set QA_DB")
    return settings, Curation(db, pledge_ids)


def _export(args: argparse.Namespace) -> None:
    from qa.curation.jsonl import dumps

    _, curation = _curation()
    try:
        text = dumps(curation.alternates())
    finally:
        curation.close()
    if args.file is None:
        sys.stdout.write(text)
        return
    try:
        args.file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise QAError(f"cannot write {args.file}: {exc}") from None
    print(f"wrote {text.count(chr(10))} alternates to {args.file}", file=sys.stderr)


def _import(args: argparse.Namespace) -> None:
    from qa.answering.startup import load_programme
    from qa.curation.jsonl import like_tuning, read_file
    from qa.curation.store import Curation

    settings, curation = _curation()
    curation.close()
    curation = Curation(curation.target, load_programme(settings.corpus).by_id)
    try:
        rows = read_file(args.file, curation)
        for n, question in like_tuning(rows, settings.questions)[:5]:
            print(f"warning: alternate {n} is close to the tuning question {question!r}", file=sys.stderr)
        added, kept = curation.import_rows(rows, replace=args.replace)
    finally:
        curation.close()
    print(f"{args.file}: {added} added, {kept} already there" + (" (the rest removed)" if args.replace else ""))
