"""The chat page, the programme page and the JSON API, through the app with its lifespan running.

The fake embedder drives the real answerer; where a test needs a particular answer (a band,
hits in two sections) it replaces `Answerer.ask` with a stub, so the page logic is tested
independently of how well the ranking does, or where the band decision puts a question.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from qa.answer import Answer, Hit
from tests.conftest import SMALL_PROGRAMME, FakeEmbedder
from web.app import create_app

RESULT_FIELDS = {"id", "text", "part", "part_id", "section", "section_id", "number", "page", "score", "url", "programme"}
TRANSPARENCY_NB = (
    "Svarene velges automatisk av et søkeprogram fra programmets egen tekst; ingenting er skrevet av en maskin."
)
TRANSPARENCY_EN = (
    '<span lang="en">Answers are picked automatically by a search program from the programme’s own text;'
    " nothing is machine-written.</span>"
)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        yield client


@pytest.fixture
def answer_with(client, monkeypatch):
    """Make the app answer every question with the given pledges, band and smalltalk kind."""
    answerer = client.app.state.answerer

    def install(ids: list[str], coverage: str = "answered", smalltalk: str | None = None) -> None:
        hits = tuple(Hit(answerer.programme.by_id[i], 0.9 - n / 100) for n, i in enumerate(ids))
        monkeypatch.setattr(answerer, "ask", lambda q, k=5: Answer(" ".join(q.split()), coverage, hits, smalltalk))

    return install


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if a.get("id")]

    def hrefs(self, cls: str | None = None) -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and (cls is None or cls in (a.get("class") or "").split())]


def served_facts(widget: str) -> dict:
    """What the server wrote into the widget it serves (the `const SERVER = {...};` line)."""
    (line,) = re.findall(r"^  const SERVER = (\{.*\});$", widget, re.M)
    return json.loads(line)


def reply_of(html: str) -> str:
    """The answer part of a chat page."""
    return html[html.index('<div class="reply ') : html.index("</article>")]


def text_of(html: str) -> str:
    """The visible text, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- API ---------------------------------------------------------------------------------------


def test_health_reports_pledge_count_and_model(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "pledges": 5, "model": "fake-embedder"}


