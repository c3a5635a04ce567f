"""`python -m qa alternates export [FILE]` and `python -m qa alternates import FILE [--replace]`,
each with `--programme SLUG` (a programme of `QA_PROGRAMMES`; default: the default one): every
programme has its own alternates, and a file holds one programme's. A file exported from one
programme can be imported into another; its pledge ids are checked against the one imported into.

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
    i.add_argument("--replace", action="store_true", help="remove the programme's alternates that are not in FILE")
    i.set_defaults(run=_import)
    for command in (e, i):
        command.add_argument("--programme", metavar="SLUG", help="the programme's slug (QA_PROGRAMMES; default: the default one)")


def _curation(slug: str | None):
    """The settings of programme `slug` and its curation (no pledge ids yet: they are read only to import)."""
    from qa.curation.store import Curation
    from qa.operations.settings import load_settings
    from qa.programmes.library import programme_settings

    settings = load_settings()
    entry, own = programme_settings(settings, slug)
    db = settings.db.strip()
    if db.lower() in ("", "off"):
        raise QAError("QA_DB is off: alternates are kept in the question-log database; set QA_DB")
    return own, Curation(db, (), programme=entry.slug)


def _export(args: argparse.Namespace) -> None:
    from qa.curation.jsonl import dumps

    _, curation = _curation(args.programme)
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
    print(f"wrote {text.count(chr(10))} alternates of {curation.programme} to {args.file}", file=sys.stderr)


def _import(args: argparse.Namespace) -> None:
    from qa.answering.startup import load_programme
    from qa.curation.jsonl import like_tuning, read_file

    settings, store = _curation(args.programme)
    curation = store.for_programme(store.programme, load_programme(settings.corpus, settings.ids).by_id)
    try:
        rows = read_file(args.file, curation)
        for n, question in like_tuning(rows, settings.questions)[:5]:
            print(f"warning: alternate {n} is close to the tuning question {question!r}", file=sys.stderr)
        added, kept = curation.import_rows(rows, replace=args.replace)
    finally:
        curation.close()
    print(f"{args.file}: {added} added, {kept} already there" + (" (the rest removed)" if args.replace else ""))
