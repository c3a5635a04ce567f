"""Turn the lines read from a PDF (`corpus.pdf`) into programme text for `corpus.parse`.

The conventions are those of corpus/mdg-baerum-program.txt: the first line of a page starts
with one space, a printed page number stands alone on the last line of its page, a blank
line separates paragraphs, footnote URLs stand on lines of their own, bullets are "●".
On the way it expands ligature glyphs, marks unmapped glyphs U+FFFD (the parser repairs them
from the words of the text), joins words hyphenated at a line end while keeping real hyphens
("rekreasjons- og"), and cuts footnote numbers off URLs. Every change is noted.
"""

from __future__ import annotations

import re
from collections import Counter

from corpus.parse import BULLET, REPLACEMENT
from corpus.pdf import Line, PageText

LIGATURE_GLYPHS = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "ft"}
OTHER_BULLETS = "•▪■◆◦‣\uf0b7\uf0a7"  # \uf0b7: Word's Symbol-font bullet
# Words after which a line-end hyphen is a real one: "rekreasjons- og", "kjønns-, seksualitets- eller".
_KEEP_AFTER = {"og", "eller", "samt", "enn", "som", "til", "and", "or"}
_CID = re.compile(r"\(cid:\d+\)")
_FOOTNOTE_URL = re.compile(r"^(?:\d{1,3}|[¹²³⁴⁵⁶⁷⁸⁹⁰]+|[*†])?\s*((?:https?://|www\.)\S+)$", re.I)
_URL = re.compile(r"^(https?://|www\.)\S*$", re.I)
_WORD = re.compile(r"\w+")
_HYPHENATED = re.compile(r"\w+(?:-\w+)+")
_NUMBER = re.compile(r"^\d{1,4}$")


def programme_text(pages: list[PageText], notes: list[str]) -> tuple[str, list[int]]:
    """The programme text of `pages`, and the physical page of each of its lines; what was
    changed or guessed is appended to `notes`."""
    rows: list[tuple[int, Line]] = []  # (page number, line) after glyph and URL clean-up
    for page in pages:
        previous_url = False
        for line in page.lines:
            text = _glyphs(line.text, page.number, notes)
            url = _FOOTNOTE_URL.match(text)
            if url:
                if url.group(1) != text:
                    notes.append(f"page {page.number}: footnote number cut off URL {url.group(1)}")
                notes.append(f"page {page.number}: footnote URL {url.group(1)} (not part of any pledge)")
                text = url.group(1)
            elif previous_url and " " not in text and BULLET not in text and rows and line.size <= rows[-1][1].size:
                # The rest of a URL too long for its line.
                head = rows[-1][1]
                rows[-1] = (rows[-1][0], Line(head.text + text, head.top, line.bottom, head.size, head.gap_before))
                notes.append(f"page {page.number}: URL continued on the next line joined: {head.text + text}")
                continue
            previous_url = bool(url)
            rows.append((page.number, Line(text, line.top, line.bottom, line.size, line.gap_before)))
    _dehyphenate(rows, notes)

    out: list[str] = []
    where: list[int] = []  # physical page of each line of `out`
    by_page: dict[int, list[Line]] = {}
    numbered = any(page.printed is not None for page in pages)
    for number, line in rows:
        by_page.setdefault(number, []).append(line)
    for page in pages:
        lines = by_page.get(page.number, [])
        marked = False
        for line in lines:
            text = line.text
            if _NUMBER.match(text):
                notes.append(f"page {page.number}: a line holding only {text!r} (the parser would take it "
                             "for a page number) kept with the line before")
                if out and out[-1] and not _URL.match(out[-1]):
                    out[-1] += " " + text
                    continue
                text = "nr. " + text
            if line.gap_before and out and out[-1]:
                out.append("")
            if not marked and not _URL.match(text):
                text, marked = " " + text, True
            out.append(text)
        if page.printed is not None:
            out += ["", str(page.printed)]
        where += [page.number] * (len(out) - len(where))
        if not lines:
            notes.append(
                f"page {page.number}: no text; "
                + ("the pages after it are cited by their printed numbers" if numbered
                   else "citations after it count one page short (the PDF prints no page numbers)")
            )
    return "\n".join(out) + "\n", where


def _glyphs(text: str, page: int, notes: list[str]) -> str:
    """Expand ligature glyphs, mark unmapped glyphs, make every bullet "●"."""
    for glyph, letters in LIGATURE_GLYPHS.items():
        if glyph in text:
            for word in re.findall(rf"\w*{glyph}\w*", text):
                notes.append(f"page {page}: ligature {glyph!r} in {word!r} read as {word.replace(glyph, letters)!r}")
            text = text.replace(glyph, letters)
    if _CID.search(text):
        notes.append(f"page {page}: a glyph without a character ({_CID.search(text).group(0)}) in {text[:60]!r}")
        text = _CID.sub(REPLACEMENT, text)
    stripped = text.lstrip()
    if stripped and stripped[0] in OTHER_BULLETS:
        notes.append(f"page {page}: bullet {stripped[0]!r} read as {BULLET!r}")
        text = BULLET + " " + stripped[1:].lstrip()
    return text


def _dehyphenate(rows: list[tuple[int, Line]], notes: list[str]) -> None:
    """Join "miljø-" + "vennlig" across a line end; keep "rekreasjons- og" and "BPA-ordning"'s hyphen."""
    vocabulary = Counter(w.lower() for _, line in rows for w in _WORD.findall(line.text))
    hyphenated = Counter(w.lower() for _, line in rows for w in _HYPHENATED.findall(line.text))  # within a line
    prefixes = Counter(w.split("-", 1)[0] for w in hyphenated.elements())  # "ikke" of "ikke-kommersielle"
    for i in range(len(rows) - 1):
        page, line = rows[i]
        next_page, following = rows[i + 1]
        match = re.search(r"(\w+)-$", line.text)
        words = following.text.split(" ", 1)
        if not match or not words[0] or _URL.match(line.text) or following.gap_before:
            continue
        first = words[0]
        bare = re.match(r"\w+", first)
        if not bare or not first[0].islower() or bare.group(0).lower() in _KEEP_AFTER or BULLET in first:
            continue  # "rekreasjons- og", "rus- og/eller": a real hyphen before a conjunction
        head, tail = match.group(1), bare.group(0)
        joined = head + tail
        if vocabulary[joined.lower()]:
            word, why = joined, "found elsewhere"
        elif hyphenated[f"{head}-{tail}".lower()]:
            word, why = f"{head}-{tail}", "found elsewhere with its hyphen"
        elif head[-1].isupper() or head[-1].isdigit():
            word, why = f"{head}-{tail}", "hyphen kept after a capital or digit"
        elif prefixes[head.lower()]:
            word, why = f"{head}-{tail}", f"hyphen kept: '{head}-' is written with a hyphen elsewhere"
        else:
            word, why = joined, "guess"
        where = f"page {page}" if page == next_page else f"pages {page}-{next_page}"
        notes.append(f"{where}: hyphenation {head}- + {tail} joined as {word!r} ({why})")
        line.text = line.text[: match.start()] + word + first[len(tail) :]  # "vennlig," keeps its comma
        following.text = words[1] if len(words) > 1 else ""
    rows[:] = [(page, line) for page, line in rows if line.text]
