"""Pledge ids that survive new editions of the programme.

The parser numbers pledges by position (`klima-3`); a new edition adds, removes, moves and edits
pledges, which would shift those numbers under every link and logged answer. `assign` gives each
pledge of a newly parsed programme a stable id from the programme's ledger (`corpus.ledger`):

1. Exact text. A pledge whose text equals a ledger row's text keeps that row's id (a live row
   before a retired one, which is thereby revived). When the same text occurs more than once,
   rows of the pledge's own section are paired first, then the rest in order.
2. Light edits. Among the pledges and live rows left, a pledge keeps a row's id when
   - their similarity is at least THRESHOLD (0.75): difflib's ratio 2*M/(a+b) over the two
     texts' words (NFKC, casefolded, punctuation dropped), M the words in matching runs;
   - they are each other's best match; and
   - the best beats the runner-up by at least MARGIN (0.10), both among the pledge's
     candidates and among the row's.
   One changed word in a 19-word pledge (the programme's mean) scores 0.95, a 6-word clause
   cut from it 0.81; the two most alike different pledges of the 2021-2025 edition score 0.70
   (tests/test_ids_wiring.py checks that no two of its pledges reach the threshold).
3. Everything else gets a fresh id `<section id>-N`, N one past the highest N the ledger has
   ever held for that section id, so a retired id is never given to another pledge.
4. Live rows with no pledge are retired. Their links land on their section: by section id,
   else by title (when unique), else where most of that section's other pledges went (renamed),
   else the top of the programme. A landing set by hand to a successor pledge is kept while it
   still leads to a pledge or section, following successors that were retired in turn.
   Section ids that vanished get landings the same way.

`assign` is pure and deterministic: the same programme and ledger give the same ids on every
start. `apply` renames the pledges; `update_ledger` is `python -m qa ids update`. This module
does not know about settings, logging or the web page.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path

from corpus.ledger import Row, read_ledger, write_ledger
from corpus.model import Part, Programme, Section

THRESHOLD = 0.75
MARGIN = 0.10
TOP = ""  # the landing of an id that has nowhere better to go: the top of the programme

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The text's words as compared: NFKC, casefolded, without punctuation."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def similarity(a: str, b: str) -> float:
    """Word similarity of two texts, 0..1 (difflib ratio over `words`)."""
    return SequenceMatcher(None, words(a), words(b), autojunk=False).ratio()


@dataclass(frozen=True)
class Outcome:
    """What happened to one id: "kept", "edited" (kept after a light edit), "new" or "retired"."""

    kind: str
    id: str
    text: str  # the pledge's text now; for a retired id, its last text
    old_text: str = ""  # for "edited": the text the ledger had
    similarity: float | None = None  # for "edited"
    lands: str = ""  # for "retired": where its links go
    revived: bool = False  # for "kept": the id had been retired
    moved_from: str = ""  # for "kept" and "edited": the ledger's section title, when it was another section
    section: str = ""  # the pledge's section title now (for a retired id, its last)


@dataclass(frozen=True)
class Assignment:
    """The ids `assign` gave a programme, and the ledger that records them."""

    ids: tuple[str, ...]  # the stable id of each pledge, in programme order
    outcomes: tuple[Outcome, ...]  # the pledges' in programme order, then the ids retired now
    rows: tuple[Row, ...]  # the new ledger
    aliases: tuple[tuple[str, str], ...]  # every retired pledge id and vanished section id -> landing

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    @property
    def unseen(self) -> list[Outcome]:
        """Outcomes the ledger does not record yet: edits, new pledges and ids retired now."""
        return [o for o in self.outcomes if o.kind != "kept" or o.revived]


def initial_rows(programme: Programme) -> list[Row]:
    """A first ledger: every pledge with the id the parser gave it, so no existing id changes."""
    return [Row(p.id, p.text, p.section_id, p.section) for p in programme.pledges]


def assign(programme: Programme, ledger: list[Row]) -> Assignment:
    """Stable ids for a freshly parsed programme (positional ids) from its ledger.

    Args:
        programme: as `corpus.parse` returns it.
        ledger: the rows of the programme's ledger (`corpus.ledger.read_ledger`).

    Returns:
        The ids in programme order, what happened to each id, the new ledger rows and the
        landings of every retired id.
    """
    pledges = programme.pledges
    live = [r for r in ledger if not r.retired]
    match: dict[int, Row] = {}  # pledge index -> ledger row
    scores: dict[int, float] = {}

    # 1. exact text, same section first
    by_text: dict[str, list[Row]] = defaultdict(list)
    for row in live + [r for r in ledger if r.retired]:
        by_text[row.text].append(row)
    for wanted in (True, False):
        for i, p in enumerate(pledges):
            rows = by_text.get(p.text)
            if i in match or not rows:
                continue
            row = next((r for r in rows if not wanted or r.section_id == p.section_id), None)
            if row is not None:
                match[i] = row
                rows.remove(row)

    # 2. light edits: mutual best, above the threshold, clear of the runner-up
    used = {r.id for r in match.values()}
    rest_new = [i for i in range(len(pledges)) if i not in match]
    rest_old = [r for r in live if r.id not in used]
    for i, row, score in _edits([pledges[i].text for i in rest_new], [r.text for r in rest_old]):
        match[rest_new[i]], scores[rest_new[i]] = rest_old[row], score

    # 3. fresh ids
    taken = {r.id for r in ledger} | {s.id for s in programme.sections} | {p.id for p in programme.parts}
    ids, outcomes = [], []
    for i, p in enumerate(pledges):
        row = match.get(i)
        moved = row.section if row is not None and row.section_id != p.section_id else ""
        if row is None:
            pid = _fresh(p.section_id, taken)
            outcomes.append(Outcome("new", pid, p.text, section=p.section))
        elif i in scores:
            pid = row.id
            outcomes.append(
                Outcome("edited", pid, p.text, row.text, round(scores[i], 3), moved_from=moved, section=p.section)
            )
        else:
            pid = row.id
            outcomes.append(Outcome("kept", pid, p.text, revived=row.retired, moved_from=moved, section=p.section))
        taken.add(pid)
        ids.append(pid)

    # 4. retire what is left, and land every retired id
    matched_ids = {r.id for r in match.values()}
    now_retired = [r for r in live if r.id not in matched_ids]
    gone = [r for r in ledger if r.retired and r.id not in matched_ids] + now_retired
    find = _section_finder(programme, match)
    lands = _landings(programme, set(ids), find, gone)
    outcomes += [Outcome("retired", r.id, r.text, lands=lands[r.id], section=r.section) for r in now_retired]
    rows = [Row(pid, p.text, p.section_id, p.section) for pid, p in zip(ids, pledges, strict=True)]
    rows += [replace(r, retired=True, lands=lands[r.id]) for r in gone]
    anchors = set(programme.sections_by_id) | {p.id for p in programme.parts} | set(ids)
    aliases = [(r.id, lands[r.id]) for r in gone if r.id not in anchors]
    aliases += _section_aliases(find, ledger, anchors | {r.id for r in gone})
    return Assignment(tuple(ids), tuple(outcomes), tuple(rows), tuple(aliases))


def _edits(new: list[str], old: list[str]) -> list[tuple[int, int, float]]:
    """(new index, old index, similarity) of each pair that passes rule 2."""
    if not new or not old:
        return []
    old_words = [words(t) for t in old]
    floor = THRESHOLD - MARGIN  # below this a score can be neither a match nor a close runner-up
    sim = [[0.0] * len(old) for _ in new]
    for i, text in enumerate(new):
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(words(text))
        for j, ws in enumerate(old_words):
            matcher.set_seq1(ws)
            if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor:
                sim[i][j] = matcher.ratio()
    out = []
    for i, row in enumerate(sim):
        j = max(range(len(old)), key=row.__getitem__)
        column = [sim[k][j] for k in range(len(new))]
        if (
            row[j] >= THRESHOLD
            and max(range(len(new)), key=column.__getitem__) == i
            and row[j] - _runner_up(row, j) >= MARGIN
            and column[i] - _runner_up(column, i) >= MARGIN
        ):
            out.append((i, j, row[j]))
    return out


def _runner_up(values: list[float], best: int) -> float:
    return max((v for k, v in enumerate(values) if k != best), default=0.0)


def _fresh(slug: str, taken: set[str]) -> str:
    """`slug-N` with N past every N the ledger and this run have used for `slug`."""
    pattern = re.compile(re.escape(slug) + r"-(\d+)")
    n = 1 + max((int(m.group(1)) for t in taken if (m := pattern.fullmatch(t))), default=0)
    while f"{slug}-{n}" in taken:
        n += 1
    return f"{slug}-{n}"


def _landings(programme: Programme, live_pledges: set[str], find, gone: list[Row]) -> dict[str, str]:
    """Where each retired row's links land (rule 4)."""
    own = {r.id: r for r in gone}

    def land(row: Row, seen: set[str]) -> str:
        target = row.lands
        if target in live_pledges or target in programme.sections_by_id:
            return target
        if target in own and target not in seen:  # a successor retired in its turn
            return land(own[target], seen | {target})
        return find(row.section_id, row.section)

    return {r.id: land(r, {r.id}) for r in gone}


