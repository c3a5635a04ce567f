"""Faults and load: broken index files at start-up, many clients at once, unusable settings."""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.conftest import FakeEmbedder
from web.app import create_app

CHECKOUT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_a_damaged_index_is_rebuilt_at_start_up_and_answers_are_unchanged(settings, damage, caplog):
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        before = client.get("/api/ask", params={"q": "tråling i fjorden"}).json()
    target = settings.index_dir / "pledges.faiss"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif damage == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    else:
        target.unlink()
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        after = client.get("/api/ask", params={"q": "tråling i fjorden"}).json()
    assert "pledges.faiss" in caplog.text and "rebuilding the index" in caplog.text
    assert after["results"] == before["results"]


def _serve_in_thread(app):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread, sock.getsockname()[1]


QUESTIONS = [
    "tråling i Oslofjorden",
    "kajakker og robåter",
    "bussen sone 1",
    "sykkelveinett",
    "karakterer i skolen",
    "plast på stranda",
    "kollektivtrafikken i Bærum",
    "grunnskolen",
]


def test_16_concurrent_clients_asking_400_questions_all_get_the_answers_given_one_at_a_time(settings):
    app = create_app(settings.model_copy(update={"cache_size": 0}), embedder=FakeEmbedder())
    server, thread, port = _serve_in_thread(app)
    try:
        questions = [f"{QUESTIONS[i % len(QUESTIONS)]} {i % 50}" for i in range(400)]

        def ask(question: str) -> tuple[int, list[str]]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/ask?" + urllib.parse.urlencode({"q": question}))
            response = conn.getresponse()
            body = json.loads(response.read())
            conn.close()
            return response.status, [r["id"] for r in body.get("results", [])]

        alone = {q: ask(q) for q in dict.fromkeys(questions)}
        with ThreadPoolExecutor(max_workers=16) as pool:
            together = list(pool.map(ask, questions))
    finally:
        server.should_exit = True
        thread.join(10)
    assert [status for status, _ in together] == [200] * 400
    assert [ids for _, ids in together] == [alone[q][1] for q in questions]


def _run_qa(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=CHECKOUT,
    )


def _one_clear_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_serve_with_an_unreadable_corpus_exits_with_one_line(tmp_path):
    result = _run_qa("serve", "--port", "0", env={"QA_CORPUS": str(tmp_path / "missing.txt")})
    assert "QA_CORPUS" in _one_clear_line(result) and "missing.txt" in result.stderr


def test_serve_on_a_port_that_is_taken_exits_with_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = _one_clear_line(_run_qa("serve", "--port", str(port), env={}))
    assert f"cannot listen on 127.0.0.1:{port}" in line


@pytest.mark.model  # loads the sentence-transformers backend to find the model missing
def test_serve_with_an_unknown_model_exits_with_one_line(tmp_path):
    result = _run_qa(
        "serve", "--port", "0",
        env={"QA_MODEL": str(tmp_path / "no-such-model"), "QA_INDEX_DIR": str(tmp_path / "i"), "HF_HUB_OFFLINE": "1"},
    )
    assert "QA_MODEL" in _one_clear_line(result) and "no-such-model" in result.stderr


@pytest.mark.parametrize(
    "name, value", [("QA_RATE_LIMIT", "lots"), ("QA_CACHE_SIZE", "-1"), ("QA_LOG_DAYS", "0"), ("QA_MODEL", " ")]
)
def test_a_bad_setting_is_named_in_one_line(name, value):
    assert name in _one_clear_line(_run_qa("pledges", env={name: value}))


@pytest.mark.parametrize(
    "args, message", [(("ask", "   "), "the question is empty"), (("ask", "hei", "--k", "0"), "k must be between")]
)
def test_ask_with_bad_input_is_one_line_before_any_model_is_loaded(tmp_path, args, message):
    # Settings that would fail the moment anything were loaded: the line must be about the input.
    env = {
        "QA_CORPUS": str(tmp_path / "missing.txt"),
        "QA_MODEL": str(tmp_path / "no-such-model"),
        "QA_INDEX_DIR": str(tmp_path / "index"),
        "HF_HUB_OFFLINE": "1",
    }
    line = _one_clear_line(_run_qa(*args, env=env))
    assert message in line and "QA_" not in line
    assert list(tmp_path.iterdir()) == []


def _builds(pid: int) -> list[int]:
    """The `python -m qa build` processes whose parent is `pid` (from /proc; serve starts others
    first, such as the engine's load check, which must not be mistaken for the build)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and command[-3:-1] == [b"qa", b"build"]:
                found.append(int(entry.name))
    return found


@pytest.mark.model  # the real model's first build takes long enough to be interrupted
def test_stopping_serve_while_it_builds_the_index_stops_the_build_too(tmp_path):
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "index"), "QA_VAR_DIR": str(tmp_path / "var")}
    server = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--port", "0"], cwd=CHECKOUT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (builders := _builds(server.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert builders, "serve started no build"
        server.terminate()  # SIGTERM to serve alone, as `kill PID` or a service manager may send it
        assert server.wait(timeout=30) == 128 + 15
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in builders) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(Path(f"/proc/{pid}").exists() for pid in builders), "the build went on without serve"
    finally:
        os.killpg(server.pid, 9) if server.poll() is None else None
