"""Read a PDF into lines of text per page, in reading order, with what was guessed.

Uses pdfplumber (MIT) for the words and their positions, not the order they were drawn in,
so columns drawn row by row still read column by column. Per page it finds two columns by
an empty vertical gutter (a line crossing it, such as a title, is read whole where it
stands), drops small raised footnote markers, takes a lone number at the top or bottom of a
page as the printed page number, and drops running headers and footers repeated on many
pages. It knows nothing of pledges or hyphenation: `corpus.pdftext` makes programme text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from corpus.errors import ImportFailure

_PAGE_NO = re.compile(r"^(?:side\s+|s\.\s*|page\s+)?[-–—]?\s*(\d{1,4})\s*[-–—]?(?:\s*(?:/|av|of)\s*\d{1,4})?$", re.I)
_MARKER = re.compile(r"^(\d{1,2}|[*†‡]|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)$")
MIN_GUTTER = 10.0  # points of empty space between two columns


@dataclass
class Line:
    text: str
    top: float
    bottom: float
    size: float  # font size of most of its characters
    gap_before: bool = False  # at least a blank line's worth of space above it in its column


@dataclass
class PageText:
    number: int  # physical page, from 1
    lines: list[Line]
    printed: int | None = None  # the page number printed on it
    columns: int = 1
    notes: list[str] = field(default_factory=list)  # what was guessed on this page


def read_pdf(path: str | Path) -> list[PageText]:
    """Every page's lines in reading order, headers, footers and page numbers taken out.

    Raises:
        ImportFailure: not a PDF, unreadable, encrypted, or without any text layer.
    """
    import pdfplumber
    from pdfplumber.utils.exceptions import PdfminerException

    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except OSError as exc:
        raise ImportFailure(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"%PDF-" not in head:
        raise ImportFailure(f"{path} is not a PDF (it does not start with %PDF-)")
    try:
        with pdfplumber.open(path) as pdf:
            raw = [(_words(page), bool(page.images)) for page in pdf.pages]
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if type(cause).__name__ == "PDFPasswordIncorrect":
            raise ImportFailure(f"{path} is encrypted; export it again without a password") from None
        raise ImportFailure(f"{path} is not a readable PDF ({type(cause).__name__}: {cause})") from None
    except Exception as exc:  # pdfminer raises many kinds on damaged files; only reading is in here
        raise ImportFailure(f"{path} is not a readable PDF ({type(exc).__name__}: {exc})") from None
    pages = [_layout(i, words, images) for i, (words, images) in enumerate(raw, start=1)]
    if not pages:
        raise ImportFailure(f"{path} has no pages")
    if not any(p.lines for p in pages):
        raise ImportFailure(f"{path} has no text layer (a scan?); run it through OCR first")
    _margins(pages)
    return pages


def _words(page) -> list[dict]:
    """The page's words with their positions and font size, ligature glyphs as drawn."""
    return page.extract_words(extra_attrs=["size"], expand_ligatures=False, keep_blank_chars=False)


def _layout(number: int, words: list[dict], images: bool) -> PageText:
    """One page's words as lines in reading order."""
    result = PageText(number, [])
    if not words:
        if images:
            result.notes.append(f"page {number}: no text, only images (a scanned or picture page)")
        return result
    gutter = _gutter(words)
    rows = _rows(words)
    if gutter is None:
        blocks = [rows]
    else:
        result.columns = 2
        blocks = _by_columns(rows, gutter)
    for b, block in enumerate(blocks):
        previous: Line | None = None
        for row in block:
            line = _line(row, number, result.notes)
            if line is None:
                continue
            if previous is None:
                line.gap_before = b > 0  # a new column or a line across both
            elif line.top - previous.bottom > 0.8 * previous.size:
                line.gap_before = True
            result.lines.append(line)
            previous = line
    return result


def _rows(words: list[dict]) -> list[list[dict]]:
    """Words grouped into rows by vertical overlap, top to bottom."""
    rows: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (w["top"], w["x0"])):
        mid = (w["top"] + w["bottom"]) / 2
        for row in reversed(rows[-3:]):
            top, bottom = min(r["top"] for r in row), max(r["bottom"] for r in row)
            if top <= mid <= bottom:
                row.append(w)
                break
        else:
            rows.append([w])
    return [sorted(row, key=lambda w: w["x0"]) for row in rows]


