"""A real server process for fault and contract tests: tests/serve_guarded.py (the uvicorn options
of `python -m qa serve`, the fake embedder) on the small programme, on a free loopback port.

`Server(folder, db, **env).start()`; `ask()` asks a question never asked before; `stop()`. Not a
test module itself (tests/test_log_faults.py, tests/test_openapi_live.py; tests/live_server.py is the
same for nginx and `uvicorn --workers`, whose servers need none of these fault helpers).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import SMALL_PROGRAMME

CHECKOUT = Path(__file__).resolve().parent.parent
ASKED = 10  # questions asked while a fault lasts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real server process with its question log at `db`, and more `QA_*` settings in `env`."""

    def __init__(self, folder: Path, db: Path, **env: str) -> None:
        self.folder, self.db, self.port, self.env = folder, db, _free_port(), env
        self.log_path = folder / "server.log"
        self.process: subprocess.Popen | None = None
        self.count = 0

    def start(self) -> Server:
        corpus = self.folder / "programme.txt"
        corpus.write_text(SMALL_PROGRAMME, encoding="utf-8")
        env = {
            **os.environ,
            "QA_CORPUS": str(corpus),
            **{f"QA_{name}": "off" for name in ("EXPANSIONS", "TOPICS", "QUESTIONS", "BACKGROUND", "FITTED")},
            "QA_INDEX_DIR": str(self.folder / "index"),
            "QA_DB": str(self.db),
            "QA_RATE_LIMIT": "0",
            **self.env,
        }
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.serve_guarded", str(self.port)],
                cwd=CHECKOUT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                self.ask()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text()

    def ask(self) -> dict:
        """Ask a question not asked before (no cached answer); the answer's JSON, asserting 200."""
        self.count += 1
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", f"/api/ask?q=buss+i+hele+B%C3%A6rum+{self.count}")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 200, body
        return json.loads(body)

    def answers_through(self, fault: str) -> None:
        """ASKED questions all answered while `fault` lasts, and the process still there."""
        for _ in range(ASKED):
            assert self.ask()["results"], f"no answer during {fault}"
        assert self.process.poll() is None, f"the server died during {fault}: {self.process.returncode}"

    def logs_again(self, within: float = 15.0) -> str:
        """Wait until a question is logged again; its ask_id, checked to be in the file there now."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            ask_id = self.ask().get("ask_id")
            if ask_id is not None:
                assert self.stored(ask_id), "an ask_id was handed out for a row not in the log's file"
                return ask_id
            time.sleep(0.2)
        raise AssertionError(f"questions were not logged again within {within} s:\n{self.log()}")

    def stored(self, ask_id: str) -> bool:
        """Whether the log's file, as it is now, holds this question."""
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute("SELECT count(*) FROM asks WHERE ask_id = ?", (ask_id,)).fetchone() == (1,)
        finally:
            conn.close()
