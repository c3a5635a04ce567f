"""Command line: `python -m qa <command>`.

    pledges              every pledge as one JSON object per line
    build                build (or rebuild) the embedding index
    ask "question"       answer a question, readable or --json
    eval FILE.jsonl      ranking quality on labelled questions
    tune FILE.jsonl      fit ranking weights and the "not covered" decision
    bench                speed and memory of a real server on loopback
    report [--days N]    what voters asked, and what the programme does not answer
    expansions check|draft   which pledges lack expansions; draft, review and accept new ones
    ids update           give pledges their stable ids; rewrites the programme's id ledger
    serve                the web app (chat page, programme, API, widget)
    alternates export|import   staff-curated alternate phrasings as JSON lines (qa.curation.cli)
    import PROGRAMME.pdf the programme text of a PDF, with a report to check [--out FILE]
    eval-followups FILE  Hit@5 of two-turn exchanges, with the previous question and alone
    tune-followups FILE  fit the follow-up decision; writes qa/answering/followup.json

Errors are printed as one line on stderr with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from corpus.errors import ImportFailure
from index.errors import IndexFailure
from qa.authoring.commands import configure as configure_expansions
from qa.errors import QAError

USER_ERRORS = (QAError, IndexFailure, ImportFailure)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return args.run(args) or 0
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description="Answers questions with MDG Bærum's pledges.")
    sub = parser.add_subparsers(required=True, metavar="command")

    p = sub.add_parser("pledges", help="print every pledge as JSON lines")
    p.set_defaults(run=_pledges)

    p = sub.add_parser("build", help="build the embedding index")
    p.add_argument("--force", action="store_true", help="rebuild even if the index is up to date")
    p.add_argument("--no-cache", action="store_true", help="embed every text again, not only new ones (index/embedcache.py)")
    p.set_defaults(run=_build)

    p = sub.add_parser("ask", help="answer a question")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=5, help="number of pledges (1-20, default 5)")
    p.add_argument("--json", action="store_true", help="print the JSON the API serves")
    p.add_argument("--programme", metavar="SLUG", help="ask this programme of QA_PROGRAMMES (default: the default one)")
    p.set_defaults(run=_ask)

    p = sub.add_parser("eval", help="measure ranking on labelled questions")
    p.add_argument("file", type=Path)
    p.add_argument("--programme", metavar="SLUG", help="measure this programme of QA_PROGRAMMES (default: the default one)")
    p.add_argument(
        "--url",
        metavar="BASE",
        help="ask a running server over HTTP instead ({BASE}/api/ask, e.g. http://127.0.0.1:8000 or .../p/SLUG)",
    )
    p.add_argument(
        "--misses", action="store_true", help="also list each question not answered directly (or, out of scope, answered)"
    )
    p.set_defaults(run=_eval)

    p = sub.add_parser("tune", help="fit ranking weights and the band model; writes qa/answering/fitted.json")
    p.add_argument("file", type=Path, nargs="?", help="tuning questions (default: QA_QUESTIONS)")
    p.add_argument("--check", type=Path, action="append", help="also report on this file (never fitted on)")
    p.add_argument("--out", type=Path, help="where to write the fitted file (default: QA_FITTED)")
    p.set_defaults(run=_tune)

    p = sub.add_parser("ceiling", help="the best ranking any fusion weights could give each labelled question")
    p.add_argument("file", type=Path)
    p.add_argument("--programme", metavar="SLUG", help="measure this programme of QA_PROGRAMMES (default: the default one)")
    p.set_defaults(run=_ceiling)

    p = sub.add_parser("eval-followups", help="Hit@5 of follow-up questions, with prev and alone")
    p.add_argument("file", type=Path)
    p.set_defaults(run=_eval_followups)

    p = sub.add_parser("tune-followups", help="fit the follow-up decision; writes qa/answering/followup.json")
    p.add_argument("file", type=Path)
    p.add_argument("--out", type=Path, help="where to write it (default: qa/answering/followup.json)")
    p.set_defaults(run=_tune_followups)

    p = sub.add_parser("bench", help="measure speed and memory of a real server on loopback")
    p.add_argument("--questions", type=int, default=200, help="distinct questions for latency (default 200)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per throughput run (default 10)")
    p.add_argument("--programmes", type=int, help="instead: start-up, memory and latency with 1..N generated programmes")
    p.add_argument(
        "--compare", type=int, nargs=2, metavar="PORT", help="instead: latency of two running servers, asked alternately"
    )
    p.set_defaults(run=_bench)

    p = sub.add_parser("report", help="what voters ask, and what the programme does not answer")
    p.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    p.set_defaults(run=_report)

    p = sub.add_parser("expansions", help="check, draft and accept voter-language expansions (staff)")
    configure_expansions(p)

    p = sub.add_parser("ids", help="stable pledge ids: update the programme's id ledger (QA_IDS)")
    p.add_argument("action", choices=["update"])
    p.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    p.set_defaults(run=_ids)

    p = sub.add_parser("serve", help="run the web app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    p.add_argument("--root-path", help="the sub-path a proxy serves it under and strips, e.g. /sporsmal (QA_ROOT_PATH)")
    p.set_defaults(run=_serve)

    from qa.curation.cli import register as register_alternates

    register_alternates(sub)

    p = sub.add_parser("import", help="turn a programme PDF into programme text, with a report to check")
    p.add_argument("pdf", type=Path)
    p.add_argument("--out", help="write the text here (atomically); without it, only the report")
    p.set_defaults(run=_import)
    return parser


def _settings():
    from qa.operations.settings import load_settings

    return load_settings()


def _programme_settings(slug: str | None):
    """The settings of programme `slug` of QA_PROGRAMMES (qa.programmes.library.programme_settings)."""
    from qa.programmes.library import programme_settings

    return programme_settings(_settings(), slug)[1]


def _pledges(args) -> None:
    from qa.answering.startup import load_programme

    settings = _settings()
    programme = load_programme(settings.corpus, settings.ids)
    for w in programme.warnings:
        print(f"warning: {w}", file=sys.stderr)
    out = sys.stdout
    for pledge in programme.pledges:
        out.write(json.dumps(pledge.as_dict(), ensure_ascii=False) + "\n")


def _build(args) -> None:
    from index.store import build, open_index
    from qa.answering.startup import keep_lexical_table, load_inputs
    from qa.programmes.library import every_programme

    make = build if args.force else open_index  # open_index builds only what is missing or stale
    embedder = None
    for settings in every_programme(_settings()):  # with QA_PROGRAMMES, each into its own folder
        inputs = load_inputs(settings, embedder=embedder)
        embedder = inputs.embedder  # every programme has the one model: loaded once
        make(settings.index_dir, inputs.embedder, inputs.passages, progress=True, cache=not args.no_cache)
        keep_lexical_table(settings, inputs)
        print(f"index ready in {settings.index_dir}")


def _ask(args) -> None:
    from qa.answering.limits import check_k, clean_question
    from qa.answering.startup import load_answerer

    question = clean_question(args.question)  # refuse bad input before loading anything
    check_k(args.k)
    answerer = load_answerer(_programme_settings(args.programme), progress=True)
    answer = answerer.ask(question, k=args.k)
    if args.json:
        print(json.dumps(answer.as_dict(), ensure_ascii=False, indent=2))
        return
    if answer.smalltalk:
        print("Hei! Spør om hva MDG Bærum vil gjøre, for eksempel med skolen, bussen eller naturen.")
        return
    if answer.coverage == "not_covered":
        sections = ", ".join(s.title for s in answerer.nearest_sections(answer))
        print(f"Programmet ser ikke ut til å si noe om dette. Nærmeste tema: {sections}.")
        return
    hits = answer.hits
    if answer.coverage == "related":
        print("Programmet svarer ikke direkte på dette. Dette er det nærmeste:\n")
        hits = hits[:3]
    for hit in hits:
        p = hit.pledge
        print(f"«{p.text}»\n   — {p.part} · {p.section} · punkt {p.number} · s. {p.page}   ({hit.score:.2f})\n")


def _eval(args) -> None:
    from qa.answering.startup import load_answerer, load_programme
    from qa.errors import BadQuestion
    from qa.measuring import evaluate

    if args.url:  # the server answers; only the programme is read, to label the questions
        settings = _programme_settings(args.programme)
        programme = load_programme(settings.corpus, settings.ids)
        ask = evaluate.over_http(args.url)
    else:
        answerer = load_answerer(_programme_settings(args.programme), progress=True)
        programme = answerer.programme

        def ask(question: str) -> evaluate.Outcome:
            try:
                answer = answerer.ask(question, k=10)
            except BadQuestion:  # as the API's 422: a message for the voter, no pledges
                return evaluate.TURNED_AWAY
            return evaluate.Outcome(tuple(h.pledge.id for h in answer.hits), answer.coverage)

    cases = evaluate.load_cases(args.file, programme)
    outcomes = [ask(c.question) for c in cases]
    print(evaluate.format_table(evaluate.score(cases, outcomes, evaluate.sections_of(programme))))
    if note := evaluate.turned_away(cases, outcomes):
        print(note)
    if args.misses:
        print("\n" + "\n".join(evaluate.misses(cases, outcomes)))


def _ceiling(args) -> None:
    from qa.answering.startup import load_answerer
    from qa.measuring import ceiling, evaluate

    answerer = load_answerer(_programme_settings(args.programme), progress=True)
    cases = evaluate.load_cases(args.file, answerer.programme)
    print(ceiling.report(answerer.ranker, cases, evaluate.sections_of(answerer.programme)))


def _tune(args) -> None:
    from qa.answering.fitted import input_hashes
    from qa.answering.startup import load_inputs, open_stored, ranker_for
    from qa.measuring.evaluate import load_cases
    from qa.measuring.tune import check, tune

    settings = _settings()
    file = args.file or settings.questions
    out = args.out or settings.fitted
    if file is None or out is None:
        raise QAError("tune needs a question file and somewhere to write (QA_QUESTIONS, QA_FITTED)")
    # The background the band model compares with is the tuning file's out-of-scope questions;
    # the fit starts from nothing fitted.
    settings = settings.model_copy(update={"questions": file, "fitted": None})
    inputs = load_inputs(settings)
    stored = open_stored(settings, inputs, progress=True)
    main, bare = ranker_for(inputs, stored, bare=False), ranker_for(inputs, stored, bare=True)
    programme = inputs.programme
    cases = load_cases(file, programme)
    fitted, text = tune(main, bare, programme, inputs.embedder.model_id, cases, input_hashes(settings))
    print(f"{file}:\n{text}")
    for path in args.check or ():
        checked = load_cases(path, programme)
        print(f"\n{path} (check only, never fitted on):\n{check(main, programme, checked, fitted.main)}")
        print(f"bare:\n{check(bare, programme, checked, fitted.bare)}")
    try:
        Path(out).write_text(fitted.as_json(), encoding="utf-8")
    except OSError as exc:
        raise QAError(f"cannot write {out}: {exc}") from None
    print(f"\nwrote {out}")


def _eval_followups(args) -> None:
    from qa.answering.startup import load_answerer, load_programme
    from qa.measuring.followups import evaluate, load_exchanges

    settings = _settings()
    exchanges = load_exchanges(args.file, load_programme(settings.corpus, settings.ids))  # before the model
    print(evaluate(load_answerer(settings, progress=True), exchanges))


def _tune_followups(args) -> None:
    from qa.measuring.followups import run_tune

    print(run_tune(_settings(), args.file, args.out))


def _bench(args) -> None:
    from qa.operations.bench import main as bench

    if args.compare is not None:
        from qa.operations.bench import compare, distinct_questions

        if any(not 0 < port < 65536 for port in args.compare):
            raise QAError(f"--compare takes two port numbers, got {args.compare[0]} {args.compare[1]}")
        print(compare(tuple(args.compare), distinct_questions(max(10, args.questions))))
        return
    if args.programmes is not None:
        from qa.operations.bench_programmes import main as many

        if args.programmes < 1:
            raise QAError(f"--programmes must be at least 1, got {args.programmes}")
        print(many(args.programmes, asks=max(10, args.questions)))
        return
    print(bench(questions=max(10, args.questions), seconds=max(1.0, args.seconds)))


def _report(args) -> None:
    from qa.questionlog.backend import sqlite_file
    from qa.questionlog.report import report

    if not 1 <= args.days <= 3650:  # the bound of /admin?days=
        raise QAError(f"--days must be from 1 to 3650, got {args.days}")
    settings = _settings()
    file = sqlite_file(settings.db) if settings.db is not None else None
    if file is not None and not file.is_file():  # a mistyped QA_DB must not start an empty log
        raise QAError(f"QA_DB: no question log at {file}; the server writes it once voters ask")
    print(report(settings, args.days))


def _ids(args) -> None:
    from corpus.ids import update_ledger
    from corpus.ledger import LedgerError
    from qa.answering.startup import load_programme

    settings = _settings()
    if settings.ids is None:
        raise QAError("QA_IDS is off: set it to the ledger's path to update it")
    try:
        print(update_ledger(load_programme(settings.corpus), settings.ids, write=not args.dry_run)[1])
    except LedgerError as exc:
        raise QAError(str(exc)) from None


def _serve(args) -> None:
    from qa.operations.serve import serve
    from qa.operations.settings import load_settings

    settings = _settings() if args.root_path is None else load_settings(root_path=args.root_path)
    serve(settings, host=args.host, port=args.port, workers=args.workers)


def _import(args) -> None:
    from corpus.files import CannotWrite, write_text_atomically
    from corpus.pdfimport import format_report, import_pdf

    imported = import_pdf(args.pdf)
    print(format_report(imported))
    if args.out is not None:
        try:
            write_text_atomically(args.out, imported.text)
        except CannotWrite as exc:
            raise ImportFailure(str(exc)) from None
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