def _gutter(words: list[dict]) -> tuple[float, float] | None:
    """The empty vertical strip between two columns, if the page has two."""
    lo, hi = min(w["x0"] for w in words), max(w["x1"] for w in words)
    if hi - lo < 200 or len(words) < 20:
        return None
    cover = Counter()
    for w in words:
        for x in range(int(w["x0"]), int(w["x1"]) + 1):
            cover[x] += 1
    # The clearest strip wins: one no word covers, else one only a few lines across both
    # columns (a title) cover, each with one word at any point.
    middle = range(int(lo + 0.3 * (hi - lo)), int(lo + 0.7 * (hi - lo)) + 1)
    best: tuple[float, float] | None = None
    for allowed in range(4):
        start = None
        for x in [*middle, None]:
            if x is not None and cover[x] <= allowed:
                start = x if start is None else start
                continue
            if start is not None:
                end = middle[-1] if x is None else x
                if end - start >= MIN_GUTTER and (best is None or end - start > best[1] - best[0]):
                    best = (start, end)
                start = None
        if best is not None:
            break
    if best is None:
        return None
    left = sum(1 for w in words if w["x1"] <= best[0] + 1)
    right = sum(1 for w in words if w["x0"] >= best[1] - 1)
    if min(left, right) < 0.2 * len(words):
        return None
    return best


def _by_columns(rows: list[list[dict]], gutter: tuple[float, float]) -> list[list[list[dict]]]:
    """Rows in reading order: a row crossing the gutter alone, between them the left column
    then the right."""
    blocks: list[list[list[dict]]] = []
    left: list[list[dict]] = []
    right: list[list[dict]] = []

    def flush() -> None:
        if left:
            blocks.append(list(left))
        if right:
            blocks.append(list(right))
        left.clear()
        right.clear()

    for row in rows:
        if any(w["x0"] < gutter[1] - 1 and w["x1"] > gutter[0] + 1 for w in row):
            flush()
            blocks.append([row])
            continue
        a = [w for w in row if w["x1"] <= gutter[0] + 1]
        b = [w for w in row if w["x0"] >= gutter[1] - 1]
        if a:
            left.append(a)
        if b:
            right.append(b)
    flush()
    return blocks


def _line(row: list[dict], page: int, notes: list[str]) -> Line | None:
    """One row as a line; small raised numbers next to larger text are footnote markers, dropped."""
    size = max(w["size"] for w in row)
    kept = []
    for w in row:
        if w["size"] < 0.8 * size and _MARKER.match(w["text"]) and kept:
            notes.append(f"page {page}: footnote marker {w['text']!r} after {kept[-1]['text']!r} dropped")
            continue
        kept.append(w)
    if not kept:
        return None
    sizes = Counter(round(w["size"], 1) for w in kept for _ in w["text"])
    return Line(
        " ".join(w["text"] for w in kept),
        min(w["top"] for w in kept),
        max(w["bottom"] for w in kept),
        sizes.most_common(1)[0][0],
    )


# ------------------------------------------------------------------ headers, footers, numbers


def _margins(pages: list[PageText]) -> None:
    """Take printed page numbers and running headers/footers out of every page's lines."""
    for page in pages:
        for line in _edge_lines(page):
            match = _PAGE_NO.match(line.text)
            if match and page.printed is None:
                page.printed = int(match.group(1))
                page.lines.remove(line)
    texts = Counter()
    for page in pages:
        for key in {_shape(line.text) for line in _edge_lines(page)}:
            texts[key] += 1
    running = {k for k, n in texts.items() if n >= 2 and n >= 0.4 * len(pages)}
    removed: dict[str, list[int]] = {}
    for page in pages:
        for line in _edge_lines(page):
            if _shape(line.text) in running:
                page.lines.remove(line)
                removed.setdefault(line.text, []).append(page.number)
    for text, numbers in removed.items():
        pages[numbers[0] - 1].notes.append(f"running header/footer {text!r} removed on pages {page_ranges(numbers)}")


def _edge_lines(page: PageText) -> list[Line]:
    """Up to two lines at the top and at the bottom of a page that stand apart from the body."""
    lines = sorted(page.lines, key=lambda line: line.top)
    edge: list[Line] = []
    for i in range(min(2, len(lines) - 1)):  # from the top down
        if lines[i + 1].top - lines[i].bottom < lines[i].size:
            break
        edge.append(lines[i])
    for i in range(len(lines) - 1, max(len(lines) - 3, 0), -1):  # from the bottom up
        if lines[i].top - lines[i - 1].bottom < lines[i].size:
            break
        if lines[i] not in edge:
            edge.append(lines[i])
    return edge


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split()).lower())


def page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> "1-3, 5"."""
    out: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(f"{start}-{prev}" if prev != start else f"{start}")
        if n is not None:
            start = prev = n
    return ", ".join(out)
