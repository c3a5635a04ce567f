"""`uvicorn web.app:app --workers 2` started directly, not through `python -m qa serve`: a real
process with the real model on the small programme. It starts, builds the index once for both
workers (the build lock, index.store), answers under QA_ROOT_PATH, and, given the guarded
protocol (`--http qa.operations.connections:GuardedH11Protocol`, README), closes a half-sent
request after QA_REQUEST_TIMEOUT. A bad setting stops it with one line, not a restart loop."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.live_server import CHECKOUT, running, small_server_env
from tests.nginx import free_port

DIRECT = [sys.executable, "-m", "uvicorn", "web.app:app", "--workers", "2"]
GUARDED = ["--http", "qa.operations.connections:GuardedH11Protocol", "--no-proxy-headers", "--no-access-log", "--backlog", "128"]


def direct_env(settings, tmp_path, **qa: str) -> dict[str, str]:
    env = small_server_env(settings, tmp_path, **qa)
    env.pop("QA_MODEL", None)  # the configured model: the real bundled one
    return env


def closed_within(port: int, seconds: float) -> bool:
    """Send half a request and wait: True when the server closes the connection in time."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the blank line never comes
        try:
            return sock.recv(1024) == b""
        except TimeoutError:
            return False


@pytest.mark.model
def test_uvicorn_with_two_workers_builds_the_index_once_answers_and_times_out_slow_clients(settings, tmp_path):
    port = free_port()
    env = direct_env(settings, tmp_path, root_path="/sporsmal", request_timeout="1")
    log = tmp_path / "uvicorn.log"
    with running([*DIRECT, *GUARDED, "--port", str(port)], env, log, port, wait=180):
        for _ in range(6):  # several requests: both workers answer (each has loaded the index)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ask?q=bussen", timeout=30) as response:
                body = json.load(response)
            assert body["results"] and all(r["url"].startswith("/sporsmal/program#") for r in body["results"])
        assert closed_within(port, 6)
        text = log.read_text()
    assert text.count("rebuilding the index") == 1, text
    assert text.count("Application startup complete") == 2, text


def test_uvicorn_started_directly_with_a_bad_setting_stops_with_one_line(settings, tmp_path):
    env = direct_env(settings, tmp_path, root_path="sporsmal")
    started = time.monotonic()
    result = subprocess.run([*DIRECT, "--port", str(free_port())], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert output.count("error: QA_ROOT_PATH: must start with /") == 2, output  # once per worker
    assert "Traceback" not in output
    assert "failed to start, stopping the parent process" in output  # not restarted for ever
    assert time.monotonic() - started < 60
    # One worker alone (no supervisor) exits with uvicorn's "failed to start" code; with
    # --workers, uvicorn 0.54's supervisor exits 0 after stopping (README says so).
    alone = subprocess.run([*DIRECT[:-2], "--port", str(free_port())], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=60)
    assert alone.returncode == 3
    assert alone.stderr.splitlines()[-1] == "error: QA_ROOT_PATH: must start with / (e.g. /sporsmal), or be empty for / (got 'sporsmal')"