def _section_finder(programme: Programme, match: dict[int, Row]):
    """A function (old section id, old title) -> the section its links land on now, or TOP."""
    by_title: dict[str, list[str]] = defaultdict(list)
    for s in programme.sections:
        by_title[s.title].append(s.id)
    went: dict[str, Counter] = defaultdict(Counter)  # old section id -> new section ids of its pledges
    order = {s.id: n for n, s in enumerate(programme.sections)}
    for i, row in match.items():
        went[row.section_id][programme.pledges[i].section_id] += 1

    def find(section_id: str, title: str) -> str:
        if section_id in programme.sections_by_id:
            return section_id
        if len(by_title.get(title, ())) == 1:
            return by_title[title][0]
        if went.get(section_id):
            return min(went[section_id].items(), key=lambda kv: (-kv[1], order[kv[0]]))[0]
        return TOP

    return find


def _section_aliases(find, ledger: list[Row], taken: set[str]) -> list[tuple[str, str]]:
    """Landings for the ledger's section ids that no section (or other anchor) has any more."""
    out: dict[str, str] = {}
    for row in ledger:
        if row.section_id and row.section_id not in taken and row.section_id not in out:
            out[row.section_id] = find(row.section_id, row.section)
    return list(out.items())


def apply(programme: Programme, assignment: Assignment) -> Programme:
    """The programme with its pledges renamed to the assigned ids and the retired ids as aliases."""
    new_ids = iter(assignment.ids)
    parts = []
    for part in programme.parts:
        sections = []
        for s in part.sections:
            pledges = tuple(replace(p, id=next(new_ids)) for p in s.pledges)
            sections.append(Section(s.id, s.title, s.part, s.part_id, s.page, s.intro, pledges))
        parts.append(Part(part.id, part.title, part.page, tuple(sections)))
    return replace(programme, parts=tuple(parts), aliases=assignment.aliases)


