"""Feedback and the staff report over HTTP: `web.feedback` and `web.admin` in a small app of their own.

The app here is a stand-in for `web.app`: a lifespan that opens the `QuestionLog` into
`app.state.questionlog`, the two routers, the settings given through the `get_settings`
dependency, and an `/api/ask` that answers with the fake embedder and logs the answer the way
the real endpoint does. Every test on `db` runs on SQLite and on PostgreSQL (`log_db`).
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import re
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from qa.operations.settings import Settings
from qa.questionlog.backend import dialect_of
from qa.questionlog.store import QuestionLog
from tests.postgres import rows
from tests.test_questionlog import Clock, make_answer
from web import admin, feedback
from web.admin_auth import AdminDep
from web.deps import get_settings

TOKEN = "staff-token-1234"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def make_app(settings: Settings, answerer=None, clock=None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        kwargs = {"clock": clock} if clock else {}
        app.state.questionlog = QuestionLog.open(settings, **kwargs)
        yield
        app.state.questionlog.close()

    app = FastAPI(lifespan=lifespan)
    app.include_router(feedback.router)
    app.include_router(admin.router)
    app.dependency_overrides[get_settings] = lambda: settings

    @app.get("/api/ask")
    def ask(request: Request, q: str, k: int = 5):
        answer = answerer.ask(q, k)
        return {**answer.as_dict(), "ask_id": request.app.state.questionlog.record(answer)}

    return app


@pytest.fixture
def db(log_db: str) -> str:
    return log_db


def stored_bytes(db: str) -> bytes:
    """Everything the log keeps: a SQLite file and its WAL, or every row of every PostgreSQL table."""
    if dialect_of(db) == "sqlite":
        path = Path(db)
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    tables = rows(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return repr([rows(db, f"SELECT * FROM {table}") for (table,) in tables]).encode()


@pytest.fixture
def client(settings: Settings, db: Path, answerer):
    app = make_app(settings.model_copy(update={"db": str(db), "admin_token": TOKEN}), answerer)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()  # 2026-05-04 10:17 UTC


@pytest.fixture
def seeded(settings: Settings, db: Path, clock: Clock):
    """A client over a log with known questions and feedback, all on a fixed clock."""
    app = make_app(settings.model_copy(update={"db": str(db), "admin_token": TOKEN}), clock=clock)
    with TestClient(app) as client:
        qlog: QuestionLog = app.state.questionlog
        for _ in range(3):
            qlog.record(make_answer("Hva mener MDG om ulv?", coverage="not_covered", ids=("natur-1",), top=0.214))
        qlog.record(make_answer('=HYPERLINK("http://evil")', coverage="not_covered", ids=("natur-2",), top=0.1))
        for _ in range(2):
            qlog.record(make_answer("Hva med elsparkesykler?", coverage="related", ids=("samferdsel-2",), top=0.4))
        qlog.record(make_answer("Hei!", coverage="not_covered", smalltalk="greeting", top=0.3))
        clock.advance(hours=-26)
        for _ in range(2):
            good = qlog.record(make_answer("Blir bussen billigere?", top=0.775))
        qlog.feedback(good, True)
        bad = qlog.record(make_answer("<script>alert(1)</script>", top=0.5))
        qlog.feedback(bad, False, "Svaret handlet om <b>noe annet</b>")
        clock.advance(hours=26)
        yield client


# -- ask_id and privacy ---------------------------------------------------------------------


def test_ask_response_carries_an_ask_id_that_feedback_accepts(client):
    answer = client.get("/api/ask", params={"q": "tråling i Oslofjorden"}).json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", answer["ask_id"])

    response = client.post("/api/feedback", json={"ask_id": answer["ask_id"], "helpful": False, "comment": "Nja"})
    assert response.status_code == 204 and response.content == b""

    rows = client.get("/api/admin/questions", headers=BEARER).json()
    assert [(r["question"], r["count"]) for r in rows] == [("tråling i Oslofjorden", 1)]
    assert "Nja" in client.get("/admin", headers=BEARER).text


def test_no_client_address_user_agent_or_cookie_is_stored(client, db):
    marks = {
        "X-Forwarded-For": "203.0.113.77",
        "X-Real-IP": "198.51.100.23",
        "User-Agent": "DistinctiveAgent/9.9 (zz-unique-ua)",
        "Cookie": "session=zz-unique-cookie",
    }
    for _ in range(3):
        answer = client.get("/api/ask", params={"q": "kajakk utleie"}, headers=marks).json()
        client.post("/api/feedback", json={"ask_id": answer["ask_id"], "helpful": True}, headers=marks)

    stored = stored_bytes(db)
    assert b"kajakk utleie" in stored  # the question is there: these are the right bytes
    for value in [*marks.values(), "zz-unique", "testclient"]:  # testclient: TestClient's client host
        assert value.encode() not in stored, value


# -- feedback -------------------------------------------------------------------------------

ASK_ID_DETAIL = "Feltet «ask_id» må være ask_id-teksten fra svaret på /api/ask."


def test_feedback_on_an_unknown_ask_id_is_404(client):
    response = client.post("/api/feedback", json={"ask_id": "AAAAAAAAAAAAAAAAAAAAAA", "helpful": True})
    assert response.status_code == 404
    assert response.json() == {"detail": "Ukjent ask_id: svaret finnes ikke i loggen (eller er slettet)."}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"ask_id": "abc", "helpful": True, "comment": "x" * 501}, "Kommentaren er for lang: høyst 500 tegn."),
        ({"ask_id": "abc", "helpful": "yes"}, "Feltet «helpful» må være true eller false."),
        ({"ask_id": "abc", "helpful": 1}, "Feltet «helpful» må være true eller false."),
        ({"ask_id": "abc", "helpful": True, "comment": 5}, "Feltet «comment» må være tekst eller null."),
        ({"ask_id": 123, "helpful": True}, ASK_ID_DETAIL),
        ({"ask_id": "a b/c", "helpful": True}, ASK_ID_DETAIL),
        ({"ask_id": "", "helpful": True}, ASK_ID_DETAIL),
        ({"ask_id": "a" * 65, "helpful": True}, ASK_ID_DETAIL),
        ({"ask_id": None, "helpful": True}, ASK_ID_DETAIL),
        ({"helpful": True}, "Feltet «ask_id» mangler."),
        ({"ask_id": "abc"}, "Feltet «helpful» mangler."),
        (
            {"ask_id": "abc", "helpful": True, "ip": "1.2.3.4"},
            "Ukjent felt «ip»; tillatt er ask_id, helpful og comment.",
        ),
        ([], "Innholdet må være et JSON-objekt med ask_id, helpful og eventuelt comment."),
    ],
)
def test_malformed_feedback_is_422_with_a_detail(client, body, detail):
    response = client.post("/api/feedback", json=body)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}


def test_feedback_that_is_not_json_is_422(client):
    response = client.post("/api/feedback", content=b"helpful=true", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"detail": "Innholdet er ikke gyldig JSON."}


def test_a_comment_of_exactly_500_characters_is_accepted(client):
    ask_id = client.get("/api/ask", params={"q": "sykkelvei"}).json()["ask_id"]
    response = client.post("/api/feedback", json={"ask_id": ask_id, "helpful": False, "comment": "å" * 500})
    assert response.status_code == 204


def test_oversized_feedback_is_refused_before_it_is_parsed(client):
    response = client.post("/api/feedback", content=b'{"ask_id": "' + b"a" * 10_000 + b'"}')
    assert response.status_code == 413

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b"a" * 1000

    response = client.post("/api/feedback", content=chunks())
    assert response.status_code == 413


def test_feedback_when_logging_is_off_is_404(settings, answerer):
    app = make_app(settings.model_copy(update={"db": "off", "admin_token": TOKEN}), answerer)
    with TestClient(app) as client:
        assert client.get("/api/ask", params={"q": "buss"}).json()["ask_id"] is None
        assert client.post("/api/feedback", json={"ask_id": "abc", "helpful": True}).status_code == 404


# -- the admin token ------------------------------------------------------------------------

ADMIN_URLS = ["/admin", "/api/admin/questions", "/admin/not_covered.csv"]


@pytest.mark.parametrize("url", ADMIN_URLS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
        {"Authorization": TOKEN},
        basic("stab", "wrong"),
        basic(TOKEN, ""),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(TOKEN.encode()).decode()},  # no colon
    ],
    ids=[
        "none",
        "wrong",
        "longer",
        "empty-bearer",
        "no-scheme",
        "basic-wrong",
        "token-as-user",
        "bad-base64",
        "no-colon",
    ],
)
def test_admin_routes_without_the_right_token_are_401(client, url, headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="MDG admin", charset="UTF-8"'
    assert TOKEN not in response.text


@pytest.mark.parametrize("url", ADMIN_URLS)
@pytest.mark.parametrize(
    "headers",
    [BEARER, {"Authorization": f"bearer  {TOKEN}"}, basic("stab", TOKEN), basic("", TOKEN)],
    ids=["bearer", "bearer-lowercase", "basic", "basic-no-user"],
)
def test_admin_routes_with_the_right_token_are_200(client, url, headers):
    assert client.get(url, headers=headers).status_code == 200


def test_a_token_with_norwegian_letters_works_over_basic(settings, db):
    app = make_app(settings.model_copy(update={"db": str(db), "admin_token": "blåbærsyltetøy"}))
    with TestClient(app) as client:
        assert client.get("/admin", headers=basic("stab", "blåbærsyltetøy")).status_code == 200
        assert client.get("/admin", headers=basic("stab", "blabaersyltetoy")).status_code == 401
        assert client.get("/admin", headers={"Authorization": "Bearer blåbærsyltetøy".encode()}).status_code == 200


@pytest.mark.parametrize("token", [None, ""])
@pytest.mark.parametrize("url", [*ADMIN_URLS, "/admin/admin.css"])
def test_admin_routes_are_404_when_no_token_is_set(settings, answerer, db, token, url):
    app = make_app(settings.model_copy(update={"db": str(db), "admin_token": token}), answerer)
    with TestClient(app) as client:
        assert client.get(url, headers=BEARER).status_code == 404
        assert client.get(url).status_code == 404


# -- the report: JSON, page, CSV ------------------------------------------------------------


def test_admin_questions_json_groups_and_filters_by_band(seeded):
    response = seeded.get("/api/admin/questions", params={"coverage": "not_covered", "days": 30}, headers=BEARER)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == [
        {
            "question": "Hva mener MDG om ulv?",
            "count": 3,
            "last_seen": "2026-05-04T10:00:00Z",
            "answered": False,
            "coverage": "not_covered",
            "smalltalk": None,
            "top_score": 0.214,
            "programme": "mdg-baerum",
        },
        {
            "question": "Hei!",
            "count": 1,
            "last_seen": "2026-05-04T10:00:00Z",
            "answered": False,
            "coverage": "not_covered",
            "smalltalk": "greeting",
            "top_score": 0.3,
            "programme": "mdg-baerum",
        },
        {
            "question": '=HYPERLINK("http://evil")',
            "count": 1,
            "last_seen": "2026-05-04T10:00:00Z",
            "answered": False,
            "coverage": "not_covered",
            "smalltalk": None,
            "top_score": 0.1,
            "programme": "mdg-baerum",
        },
    ]

    def asked(**params) -> list[str]:
        return [q["question"] for q in seeded.get("/api/admin/questions", params=params, headers=BEARER).json()]

    assert asked(coverage="not_covered", smalltalk="false") == ["Hva mener MDG om ulv?", '=HYPERLINK("http://evil")']
    assert asked(coverage="related") == ["Hva med elsparkesykler?"]
    assert asked(coverage="answered") == asked(answered="true") == ["Blir bussen billigere?", "<script>alert(1)</script>"]
    assert asked(answered="false") == [
        "Hva mener MDG om ulv?", "Hva med elsparkesykler?", "Hei!", '=HYPERLINK("http://evil")'
    ]  # fmt: skip
    assert asked(smalltalk="true") == ["Hei!"]
    assert asked(days=1) == ["Hva mener MDG om ulv?", "Hva med elsparkesykler?", "Hei!", '=HYPERLINK("http://evil")']
    assert [(q, n) for q, n in ((r["question"], r["count"]) for r in _json(seeded, days=2))] == [
        ("Hva mener MDG om ulv?", 3),
        ("Hva med elsparkesykler?", 2),
        ("Blir bussen billigere?", 2),
        ("Hei!", 1),
        ('=HYPERLINK("http://evil")', 1),
        ("<script>alert(1)</script>", 1),
    ]


def _json(client, **params) -> list[dict]:
    return client.get("/api/admin/questions", params=params, headers=BEARER).json()


@pytest.mark.parametrize("query", [{"days": 0}, {"days": "many"}, {"answered": "maybe"}, {"smalltalk": "hei"}])
def test_admin_questions_rejects_bad_parameters(seeded, query):
    assert seeded.get("/api/admin/questions", params=query, headers=BEARER).status_code == 422


@pytest.mark.parametrize("value", ["maybe", "", "Answered", "unanswered"])
def test_admin_questions_rejects_an_unknown_band_saying_which_there_are(seeded, value):
    response = seeded.get("/api/admin/questions", params={"coverage": value}, headers=BEARER)
    assert response.status_code == 422
    assert response.json() == {"detail": f"coverage må være answered, related eller not_covered, ikke «{value}»."}


def _section(html: str, name: str) -> str:
    start = html.index(f'<section aria-labelledby="{name}-heading"')
    return html[start : html.index("</section>", start)]


def _rows(section: str) -> list[list[str]]:
    """The report's cells, row by row, without the "Rett opp" links (tests/test_curation_web.py)."""
    cells = r'<td(?! class="action")[^>]*>(.*?)</td>'
    return [re.findall(cells, row) for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)][1:]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_admin_page_shows_the_tables_with_known_data(seeded):
    response = seeded.get("/admin", params={"days": 7}, headers=BEARER)
    assert response.status_code == 200
    html = response.text

    # The two gap lists are apart, and the greeting is in neither.
    not_covered = _section(html, "not_covered")
    assert "<h2 id=\"not_covered-heading\">Programmet sier ikke noe</h2>" in not_covered
    assert "Hilsener og takk («hei», «takk!») er ikke med" in not_covered
    assert _rows(not_covered) == [
        ["Hva mener MDG om ulv?", "3", "2026-05-04 10:00", "0.21"],
        ["=HYPERLINK(&#34;http://evil&#34;)", "1", "2026-05-04 10:00", "0.10"],
    ]
    related = _section(html, "related")
    assert "<h2 id=\"related-heading\">Bare beslektet</h2>" in related
    assert _rows(related) == [["Hva med elsparkesykler?", "2", "2026-05-04 10:00", "0.40"]]
    assert _rows(_section(html, "questions")) == [
        ["Hva mener MDG om ulv?", "3", "sier ikke noe", "2026-05-04 10:00", "0.21"],
        ["Hva med elsparkesykler?", "2", "bare beslektet", "2026-05-04 10:00", "0.40"],
        ["Blir bussen billigere?", "2", "besvart", "2026-05-03 08:00", "0.78"],
        ["Hei!", "1", "hilsen", "2026-05-04 10:00", "0.30"],
        ["=HYPERLINK(&#34;http://evil&#34;)", "1", "sier ikke noe", "2026-05-04 10:00", "0.10"],
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "1", "besvart", "2026-05-03 08:00", "0.50"],
    ]
    assert _rows(_section(html, "feedback")) == [
        [
            "2026-05-03 08:00",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "Svaret handlet om &lt;b&gt;noe annet&lt;/b&gt;",
            "besvart",
            "oslofjorden-1, oslofjorden-2",
        ],
    ]
    assert _rows(_section(html, "daily"))[-2:] == [
        ["2026-05-03", "3", "3", "0", "0", "0"],
        ["2026-05-04", "7", "0", "2", "4", "1"],
    ]
    assert len(_rows(_section(html, "daily"))) == 7
    summary = _text(html[html.index('<dl class="summary">') : html.index("</dl>")])
    # Shares are of the nine questions about politics: the greeting is counted apart.
    assert summary == (
        "Spørsmål 10 Besvart 3 (33 %) Bare beslektet 2 (22 %) Programmet sier ikke noe 4 (44 %) "
        "Hilsen eller takk 1 Nyttige svar 1 Ikke nyttige svar 1"
    )
    assert '<a href="/admin?days=7" aria-current="page">7 dager</a>' in html


