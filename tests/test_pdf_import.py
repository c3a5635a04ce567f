"""`python -m qa import PROGRAMME.pdf` turns a programme PDF into the text the parser reads.

The PDFs are drawn here (tests/pdfmaker.py); one of them is the programme text itself, page
for page, and importing it must give the text parser's 449 pledges, texts and pages.
"""

from __future__ import annotations

import pytest

from corpus.parse import parse_file
from corpus.pdfimport import format_report, import_pdf
from qa.operations.cli import main
from tests.conftest import REAL_CORPUS
from tests.pdfmaker import Layout, Page, render, render_programme_text, require_font

VIVIL = ["Vi vil:"]


@pytest.fixture(scope="session")
def programme_pdf(tmp_path_factory):
    require_font()
    path = tmp_path_factory.mktemp("pdf") / "program.pdf"
    return render_programme_text(REAL_CORPUS.read_text(encoding="utf-8"), path)


@pytest.fixture(scope="session")
def imported_programme(programme_pdf):
    return import_pdf(programme_pdf)


@pytest.fixture
def pdf(tmp_path):
    """Draw pages into tmp_path/name.pdf."""

    def make(pages, layout=None, name="p.pdf", **kw):
        return render(pages, tmp_path / name, layout, **kw)

    return make


def _pledges(imported):
    return {p.id: p for p in imported.programme.pledges}


# ------------------------------------------------------------------------- the programme itself


def test_programme_pdf_gives_the_text_parsers_449_pledges_texts_and_pages(imported_programme):
    expected = parse_file(REAL_CORPUS)
    got = imported_programme.programme
    assert len(got.pledges) == 449
    assert [p.as_dict() for p in got.pledges] == [p.as_dict() for p in expected.pledges]
    assert got == expected  # foreword, parts, sections and intros too
    assert got.warnings == ()


def test_programme_report_names_pages_header_urls_and_the_repaired_ff(imported_programme):
    report = format_report(imported_programme)
    assert "5 parts, 25 sections, 449 pledges, cited pages 5-31" in report
    assert "printed page numbers on 28 of 28 pages; printed = physical + 3" in report
    assert "running header/footer 'MDG Bærum · Program 2023–2027' removed on pages 1-28" in report
    assert "page 8: footnote URL https://fee.no/blatt-flagg" in report
    assert "PDF page 22, text line" in report and "'O\ufffdentlige' -> 'Offentlige'" in report
    assert "      Offentlige innkjøp og kommuneøkonomi  [p. 25]  24 pledges" in report


# ------------------------------------------------------------------------------ layouts


def test_hyphenation_is_joined_but_real_hyphens_and_ligature_glyphs_are_handled(pdf):
    path = pdf([Page(lines=[
        "Miljø",
        "Vi trenger en grønnere kommune.",
        "",
        *VIVIL,
        "● satse på miljø-",
        "vennlig transport og gode rekreasjons-",
        "og friluftsområder.",
        "● styrke BPA-",
        "ordningen for alle.",
        "● gi O\ufb00entlige innkjøp en ny pro\ufb01l.",
        "● styrke tilbudet til folk med rus-",
        "og/eller psykiske lidelser.",
        "● lage flere ikke-kommersielle møteplasser og fase ut ikke-",
        "sirkulære innkjøp.",
    ])])
    imported = import_pdf(path)
    assert [p.text for p in imported.programme.pledges] == [
        "satse på miljøvennlig transport og gode rekreasjons- og friluftsområder.",
        "styrke BPA-ordningen for alle.",
        "gi Offentlige innkjøp en ny profil.",
        "styrke tilbudet til folk med rus- og/eller psykiske lidelser.",
        "lage flere ikke-kommersielle møteplasser og fase ut ikke-sirkulære innkjøp.",
    ]
    report = format_report(imported)
    assert "hyphenation miljø- + vennlig joined as 'miljøvennlig' (guess)" in report
    assert "hyphenation BPA- + ordningen joined as 'BPA-ordningen' (hyphen kept after a capital or digit)" in report
    assert "hyphenation ikke- + sirkulære joined as 'ikke-sirkulære' (hyphen kept: 'ikke-' is written" in report
    assert "rekreasjons-" not in "".join(imported.notes)
    assert "ligature 'ﬀ' in 'Oﬀentlige' read as 'Offentlige'" in report
    assert "ligature 'ﬁ' in 'proﬁl' read as 'profil'" in report


