"""Two sections with the same title, in different parts: every link goes to the right one.

Sections are looked up by id everywhere (the parser gives each its own, the answerer's nearest
sections, the chat page's groups and links, the programme's anchors); a lookup by title would
send a voter reading about road safety to the bus fares. The programme here is small and the
embedder fake; where a test needs a particular answer it replaces `Answerer.ask` with a stub.
tests/browser/test_bands.py holds the widget's drawing of the same JSON to the same links.
"""

from __future__ import annotations

import textwrap
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from corpus.parse import parse_text
from qa.answer import Answer, Hit
from tests.conftest import FakeEmbedder
from tests.test_web import Elements, reply_of, text_of
from web.app import create_app

TWIN_PROGRAMME = textwrap.dedent(
    """\
     Et forord om en grønnere og tryggere kommune.

    Et grønt Bærum

    Samferdsel
    Bussen skal gå ofte.

    Vi vil:
    ● innføre sone 1 i kollektivtrafikken i hele Bærum.
    ● bygge et sammenhengende sykkelveinett av høy kvalitet.

    Oslofjorden
    Fjorden trenger hjelp.

    Vi vil:
    ● forby all form for tråling i Oslofjorden.
     Et trygt Bærum

    Samferdsel
    Veiene skal være trygge for barn.

    Vi vil:
    ● senke fartsgrensen til 30 km/t ved alle skoler.
    ● bygge flere gangfelt med lys ved skolene.

    Skole
    Skolen er viktig.

    Vi vil:
    ● avvikle karakterer helt eller delvis i hele grunnskolen.
    """
)
GREEN, SAFE = "Et grønt Bærum", "Et trygt Bærum"
BUS, ROADS = "samferdsel", "et-trygt-baerum-samferdsel"  # the two sections titled "Samferdsel"


@pytest.fixture
def twin_settings(settings, tmp_path):
    corpus = tmp_path / "twin.txt"
    corpus.write_text(TWIN_PROGRAMME, encoding="utf-8")
    return settings.model_copy(update={"corpus": corpus, "expansions": None, "index_dir": tmp_path / "twin-index"})


@pytest.fixture
def client(twin_settings):
    with TestClient(create_app(twin_settings, embedder=FakeEmbedder())) as client:
        yield client


@pytest.fixture
def answer_with(client, monkeypatch):
    """Make the app answer every question with the given pledges, in the given band."""
    answerer = client.app.state.answerer

    def install(ids: list[str], coverage: str = "answered") -> None:
        hits = tuple(Hit(answerer.programme.by_id[i], 0.9 - n / 100) for n, i in enumerate(ids))
        monkeypatch.setattr(answerer, "ask", lambda q, k=5: Answer(" ".join(q.split()), coverage, hits))

    return install


