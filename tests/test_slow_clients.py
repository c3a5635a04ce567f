"""Idle and half-sent requests against a real server: answers keep coming, file descriptors stay bounded.

The server is a real uvicorn process on port 8941 (tests/serve_guarded.py, the options of
`python -m qa serve`) with a low file-descriptor limit, and the test opens real sockets.
"""

from __future__ import annotations

import http.client
import logging
import logging.config
import os
import resource
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.operations.connections import AcceptErrorFilter, connection_limit, log_config

CHECKOUT = Path(__file__).resolve().parent.parent
PORT = 8941


def _limit_fds(count: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))

    return apply


@pytest.fixture
def server(settings, tmp_path):
    """Start a guarded server; yield a function that starts it with given limits."""
    started = []

    def start(*, max_connections: int, timeout: float, fds: int, workers: int = 1) -> subprocess.Popen:
        env = {
            **os.environ,
            "QA_CORPUS": str(settings.corpus),
            "QA_EXPANSIONS": str(settings.expansions),
            **{f"QA_{name}": "off" for name in ("TOPICS", "QUESTIONS", "BACKGROUND", "FITTED")},
            "QA_INDEX_DIR": str(tmp_path / "index"),
            "QA_DB": "off",
            "QA_RATE_LIMIT": "0",
            "QA_MAX_CONNECTIONS": str(max_connections),
            "QA_REQUEST_TIMEOUT": str(timeout),
        }
        log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.serve_guarded", str(PORT), str(workers)],
            cwd=CHECKOUT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_limit_fds(fds),
        )
        started.append((process, log))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if _get("/healthz", timeout=1)[0] == 200:
                    return process
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    yield start
    for process, log in started:
        process.terminate()
        process.wait(10)
        log.close()


def _get(path: str, timeout: float = 5) -> tuple[int, float]:
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - began
    finally:
        conn.close()


def _open_idle(count: int, half_sent: bool) -> list[socket.socket]:
    """`count` sockets connecting at once (not waiting for each: the server's accept queue is
    short on purpose); when `half_sent`, every other one sends half a request head."""
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", PORT))
        sockets.append(s)
    if half_sent:
        _, writable, _ = select.select([], sockets[1::2], [], 2.0)
        for s in writable:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                s.send(b"GET /api/ask?q=buss HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    return sockets


def _all_let_go(sockets: list[socket.socket], within: float) -> list[socket.socket]:
    """Wait until the server has closed every socket (perhaps after a 503); return those still open."""
    remaining = set(sockets)
    deadline = time.monotonic() + within
    while remaining and time.monotonic() < deadline:
        readable, _, _ = select.select(list(remaining), [], [], 0.2)
        for s in readable:
            try:
                if not s.recv(4096):
                    remaining.discard(s)
            except (ConnectionResetError, BrokenPipeError, ConnectionRefusedError):
                remaining.discard(s)
            except BlockingIOError:
                pass
    return list(remaining)


def test_hundreds_of_idle_and_half_sent_connections_do_not_stop_answers(server, tmp_path):
    process = server(max_connections=40, timeout=2.0, fds=256)
    idle = _open_idle(300, half_sent=True)
    try:
        status, took = _get("/api/ask?q=buss")
        assert (status == 200 and took < 2.0) or (status == 503 and took < 1.0)
        open_fds = len(os.listdir(f"/proc/{process.pid}/fd"))
        assert open_fds < 40 + 64, open_fds  # the connection bound, not one per socket opened
    finally:
        for s in idle:
            s.close()
    # Connections the server did accept are let go at the request deadline, without an answer.
    accepted = [socket.create_connection(("127.0.0.1", PORT), timeout=5) for _ in range(30)]
    for s in accepted[::2]:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    try:
        assert _all_let_go(accepted, within=2 * 2.0) == []
        assert [_get("/healthz")[0] for _ in range(5)] == [200] * 5
        assert process.poll() is None
    finally:
        for s in accepted:
            s.close()
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log
    assert log.count("out of system resource") <= 1


def test_a_server_with_few_file_descriptors_bounds_itself_below_them(server, tmp_path):
    process = server(max_connections=10_000, timeout=2.0, fds=128)  # clamped to 128 - 64
    idle = _open_idle(400, half_sent=False)
    try:
        assert len(os.listdir(f"/proc/{process.pid}/fd")) < 128
        assert _get("/healthz")[0] in (200, 503)
    finally:
        for s in idle:
            s.close()
    assert [_get("/api/ask?q=buss")[0] for _ in range(3)] == [200] * 3
    assert process.poll() is None
    assert (tmp_path / "server.log").read_text().count("out of system resource") <= 1


def test_a_half_sent_request_is_dropped_after_the_timeout_but_a_whole_one_is_answered(server):
    server(max_connections=40, timeout=1.0, fds=256)
    slow = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    began = time.monotonic()
    slow.settimeout(5)
    assert slow.recv(1024) == b""  # closed, without an answer
    assert 0.8 < time.monotonic() - began < 3.0
    slow.close()
    assert _get("/healthz")[0] == 200


def test_spawned_workers_apply_the_same_guard(server):
    server(max_connections=40, timeout=1.0, fds=256, workers=2)
    idle = _open_idle(20, half_sent=True)
    try:
        assert _get("/api/ask?q=buss")[0] == 200
        assert _all_let_go(idle, within=3.0) == []  # each worker times out its own idle sockets
    finally:
        for s in idle:
            s.close()
    assert [_get("/healthz")[0] for _ in range(4)] == [200] * 4


# --- pieces ------------------------------------------------------------------------------------


def test_the_accept_error_line_is_logged_once_per_interval_with_a_count():
    now = [0.0]
    guard = AcceptErrorFilter(every=10, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)

    line = "socket.accept() out of system resource\nsocket: <socket>\nexception: [Errno 24] Too many open files"
    passed = [guard.filter(record(line)) for _ in range(1000)]
    assert passed.count(True) == 1 and passed[0]
    assert guard.filter(record("another asyncio error")) is True
    now[0] += 10
    later = record(line)
    assert guard.filter(later) is True
    assert "999 more times" in later.getMessage()


def test_the_log_config_puts_the_filter_on_the_asyncio_logger():
    config = log_config()
    assert config["loggers"]["asyncio"]["filters"] == ["accept_errors"]
    assert config["filters"]["accept_errors"]["()"].endswith("AcceptErrorFilter")
    logging.config.dictConfig(config)
    asyncio_log = logging.getLogger("asyncio")
    assert any(isinstance(f, AcceptErrorFilter) for f in asyncio_log.filters)
    asyncio_log.filters.clear()


def test_the_connection_limit_and_one_accept_batch_stay_below_the_file_descriptor_limit():
    connections, batch = connection_limit(10**9)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)  # as raised by connection_limit
    assert connections + batch <= soft - 64
    assert connection_limit(5)[0] == 5


@pytest.mark.parametrize(("name", "value"), [("QA_MAX_CONNECTIONS", "0"), ("QA_REQUEST_TIMEOUT", "-1"), ("QA_REQUEST_TIMEOUT", "soon")])
def test_a_bad_connection_setting_stops_start_up_in_one_line(monkeypatch, name, value):
    from qa.errors import ConfigError
    from qa.operations.settings import load_settings

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{name}: ") and "\n" not in str(caught.value)
