"""Parse the PDF text extraction of a programme into parts, sections and pledges.

The layout it understands (and nothing tied to line numbers of one edition):

- A section is a heading line, its intro paragraphs, a "Vi vil:" line, then bullets "●".
- A part heading is a heading line directly followed by a section heading.
- Text before the first heading is the foreword.
- A line starting with a single space starts a new page; a line holding only a number is
  a printed page number at the bottom of its page (and also ends that page). Printed page
  numbers anchor the page count, each from its own page on, so citations match what a reader
  sees in the PDF even past a page with no text.
- Footnote URLs on lines of their own are dropped, also in the middle of a wrapped bullet.
- A U+FFFD left by a broken ligature is repaired from the words of the text itself.

Where the structure is unclear the parser guesses, records a warning naming the line,
and carries on. Every "●" becomes exactly one pledge.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from corpus.model import Part, Pledge, Programme, Section

BULLET = "●"
REPLACEMENT = "\ufffd"
LIGATURES = ("ff", "fi", "fl", "ffi", "ffl", "ft")

_VI_VIL = re.compile(r"^vi vil\s*:$", re.IGNORECASE)
_URL = re.compile(r"^(https?://|www\.)\S*$", re.IGNORECASE)
_PAGE_NUMBER = re.compile(r"^\d{1,4}$")
_SENTENCE_END = re.compile(r"[.!?][\"'”»)]*$")
_WORD = re.compile(r"\w+")


@dataclass
class _Line:
    no: int  # 1-based line number in the source
    kind: str  # "text", "bullet", "vivil" or "blank"
    text: str
    page: int  # page index, 0 for the first page; shifted to printed numbers later


class _Unclear(Exception):
    """Internal: a section boundary the parser could not find."""


def parse_file(path: str | Path) -> Programme:
    """Parse a programme text file (UTF-8)."""
    return parse_text(Path(path).read_text(encoding="utf-8"))


def parse_text(text: str) -> Programme:
    """Parse programme text into a `Programme`.

    Args:
        text: the text extraction of the programme PDF.

    Returns:
        The programme; `Programme.warnings` lists every guess and `Programme.repairs` every
        repaired character, each naming its line.
    """
    warnings: list[str] = []
    repairs: list[str] = []
    lines = _tokenize(text, warnings, repairs)
    return replace(_build(lines, warnings), repairs=tuple(repairs))


# --------------------------------------------------------------------------- tokens


def _tokenize(text: str, warnings: list[str], repairs: list[str]) -> list[_Line]:
    """Classify lines, track pages, drop URLs and page numbers, repair ligatures."""
    vocabulary = Counter(w.lower() for w in _WORD.findall(text) if REPLACEMENT not in w)
    out: list[_Line] = []
    page = 0
    seen_content = False
    pending_break = False  # a printed page number ended the page
    printed: list[tuple[int, int, int]] = []  # (line no, page index, printed number)

    for no, raw in enumerate(text.splitlines(), start=1):
        raw = unicodedata.normalize("NFC", raw.replace("\t", " ")).rstrip()
        marked = raw.startswith(" ") and not raw.startswith("  ") and raw.strip() != ""
        content = " ".join(raw.split())
        if not content:
            out.append(_Line(no, "blank", "", page))
            continue
        if _URL.match(content):
            continue
        if _PAGE_NUMBER.match(content):
            printed.append((no, page, int(content)))
            pending_break = True
            continue
        if seen_content and (marked or pending_break):
            page += 1
        pending_break = False
        seen_content = True

        if REPLACEMENT in content:
            content = _repair(content, vocabulary, no, repairs)
        if _VI_VIL.match(content):
            out.append(_Line(no, "vivil", content, page))
            continue
        head, *bullets = content.split(BULLET)
        if head.strip():
            out.append(_Line(no, "text", head.strip(), page))
        for b in bullets:
            out.append(_Line(no, "bullet", b.strip(), page))

    # Each printed number anchors its own page and the unnumbered pages after it; pages before
    # the first take its offset. A number that disagrees with the count before it (a page with
    # no text, such as a blank back page, or one missing) moves the count from there on.
    anchors = [(0, 1)]  # (first page index, offset) in page order
    if printed:
        anchors = [(0, printed[0][2] - printed[0][1])]
        for no, index, number in printed[1:]:
            start, offset = anchors[-1]
            if number - index != offset:
                warnings.append(
                    f"line {no}: printed page number {number} is not the {index + offset} counted before it "
                    f"(a page without text, or one missing?); pages from there are cited by their printed numbers"
                )
                anchors.append((index, number - index))
    starts = [start for start, _ in anchors]
    for line in out:
        line.page += anchors[bisect.bisect_right(starts, line.page) - 1][1]
    return out


def _repair(content: str, vocabulary: Counter, no: int, repairs: list[str]) -> str:
    """Replace each U+FFFD by the ligature that makes a word found elsewhere in the text."""

    def fix(match: re.Match) -> str:
        word = match.group(0)
        best = max(LIGATURES, key=lambda lig: vocabulary[word.replace(REPLACEMENT, lig).lower()])
        if vocabulary[word.replace(REPLACEMENT, best).lower()] == 0:
            best = LIGATURES[0]
        fixed = word.replace(REPLACEMENT, best)
        repairs.append(f"line {no}: repaired broken ligature {word!r} -> {fixed!r}")
        return fixed

    return re.sub(rf"[\w{REPLACEMENT}]*{REPLACEMENT}[\w{REPLACEMENT}]*", fix, content)


# ------------------------------------------------------------------------ structure


def looks_like_heading(text: str) -> bool:
    """A short capitalised line without closing punctuation."""
    return (
        0 < len(text) <= 70
        and len(text.split()) <= 9
        and text[0].isupper()
        and not text.endswith((".", ",", ":", ";", "!", "?", "-", "–"))
    )


# Words a Norwegian (or English) heading does not end in: one that does goes on in the next line.
_OPEN_ENDED = frozenset(
    "i og for med til av på om fra mot ved en et ei de det som å eller samt the and of for in to with".split()
)


def _continues(lines: list[_Line], i: int) -> bool:
    """Whether the text line after `lines[i]` starts in lower case, so that `lines[i]` is the first
    line of a wrapped sentence (narrow columns make many such lines heading-shaped), not a heading."""
    after = next((line for line in lines[i + 1 :] if line.kind != "blank"), None)
    return after is not None and after.kind == "text" and after.text[:1].islower()


def _build(lines: list[_Line], warnings: list[str]) -> Programme:
    vivils = [i for i, line in enumerate(lines) if line.kind == "vivil"]
    if not vivils:
        warnings.append("line 1: no 'Vi vil:' line found; the text has no sections")

    # Each "Vi vil:" closes a region that holds the previous section's bullets, then the
    # next section's heading(s) and intro. The region before the first one holds the foreword.
    bounds = [-1, *vivils, len(lines)]
    foreword: list[_Line] = []
    sections: list[dict] = []
    # Sections before any part heading belong to an untitled part, dropped if it stays empty.
    current_part = {"title": "", "page": lines[0].page if lines else 1, "sections": []}
    parts: list[dict] = [current_part]

    for r, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        region = lines[start + 1 : stop]
        is_last = stop == len(lines)
        bullets_end = _split_point(region, warnings, stop_line=None if is_last else lines[stop])
        body, head = region[:bullets_end], region[bullets_end:]

        if r == 0:
            foreword = [line for line in body if line.kind != "bullet"]
            orphan = [line for line in body if line.kind == "bullet"]
            if orphan:
                warnings.append(f"line {orphan[0].no}: bullet before any 'Vi vil:'; kept in an untitled section")
                sections.append(_section_dict("Uten tittel", orphan[0].page, [], current_part, orphan[0].no))
        if sections:
            _add_bullets(sections[-1], body, warnings, r == 0)
        if is_last:
            trailing = [line for line in head if line.kind == "text"]
            if trailing:
                warnings.append(f"line {trailing[0].no}: text after the last pledge is not part of any pledge")
            break

        titles = [line for line in head if line.kind == "text"]
        if not titles:
            warnings.append(f"line {lines[stop].no}: 'Vi vil:' without a section heading")
            sections.append(
                _section_dict(f"Uten tittel (linje {lines[stop].no})", lines[stop].page, [], current_part, lines[stop].no)
            )
            continue
        first = titles[0]
        if len(titles) > 1 and looks_like_heading(titles[1].text) and not _continues(titles, 1):
            current_part = {"title": first.text, "page": first.page, "sections": []}
            parts.append(current_part)
            heading, intro_from = titles[1], head.index(titles[1]) + 1
        else:
            heading, intro_from = first, head.index(first) + 1
        sections.append(_section_dict(heading.text, heading.page, head[intro_from:], current_part, heading.no))
        for title in {heading.no: heading, first.no: first}.values():
            last = title.text.rsplit(maxsplit=1)[-1].casefold()
            if last in _OPEN_ENDED:
                warnings.append(
                    f"line {title.no}: heading {title.text!r} ends in {last!r}: a heading wrapped over two lines?"
                )

    parts = [part for part in parts if part["sections"] or part["title"]]
    for part in parts:
        for section in part["sections"]:
            if not section["pledges"]:
                warnings.append(f"line {section['line']}: section {section['title']!r} has no pledges")
    return _freeze(_paragraphs(foreword), parts, warnings)


def _split_point(region: list[_Line], warnings: list[str], stop_line: _Line | None) -> int:
    """Index in `region` where the last bullet's text ends and the next heading begins."""
    last_bullet = max((i for i, line in enumerate(region) if line.kind == "bullet"), default=-1)
    candidates = [
        i
        for i in range(last_bullet + 1, len(region))
        if region[i].kind == "text" and looks_like_heading(region[i].text) and not _continues(region, i)
    ]
    for i in candidates:
        before = next((line for line in reversed(region[:i]) if line.kind in ("text", "bullet")), None)
        if before is None or _SENTENCE_END.search(before.text):
            return i
    if candidates:
        i = candidates[0]
        warnings.append(f"line {region[i].no}: taken as a heading although the text before it does not end a sentence")
        return i
    if stop_line is None:
        return len(region)
    texts = [i for i in range(last_bullet + 1, len(region)) if region[i].kind == "text"]
    if texts and last_bullet < 0:
        # No heading-shaped line at all: keep the text as intro rather than lose it.
        warnings.append(f"line {region[texts[0]].no}: no heading found before 'Vi vil:' on line {stop_line.no}")
        return texts[0]
    return len(region)


