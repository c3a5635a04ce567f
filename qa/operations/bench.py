"""`python -m qa bench`: speed and memory of the real service on this machine.

Builds the index from scratch in a temporary folder, starts a real server on loopback
(`python -m qa serve`, the default model, question log on, rate limit off) and measures
over HTTP:

- index build time, and warm start (index already built) until /healthz answers;
- uncached latency p50/p95 over distinct questions;
- a repeated question, against the /healthz floor (what the HTTP round trip costs anyway);
- throughput with 1 and 8 concurrent clients, with error counts;
- peak resident memory of the server.

Every loop is bounded in count and time, so the benchmark always ends.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from qa.operations.settings import CHECKOUT

QUESTIONS = CHECKOUT / "corpus" / "questions.jsonl"
START_TIMEOUT = 300.0


def main(*, questions: int = 200, seconds: float = 10.0) -> str:
    """Run every measurement and return the printed report."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        env = {**os.environ, "QA_INDEX_DIR": str(Path(tmp) / "index"), "QA_DB": str(Path(tmp) / "log.sqlite3")}
        env["QA_RATE_LIMIT"] = "0"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "build", "--force"], env=env, check=True, capture_output=True)
        lines.append(f"index build (from scratch)      {time.perf_counter() - started:8.1f} s")

        port = _free_port()
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_ready(port, server)
            lines.append(f"warm start (until /healthz 200) {time.perf_counter() - started:8.2f} s")
            lines += _measure(port, _questions(questions), seconds)
            lines.append(f"server peak RSS                 {_peak_rss_mb(server.pid):8.0f} MB")
        finally:
            server.terminate()
            server.wait(10)
    return "\n".join(lines)


def _measure(port: int, questions: list[str], seconds: float) -> list[str]:
    client = _Client(port)
    for q in questions[:5]:  # warm-up: first calls touch cold pages
        client.ask(f"oppvarming {q}")
    uncached = [client.ask(q)[0] for q in questions]
    floor = [client.get("/healthz")[0] for _ in range(200)]
    repeated = [client.ask(questions[0])[0] for _ in range(200)]
    p50, p95 = _percentile(uncached, 50), _percentile(uncached, 95)
    out = [
        f"uncached latency p50 / p95      {p50:8.1f} / {p95:.1f} ms   ({len(uncached)} distinct questions)",
        f"repeated question p50           {_percentile(repeated, 50):8.2f} ms   "
        f"(/healthz floor {_percentile(floor, 50):.2f} ms, difference "
        f"{_percentile(repeated, 50) - _percentile(floor, 50):.2f} ms)",
    ]
    for clients in (1, 8):
        rate, errors, total = _throughput(port, questions, clients, seconds)
        out.append(f"throughput, {clients} client{'s' if clients > 1 else ' '}            {rate:8.0f} answers/s   "
                   f"({total} answers, {errors} errors)")
    return out


def _throughput(port: int, questions: list[str], clients: int, seconds: float) -> tuple[float, int, int]:
    """Answers per second with `clients` threads asking distinct, uncached questions."""
    counts = [0] * clients
    errors = [0] * clients
    deadline = time.perf_counter() + seconds
    tag = f"{clients}-{time.time_ns()}"

    def worker(n: int) -> None:
        client = _Client(port)
        i = n
        while time.perf_counter() < deadline and i < 100_000:
            _, status = client.ask(f"{questions[i % len(questions)]} ({tag}-{i})")
            counts[n] += status == 200
            errors[n] += status != 200
            i += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return sum(counts) / elapsed, sum(errors), sum(counts)


class _Client:
    """One keep-alive HTTP connection; returns (milliseconds, status)."""

    def __init__(self, port: int) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[float, int]:
        started = time.perf_counter()
        try:
            self._conn.request("GET", path)
            response = self._conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self._conn.close()
            status = 0
        return (time.perf_counter() - started) * 1000, status

    def ask(self, question: str) -> tuple[float, int]:
        return self.get("/api/ask?" + urllib.parse.urlencode({"q": question, "k": 5}))


def _questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    base = [r["q"] for r in rows]
    return [base[i % len(base)] if i < len(base) else f"{base[i % len(base)]} ({i})" for i in range(n)]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _wait_ready(port: int, server: subprocess.Popen) -> None:
    deadline = time.perf_counter() + START_TIMEOUT
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
            if _Client(port).get("/healthz")[1] == 200:
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("the server did not become ready")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    print(main())
