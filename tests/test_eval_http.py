"""`python -m qa eval FILE --url BASE`: the same figures over HTTP as in process, and a clear
one-line error when the server is missing or answers something else."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.parse

import pytest

from qa.errors import QAError
from qa.measuring.evaluate import Outcome, format_table, load_cases, over_http, score, sections_of
from qa.operations.cli import main
from tests.conftest import write_jsonl


def run(cases, ask, programme):
    """Every case asked and scored, as `qa eval` does."""
    return score(cases, [ask(c.question) for c in cases], sections_of(programme))


def _serve(answer):
    """A stand-in server whose /api/ask answers `answer(question, k)` -> (status, body bytes)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            query = urllib.parse.parse_qs(url.query)
            status, body = answer(query["q"][0], int(query["k"][0])) if url.path == "/api/ask" else (404, b"{}")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def cases_file(tmp_path, answerer):
    pledges = answerer.programme.pledges
    return write_jsonl(
        tmp_path / "cases.jsonl",
        {"id": "a", "q": pledges[0].text, "kind": "lexical", "gold": [" ".join(pledges[0].text.split()[:5])]},
        {"id": "b", "q": "hvor går bussen?", "kind": "paraphrase", "gold": [" ".join(pledges[-1].text.split()[:5])]},
        {"id": "c", "q": "hvem vant kampen i går?", "kind": "out_of_scope", "gold": []},
    )


def test_over_http_gives_the_figures_the_answerer_gives_in_process(answerer, cases_file):
    asked = []

    def answer(question, k):
        asked.append(k)
        return 200, json.dumps(answerer.ask(question, k=k).as_dict()).encode()

    server = _serve(answer)
    try:
        cases = load_cases(cases_file, answerer.programme)
        http_figures = run(cases, over_http(f"http://127.0.0.1:{server.server_port}/"), answerer.programme)
    finally:
        server.shutdown()

    def in_process(question):
        a = answerer.ask(question, k=10)
        return Outcome(tuple(h.pledge.id for h in a.hits), a.coverage)

    assert asked == [10, 10, 10]
    assert http_figures == run(cases, in_process, answerer.programme)
    assert format_table(http_figures).splitlines()[1].split()[:2] == ["all", "3"]


def test_a_server_error_names_the_question_and_the_servers_detail(answerer, cases_file):
    server = _serve(lambda q, k: (429, json.dumps({"detail": "Too many questions"}).encode()))
    try:
        ask = over_http(f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(QAError, match=r"HTTP 429 to 'hei': Too many questions"):
            ask("hei")
    finally:
        server.shutdown()


def test_an_answer_that_is_not_this_services_is_a_clear_error():
    server = _serve(lambda q, k: (200, b'{"hello": "world"}'))
    try:
        with pytest.raises(QAError, match="has no results and coverage"):
            over_http(f"http://127.0.0.1:{server.server_port}")("hei")
    finally:
        server.shutdown()


def test_no_server_or_no_url_is_one_line_and_a_non_zero_exit(settings, cases_file, monkeypatch, capsys):
    monkeypatch.setenv("QA_CORPUS", str(settings.corpus))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert main(["eval", str(cases_file), "--url", f"http://127.0.0.1:{free}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: no server answers at http://127.0.0.1:{free}") and "\n" not in err
    assert main(["eval", str(cases_file), "--url", f"127.0.0.1:{free}"]) == 2
    assert "needs an http:// or https:// address" in capsys.readouterr().err


def test_a_question_the_server_turns_away_is_scored_as_not_covered_and_named(settings, cases_file, monkeypatch, capsys):
    # "?" gets a 422 from the real API (no letters or digits); the voter sees a message and no
    # pledges, so the run goes on and scores it as not covered, and says so under the table.
    monkeypatch.setenv("QA_CORPUS", str(settings.corpus))
    rows = [json.loads(line) for line in cases_file.read_text(encoding="utf-8").splitlines()]
    write_jsonl(cases_file, *rows, {"id": "d", "q": "?", "kind": "out_of_scope", "gold": []})
    bodies = {"?": (422, json.dumps({"detail": "Spørsmålet må inneholde bokstaver eller tall."}).encode())}
    empty = json.dumps({"results": [], "coverage": "not_covered"}).encode()
    server = _serve(lambda q, k: bodies.get(q, (200, empty)))
    try:
        assert main(["eval", str(cases_file), "--url", f"http://127.0.0.1:{server.server_port}"]) == 0
    finally:
        server.shutdown()
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:2] == ["all", "4"]
    out_of_scope = next(line.split() for line in out if line.startswith("out_of_scope"))
    assert out_of_scope[1:] == ["2", "0.00", "1.00"]  # n, misled, refused: "?" among the refused
    assert out[-1] == "1 question(s) turned away as bad input, scored as not covered: '?'"


def test_in_process_a_question_turned_away_is_scored_the_same_way(small_env, tmp_path, capsys):
    cases_file = write_jsonl(tmp_path / "away.jsonl", {"id": "d", "q": "?!", "kind": "out_of_scope", "gold": []})
    assert main(["eval", str(cases_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:2] == ["all", "1"]
    assert out[-1] == "1 question(s) turned away as bad input, scored as not covered: '?!'"
    assert main(["eval", str(cases_file), "--misses"]) == 0  # refused, out of scope: nothing to list
    assert capsys.readouterr().out.splitlines()[-3:] == [out[-1], "", "style            place  band         question"]


def test_misses_lists_what_the_figures_count_against_the_service():
    from qa.measuring.evaluate import Case, misses

    cases = [
        Case("a", "bussen", "lexical", frozenset({"p1"}), "s", "keyword"),  # first and answered: not listed
        Case("b", "sykkel med motor", "paraphrase", frozenset({"p2"}), "s"),  # second: listed
        Case("c", "eldreomsorg", "topic", frozenset({"p3"}), "s", "topic"),  # first but only related: listed
        Case("d", "homeless drug users", "english", frozenset({"p4"}), "s"),  # absent: listed, place "-"
        Case("e", "hvem vant kampen?", "out_of_scope", frozenset(), None, "offtopic"),  # answered: listed
        Case("f", "oppskrift på fiskesuppe", "out_of_scope", frozenset(), None, "offtopic"),  # refused: not listed
    ]
    outcomes = [
        Outcome(("p1", "p9"), "answered"),
        Outcome(("p9", "p2"), "answered"),
        Outcome(("p3",), "related"),
        Outcome(("p9",), "not_covered"),
        Outcome(("p9",), "answered"),
        Outcome(("p9",), "not_covered"),
    ]
    assert misses(cases, outcomes) == [
        "style            place  band         question",
        "paraphrase           2  answered     sykkel med motor",
        "topic                1  related      eldreomsorg",
        "english              -  not_covered  homeless drug users",
        "offtopic                answered     hvem vant kampen?",
    ]