def test_api_answer_has_exactly_the_documented_fields(client):
    response = client.get("/api/ask", params={"q": "tråling i Oslofjorden", "k": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"question", "coverage", "answered", "smalltalk", "corrected", "answering", "results", "programme"}
    assert body["programme"] == "mdg-baerum"  # the one programme of a service without QA_PROGRAMMES
    assert body["question"] == "tråling i Oslofjorden"
    assert body["coverage"] in ("answered", "related", "not_covered")
    assert body["answered"] is (body["coverage"] == "answered")
    assert body["smalltalk"] is None
    assert len(body["results"]) == 3
    programme = client.app.state.answerer.programme
    for result in body["results"]:
        assert set(result) == RESULT_FIELDS
        pledge = programme.by_id[result["id"]]
        assert result == {**pledge.as_dict(), "score": result["score"], "url": f"/program#{pledge.id}", "programme": "mdg-baerum"}
        assert isinstance(result["score"], float)
    assert body["results"][0]["id"] == "oslofjorden-1"
    assert {k: body["results"][0][k] for k in ("part", "part_id", "section", "section_id")} == {
        "part": "Et grønt Bærum",
        "part_id": "et-gront-baerum",
        "section": "Oslofjorden",
        "section_id": "oslofjorden",
    }


@pytest.mark.parametrize(("question", "kind"), [("hei", "greeting"), ("Hallo!", "greeting"), ("takk!", "thanks")])
def test_api_marks_a_greeting_or_thanks_as_smalltalk_not_covered_with_the_nearest_pledges(client, question, kind):
    body = client.get("/api/ask", params={"q": question}).json()
    assert (body["smalltalk"], body["coverage"], body["answered"]) == (kind, "not_covered", False)
    assert len(body["results"]) == 5  # the nearest pledges are always there, whatever the band


@pytest.mark.parametrize("coverage", ["answered", "related", "not_covered"])
def test_api_carries_each_band_with_answered_true_only_for_answered(client, answer_with, coverage):
    answer_with(["samferdsel-1", "skole-1"], coverage)
    body = client.get("/api/ask", params={"q": "noe"}).json()
    assert (body["coverage"], body["answered"], body["smalltalk"]) == (coverage, coverage == "answered", None)
    assert [r["id"] for r in body["results"]] == ["samferdsel-1", "skole-1"]


def test_api_returns_five_pledges_by_default(client):
    assert len(client.get("/api/ask", params={"q": "sykkelveinett"}).json()["results"]) == 5


def test_api_trims_the_question(client):
    assert client.get("/api/ask", params={"q": "  sone 1   i bussen \n"}).json()["question"] == "sone 1 i bussen"


def test_api_returns_the_question_as_data_not_markup(client):
    response = client.get("/api/ask", params={"q": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["question"] == "<script>alert(1)</script>"


def test_api_carries_the_ask_id_from_the_question_log_when_one_is_installed(client):
    seen = []
    client.app.state.recorder = lambda answer, programme: seen.append((answer.question, programme)) or "abc123"
    body = client.get("/api/ask", params={"q": "tråling"}).json()
    assert body["ask_id"] == "abc123"
    assert seen == [("tråling", "mdg-baerum")]


def test_with_a_question_log_pages_and_widget_offer_feedback_and_say_questions_are_stored(settings, tmp_path):
    app = create_app(settings.model_copy(update={"db": str(tmp_path / "log.sqlite3")}), embedder=FakeEmbedder())
    with TestClient(app) as client:
        home = client.get("/").text
        assert "Spørsmålene lagres anonymt for å forbedre tjenesten." in home
        page = client.get("/", params={"q": "tråling"}).text
        ask_id = re.search(r'<article class="exchange" data-ask-id="([\w-]{22})">', page).group(1)
        assert client.post("/api/feedback", json={"ask_id": ask_id, "helpful": True}).status_code == 204
        widget = client.get("/widget.js").text
        assert served_facts(widget)["stored"] is True
        assert client.get("/widget.js", headers={"If-None-Match": '"stale"'}).status_code == 200
        version = re.search(r'src="/static/widget\.js\?v=(\w+)"', home).group(1)
        assert client.get(f"/static/widget.js?v={version}").text == widget


def test_without_a_question_log_nothing_claims_questions_are_stored(client):
    assert "lagres anonymt" not in client.get("/").text
    assert "data-ask-id" not in client.get("/", params={"q": "tråling"}).text
    assert served_facts(client.get("/widget.js").text)["stored"] is False


def test_api_answers_even_when_the_question_log_fails(client):
    def broken(answer, programme):
        raise OSError("disk full")

    client.app.state.recorder = broken
    response = client.get("/api/ask", params={"q": "tråling"})
    assert response.status_code == 200
    assert "ask_id" not in response.json()


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("", "Spørsmålet mangler"),
        ("q=", "Spørsmålet er tomt"),
        ("q=%20%20%09", "Spørsmålet er tomt"),
        ("q=" + "a" * 501, "Spørsmålet er 501 tegn langt; det kan være på høyst 500 tegn."),
        ("q=hei&q=hallo", "Parameteren q er oppgitt 2 ganger"),
        ("q=hei&k=3&k=4", "Parameteren k er oppgitt 2 ganger"),
        ("q=hei&k=0", "k må være et helt tall fra 1 til 20, ikke 0."),
        ("q=hei&k=-1", "k må være et helt tall fra 1 til 20, ikke -1."),
        ("q=hei&k=21", "k må være et helt tall fra 1 til 20, ikke 21."),
        ("q=hei&k=99999999999999999999", "k må være et helt tall fra 1 til 20"),
        ("q=hei&k=fem", "k må være et helt tall fra 1 til 20, ikke «fem»."),
        ("q=hei&k=2.5", "ikke «2.5»"),
        ("q=hei&k=", "ikke «»"),
        ("q=hei%00du", "kontrolltegn"),
        ("q=hei%1bdu", "kontrolltegn"),
        ("q=hei%C2%85du", "kontrolltegn"),
        ("q=%E2%80%AEhei", "snur skriveretningen"),
        ("q=hei%E2%81%A6du", "snur skriveretningen"),
        ("q=%ff%fe", "ikke er gyldig UTF-8"),
        ("q=hei%C3", "ikke er gyldig UTF-8"),
        ("q=%F0%9F%98%80%F0%9F%8C%8D", "bokstaver eller tall"),
        ("q=%3F%21%2E", "bokstaver eller tall"),
        ("k=3", "Spørsmålet mangler"),
        ("&".join(f"x{n}=1" for n in range(30)) + "&q=hei", "for mange parametre"),
    ],
)
def test_api_rejects_unusable_input_with_422_saying_what_is_wrong(client, query, detail):
    response = client.get(f"/api/ask?{query}")
    assert response.status_code == 422
    assert set(response.json()) == {"detail"}
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("question", ["{{7*7}}", "${7*7}", "'; DROP TABLE pledges; --", "1 OR 1=1", "{% raw %}"])
def test_template_and_sql_looking_questions_are_just_questions(client, question):
    response = client.get("/api/ask", params={"q": question})
    assert response.status_code == 200
    assert response.json()["question"] == question


def test_the_limits_openapi_documents_for_q_and_k_are_the_ones_the_api_enforces(client, monkeypatch):
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/ask"]["get"]["parameters"]}
    k = params["k"]["schema"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 20, 5)  # README: k 1–20, five by default

    def status(**query) -> int:
        return client.get("/api/ask", params=query).status_code

    q = params["q"]["schema"]
    assert (q["minLength"], q["maxLength"]) == (1, 500)
    assert params["q"]["required"] is True and status(k=3) == 422
    assert (status(q="a" * 500), status(q="a" * 501)) == (200, 422)  # README: q 1–500 characters
    # Counted as sent, spaces too (the documented maxLength; the page's and widget's maxlength)...
    assert (status(q="  " + "a" * 497 + "\n"), status(q="  " + "a" * 498 + "\n")) == (200, 422)
    # ...and after trimming, what is left must have a letter or digit.
    assert (status(q="  \n"), status(q="?!")) == (422, 422)
    assert [status(q="buss", k=n) for n in (k["minimum"] - 1, k["minimum"], k["maximum"], k["maximum"] + 1)] == [
        422, 200, 200, 422
    ]  # fmt: skip
    answerer, asked = client.app.state.answerer, []
    ask = answerer.ask
    monkeypatch.setattr(answerer, "ask", lambda q, k=None: asked.append(k) or ask(q, k))
    client.get("/api/ask", params={"q": "buss"})
    assert asked == [k["default"]]


# --- Chat page ---------------------------------------------------------------------------------


def test_chat_page_offers_a_question_box_examples_and_says_answers_are_picked_by_a_program(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<html lang="nb">' in html
    assert '<form class="ask" id="ask" action="/#svar" method="get"' in html
    assert '<label for="q" class="vh">Ditt spørsmål</label>' in html
    assert f'<span class="badge">Sitater</span> {TRANSPARENCY_NB}</p>' in html
    assert '<a href="/?q=Hva%20vil%20MDG%20med%20Oslofjorden%3F#svar" data-example="Hva vil MDG med Oslofjorden?">' in html
    assert 'class="exchange"' not in html


def test_chat_page_ignores_unrelated_query_parameters(client):
    response = client.get("/?utm_source=nyhetsbrev")
    assert response.status_code == 200
    assert 'class="exchange"' not in response.text


def test_chat_page_answers_without_javascript_grouped_by_section_with_citations(client, answer_with):
    answer_with(["oslofjorden-1", "samferdsel-2", "oslofjorden-2"])
    response = client.get("/", params={"q": "hva med fjorden og sykkel?"})
    assert response.status_code == 200
    html = response.text
    assert '<span class="vh">Du spurte: </span><span>hva med fjorden og sykkel?</span>' in html
    reply = reply_of(html)
    # Sections in order of their best hit; pledges in rank order within a section.
    assert [h for h in Elements(reply).hrefs("cite")] == [
        "/program#oslofjorden-1",
        "/program#oslofjorden-2",
        "/program#samferdsel-2",
    ]
    text = text_of(reply)
    assert (
        "Et grønt Bærum Oslofjorden Vi vil: forby all form for tråling i Oslofjorden. Oslofjorden · punkt 1 · s. 1"
        in text
    )
    assert (
        "Samferdsel Vi vil: bygge et sammenhengende sykkelveinett av høy kvalitet. Samferdsel · punkt 2 · s. 1" in text
    )
    assert Elements(reply).hrefs()[0] == "/program#oslofjorden"
    assert '<div class="reply answered">' in html
    assert "Programmet" not in text and "<details" not in reply


def test_chat_page_for_a_related_question_says_it_is_not_a_direct_answer_and_shows_three_pledges(client, answer_with):
    answer_with(["samferdsel-2", "oslofjorden-1", "samferdsel-1", "skole-1", "oslofjorden-2"], "related")
    html = client.get("/", params={"q": "hva med elsparkesykler?"}).text
    reply = reply_of(html)
    assert reply.startswith('<div class="reply related">')
    assert (
        '<p class="band"><span class="label">Nærmeste treff</span> '
        "Programmet svarer ikke direkte på dette. Dette er det nærmeste:</p>" in reply
    )
    # Up to three of the nearest pledges, grouped and cited as an answer is, but under that header.
    assert Elements(reply).hrefs("cite") == ["/program#samferdsel-2", "/program#samferdsel-1", "/program#oslofjorden-1"]
    assert "<details" not in reply and "Programmet ser ikke ut til" not in reply


def test_chat_page_when_the_programme_seems_silent_links_nearest_sections_and_offers_the_pledges_anyway(
    client, answer_with
):
    answer_with(["skole-1", "samferdsel-1", "oslofjorden-1", "samferdsel-2"], "not_covered")
    html = client.get("/", params={"q": "hvem vinner VM?"}).text
    reply = reply_of(html)
    assert reply.startswith('<div class="reply not_covered">')
    assert '<p class="none">Programmet ser ikke ut til å si noe om dette.</p>' in reply
    near = reply[reply.index('<ul class="near">') : reply.index("</ul>")]
    assert Elements(near).hrefs() == ["/program#skole", "/program#samferdsel", "/program#oslofjorden"]
    # The nearest pledges are there without JavaScript, folded away behind a <details>.
    details = reply[reply.index('<details class="anyway">') : reply.index("</details>")]
    assert "<summary>Vis de nærmeste punktene likevel</summary>" in details
    assert Elements(details).hrefs("cite") == ["/program#skole-1", "/program#samferdsel-1", "/program#oslofjorden-1"]
    assert 'class="cite"' not in reply.replace(details, "")


@pytest.mark.parametrize(
    ("question", "words"),
    [
        (
            "hei",
            "Hei! Spør meg om hva MDG Bærum vil gjøre – for eksempel om skole, buss eller natur. "
            "Svarene er sitater fra programmet.",
        ),
        ("tusen takk!", "Bare hyggelig! Spør gjerne om noe mer."),
    ],
)
def test_chat_page_answers_a_greeting_or_thanks_with_a_fixed_reply_and_no_pledges(client, question, words):
    html = client.get("/", params={"q": question}).text
    reply = reply_of(html)
    assert reply.startswith('<div class="reply smalltalk">')
    assert f'<p class="courtesy">{words}</p>' in reply
    assert "<blockquote" not in reply and "<a " not in reply and "<details" not in reply


def test_a_greeting_offers_no_feedback_even_with_a_question_log(settings, tmp_path):
    app = create_app(settings.model_copy(update={"db": str(tmp_path / "log.sqlite3")}), embedder=FakeEmbedder())
    with TestClient(app) as client:
        assert "data-ask-id" not in client.get("/", params={"q": "hei"}).text
        assert "data-ask-id" in client.get("/", params={"q": "tråling"}).text


@pytest.mark.parametrize("path", ["/", "/?q=tr%C3%A5ling", "/?q=hei", "/program", "/finnes-ikke", "/?q=" + "a" * 501])
def test_every_page_says_answers_are_picked_by_a_search_program_in_norwegian_and_english(client, path):
    html = client.get(path, headers={"Accept": "text/html"}).text
    footer = html[html.index('<footer class="foot">') :]
    assert f'<p class="transparency">{TRANSPARENCY_NB} {TRANSPARENCY_EN}</p>' in footer


def test_chat_page_escapes_the_question(client):
    html = client.get("/", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_chat_page_with_an_unusable_question_says_what_is_wrong_and_keeps_it(client):
    response = client.get("/", params={"q": "a" * 501})
    assert response.status_code == 422
    assert '<p class="error" id="ask-error" role="alert">Spørsmålet er 501 tegn langt' in response.text
    assert f'value="{"a" * 500}"' in response.text
    assert 'aria-describedby="ask-error"' in response.text


def test_chat_page_with_an_emoji_only_question_is_422(client):
    response = client.get("/?q=%F0%9F%98%80")
    assert response.status_code == 422
    assert "Spørsmålet må inneholde bokstaver eller tall." in response.text


# --- Programme page ----------------------------------------------------------------------------


def test_programme_page_has_an_anchor_for_every_part_section_and_pledge(client):
    response = client.get("/program")
    assert response.status_code == 200
    ids = Elements(response.text).ids()
    assert len(ids) == len(set(ids)), "ids must be unique"
    programme = client.app.state.answerer.programme
    expected = [p.id for p in programme.parts] + [s.id for s in programme.sections] + [p.id for p in programme.pledges]
    assert set(expected) <= set(ids)


def test_programme_page_shows_foreword_intros_and_numbered_pledges(client):
    html = client.get("/program").text
    text = text_of(html)
    assert "Et forord om en grønnere kommune for alle som bor her." in text
    assert "Fjorden trenger hjelp." in text
    assert '<li id="oslofjorden-2" value="2">' in html
    assert (
        "opprette en utleieordning for kajakker og robåter gratis mot at de som leier plukker plast. "
        "Oslofjorden · punkt 2 · s. 1" in text
    )
    assert '<a href="#samferdsel">Samferdsel</a>' in html  # table of contents


def test_every_cited_pledge_has_its_anchor_in_the_programme(client):
    ids = set(Elements(client.get("/program").text).ids())
    for question in ["tråling", "buss og sykkel", "karakterer i skolen"]:
        for result in client.get("/api/ask", params={"q": question, "k": 5}).json()["results"]:
            path, anchor = result["url"].split("#")
            assert path == "/program"
            assert anchor in ids


def test_programme_text_is_escaped(tmp_path, settings):
    corpus = tmp_path / "hostile.txt"
    corpus.write_text(
        SMALL_PROGRAMME.replace("gratis mot", "<img src=x onerror=alert(1)> gratis mot"), encoding="utf-8"
    )
    hostile = settings.model_copy(update={"corpus": corpus, "index_dir": tmp_path / "hostile-index"})
    with TestClient(create_app(hostile, embedder=FakeEmbedder())) as client:
        html = client.get("/program").text
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt; gratis mot" in html
        api = client.get("/api/ask", params={"q": "kajakker"}).json()
        assert any("<img src=x onerror=alert(1)>" in r["text"] for r in api["results"])


def test_programme_page_can_be_revalidated(client):
    first = client.get("/program")
    again = client.get("/program", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


# --- Errors ------------------------------------------------------------------------------------


def test_unknown_page_is_a_404_page_for_browsers_and_json_for_programs(client):
    page = client.get("/finnes-ikke", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "<h1>Siden finnes ikke</h1>" in page.text
    api = client.get("/api/finnes-ikke", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.json() == {"detail": "Siden finnes ikke."}


def test_wrong_method_is_405_with_detail(client):
    response = client.post("/api/ask?q=hei")
    assert response.status_code == 405
    assert response.json() == {"detail": "POST er ikke tillatt her; bruk GET."}  # one Norwegian sentence


@pytest.mark.parametrize("path", ["/", "/program", "/widget.js", "/static/site.css", "/healthz"])
def test_pages_and_files_answer_head_requests_for_monitors_and_link_checkers(client, path):
    response = client.head(path)
    assert response.status_code == 200
    assert response.content == b""