def _section_dict(title: str, page: int, intro: list[_Line], part: dict, line_no: int) -> dict:
    section = {"title": title, "page": page, "intro": _paragraphs(intro), "pledges": [], "line": line_no}
    part["sections"].append(section)
    return section


def _add_bullets(section: dict, body: list[_Line], warnings: list[str], foreword: bool) -> None:
    """Append the bullets in `body`, each with the text lines that follow it."""
    current: dict | None = None
    for line in body:
        if line.kind == "bullet":
            current = {"page": line.page, "no": line.no, "words": [line.text] if line.text else []}
            section["pledges"].append(current)
        elif line.kind == "text" and current is not None:
            current["words"].append(line.text)
        elif line.kind == "text" and not foreword:
            warnings.append(f"line {line.no}: text between 'Vi vil:' and the first bullet is ignored")


def _paragraphs(lines: list[_Line]) -> list[str]:
    """Join text lines into paragraphs; a blank line ends a paragraph only after a full sentence."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.kind == "blank":
            if paragraphs[-1] and _SENTENCE_END.search(paragraphs[-1][-1]):
                paragraphs.append([])
        elif line.kind == "text":
            paragraphs[-1].append(line.text)
    return [" ".join(p) for p in paragraphs if p]


def slugify(text: str) -> str:
    """URL-safe, readable slug: "Miljø og forurensning" -> "miljo-og-forurensning"."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "seksjon"