def with_ledger(programme: Programme, path: str | Path | None) -> tuple[Programme, Assignment | None]:
    """The programme with the ids of the ledger at `path` applied, and how they were assigned;
    unchanged (positional ids) and None when `path` is None or no file. Raises `LedgerError`."""
    if path is None or not Path(path).is_file():
        return programme, None
    assignment = assign(programme, read_ledger(path))
    return apply(programme, assignment), assignment


def update_ledger(programme: Programme, path: str | Path, *, write: bool = True) -> tuple[Assignment, str]:
    """Assign ids against the ledger at `path` and write it back; returns what happened, as text.

    With no ledger yet, the first one records the parser's positional ids. Raises
    `corpus.ledger.LedgerError` when the ledger cannot be read or written.
    """
    path = Path(path)
    if path.is_file():
        assignment = assign(programme, read_ledger(path))
        text = describe(assignment, {s.title for s in programme.sections})
    else:
        rows = tuple(initial_rows(programme))
        outcomes = tuple(Outcome("new", r.id, r.text) for r in rows)
        assignment = Assignment(tuple(r.id for r in rows), outcomes, rows, ())
        text = f"no ledger at {path} yet: a first one records the {len(rows)} pledges' positional ids"
    if write:
        write_ledger(path, list(assignment.rows))
    return assignment, text + (f"\nwrote {path}" if write else "\n(dry run: nothing written)")


def describe(assignment: Assignment, sections_now: set[str] = frozenset()) -> str:
    """What happened to each id, for `python -m qa ids update`: changes first, then a count line.
    `sections_now` are the programme's section titles, to tell a renamed section from moves."""
    lines = []
    for o in assignment.of("edited"):
        lines += [
            f"edited   {o.id}  (similarity {o.similarity:.2f})",
            f"         was: {o.old_text}",
            f"         now: {o.text}",
        ]
    lines += [f"new      {o.id}  {o.text}" for o in assignment.of("new")]
    for o in assignment.of("retired"):
        lines.append(f"retired  {o.id}  -> {'#' + o.lands if o.lands else 'top of the programme'}  {o.text}")
    lines += [f"revived  {o.id}  {o.text}" for o in assignment.of("kept") if o.revived]
    lines += _moves(assignment, sections_now)
    counts = Counter(o.kind for o in assignment.outcomes)
    moved = sum(1 for o in assignment.outcomes if o.moved_from)
    lines.append(
        f"{counts['kept']} kept, {counts['edited']} kept after an edit, {counts['new']} new, {counts['retired']} retired"
        + (f"; {moved} of those kept in another section than before" if moved else "")
    )
    return "\n".join(lines)


def _moves(assignment: Assignment, sections_now: set[str]) -> list[str]:
    """Pledges now in another section: a section whose title is gone and whose pledges all went to
    one new title is one "renamed" line; any other move is a line per pledge."""
    moves: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in assignment.outcomes:
        if o.moved_from:
            moves[(o.moved_from, o.section)].append(o)
    destinations = Counter(old for old, _ in moves)
    lines = []
    for (old, new), outcomes in moves.items():
        if old not in sections_now and destinations[old] == 1:
            lines.append(f"renamed  section {old!r} -> {new!r}  ({len(outcomes)} pledges kept their ids)")
        else:
            lines += [f"moved    {o.id}  {old!r} -> {new!r}" for o in outcomes]
    return lines
