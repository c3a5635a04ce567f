"""Measure answers against labelled voter questions (the format of shared/eval/dev.jsonl).

Each line: {"id", "q", "kind", "lang", "gold": [snippet, ...], "section", "style"?}. A gold
snippet names the one pledge whose whitespace-collapsed text contains it; out-of-scope
questions have no gold. Figures are given overall, per kind and per style (where present):

- ranking (answerable questions; k = 5 unless said): Hit@1, Hit@5, MRR@10, R@5, and SecP@5
  for topic questions (share of the top 5 from the gold section);
- bands, as shares of answerable questions: direct (answered, a gold pledge in the top 3),
  shown (answered or related, gold in the top 3), denied (not covered although gold is in
  the top 3: a false denial), wrong (answered with no gold in the top 3);
- bands, as shares of out-of-scope questions: misled (answered), refused (not covered).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from corpus.model import Programme
from qa.answering.bands import ANSWERED, COVERAGE_BANDS, NOT_COVERED
from qa.errors import QAError

OUT_OF_SCOPE = "out_of_scope"
TOP = 3  # an answer is "right" when a gold pledge is among its first three


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    kind: str
    gold: frozenset[str]  # pledge ids
    section: str | None  # section id of the first gold pledge
    style: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What the system said for one question: ranked pledge ids and the coverage band."""

    ids: tuple[str, ...]
    coverage: str

    def __post_init__(self) -> None:
        if self.coverage not in COVERAGE_BANDS:
            raise ValueError(f"unknown coverage band {self.coverage!r}")


# A question the service turns away as bad input ("?", only symbols): no pledges are shown, so it
# is scored as not covered, which is what the voter gets (`turned_away` names such questions).
TURNED_AWAY = Outcome((), NOT_COVERED)


def turned_away(cases: list[Case], outcomes: list[Outcome]) -> str:
    """One line naming the questions the service turned away as bad input, or ""."""
    away = [c.question for c, o in zip(cases, outcomes) if o is TURNED_AWAY]
    if not away:
        return ""
    return f"{len(away)} question(s) turned away as bad input, scored as not covered: " + ", ".join(map(repr, away))


def load_cases(path: str | Path, programme: Programme) -> list[Case]:
    """Read a question file and resolve gold snippets to pledge ids."""
    squashed = {p.id: " ".join(p.text.split()) for p in programme.pledges}
    section_of = {p.id: s.id for s in programme.sections for p in s.pledges}
    cases = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read {path}: {exc}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, kind, snippets = row["q"], row["kind"], row.get("gold", [])
        except (ValueError, KeyError, TypeError) as exc:
            raise QAError(f"{path}:{n}: not a question record ({exc})") from None
        gold = []
        for snippet in snippets:
            snippet = " ".join(snippet.split())
            hits = [pid for pid, text in squashed.items() if snippet in text]
            if len(hits) != 1:
                raise QAError(f"{path}:{n}: gold snippet {snippet!r} matches {len(hits)} pledges, not 1")
            gold.append(hits[0])
        section = section_of.get(gold[0]) if gold else None
        cases.append(Case(row.get("id", f"line{n}"), question, kind, frozenset(gold), section, row.get("style")))
    return cases


def first_gold(case: Case, out: Outcome) -> int | None:
    """The place (1-based) of the first gold pledge in the answer's top 10, or None."""
    return next((i for i, pid in enumerate(out.ids[:10], start=1) if pid in case.gold), None)


def measure(case: Case, out: Outcome, section_of: dict[str, str]) -> dict[str, float]:
    """Every figure for one question (each a 0/1 or a share), keyed by metric name."""
    if case.kind == OUT_OF_SCOPE:
        return {"misled": float(out.coverage == ANSWERED), "refused": float(out.coverage == NOT_COVERED)}
    first = first_gold(case, out)
    right = first is not None and first <= TOP
    m = {
        "Hit@1": float(first == 1),
        "Hit@5": float(first is not None and first <= 5),
        "MRR@10": 1.0 / first if first else 0.0,
        "R@5": len(set(out.ids[:5]) & case.gold) / min(5, len(case.gold)),
        "direct": float(right and out.coverage == ANSWERED),
        "shown": float(right and out.coverage != NOT_COVERED),
        "denied": float(right and out.coverage == NOT_COVERED),
        "wrong": float(not right and out.coverage == ANSWERED),
    }
    if case.kind == "topic":
        m["SecP@5"] = sum(section_of.get(pid) == case.section for pid in out.ids[:5]) / 5
    return m