def test_admin_page_says_answers_are_picked_by_a_search_program(seeded):
    from tests.test_web import TRANSPARENCY_EN, TRANSPARENCY_NB

    html = seeded.get("/admin", headers=BEARER).text
    footer = html[html.index("<footer>") :]
    assert f'<p class="transparency">{TRANSPARENCY_NB} {TRANSPARENCY_EN}</p>' in footer


def test_admin_page_has_an_inline_svg_chart_and_no_scripts_or_inline_styles(seeded):
    response = seeded.get("/admin", params={"days": 7}, headers=BEARER)
    html = response.text
    svg = html[html.index("<svg") : html.index("</svg>")]

    assert "<title>3.5.: 3 spørsmål (3 besvart)</title>" in svg
    assert "<title>4.5.: 7 spørsmål (4 sier ikke noe, 2 bare beslektet, 1 hilsen eller takk)</title>" in svg
    assert [re.search(r'class="(\w+)"', rect).group(1) for rect in re.findall(r"<rect [^>]*>", svg)] == [
        "answered",  # 3.5.
        "not_covered",  # 4.5., bottom up
        "related",
        "smalltalk",
    ]
    assert "10 spørsmål over 7 dager. Flest 4.5.: 7." in svg
    assert "<script" not in html.lower() and "style=" not in html.lower() and " on" not in re.sub(r"\s+", " ", svg)
    assert all(url.startswith("/admin") for url in re.findall(r'(?:src|href)="([^"]*)"', html))  # nothing external
    assert '<link rel="stylesheet" href="/admin/admin.css">' in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "script-src" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    stylesheet = seeded.get("/admin/admin.css")
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")


