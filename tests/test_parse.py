"""The parser turns the programme text into pledges a voter can trust as quotations."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.parse import looks_like_heading, parse_file, parse_text, slugify
from tests.conftest import REAL_CORPUS


@pytest.fixture(scope="module")
def programme():
    return parse_file(REAL_CORPUS)


def test_programme_has_449_pledges_in_25_sections_and_5_parts(programme):
    assert len(programme.pledges) == 449
    assert len(programme.sections) == 25
    assert [p.title for p in programme.parts] == [
        "God oppvekst og meningsfull fritid i Bærum",
        "Et bærekraftig Bærum",
        "Et solidarisk Bærum",
        "Et helsefremmende Bærum",
        "Et sirkulært Bærum",
    ]


def test_every_bullet_in_the_source_is_one_pledge(programme):
    assert REAL_CORPUS.read_text(encoding="utf-8").count("●") == len(programme.pledges)


def test_pledge_texts_carry_no_layout_debris(programme):
    for pledge in programme.pledges:
        assert pledge.text == pledge.text.strip()
        assert not re.search(r"●|https?://|www\.|  |\n|\ufffd", pledge.text), pledge
        assert pledge.text


def test_ids_are_unique_url_safe_and_numbers_count_up_per_section(programme):
    ids = [p.id for p in programme.pledges]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)
    for section in programme.sections:
        assert [p.number for p in section.pledges] == list(range(1, len(section.pledges) + 1))
        assert all(p.id == f"{section.id}-{p.number}" for p in section.pledges)


def test_every_pledge_names_its_section_and_part_by_id(programme):
    for part in programme.parts:
        for section in part.sections:
            assert section.part_id == part.id
            for pledge in section.pledges:
                assert (pledge.section_id, pledge.part_id) == (section.id, part.id)
                assert (pledge.section, pledge.part) == (section.title, part.title)
    assert programme.sections_by_id == {s.id: s for s in programme.sections}


def test_pages_never_go_backwards_and_stay_within_the_printed_range(programme):
    pages = [p.page for p in programme.pledges]
    assert pages == sorted(pages)
    assert pages[0] == 5 and pages[-1] == 31


def test_footnote_url_inside_a_pledge_is_removed(programme):
    pledge = programme.by_id["oslofjorden-8"]
    assert pledge.text == (
        "redusere forurensningen i fjorden ved å igangsette tiltak som minsker avrenning fra landbruk og andre "
        "kilder gjennom bedre rensing for avløp, stanse høstpløying, redusere bruk av kunstgjødsel, "
        "sprøytemidler og øke bruk av støttevegetasjon langs bekker og grøfter."
    )
    assert pledge.page == 10


def test_broken_ff_ligature_in_a_heading_is_repaired(programme):
    titles = [s.title for s in programme.sections]
    assert "Offentlige innkjøp og kommuneøkonomi" in titles
    assert any("1232" in r for r in programme.repairs)


def test_a_heading_that_looks_like_a_part_is_a_section(programme):
    section = next(s for s in programme.sections if s.title == "Et robust helsevesen")
    assert section.part == "Et helsefremmende Bærum"
    assert len(section.pledges) == 14


def test_foreword_and_intros_are_kept(programme):
    assert programme.foreword[0].startswith("Bærum er i dag en god kommune for de fleste")
    assert programme.foreword[-1].endswith("Vårt nasjonale program for 2021-2025 finner du her.")
    oslofjorden = next(s for s in programme.sections if s.id == "oslofjorden")
    assert len(oslofjorden.intro) == 3
    assert oslofjorden.intro[0].startswith("Oslofjorden ser nesten like vakker ut")
    # An intro that crosses a page break mid-sentence stays one paragraph.
    skole = next(s for s in programme.sections if s.id == "skole-og-utdanning")
    assert "testing av elevenes nivå. Overdreven rapportering" in skole.intro[0]


def test_the_real_programme_parses_without_warnings(programme):
    assert programme.warnings == ()


# Hand-checked against the source text: (id, section, number, printed page, exact text).
EXPECTED = [
    ("oslofjorden-3", "Oslofjorden", 3, 10, "forby all form for tråling i Oslofjorden."),
    ("barnehage-1", "Barnehage", 1, 5,
     "beholde de små lokale barnehagene og hindre at de slås sammen til svært store barnehager."),
    ("skole-og-utdanning-4", "Skole og utdanning", 4, 6, "avvikle karakterer helt eller delvis i hele grunnskolen."),
    ("skole-og-utdanning-22", "Skole og utdanning", 22, 6, "jobbe for etablering av maritim høyere utdanning i Bærum."),
    ("idrett-kultur-og-fritid-12", "Idrett, kultur og fritid", 12, 7,
     "opprette flere sammenhengende turstier langs områder som Isielva, Sandvikselva, Lomma, Øverlandselva og "
     "Lysakerelva, Stabekken, Bekkestubekken og Østernbekken, og langs Glitredammen."),
    ("naturverdier-og-biomangfold-17", "Naturverdier og biomangfold", 17, 9,
     "fjerne skadelige “pøbelarter” planmessig i hele kommunen og igangsette tiltak som bedre overvåking, "
     "rådgivningstjeneste og økonomiske støtteordninger for huseiere og borettslag."),
    ("klima-1", "Klima", 1, 11, "at klimagassutslippene i Bærum reduseres med 90% innen 2030."),
    ("klima-2", "Klima", 2, 12, "at Bærum skal være en netto nullutslippskommune innen 2035."),
    ("samferdsel-3", "Samferdsel", 3, 13, "innføre sone 1 i kollektivtrafikken i hele Bærum."),
    ("samferdsel-12", "Samferdsel", 12, 14,
     "stimulere til etablering av flere og sikrere sykkelparkeringer i borettslag og sameier, bl.a ved å gi "
     "økonomisk kompensasjon for fjerning av bilparkering."),
    ("beredskap-2", "Beredskap", 2, 16, "øke kapasiteten og forbedre tilgjengeligheten til tilfluktsrom."),
    ("likeverd-og-mangfold-12", "Likeverd og mangfold", 12, 18, "arbeide for en styrket BPA-ordning."),
    ("et-robust-helsevesen-2", "Et robust helsevesen", 2, 22,
     "sikre tilbudet ved Hospice Stabekk og samtidig utvikle samarbeidet med hjemmetjenesten, så de som ønsker "
     "det kan få god lindrende omsorg i eget hjem."),
    ("vern-mot-vold-og-overgrep-3", "Vern mot vold og overgrep", 3, 24,
     "sørge for at beboere hos krisesenteret kan ha med kjæledyr under oppholdet."),
    ("offentlige-innkjop-og-kommuneokonomi-1", "Offentlige innkjøp og kommuneøkonomi", 1, 25,
     "sikre en god kommuneøkonomi uten å implementere eiendomsskatt."),
    ("offentlige-innkjop-og-kommuneokonomi-16", "Offentlige innkjøp og kommuneøkonomi", 16, 26,
     "ikke kjøpe inn produkter og tjenester fra bedrifter som bedriver grønnvasking og som gjør det vanskeligere "
     "for innbyggere å forstå hva slags tiltak som faktisk er bærekraftige."),
    ("forbruk-og-gjenbruk-29", "Forbruk og gjenbruk", 29, 28,
     "etablere prøveprosjekter for pant av flere produkter i samråd med næringslivet."),
    ("naering-12", "Næring", 12, 29,
     "arbeide for opprettelsen av et katapultsenter hvor lokale bedrifter blant annet kan teste ut løsninger som "
     "gir høyere ressurseffektivitet og gjenbruk. Vi vil stille kommunale lokaler tilgjengelig for å muliggjøre "
     "slike felles arenaer for verdiskaping og innovasjon."),
    ("arbeid-22", "Arbeid", 22, 31,
     "ha mindre fokus på kontrollregimer hos NAV og styrke kvaliteten i de arbeidsrettede tiltakene med mål om "
     "å skape mer mestring, arbeidsmotivasjon og kompetanseheving for mottakerne."),
]


@pytest.mark.parametrize("pid, section, number, page, text", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_hand_checked_pledges(programme, pid, section, number, page, text):
    pledge = programme.by_id[pid]
    assert (pledge.section, pledge.number, pledge.page, pledge.text) == (section, number, page, text)


def test_cli_prints_every_pledge_as_a_json_line():
    out = subprocess.run(
        [sys.executable, "-m", "qa", "pledges"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    rows = [json.loads(line) for line in out]
    assert len(rows) == 449
    assert rows[0] == {
        "id": "barnehage-1",
        "part": "God oppvekst og meningsfull fritid i Bærum",
        "part_id": "god-oppvekst-og-meningsfull-fritid-i-baerum",
        "section": "Barnehage",
        "section_id": "barnehage",
        "number": 1,
        "page": 5,
        "text": "beholde de små lokale barnehagene og hindre at de slås sammen til svært store barnehager.",
    }


# ------------------------------------------------------------ general layout handling


def test_another_edition_in_the_same_layout_parses():
    text = "\n".join([
        " Forord her.",
        "",
        "Et nytt kapittel",
        "",
        "Miljø",
        "Innledning som slutter her.",
        "",
        "Vi vil:",
        "● gjøre noe bra som fortsetter",
        "",
        "på neste linje.",
        "https://example.org/fotnote",
        " ● starte på ny side.",
        "7",
        "● etter sidetallet.",
        "Trafikk",
        "Om trafikk.",
        "Vi vil :",
        "● ha færre biler.",
    ])
    programme = parse_text(text)
    assert [(p.section, p.number, p.page, p.text) for p in programme.pledges] == [
        ("Miljø", 1, 6, "gjøre noe bra som fortsetter på neste linje."),
        ("Miljø", 2, 7, "starte på ny side."),
        ("Miljø", 3, 8, "etter sidetallet."),
        ("Trafikk", 1, 8, "ha færre biler."),
    ]
    assert programme.parts[0].title == "Et nytt kapittel"
    assert programme.warnings == ()


def test_each_printed_page_number_anchors_its_own_page_past_a_page_without_text():
    text = "\n".join([
        " Miljø", "Om miljø.", "Vi vil:", "● plante trær.", "", "7",
        # physical page 8 had no text (a blank page), so the next printed number is 9
        " ● rydde strender.", "", "9",
        " Trafikk", "Om trafikk.", "Vi vil:", "● ha færre biler.",
    ])
    programme = parse_text(text)
    assert [(p.text, p.page) for p in programme.pledges] == [
        ("plante trær.", 7), ("rydde strender.", 9), ("ha færre biler.", 10),
    ]
    assert programme.warnings == (
        "line 9: printed page number 9 is not the 8 counted before it (a page without text, or one missing?); "
        "pages from there are cited by their printed numbers",
    )


def test_a_wrapped_line_that_looks_like_a_heading_is_not_one_when_its_sentence_goes_on():
    # Narrow columns wrap intros into short capitalised lines; the next line starting in lower
    # case shows the sentence goes on.
    text = "\n".join([
        " Et grønt Bærum", "", "Klima", "Bærum er i dag en god kommune for de",
        "som bor her, men klimaet endrer seg.", "Vi vil:", "● kutte utslipp.",
        "", "Natur", "Naturen i Bærum er rik og", "variert.", "Vi vil:", "● verne skogen.",
    ])
    programme = parse_text(text)
    assert [(s.part, s.title) for s in programme.sections] == [("Et grønt Bærum", "Klima"), ("Et grønt Bærum", "Natur")]
    assert programme.sections[0].intro == ("Bærum er i dag en god kommune for de som bor her, men klimaet endrer seg.",)
    assert programme.warnings == ()


def test_a_heading_that_ends_in_a_word_no_heading_ends_in_is_named():
    text = "\n".join([" God oppvekst og fritid i", "Bærum", "", "Barnehage", "Om barnehager.", "Vi vil:", "● ha flere."])
    warnings = parse_text(text).warnings
    assert "line 1: heading 'God oppvekst og fritid i' ends in 'i': a heading wrapped over two lines?" in warnings


def test_unknown_structure_gives_a_warning_naming_the_line_not_a_crash():
    programme = parse_text("● en løs kule før alt\nTittel\nIntro.\nVi vil:\n● en ekte kule.\n")
    assert len(programme.pledges) == 2
    assert any(w.startswith("line 1:") for w in programme.warnings)


def test_unknown_ligature_damage_is_still_replaced():
    programme = parse_text("Del\n\nSeksjon\nIntro.\nVi vil:\n● bygge e\ufffdektive veier.\n")
    assert "\ufffd" not in programme.pledges[0].text


def test_heading_shape():
    assert looks_like_heading("Oslofjorden")
    assert looks_like_heading("Offentlige innkjøp og kommuneøkonomi")
    assert not looks_like_heading("bekker og grøfter.")
    assert not looks_like_heading("Lomma, Øverlandselva og Lysakerelva, Stabekken, Bekkestubekken og,")


def test_section_and_pledge_anchors_never_collide():
    programme = parse_text("Del\n\nSkole\nIntro.\nVi vil:\n● a.\n● b.\nSkole 2\nIntro.\nVi vil:\n● c.\n")
    anchors = [s.id for s in programme.sections] + [p.id for p in programme.pledges]
    assert len(set(anchors)) == len(anchors)


def test_slugs_are_readable_ascii():
    assert slugify("Miljø og forurensning") == "miljo-og-forurensning"
    assert slugify("Idrett, kultur og fritid") == "idrett-kultur-og-fritid"
    assert slugify("Næring") == "naering"


LINE = st.one_of(
    st.just(""),
    st.just("Vi vil:"),
    st.just(" Sideskift med tekst"),
    st.just("https://example.org/x"),
    st.sampled_from(["12", "3"]),
    st.sampled_from(["Overskrift", "Et kapittel om noe", "Klima"]),
    st.text(alphabet=st.sampled_from("abc æøå.,●\ufffd\t "), max_size=40),
    st.text(max_size=30).map(lambda s: "● " + s),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=40))
def test_every_bullet_becomes_exactly_one_pledge_in_any_input(lines):
    text = "\n".join(lines)
    programme = parse_text(text)
    assert len(programme.pledges) == text.count("●")
    for pledge in programme.pledges:
        assert "●" not in pledge.text and "\ufffd" not in pledge.text
    assert len({p.id for p in programme.pledges}) == len(programme.pledges)