def test_running_header_page_numbers_footnotes_and_a_bullet_across_pages(pdf):
    layout = Layout(header="Bærum MDG – Program", first_number=7)
    path = pdf([
        Page(lines=["Klima", "Klimaet endres.^{1}", "", *VIVIL, "● kutte utslipp.", "● bygge ut fjernvarme og"],
             footnotes=["1 https://example.org/klima"]),
        Page(lines=["solceller på alle kommunale tak.", "● plante trær."]),
    ], layout)
    imported = import_pdf(path)
    assert [(p.text, p.page) for p in imported.programme.pledges] == [
        ("kutte utslipp.", 7),
        ("bygge ut fjernvarme og solceller på alle kommunale tak.", 7),
        ("plante trær.", 8),
    ]
    assert imported.programme.sections[0].intro == ("Klimaet endres.",)
    report = format_report(imported)
    assert "running header/footer 'Bærum MDG – Program' removed on pages 1-2" in report
    assert "printed page numbers on 2 of 2 pages; printed = physical + 6" in report
    assert "footnote marker '1' after 'endres.' dropped" in report
    assert "page 1: footnote number cut off URL https://example.org/klima" in report


def test_two_columns_drawn_row_by_row_read_column_by_column(pdf):
    left = ["Skole", "Skolen skal være god for alle.", "", *VIVIL, "● avvikle karakterer i", "barneskolen.",
            "● ansette flere lærere."] + [f"● bygge skole nummer {n} i Bærum." for n in "ABCDE"]
    right = ["● gi alle elever gratis", "skolemat.", "", "Helse", "Helse er viktig for alle.", "", *VIVIL,
             "● ansette flere helsesykepleiere."] + [f"● åpne legesenter {n} i kommunen." for n in "ABCDE"]
    path = pdf([Page(title="Et godt Bærum for alle som bor her", lines=left, right=right)],
               Layout(interleave=True))
    imported = import_pdf(path)
    assert imported.pages[0].columns == 2
    assert [p.title for p in imported.programme.parts] == ["Et godt Bærum for alle som bor her"]
    skole, helse = imported.programme.sections
    assert (skole.title, helse.title) == ("Skole", "Helse")
    assert [p.text for p in skole.pledges][:2] == ["avvikle karakterer i barneskolen.", "ansette flere lærere."]
    assert skole.pledges[-1].text == "gi alle elever gratis skolemat."
    assert len(skole.pledges) == 8 and len(helse.pledges) == 6
    assert "two columns on pages 1" in format_report(imported)


def test_a_pledge_that_looks_merged_is_listed_to_check(pdf):
    path = pdf([Page(lines=["Miljø", "Tekst.", "", *VIVIL, "● plante trær. sikre parker for alle.", "● mer"])])
    report = format_report(import_pdf(path))
    assert "miljo-1 (p. 1): a sentence ends and a lowercase one starts inside it" in report
    assert "miljo-2 (p. 1): does not end a sentence" in report


# ------------------------------------------------------------------------ the command line


def _good(pdf):
    return pdf([Page(lines=["Miljø", "Tekst.", "", *VIVIL, "● plante flere trær i byen."])], name="good.pdf")


def test_import_without_out_prints_the_report_and_writes_nothing(pdf, tmp_path, capsys):
    path = _good(pdf)
    before = sorted(tmp_path.iterdir())
    assert main(["import", str(path)]) == 0
    assert "1 parts, 1 sections, 1 pledges" in capsys.readouterr().out
    assert sorted(tmp_path.iterdir()) == before