def test_the_chart_stacks_each_day_bottom_up_to_its_total():
    from web.charts import chart

    day = {"day": "2026-05-04", "count": 10, "answered": 5, "related": 2, "not_covered": 2, "smalltalk": 1}
    (bar,) = chart([day], height=136)["bars"]  # plot height 100, scale 10: one question is 10 units
    assert [(p["kind"], p["y"], p["height"]) for p in bar["parts"]] == [
        ("not_covered", 90.0, 20.0),
        ("related", 70.0, 20.0),
        ("answered", 20.0, 50.0),
        ("smalltalk", 10.0, 10.0),
    ]


def test_admin_page_links_a_csv_download_for_each_table(seeded):
    html = seeded.get("/admin", params={"days": 7}, headers=BEARER).text
    links = re.findall(r'<a class="download" href="([^"]+)"', html)
    names = ("feedback", "not_covered", "related", "questions", "marks", "daily")  # the 👎 first
    assert links == [f"/admin/{name}.csv?days=7" for name in names]
    for link in links:
        assert seeded.get(link, headers=BEARER).status_code == 200


def _csv(response) -> list[list[str]]:
    assert response.text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(response.text[1:])))


def test_csv_downloads_have_every_row_and_defuse_formulas(seeded):
    response = seeded.get("/admin/not_covered.csv", params={"days": 7}, headers=BEARER)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="mdg-not_covered-7d-\d{4}-\d\d-\d\d\.csv"', response.headers["content-disposition"]
    )
    assert _csv(response) == [
        ["Spørsmål", "Antall", "Sist stilt (UTC)", "Beste treff"],
        ["Hva mener MDG om ulv?", "3", "2026-05-04 10:00", "0.21"],
        ['\'=HYPERLINK("http://evil")', "1", "2026-05-04 10:00", "0.10"],
    ]
    assert _csv(seeded.get("/admin/related.csv", params={"days": 7}, headers=BEARER)) == [
        ["Spørsmål", "Antall", "Sist stilt (UTC)", "Beste treff"],
        ["Hva med elsparkesykler?", "2", "2026-05-04 10:00", "0.40"],
    ]
    assert _csv(seeded.get("/admin/feedback.csv", params={"days": 7}, headers=BEARER)) == [
        ["Tidspunkt (UTC)", "Spørsmål", "Kommentar", "Svar", "Viste punkter"],
        [
            "2026-05-03 08:00",
            "<script>alert(1)</script>",
            "Svaret handlet om <b>noe annet</b>",
            "besvart",
            "oslofjorden-1, oslofjorden-2",
        ],
    ]
    daily = _csv(seeded.get("/admin/daily.csv", params={"days": 3}, headers=BEARER))
    assert daily == [
        ["Dato", "Spørsmål", "Besvart", "Bare beslektet", "Sier ikke noe", "Hilsen eller takk"],
        ["2026-05-02", "0", "0", "0", "0", "0"],
        ["2026-05-03", "3", "3", "0", "0", "0"],
        ["2026-05-04", "7", "0", "2", "4", "1"],
    ]
    assert len(_csv(seeded.get("/admin/questions.csv", params={"days": 7}, headers=BEARER))) == 7


