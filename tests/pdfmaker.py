"""Build test PDFs with fpdf2: one or two columns, running headers, printed page numbers,
footnotes, superscript markers, image-only pages, encryption.

Every line is drawn at a fixed position and never wrapped, so a test knows exactly which
words end which line. `^{1}` inside a line draws "1" as a small raised footnote marker.
`render_programme_text` draws a programme text file (the parser's conventions) page for page.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = FONT_DIR / "DejaVuSans.ttf"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
_SUP = re.compile(r"\^\{([^}]*)\}")


def require_font() -> None:
    """Skip without DejaVu (fonts-dejavu-core); in CI, where .ci/run installs it, fail instead."""
    if not FONT.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{FONT} is missing; .ci/run installs fonts-dejavu-core")
        pytest.skip(f"{FONT} is missing (apt-get install fonts-dejavu-core)")


@dataclass
class Page:
    """One page. `lines` is the only column, or the left one when `right` is given."""

    lines: list[str] = field(default_factory=list)
    right: list[str] = field(default_factory=list)
    title: str = ""  # a full-width heading above the columns
    footnotes: list[str] = field(default_factory=list)  # small type at the bottom
    image_only: bool = False  # a scanned page: one picture, no text layer
    numbered: bool = True  # False: no printed page number on it, even when the layout numbers pages


@dataclass
class Layout:
    size: float = 9.0
    leading: float = 11.0
    width: float = 595.0
    height: float = 842.0
    margin: float = 50.0
    header: str = ""  # running header on every page
    first_number: int | None = None  # printed page number of physical page 1; None: unnumbered
    number_format: str = "{n}"
    gutter: float = 24.0
    interleave: bool = False  # draw two columns row by row, as some exporters do, not column by column


def render(pages: list[Page], path: Path, layout: Layout | None = None, *, password: str | None = None) -> Path:
    """Write `pages` to `path` as a PDF and return the path."""
    from fpdf import FPDF

    require_font()
    lay = layout or Layout()
    pdf = FPDF(unit="pt", format=(lay.width, lay.height))
    pdf.set_auto_page_break(False)
    pdf.set_margins(lay.margin, lay.margin)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(BOLD))
    if password is not None:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    for index, page in enumerate(pages):
        pdf.add_page()
        if page.image_only:
            _scan(pdf, lay)
            continue
        y = lay.margin
        if lay.header:
            _line(pdf, lay.margin, y - 20, lay.header, lay.size - 2)
        if page.title:
            pdf.set_font("DejaVu", "B", lay.size + 3)
            pdf.text(lay.margin, y + lay.size + 3, page.title)
            y += 2 * lay.leading
        if page.right:
            column = (lay.width - 2 * lay.margin - lay.gutter) / 2
            if lay.interleave:
                for row in range(max(len(page.lines), len(page.right))):
                    y += lay.leading
                    for x, lines in ((lay.margin, page.lines), (lay.margin + column + lay.gutter, page.right)):
                        if row < len(lines) and lines[row]:
                            _line(pdf, x, y, lines[row], lay.size)
            else:
                _column(pdf, lay, page.lines, lay.margin, y)
                _column(pdf, lay, page.right, lay.margin + column + lay.gutter, y)
        else:
            _column(pdf, lay, page.lines, lay.margin, y)
        foot = lay.height - lay.margin - len(page.footnotes) * (lay.size - 1)
        for note in page.footnotes:
            _line(pdf, lay.margin, foot, note, lay.size - 3)
            foot += lay.size - 1
        if lay.first_number is not None and page.numbered:
            number = lay.number_format.format(n=lay.first_number + index)
            _line(pdf, lay.width / 2, lay.height - lay.margin / 2, number, lay.size - 1)
    pdf.output(str(path))
    return path


def _column(pdf, lay: Layout, lines: list[str], x: float, y: float) -> None:
    for text in lines:
        y += lay.leading
        if text:
            _line(pdf, x, y, text, lay.size)


def _line(pdf, x: float, y: float, text: str, size: float) -> None:
    """Draw one line at baseline `y`; `^{...}` parts small and raised."""
    for i, piece in enumerate(_SUP.split(text)):
        if not piece:
            continue
        small = i % 2 == 1
        pdf.set_font("DejaVu", "", size * 0.6 if small else size)
        pdf.text(x, y - size * 0.35 if small else y, piece)
        x += pdf.get_string_width(piece)


def _scan(pdf, lay: Layout) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("L", (400, 560), 255)
    draw = ImageDraw.Draw(image)
    for row in range(40, 520, 16):
        draw.line((30, row, 370, row), fill=0, width=3)  # lines of "print", only as pixels
    pdf.image(image, x=lay.margin, y=lay.margin, w=lay.width - 2 * lay.margin)


# ------------------------------------------------------------------ the programme itself

_URL = re.compile(r"^(https?://|www\.)\S*$", re.IGNORECASE)
_NUMBER = re.compile(r"^\d{1,4}$")


def programme_pages(text: str) -> tuple[list[Page], list[int | None]]:
    """Split a programme text file into pages by the parser's rules (a line starting with one
    space, or the line after a printed page number, starts a page). Returns the pages (URL
    lines as footnotes) and the printed number each page carried, or None."""
    pages: list[Page] = [Page()]
    numbers: list[int | None] = [None]
    seen = pending = False
    for raw in text.splitlines():
        content = " ".join(raw.split())
        if _URL.match(content):
            pages[-1].footnotes.append(content)
            continue
        if _NUMBER.match(content):
            numbers[-1] = int(content)
            pending = True
            continue
        marked = raw.startswith(" ") and not raw.startswith("  ") and content != ""
        if content and seen and (marked or pending):
            pages.append(Page())
            numbers.append(None)
        if content:
            seen, pending = True, False
        pages[-1].lines.append(content)
    for page in pages:  # blank lines around a page break carry nothing
        while page.lines and not page.lines[-1]:
            page.lines.pop()
    return pages, numbers


def render_programme_text(text: str, path: Path) -> Path:
    """Draw a programme text page for page, with a running header and printed page numbers
    on every page (counted from the one the text carries)."""
    from fpdf import FPDF

    require_font()
    pages, numbers = programme_pages(text)
    anchor = next(((i, n) for i, n in enumerate(numbers) if n is not None), (0, 1))
    measure = FPDF(unit="pt")
    measure.add_font("DejaVu", "", str(FONT))
    measure.set_font("DejaVu", "", 9)
    widest = max(measure.get_string_width(line) for page in pages for line in page.lines)
    measure.set_font("DejaVu", "", 6)
    widest = max([widest] + [measure.get_string_width(u) for page in pages for u in page.footnotes])
    tallest = max(len(page.lines) + len(page.footnotes) for page in pages)
    layout = Layout(
        width=widest + 100,
        height=tallest * 11 + 160,
        header="MDG Bærum · Program 2023–2027",
        first_number=anchor[1] - anchor[0],
    )
    return render(pages, path, layout)
