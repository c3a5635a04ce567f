"""Faults in the question log's files while a real server answers: answers never stop.

The server is a real uvicorn process (tests/serve_guarded.py: the options of `python -m qa serve`,
the fake embedder, the small programme) with its log in a SQLite file under tmp_path. Each test
damages the database file, its journal, or a `-wal`/`-shm` file (WAL mode used to map `-shm`:
truncating it killed the server with SIGBUS) by truncating, deleting or making it unwritable,
asks questions, and checks that every answer is 200 and the process is alive; then it repairs
the damage and checks that questions are logged again, into the file that is there now, and that
the server said so. As root, "unwritable" is `chattr +i` (root ignores file modes).
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

import pytest

from tests.conftest import SMALL_PROGRAMME

CHECKOUT = Path(__file__).resolve().parent.parent
ROOT = os.geteuid() == 0
ASKED = 10  # questions asked while a fault lasts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real server process with its question log at `db`."""

    def __init__(self, folder: Path, db: Path) -> None:
        self.folder, self.db, self.port = folder, db, _free_port()
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
                stored = sqlite3.connect(self.db).execute("SELECT count(*) FROM asks WHERE ask_id = ?", (ask_id,))
                assert stored.fetchone() == (1,), "an ask_id was handed out for a row not in the log's file"
                return ask_id
            time.sleep(0.2)
        raise AssertionError(f"questions were not logged again within {within} s:\n{self.log()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("log-faults")
    running = Server(folder, folder / "log" / "questions.sqlite3").start()
    yield running
    running.stop()


def _unwritable(path: Path) -> None:
    path.chmod(0)
    if ROOT:
        subprocess.run(["chattr", "+i", str(path)], check=True)


def _writable(path: Path, mode: int = 0o644) -> None:
    if ROOT and path.exists():
        subprocess.run(["chattr", "-i", str(path)], check=True)
    if path.exists():
        path.chmod(mode)


def _truncate(path: Path) -> None:
    os.truncate(path, 0)


FAULTS = {"truncated": _truncate, "deleted": Path.unlink, "unwritable": _unwritable}
FILES = ("", "-journal", "-wal", "-shm")


@pytest.mark.parametrize("suffix", FILES, ids=lambda s: s or "db")
@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_log_file_never_stops_answers_and_logging_comes_back(server, fault, suffix):
    server.logs_again()
    path = server.db.with_name(server.db.name + suffix)
    if not path.exists():
        # Between writes there is no journal, and with a rollback journal no -wal or -shm: a
        # stray one (from older code, a copy, a tool) is damaged instead; SQLite must not trip on it.
        path.write_bytes(os.urandom(32768))
    try:
        FAULTS[fault](path)
        server.answers_through(f"{suffix or 'db'} {fault}")
    finally:
        _writable(path)
    server.logs_again()
    assert not server.db.with_name(server.db.name + "-shm").exists() or suffix == "-shm"
    server.db.with_name(server.db.name + suffix).unlink(missing_ok=suffix != "")


def test_a_folder_deleted_while_serving_is_waited_for_and_then_used_again(server):
    server.logs_again()
    folder = server.db.parent
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()

    server.answers_through("a deleted folder")
    time.sleep(1.0)  # a few attempts to reopen, none of which may make the folder again
    assert not folder.exists()
    assert "cannot be written" in server.log().splitlines()[-1]

    folder.mkdir()
    ask_id = server.logs_again()
    assert "works again" in server.log().splitlines()[-1]
    assert sqlite3.connect(server.db).execute("SELECT count(*) FROM asks").fetchone() == (1,), ask_id


def test_a_log_read_only_at_start_is_used_once_it_can_be_written(tmp_path):
    db = tmp_path / "log" / "questions.sqlite3"
    db.parent.mkdir()
    sqlite3.connect(db).close()
    _unwritable(db)
    running = Server(tmp_path, db)
    try:
        running.start()
        running.answers_through("a read-only log")
        assert "cannot be written" in running.log()
        assert running.ask().get("ask_id") is None
    finally:
        _writable(db)
    try:
        running.logs_again()
        lines = [line for line in running.log().splitlines() if line.startswith("question log")]
        assert len(lines) == 2 and "cannot be written" in lines[0] and "works again" in lines[1]
        deadline = time.monotonic() + 10  # staff curation, in the same file, looks once a second
        while "curation can be read again" not in running.log() and time.monotonic() < deadline:
            running.ask()
            time.sleep(0.2)
        assert "curation can be read again" in running.log()
    finally:
        running.stop()