def test_an_unknown_csv_table_is_404(seeded):
    assert seeded.get("/admin/secrets.csv", headers=BEARER).status_code == 404


def test_admin_page_says_so_when_logging_is_off(settings, answerer):
    app = make_app(settings.model_copy(update={"db": "off", "admin_token": TOKEN}), answerer)
    with TestClient(app) as client:
        response = client.get("/admin", headers=BEARER)
    assert response.status_code == 200
    assert "Spørsmålsloggen er slått av" in response.text


# -- a database that cannot be written ------------------------------------------------------


def test_answers_are_still_served_when_the_database_is_read_only(settings, answerer, tmp_path, caplog):
    path = tmp_path / "readonly.sqlite3"
    QuestionLog.open(Settings(db=str(path))).close()
    app = make_app(settings.model_copy(update={"db": f"file:{path}?mode=ro", "admin_token": TOKEN}), answerer)

    with caplog.at_level(logging.WARNING), TestClient(app) as client:
        answers = [client.get("/api/ask", params={"q": "tråling i Oslofjorden"}) for _ in range(5)]
        page = client.get("/admin", headers=BEARER)

    assert [a.status_code for a in answers] == [200] * 5
    assert all(a.json()["results"] and a.json()["ask_id"] is None for a in answers)
    warnings = [r for r in caplog.records if r.name == "qa.questionlog.store" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "readonly" in warnings[0].getMessage()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM asks").fetchone() == (0,)  # the write really failed
    assert page.status_code == 200  # and staff can still read what is there


def test_report_and_feedback_are_503_when_the_log_cannot_be_opened(settings, answerer, tmp_path):
    (tmp_path / "a-directory").mkdir()
    app = make_app(settings.model_copy(update={"db": str(tmp_path / "a-directory"), "admin_token": TOKEN}), answerer)
    with TestClient(app) as client:
        assert client.get("/api/ask", params={"q": "buss"}).status_code == 200
        page = client.get("/admin", headers=BEARER)
        api = client.get("/api/admin/questions", headers=BEARER)
        feedback = client.post("/api/feedback", json={"ask_id": "abc", "helpful": True})
    assert page.status_code == 503 and "Spørsmålsloggen kan ikke leses akkurat nå" in page.text
    assert api.status_code == 503
    assert feedback.status_code == 503
    assert feedback.json() == {"detail": "Tilbakemeldingen kunne ikke lagres akkurat nå."}


# -- through the real app -------------------------------------------------------------------


def test_the_real_app_logs_questions_and_takes_feedback_without_client_details(settings, db):
    """`web.app` itself: its lifespan opens the question log, its routers take feedback and report."""
    from tests.conftest import FakeEmbedder
    from web.app import create_app

    settings = settings.model_copy(
        update={"db": str(db), "admin_token": TOKEN, "rate_limit": 60, "trusted_proxies": "10.77.0.0/16"}
    )
    app = create_app(settings, embedder=FakeEmbedder())
    marks = {
        "X-Forwarded-For": "203.0.113.77",
        "User-Agent": "DistinctiveAgent/9.9 (zz-unique-ua)",
        "Cookie": "s=zz-unique-c",
    }

    with TestClient(app, client=("10.77.0.9", 50000)) as client:
        answer = client.get("/api/ask", params={"q": "kajakk utleie"}, headers=marks).json()
        feedback = client.post("/api/feedback", json={"ask_id": answer["ask_id"], "helpful": False}, headers=marks)
        report = client.get("/api/admin/questions", headers=BEARER).json()
        assert client.get("/admin", headers=BEARER).status_code == 200
        assert client.get("/admin").status_code == 401

    assert feedback.status_code == 204
    assert [(r["question"], r["count"]) for r in report] == [("kajakk utleie", 1)]
    stored = stored_bytes(db)
    assert b"kajakk utleie" in stored
    for value in [*marks.values(), "zz-unique", "10.77.0.9"]:
        assert value.encode() not in stored, value


# -- the dependencies -----------------------------------------------------------------------


def test_the_admin_guard_reads_the_token_from_the_settings_dependency(settings, db):
    app = make_app(settings.model_copy(update={"db": str(db), "admin_token": TOKEN}))
    with TestClient(app) as client:
        assert client.get("/admin", headers=BEARER).status_code == 200
        app.dependency_overrides[get_settings] = lambda: settings.model_copy(update={"admin_token": "another"})
        assert client.get("/admin", headers=BEARER).status_code == 401
        assert client.get("/admin", headers={"Authorization": "Bearer another"}).status_code == 200


def test_a_route_guarded_by_admin_dep_needs_the_token(settings):
    app = FastAPI()
    app.dependency_overrides[get_settings] = lambda: settings.model_copy(update={"admin_token": TOKEN})

    @app.get("/staff-only")
    async def staff_only(_admin: AdminDep) -> dict:
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/staff-only").status_code == 401
        assert client.get("/staff-only", headers=basic("stab", TOKEN)).json() == {"ok": True}


def test_report_modules_have_one_concern_each():
    from web import admin_auth, charts

    assert [r.path for r in feedback.router.routes] == ["/api/feedback"]
    assert {r.path for r in admin.router.routes} == {
        "/api/admin/questions",
        "/admin",
        "/admin/admin.css",
        "/admin/{name}.csv",
    }
    assert not hasattr(admin_auth, "router") and not hasattr(charts, "router")