def _freeze(foreword: list[str], parts: list[dict], warnings: list[str]) -> Programme:
    """Give every part, section and pledge its id, and freeze them.

    A section's id is the slug of its title; when that is taken (a title used before, in this
    part or another), the slug of its part and title, so both sections keep a readable id of
    their own. A pledge's id is its section's id and its number. Ids are allocated in reading
    order, each part's after its sections', so existing ids do not move when a later section
    repeats a title.
    """
    used: set[str] = set()

    def unique(slug: str) -> str:
        candidate, n = slug, 2
        while candidate in used:
            candidate, n = f"{slug}-{n}", n + 1
        used.add(candidate)
        return candidate

    frozen_parts = []
    for part in parts:
        sections = []  # (section id, section, pledge ids)
        for s in part["sections"]:
            slug = slugify(s["title"])
            if slug in used and part["title"]:
                slug = slugify(f"{part['title']} {s['title']}")
            sid = unique(slug)
            sections.append((sid, s, [unique(f"{sid}-{n}") for n in range(1, len(s["pledges"]) + 1)]))
        pid = unique(slugify(part["title"]) if part["title"] else "del")
        frozen_sections = []
        for sid, s, pledge_ids in sections:
            pledges = []
            for n, (pledge_id, p) in enumerate(zip(pledge_ids, s["pledges"]), start=1):
                text = " ".join(" ".join(p["words"]).split())
                if not text:
                    warnings.append(f"line {p['no']}: empty bullet")
                pledges.append(Pledge(pledge_id, part["title"], s["title"], n, p["page"], text, sid, pid))
            frozen_sections.append(
                Section(sid, s["title"], part["title"], pid, s["page"], tuple(s["intro"]), tuple(pledges))
            )
        frozen_parts.append(Part(pid, part["title"], part["page"], tuple(frozen_sections)))
    return Programme(tuple(foreword), tuple(frozen_parts), tuple(warnings))
