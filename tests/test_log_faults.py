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

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.fault_server import Server

ROOT = os.geteuid() == 0


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


def _rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT ask_id FROM asks").fetchall()
    finally:
        conn.close()


def test_a_folder_deleted_while_serving_is_waited_for_and_then_used_again(server):
    server.logs_again()
    folder = server.db.parent
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    seen = len(server.log().splitlines())

    server.answers_through("a deleted folder")
    time.sleep(1.0)  # a few attempts to reopen, none of which may make the folder again
    assert not folder.exists()
    # Its own lines, among the curation's (which reads the same database and says so too).
    assert any("cannot be written" in line for line in server.log().splitlines()[seen:])

    seen = len(server.log().splitlines())
    folder.mkdir()
    ask_id = server.logs_again()
    assert any("works again" in line for line in server.log().splitlines()[seen:])
    assert server.stored(ask_id) and len(_rows(server.db)) == 1


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
