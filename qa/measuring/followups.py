"""Measure and fit the follow-up decision on written two-turn exchanges.

Each line of an exchange file: {"id", "prev", "q", "kind": "dependent" | "standalone",
"gold": [snippet, ...]}; a gold snippet names the one pledge whose whitespace-collapsed text
contains it (as in shared/eval/README.md). "dependent" follow-ups cannot stand alone ("og for
eldre?"); "standalone" ones can ("forresten, hva med bompenger?").

- `evaluate`: Hit@5 per kind, answering with `prev` and answering the follow-up alone, through
  `Answerer.ask` (the contract the API serves);
- `tune`: fit qa.answering.followup's decision (does this follow-up lean on the previous
  question?) on a tuning file and report its figures cross-validated (each exchange decided by
  a decision fitted without it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.model import Programme
from qa.answering import followup
from qa.answering.ranking import Ranker
from qa.errors import QAError

KINDS = ("dependent", "standalone")
K = 5
FOLDS = 5
L2 = 0.3  # chosen by the cross-validated figures on the tuning file (0.1-10 tried), never the check file
UNRANKED = 10_000  # the rank of a gold pledge not found at all


@dataclass(frozen=True)
class Exchange:
    id: str
    prev: str
    q: str
    kind: str
    gold: frozenset[str]  # pledge ids


def load_exchanges(path: str | Path, programme: Programme) -> list[Exchange]:
    """Read an exchange file and resolve its gold snippets; a bad line is a QAError naming it."""
    squashed = {p.id: " ".join(p.text.split()) for p in programme.pledges}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read {path}: {exc}") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
            ex_id, prev, q, kind, snippets = row["id"], row["prev"], row["q"], row["kind"], row["gold"]
        except (ValueError, KeyError, TypeError) as exc:
            raise QAError(f"{where}: not an exchange ({exc})") from None
        if kind not in KINDS:
            raise QAError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not snippets:
            raise QAError(f"{where}: an exchange needs at least one gold snippet")
        gold = set()
        for snippet in snippets:
            found = [pid for pid, text in squashed.items() if " ".join(str(snippet).split()) in text]
            if len(found) != 1:
                raise QAError(f"{where}: gold {snippet!r} is in {len(found)} pledges, not exactly one")
            gold.add(found[0])
        out.append(Exchange(str(ex_id), prev, q, kind, frozenset(gold)))
    if not out:
        raise QAError(f"{path}: no exchanges")
    return out


def _hit(ids, gold: frozenset[str]) -> bool:
    return bool(gold & set(ids[:K]))


def table(rows: dict[str, list[tuple[bool, bool, bool]]]) -> str:
    """Per kind: count, Hit@5 with prev, Hit@5 alone, and how often prev was used."""
    lines = [f"{'kind':<12}{'n':>5}{'Hit@5 prev':>12}{'Hit@5 alone':>13}{'used prev':>11}"]
    for kind in KINDS:
        got = rows.get(kind, [])
        if not got:
            continue
        with_prev, alone, used = (np.mean([r[i] for r in got]) for i in range(3))
        lines.append(f"{kind:<12}{len(got):>5}{with_prev:>12.3f}{alone:>13.3f}{used:>11.3f}")
    return "\n".join(lines)


def evaluate(answerer, exchanges: list[Exchange]) -> str:
    """Hit@5 per kind with `prev` against alone, through `Answerer.ask`."""
    rows: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for ex in exchanges:
        with_prev = answerer.ask(ex.q, K, prev=ex.prev)
        alone = answerer.ask(ex.q, K)
        ids = lambda answer: [h.pledge.id for h in answer.hits]  # noqa: E731
        rows[ex.kind].append((_hit(ids(with_prev), ex.gold), _hit(ids(alone), ex.gold), with_prev.interpreted_as is not None))
    return table(rows)


@dataclass(frozen=True)
class Observed:
    """One exchange ranked both ways: the decision's features and the best gold rank of each."""

    exchange: Exchange
    x: np.ndarray
    alone_rank: int
    joined_rank: int


def observe(ranker: Ranker, exchanges: list[Exchange]) -> list[Observed]:
    out = []
    for ex in exchanges:
        alone = followup.read(ranker, ex.q)
        joined = followup.read(ranker, followup.combine(ex.prev, ex.q))
        out.append(Observed(ex, followup.features(ranker, alone, joined), _rank(alone.ranking.ids, ex.gold), _rank(joined.ranking.ids, ex.gold)))
    return out


def _rank(ids: tuple[str, ...], gold: frozenset[str]) -> int:
    return min((i for i, pid in enumerate(ids) if pid in gold), default=UNRANKED)


def _training(observed: list[Observed]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels: 1 for a follow-up written as one that cannot stand alone.

    The decision learns the kind, not which ranking happened to rank gold higher: where both
    find the pledge, a follow-up that stands alone should still be answered alone (and not
    shown as "Tolket som" an old topic), and one that leans on its predecessor with it.
    """
    x = np.array([o.x for o in observed]).reshape(len(observed), len(followup.FEATURES))
    y = np.array([float(o.exchange.kind == "dependent") for o in observed])
    return x, y


def _decide_rows(observed: list[Observed], joined: list[bool]) -> dict[str, list[tuple[bool, bool, bool]]]:
    rows: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for o, use in zip(observed, joined):
        rank = o.joined_rank if use else o.alone_rank
        rows[o.exchange.kind].append((rank < K, o.alone_rank < K, use))
    return rows


def tune(ranker: Ranker, exchanges: list[Exchange]) -> tuple[followup.Decision, str]:
    """Fit the decision on all `exchanges`; report cross-validated and always-joined figures."""
    observed = observe(ranker, exchanges)
    order = np.arange(len(observed))
    fold_of = order % FOLDS  # deterministic folds, spread over the file
    cv_joined = [False] * len(observed)
    for fold in range(FOLDS):
        train = [o for o, f in zip(observed, fold_of) if f != fold]
        decision = _fit(train)
        for i in order[fold_of == fold]:
            cv_joined[i] = decision.joined(observed[i].x)
    decision = _fit(observed)
    text = "cross-validated (each exchange decided by a fit without it):\n" + table(_decide_rows(observed, cv_joined))
    text += "\n\nalways joining prev (for comparison):\n" + table(_decide_rows(observed, [True] * len(observed)))
    return decision, text


def _fit(observed: list[Observed]) -> followup.Decision:
    x, y = _training(observed)
    if len(set(y)) < 2:
        raise QAError("the tuning exchanges need both kinds, dependent and standalone")
    return followup.fit(x, y, l2=L2)


def run_tune(settings, file: Path, out: Path | None = None) -> str:
    """`python -m qa tune-followups FILE`: fit on FILE, write the decision, return the report."""
    from qa.answering.startup import load_answerer, load_programme

    exchanges = load_exchanges(file, load_programme(settings.corpus, settings.ids))  # before the model
    answerer = load_answerer(settings, progress=True)
    decision, text = tune(answerer.ranker, exchanges)
    out = out or followup.FITTED
    try:
        followup.save(decision, out, model_id=answerer.model_id, fitted_on=Path(file))
    except OSError as exc:
        raise QAError(f"cannot write {out}: {exc}") from None
    followup.load.cache_clear()
    return f"{file}:\n{text}\n\nwrote {out}"