def test_import_with_out_writes_the_text_whole_and_leaves_no_temporary_file(pdf, tmp_path, capsys):
    path, out = _good(pdf), tmp_path / "programme.txt"
    out.write_text("an older programme\n", encoding="utf-8")
    assert main(["import", str(path), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8") == " Miljø\nTekst.\n\nVi vil:\n● plante flere trær i byen.\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.pdf", "programme.txt"]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (lambda tmp: str(tmp / "nope" / "p.txt"), "no folder"),
        (lambda tmp: "", "cannot write '': give the path of a file"),
        (lambda tmp: str(tmp), "it is a folder"),
    ],
)
def test_import_to_where_no_file_can_be_is_a_one_line_error(pdf, tmp_path, capsys, out, message):
    assert main(["import", str(_good(pdf)), "--out", out(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write ") and err.count("\n") == 1 and message in err


def _not_a_pdf(pdf, tmp_path):
    path = tmp_path / "programme.pdf"
    path.write_text("Vi vil:\n● dette er tekst, ikke PDF\n", encoding="utf-8")
    return path, "is not a PDF (it does not start with %PDF-)"


def _damaged(pdf, tmp_path):
    whole = _good(pdf).read_bytes()
    path = tmp_path / "damaged.pdf"
    path.write_bytes(whole[: len(whole) // 3])
    return path, "is not a readable PDF"


def _encrypted(pdf, tmp_path):
    return pdf([Page(lines=["Miljø", *VIVIL, "● hemmelig."])], name="enc.pdf", password="hemmelig"), "is encrypted"


def _scanned(pdf, tmp_path):
    return pdf([Page(image_only=True), Page(image_only=True)], name="scan.pdf"), "has no text layer (a scan?)"


def _no_vi_vil(pdf, tmp_path):
    return pdf([Page(lines=["Et brev", "Dette er et brev uten punkter."])], name="letter.pdf"), "has no 'Vi vil:' block"


@pytest.mark.parametrize("case", [_not_a_pdf, _damaged, _encrypted, _scanned, _no_vi_vil])
def test_a_file_that_is_no_programme_pdf_is_refused_and_out_is_untouched(case, pdf, tmp_path, capsys):
    path, message = case(pdf, tmp_path)
    out = tmp_path / "programme.txt"
    out.write_text("the programme in use\n", encoding="utf-8")
    assert main(["import", str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {path} ") and message in captured.err
    assert captured.err.count("\n") == 1
    assert out.read_text(encoding="utf-8") == "the programme in use\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_picture_page_and_the_parsers_warnings_are_reported_with_their_pdf_page(pdf):
    path = pdf([
        Page(lines=["Miljø", "Tekst.", "", *VIVIL, "● plante trær."]),
        Page(image_only=True),
        Page(lines=[*VIVIL, "● rydde strender."]),
    ])
    report = format_report(import_pdf(path))
    assert "page 2: no text, only images (a scanned or picture page)" in report
    assert "page 2: no text; citations after it count one page short (the PDF prints no page numbers)" in report
    assert "no text on physical pages 2: check that each is a blank or picture page" in report
    assert "PDF page 3, text line 6: 'Vi vil:' without a section heading" in report


def test_a_blank_unnumbered_page_does_not_shift_the_citations_after_it(pdf):
    path = pdf([
        Page(lines=["Miljø", "Tekst.", "", *VIVIL, "● plante trær."]),
        Page(numbered=False),  # a blank page, as between a programme's parts
        Page(lines=["Klima", "Mer tekst.", "", *VIVIL, "● kutte utslipp."]),
    ], Layout(first_number=7))
    imported = import_pdf(path)
    assert [(p.text, p.page) for p in imported.programme.pledges] == [("plante trær.", 7), ("kutte utslipp.", 9)]
    report = format_report(imported)
    assert "page 2: no text; the pages after it are cited by their printed numbers" in report
    assert "no text on physical pages 2: check" in report
    assert "printed page number 9 is not the 8 counted before it (a page without text, or one missing?)" in report
    assert "expected" not in report  # the printed numbers agree with the physical pages: nothing else to check