def misses(cases: Iterable[Case], outcomes: Iterable[Outcome]) -> list[str]:
    """A header and one line per question the figures count against the service: answerable but not
    answered with a gold pledge first, or out of scope but answered. Each line: the style (or kind),
    the first gold pledge's place in the top 10 ("-" when absent), the band, and the question."""
    lines = [f"{'style':<16}{'place':>6}  {'band':<12} question"]
    for case, out in zip(cases, outcomes, strict=True):
        first = first_gold(case, out)
        if case.kind == OUT_OF_SCOPE:
            missed, place = out.coverage == ANSWERED, ""
        else:
            missed = first != 1 or out.coverage != ANSWERED
            place = "-" if first is None else str(first)
        if missed:
            lines.append(f"{case.style or case.kind:<16}{place:>6}  {out.coverage:<12} {case.question}")
    return lines


def score(cases: Iterable[Case], outcomes: Iterable[Outcome], section_of: dict[str, str]) -> dict[str, dict[str, float]]:
    """Figures overall, per kind and per style: {"all": {...}, "lexical": {...}, "style:life": {...}}."""
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    for case, out in zip(cases, outcomes, strict=True):
        m = measure(case, out, section_of)
        rows["all"].append(m)
        rows[case.kind].append(m)
        if case.style:
            rows[f"style:{case.style}"].append(m)
    return {group: _summarise(ms) for group, ms in rows.items()}


METRICS = ("Hit@1", "Hit@5", "MRR@10", "R@5", "SecP@5", "direct", "shown", "denied", "wrong", "misled", "refused")


def _summarise(ms: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {"n": float(len(ms))}
    for key in METRICS:
        values = [m[key] for m in ms if key in m]
        if values:
            out[key] = sum(values) / len(values)
    return out


def sections_of(programme: Programme) -> dict[str, str]:
    """Each pledge id's section id, as `score` reads them."""
    return {p.id: s.id for s in programme.sections for p in s.pledges}


def format_table(results: dict[str, dict[str, float]], metrics: Iterable[str] = METRICS) -> str:
    """A plain-text table of `metrics`: "all", then kinds, then styles, each alphabetically."""
    columns = ["n", *metrics]
    kinds = sorted(k for k in results if k != "all" and not k.startswith("style:"))
    styles = sorted(k for k in results if k.startswith("style:"))
    lines = ["group".ljust(20) + "".join(c.rjust(8) for c in columns)]
    for group in ["all", *kinds, *styles]:
        r = results[group]
        cells = [(f"{r[c]:.0f}" if c == "n" else f"{r[c]:.2f}") if c in r else "" for c in columns]
        lines.append(group.ljust(20) + "".join(c.rjust(8) for c in cells))
    return "\n".join(lines)


def over_http(base: str, timeout: float = 30.0) -> Callable[[str], Outcome]:
    """An `ask` that puts each question to a running server's `{base}/api/ask` (k=10),
    as the hidden evaluation sets are measured. A question turned away (HTTP 422) is TURNED_AWAY;
    any other failure is a `QAError` naming the question."""
    base = base.rstrip("/")
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise QAError(f"--url needs an http:// or https:// address, got {base!r}")

    def ask(question: str) -> Outcome:
        url = f"{base}/api/ask?" + urllib.parse.urlencode({"q": question, "k": 10})
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # before URLError, which it is
            if exc.code == 422:  # the question itself turned away: the voter sees a message, no pledges
                return TURNED_AWAY
            raise QAError(f"{base} answered HTTP {exc.code} to {question!r}: {_detail(exc)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise QAError(f"no server answers at {base}: {reason}") from None
        except ValueError:
            raise QAError(f"{base}: the answer to {question!r} is not JSON") from None
        try:
            return Outcome(tuple(str(r["id"]) for r in body["results"]), str(body["coverage"]))
        except (KeyError, TypeError):
            raise QAError(f"{base}: the answer to {question!r} has no results and coverage; is it this service?") from None

    return ask


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read())["detail"])
    except (ValueError, KeyError, TypeError, OSError):
        return error.reason or "no detail"
