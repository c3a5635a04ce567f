"""`python -m qa bench`'s own parts: the pasteable table, the one-pledge edit it rebuilds after, and `--compare`."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
import urllib.parse

import pytest

from qa.answering.startup import load_programme
from qa.errors import QAError
from qa.operations import bench
from qa.operations.settings import load_settings


def test_the_report_is_a_markdown_table_with_the_floor_beside_each_figure():
    table = bench._table([("warm start", "0.90 s", "bare FastAPI app: 0.50 s", "≤ 0.5 s"), ("RSS", "300 MB", "", "")])
    assert table.splitlines() == [
        "| figure | measured | floor (same run) | target |",
        "|---|---|---|---|",
        "| warm start | 0.90 s | bare FastAPI app: 0.50 s | ≤ 0.5 s |",
        "| RSS | 300 MB |  |  |",
    ]


def test_the_edited_copy_changes_exactly_one_pledge_and_leaves_the_programme_alone(tmp_path, monkeypatch):
    settings = load_settings()
    original = settings.corpus.read_bytes()
    changed, env = bench._one_pledge_edited(tmp_path, dict(os.environ))
    assert changed == load_programme(settings.corpus, settings.ids).pledges[0].id
    copy = load_programme(env["QA_CORPUS"], settings.ids).pledges
    assert copy[0].text.startswith("gjerne ")
    assert len(copy) == len(load_programme(settings.corpus, settings.ids).pledges)
    assert settings.corpus.read_bytes() == original and env["QA_CORPUS"].startswith(str(tmp_path))


class _Slow(http.server.BaseHTTPRequestHandler):
    """Answers /api/ask after `delay` seconds, and remembers the questions it was asked."""

    delay = 0.0
    asked: list[str]

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/api/ask":
            time.sleep(self.delay)
            self.asked.append(urllib.parse.parse_qs(url.query)["q"][0])
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _server(delay: float) -> tuple[http.server.ThreadingHTTPServer, list[str]]:
    asked: list[str] = []
    handler = type("Handler", (_Slow,), {"delay": delay, "asked": asked})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, asked


def test_compare_asks_both_servers_the_same_distinct_questions_and_reports_each():
    fast, fast_asked = _server(0.0)
    slow, slow_asked = _server(0.02)
    try:
        questions = [f"spørsmål {i}" for i in range(10)]
        report = bench.compare((fast.server_port, slow.server_port), questions, rounds=2)
    finally:
        fast.shutdown()
        slow.shutdown()
    assert fast_asked == slow_asked  # the same questions, in the same order
    measured = [q for q in fast_asked if not q.startswith("oppvarming")]
    assert len(measured) == len(set(measured)) == 20  # 10 questions, 2 rounds, none repeated
    rows = report.splitlines()[2:]
    assert [f"port {fast.server_port} (20 answers, 0 errors)" in rows[0], f"port {slow.server_port}" in rows[1]] == [True, True]
    p50 = [float(row.split("|")[2].split("/")[0]) for row in rows]
    assert p50[1] > p50[0] + 15  # the server that waits 20 ms a question is measured as slower


def test_compare_says_which_port_has_no_server():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    fast, _ = _server(0.0)
    try:
        with pytest.raises(QAError, match=f"no server answers /healthz on 127.0.0.1:{free}"):
            bench.compare((fast.server_port, free), ["hei"], rounds=1)
    finally:
        fast.shutdown()