class Anchors(HTMLParser):
    """For every element with an id on the programme page: its part, section and pledge ids."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.part: str | None = None
        self.section: str | None = None
        self.where: dict[str, tuple[str | None, str | None]] = {}  # id -> (part id, section id)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("class") == "part":
            self.part, self.section = attrs["id"], None
        elif tag == "section" and attrs.get("class") == "section":
            self.section = attrs["id"]
        if attrs.get("id"):
            self.where[attrs["id"]] = (self.part, self.section)


# --- the data --------------------------------------------------------------------------------


def test_two_sections_with_one_title_get_ids_of_their_own_and_their_pledges_name_them():
    programme = parse_text(TWIN_PROGRAMME)
    assert programme.warnings == ()
    assert [(p.id, p.title) for p in programme.parts] == [("et-gront-baerum", GREEN), ("et-trygt-baerum", SAFE)]
    assert [(s.id, s.title, s.part_id) for s in programme.sections] == [
        (BUS, "Samferdsel", "et-gront-baerum"),
        ("oslofjorden", "Oslofjorden", "et-gront-baerum"),
        (ROADS, "Samferdsel", "et-trygt-baerum"),
        ("skole", "Skole", "et-trygt-baerum"),
    ]
    roads = programme.by_id[f"{ROADS}-1"]
    assert (roads.section, roads.section_id, roads.part, roads.part_id) == ("Samferdsel", ROADS, SAFE, "et-trygt-baerum")
    assert roads.as_dict()["section_id"] == ROADS and roads.as_dict()["part_id"] == "et-trygt-baerum"
    assert programme.sections_by_id[ROADS].pledges == (roads, programme.by_id[f"{ROADS}-2"])


def test_nearest_sections_tell_two_sections_with_one_title_apart(client):
    answerer = client.app.state.answerer
    by_id = answerer.programme.by_id
    hits = tuple(Hit(by_id[i], 0.5) for i in (f"{ROADS}-1", "samferdsel-1", f"{ROADS}-2", "skole-1"))
    nearest = answerer.nearest_sections(Answer("trafikk", "not_covered", hits))
    assert [(s.id, s.title, s.part) for s in nearest] == [
        (ROADS, "Samferdsel", SAFE),
        (BUS, "Samferdsel", GREEN),
        ("skole", "Skole", SAFE),
    ]


def test_api_results_carry_the_section_and_part_ids(client, answer_with):
    answer_with([f"{ROADS}-1", "samferdsel-1"])
    results = client.get("/api/ask", params={"q": "trafikk"}).json()["results"]
    assert [(r["id"], r["section"], r["section_id"], r["part"], r["part_id"]) for r in results] == [
        (f"{ROADS}-1", "Samferdsel", ROADS, SAFE, "et-trygt-baerum"),
        ("samferdsel-1", "Samferdsel", BUS, GREEN, "et-gront-baerum"),
    ]


# --- the pages -------------------------------------------------------------------------------


def test_programme_page_has_an_anchor_for_each_section_holding_its_own_pledges(client):
    html = client.get("/program").text
    ids = Elements(html).ids()
    assert len(ids) == len(set(ids))
    where = Anchors(html).where
    assert where[BUS] == ("et-gront-baerum", BUS) and where[ROADS] == ("et-trygt-baerum", ROADS)
    for pid in ("samferdsel-1", "samferdsel-2"):
        assert where[pid] == ("et-gront-baerum", BUS)
    for pid in (f"{ROADS}-1", f"{ROADS}-2"):
        assert where[pid] == ("et-trygt-baerum", ROADS)
    start = html.index('<nav class="toc"')
    toc = html[start : html.index("</nav>", start)]
    assert Elements(toc).hrefs() == [
        "#et-gront-baerum",
        f"#{BUS}",
        "#oslofjorden",
        "#et-trygt-baerum",
        f"#{ROADS}",
        "#skole",
    ]


def test_chat_page_draws_two_sections_with_one_title_as_two_groups_each_linking_to_its_own(client, answer_with):
    answer_with([f"{ROADS}-1", "samferdsel-1", f"{ROADS}-2", "samferdsel-2"])
    reply = reply_of(client.get("/", params={"q": "trafikk"}).text)
    elements = Elements(reply)
    assert elements.hrefs() == [
        f"/program#{ROADS}",
        f"/program#{ROADS}-1",
        f"/program#{ROADS}-2",
        f"/program#{BUS}",
        "/program#samferdsel-1",
        "/program#samferdsel-2",
    ]
    text = text_of(reply)
    assert text.startswith(f"{SAFE} Samferdsel Vi vil: senke fartsgrensen til 30 km/t ved alle skoler.")
    assert f"{GREEN} Samferdsel Vi vil: innføre sone 1 i kollektivtrafikken i hele Bærum." in text
    # Every link lands on its anchor, and a pledge's section link on the section that holds it.
    where = Anchors(client.get("/program").text).where
    assert all(href.removeprefix("/program#") in where for href in elements.hrefs())
    groups = reply.split('<section class="group">')[1:]
    for group in groups:
        section, *pledges = [h.removeprefix("/program#") for h in Elements(group).hrefs()]
        assert {where[p][1] for p in pledges} == {section}


def test_chat_page_when_silent_links_both_sections_with_one_title_each_to_its_own(client, answer_with):
    answer_with(["samferdsel-1", f"{ROADS}-1", "samferdsel-2", "skole-1"], "not_covered")
    reply = reply_of(client.get("/", params={"q": "hvem vinner VM?"}).text)
    near = reply[reply.index('<ul class="near">') : reply.index("</ul>")]
    assert Elements(near).hrefs() == [f"/program#{BUS}", f"/program#{ROADS}", "/program#skole"]
    assert text_of(near) == "Samferdsel Samferdsel Skole"
    details = reply[reply.index('<details class="anyway">') : reply.index("</details>")]
    assert Elements(details).hrefs() == [
        f"/program#{BUS}",
        "/program#samferdsel-1",
        "/program#samferdsel-2",
        f"/program#{ROADS}",
        f"/program#{ROADS}-1",
    ]
