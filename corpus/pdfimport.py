"""Import a programme PDF: read it, make programme text, parse it, and report for checking.

`import_pdf` does the work and refuses what cannot be a programme; `format_report` says what
party staff should check before the text replaces corpus/mdg-baerum-program.txt: the parts
and sections found, pledge counts, printed against physical pages, every guess made reading
the PDF and by the parser (its warnings and repairs, by line of the text and page of the
PDF), and pledges that look merged or split. `corpus.files` writes the text.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import ImportFailure
from corpus.model import Programme
from corpus.parse import parse_text
from corpus.pdf import PageText, read_pdf
from corpus.pdf import page_ranges as _ranges
from corpus.pdftext import programme_text

_SENTENCE_END = re.compile(r"[.!?:;][\"'”»)]*$")
_MERGED = re.compile(r"[.!?] [a-zæøå]")
_ABBREVIATION = re.compile(r"\b(bl\.a|f\.eks|o\.l|m\.m|m\.v|ca|evt|inkl|pga|osv|dvs|mht|jf|nr|kr|ev)\.$", re.I)


@dataclass(frozen=True)
class Imported:
    source: Path
    pages: tuple[PageText, ...]
    text: str  # the programme text, in the conventions corpus.parse reads
    line_pages: tuple[int, ...]  # physical PDF page of each line of `text`
    programme: Programme
    notes: tuple[str, ...]  # what was guessed or changed reading the PDF


def import_pdf(path: str | Path) -> Imported:
    """Read a programme PDF and parse it.

    Raises:
        ImportFailure: not a PDF, encrypted, no text layer, or no "Vi vil:" block.
    """
    path = Path(path)
    pages = read_pdf(path)
    notes = [note for page in pages for note in page.notes]
    text, line_pages = programme_text(pages, notes)
    programme = parse_text(text)
    if not programme.pledges:
        raise ImportFailure(f"{path} has no 'Vi vil:' block with bullets; is it a party programme?")
    return Imported(path, tuple(pages), text, tuple(line_pages), programme, tuple(notes))


def suspicious_pledges(programme: Programme) -> list[str]:
    """Pledges that look like two run together, or like part of one."""
    lengths = [len(p.text) for p in programme.pledges]
    long = 3 * statistics.median(lengths) if lengths else 0
    out = []
    for p in programme.pledges:
        where = f"{p.id} (p. {p.page})"
        merged = next((m for m in _MERGED.finditer(p.text) if not _ABBREVIATION.search(p.text[: m.start() + 1])), None)
        if merged:
            out.append(f"{where}: a sentence ends and a lowercase one starts inside it (two pledges merged?): "
                       f"{_excerpt(p.text, merged.start())}")
        elif len(p.text) > max(long, 400):
            out.append(f"{where}: {len(p.text)} characters, over three times the usual length (merged?)")
        if not _SENTENCE_END.search(p.text):
            out.append(f"{where}: does not end a sentence (split, or cut short?): ...{p.text[-50:]!r}")
        elif len(p.text.split()) < 2:
            out.append(f"{where}: one word (split from the one before?): {p.text!r}")
    return out


def format_report(imported: Imported) -> str:
    """What staff should check, as plain text."""
    prog, pages = imported.programme, imported.pages
    two = [p.number for p in pages if p.columns == 2]
    plist = [p.page for p in prog.pledges]
    out = [
        f"{imported.source}: {len(pages)} pages" + (f", two columns on pages {_ranges(two)}" if two else ", one column"),
        f"{len(prog.parts)} parts, {len(prog.sections)} sections, {len(prog.pledges)} pledges"
        + (f", cited pages {min(plist)}-{max(plist)}" if plist else ""),
        "",
        "Parts and sections (headings as read: a part is a heading right above a section's heading):",
    ]
    for part in prog.parts:
        out.append(f"  {part.title or '(no part heading)'}  [p. {part.page}]")
        for s in part.sections:
            out.append(f"      {s.title}  [p. {s.page}]  {len(s.pledges)} pledges")
    out += ["", "Pages:", *("  " + line for line in _page_lines(pages) + _empty_pages(pages))]
    out += _listed("Read from the PDF (changes and guesses)", list(imported.notes))
    out += _listed("Parser warnings", [_with_page(w, imported.line_pages) for w in prog.warnings])
    out += _listed("Parser repairs", [_with_page(r, imported.line_pages) for r in prog.repairs])
    out += _listed("Pledges to check", suspicious_pledges(prog))
    return "\n".join(out)


def _page_lines(pages: tuple[PageText, ...]) -> list[str]:
    numbered = [p for p in pages if p.printed is not None]
    if not numbered:
        return ["no printed page numbers found: pages are cited by their physical number (1 = first page)"]
    offsets = Counter(p.printed - p.number for p in numbered)
    offset = numbered[0].printed - numbered[0].number
    out = [
        f"printed page numbers on {len(numbered)} of {len(pages)} pages; "
        f"printed = physical {'+' if offset >= 0 else '-'} {abs(offset)} (from physical page {numbered[0].number})"
    ]
    missing = [p.number for p in pages if p.printed is None]
    if missing:
        out.append(f"no printed number on physical pages {_ranges(missing)}")
    if len(offsets) > 1:
        for p in numbered:
            if p.printed - p.number != offset:
                out.append(f"physical page {p.number} is printed {p.printed}, expected {p.number + offset}; "
                           "citations follow the printed numbers")
    return out


def _empty_pages(pages: tuple[PageText, ...]) -> list[str]:
    empty = [p.number for p in pages if not p.lines]
    if not empty:
        return []
    return [f"no text on physical pages {_ranges(empty)}: check that each is a blank or picture page, "
            "not a scanned one whose pledges are missing"]


def _listed(title: str, items: list[str]) -> list[str]:
    return ["", f"{title} ({len(items)}):", *(f"  {item}" for item in items or ["none"])]


def _with_page(message: str, line_pages: tuple[int, ...]) -> str:
    match = re.match(r"line (\d+)", message)
    if match and 0 < int(match.group(1)) <= len(line_pages):
        return f"PDF page {line_pages[int(match.group(1)) - 1]}, text {message}"
    return message


def _excerpt(text: str, at: int) -> str:
    return repr(text[max(0, at - 30) : at + 30])

