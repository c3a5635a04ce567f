"""Feedback and the staff report over HTTP: `web.admin.make_router` in a small app of its own.

The app here is a stand-in for `web.app`: a lifespan that opens the `QuestionLog` into
`app.state.questionlog`, the router, and an `/api/ask` that answers with the fake embedder and
logs the answer the way the real endpoint does.
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

from qa.questionlog import QuestionLog
from qa.settings import Settings
from tests.test_questionlog import Clock, make_answer
from web.admin import make_router

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
    app.include_router(make_router(settings))

    @app.get("/api/ask")
    def ask(request: Request, q: str, k: int = 5):
        answer = answerer.ask(q, k)
        return {**answer.as_dict(), "ask_id": request.app.state.questionlog.record(answer)}

    return app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "questions.sqlite3"


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

    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # the file and its WAL
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

ADMIN_URLS = ["/admin", "/api/admin/questions", "/admin/unanswered.csv"]


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


def test_admin_questions_json_groups_and_filters(seeded):
    response = seeded.get("/api/admin/questions", params={"answered": "false", "days": 30}, headers=BEARER)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == [
        {
            "question": "Hva mener MDG om ulv?",
            "count": 3,
            "last_seen": "2026-05-04T10:00:00Z",
            "answered": False,
            "top_score": 0.214,
        },
        {
            "question": '=HYPERLINK("http://evil")',
            "count": 1,
            "last_seen": "2026-05-04T10:00:00Z",
            "answered": False,
            "top_score": 0.1,
        },
    ]
    today = seeded.get("/api/admin/questions", params={"days": 1}, headers=BEARER).json()
    assert [q["question"] for q in today] == ["Hva mener MDG om ulv?", '=HYPERLINK("http://evil")']
    both_days = seeded.get("/api/admin/questions", params={"days": 2}, headers=BEARER).json()
    assert [(q["question"], q["count"]) for q in both_days] == [
        ("Hva mener MDG om ulv?", 3),
        ("Blir bussen billigere?", 2),
        ('=HYPERLINK("http://evil")', 1),
        ("<script>alert(1)</script>", 1),
    ]


@pytest.mark.parametrize("query", [{"days": 0}, {"days": "many"}, {"answered": "maybe"}])
def test_admin_questions_rejects_bad_parameters(seeded, query):
    assert seeded.get("/api/admin/questions", params=query, headers=BEARER).status_code == 422


def _section(html: str, name: str) -> str:
    start = html.index(f'<section aria-labelledby="{name}-heading"')
    return html[start : html.index("</section>", start)]


def _rows(section: str) -> list[list[str]]:
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)][1:]


def test_admin_page_shows_the_tables_with_known_data(seeded):
    response = seeded.get("/admin", params={"days": 7}, headers=BEARER)
    assert response.status_code == 200
    html = response.text

    assert _rows(_section(html, "unanswered")) == [
        ["Hva mener MDG om ulv?", "3", "2026-05-04 10:00", "0.21"],
        ["=HYPERLINK(&#34;http://evil&#34;)", "1", "2026-05-04 10:00", "0.10"],
    ]
    assert _rows(_section(html, "questions")) == [
        ["Hva mener MDG om ulv?", "3", "nei", "2026-05-04 10:00", "0.21"],
        ["Blir bussen billigere?", "2", "ja", "2026-05-03 08:00", "0.78"],
        ["=HYPERLINK(&#34;http://evil&#34;)", "1", "nei", "2026-05-04 10:00", "0.10"],
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "1", "ja", "2026-05-03 08:00", "0.50"],
    ]
    assert _rows(_section(html, "feedback")) == [
        [
            "2026-05-03 08:00",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "Svaret handlet om &lt;b&gt;noe annet&lt;/b&gt;",
            "ja",
        ],
    ]
    assert _rows(_section(html, "daily"))[-2:] == [["2026-05-03", "3", "0"], ["2026-05-04", "4", "4"]]
    assert len(_rows(_section(html, "daily"))) == 7
    summary = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", html[html.index('<dl class="summary">') : html.index("</dl>")])
    )
    assert summary.strip() == "Spørsmål 7 Ubesvarte 4 (57 %) Nyttige svar 1 Ikke nyttige svar 1"
    assert '<a href="/admin?days=7" aria-current="page">7 dager</a>' in html


def test_admin_page_has_an_inline_svg_chart_and_no_scripts_or_inline_styles(seeded):
    response = seeded.get("/admin", params={"days": 7}, headers=BEARER)
    html = response.text
    svg = html[html.index("<svg") : html.index("</svg>")]

    assert "<title>3.5.: 3 spørsmål, 0 ubesvarte</title>" in svg
    assert "<title>4.5.: 4 spørsmål, 4 ubesvarte</title>" in svg
    assert svg.count('<rect class="answered"') == 1 and svg.count('<rect class="unanswered"') == 1
    assert "7 spørsmål over 7 dager. Flest 4.5.: 4." in svg
    assert "<script" not in html.lower() and "style=" not in html.lower() and " on" not in re.sub(r"\s+", " ", svg)
    assert all(url.startswith("/admin") for url in re.findall(r'(?:src|href)="([^"]*)"', html))  # nothing external
    assert '<link rel="stylesheet" href="/admin/admin.css">' in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "script-src" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    stylesheet = seeded.get("/admin/admin.css")
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")


def test_admin_page_links_a_csv_download_for_each_table(seeded):
    html = seeded.get("/admin", params={"days": 7}, headers=BEARER).text
    links = re.findall(r'<a class="download" href="([^"]+)"', html)
    assert links == [f"/admin/{name}.csv?days=7" for name in ("unanswered", "questions", "feedback", "daily")]
    for link in links:
        assert seeded.get(link, headers=BEARER).status_code == 200


def _csv(response) -> list[list[str]]:
    assert response.text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(response.text[1:])))


def test_csv_downloads_have_every_row_and_defuse_formulas(seeded):
    response = seeded.get("/admin/unanswered.csv", params={"days": 7}, headers=BEARER)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="mdg-unanswered-7d-\d{4}-\d\d-\d\d\.csv"', response.headers["content-disposition"]
    )
    assert _csv(response) == [
        ["Spørsmål", "Antall", "Sist stilt (UTC)", "Beste treff"],
        ["Hva mener MDG om ulv?", "3", "2026-05-04 10:00", "0.21"],
        ['\'=HYPERLINK("http://evil")', "1", "2026-05-04 10:00", "0.10"],
    ]
    assert _csv(seeded.get("/admin/feedback.csv", params={"days": 7}, headers=BEARER)) == [
        ["Tidspunkt (UTC)", "Spørsmål", "Kommentar", "Besvart"],
        ["2026-05-03 08:00", "<script>alert(1)</script>", "Svaret handlet om <b>noe annet</b>", "ja"],
    ]
    daily = _csv(seeded.get("/admin/daily.csv", params={"days": 3}, headers=BEARER))
    assert daily == [
        ["Dato", "Spørsmål", "Ubesvarte"],
        ["2026-05-02", "0", "0"],
        ["2026-05-03", "3", "0"],
        ["2026-05-04", "4", "4"],
    ]
    assert len(_csv(seeded.get("/admin/questions.csv", params={"days": 7}, headers=BEARER))) == 5


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
    warnings = [r for r in caplog.records if r.name == "qa.questionlog" and r.levelno == logging.WARNING]
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
    """`web.app` with the question log installed by hand, as its lifespan will do once wired."""
    from tests.conftest import FakeEmbedder
    from web.app import create_app

    settings = settings.model_copy(
        update={"db": str(db), "admin_token": TOKEN, "rate_limit": 60, "trusted_proxies": "testclient"}
    )
    app = create_app(settings, embedder=FakeEmbedder())
    app.include_router(make_router(settings))
    marks = {
        "X-Forwarded-For": "203.0.113.77",
        "User-Agent": "DistinctiveAgent/9.9 (zz-unique-ua)",
        "Cookie": "s=zz-unique-c",
    }

    with TestClient(app) as client:
        qlog = app.state.questionlog = QuestionLog.open(settings)
        app.state.recorder = qlog.record
        answer = client.get("/api/ask", params={"q": "kajakk utleie"}, headers=marks).json()
        feedback = client.post("/api/feedback", json={"ask_id": answer["ask_id"], "helpful": False}, headers=marks)
        report = client.get("/api/admin/questions", headers=BEARER).json()
        qlog.close()

    assert feedback.status_code == 204
    assert [(r["question"], r["count"]) for r in report] == [("kajakk utleie", 1)]
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert b"kajakk utleie" in stored
    for value in [*marks.values(), "zz-unique", "testclient"]:
        assert value.encode() not in stored, value
