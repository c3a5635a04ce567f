"""`python -m qa bench`: speed and memory of the real service on this machine, each figure
next to the floor it can be compared with, measured in the same run.

Builds the index from scratch in a temporary folder, starts a real server on loopback
(`python -m qa serve`, the default model, question log on, rate limit off) and measures
over HTTP. Figures and their floors:

- index build from nothing, and a rebuild after a one-pledge edit (the embedding cache,
  index/embedcache.py); floor: the engine's own time to embed that many passages;
- warm start (index built) until /healthz answers, and until a first answer that needs the
  speller's word lists; floor: a bare FastAPI app on uvicorn (the same Python, nothing loaded);
- uncached latency p50/p95 over distinct questions; floor: the engine's own time for one
  question, in this process;
- a repeated (cached) question; floor: /healthz over HTTP (what the round trip costs anyway);
- throughput with 1 and 8 concurrent clients, with error counts; floors: /healthz at 8 clients
  (the HTTP stack alone) and the engine alone embedding batches of 8 on one thread;
- peak resident memory of the server.

The report is a Markdown table, to paste into the README as it is. Every loop is bounded in
count and time, so the benchmark always ends. `--compare PORT PORT` instead measures two
servers already running (two commits, say) against each other (`compare`).
"""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from qa.errors import QAError
from qa.operations.settings import CHECKOUT

QUESTIONS = CHECKOUT / "corpus" / "questions.jsonl"
START_TIMEOUT = 300.0
_ASKED = itertools.count(1)  # numbers the throughput runs' questions apart
STARTS = 3  # warm starts measured; the median is reported
# A question with a word the programme does not use: answering it needs the speller's word lists.
NEEDS_WORD_LISTS = "hva vil dere gjøre med kollektivtrafikkk og sykkelveiene?"
BARE_APP = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()
app.get("/healthz")(lambda: {"status": "ok"})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def main(*, questions: int = 200, seconds: float = 10.0) -> str:
    """Run every measurement and return the printed report."""
    rows: list[tuple[str, str, str, str]] = []
    asked = distinct_questions(questions)
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        env = {**os.environ, "QA_INDEX_DIR": str(Path(tmp) / "index"), "QA_DB": str(Path(tmp) / "log.sqlite3")}
        env["QA_RATE_LIMIT"] = "0"
        engine = _engine_floors(asked)
        texts = engine["passages"]

        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "build", "--force"], env=env, check=True, capture_output=True)
        built = time.perf_counter() - started
        rows.append(("index build from nothing", f"{built:.1f} s", f"engine alone, {texts:,} passages: {engine['build']:.1f} s", "≤ 5 s"))
        edited, edited_env = _one_pledge_edited(Path(tmp), env)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "build"], env=edited_env, check=True, capture_output=True)
        rows.append((f"rebuild after a one-pledge edit ({edited})", f"{time.perf_counter() - started:.1f} s",
                     "", "≤ 5 s"))  # fmt: skip

        port = _free_port()
        bare = _median_start([sys.executable, "-c", BARE_APP, str(port)], port, env)
        command = [sys.executable, "-m", "qa", "serve", "--port", str(port)]
        warm = _median_start(command, port, env)
        started = time.perf_counter()
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(port, server)
            ready = time.perf_counter() - started
            _Client(port).ask(NEEDS_WORD_LISTS)
            first = time.perf_counter() - started
            rows.append(("warm start, until /healthz answers", f"{warm:.2f} s", f"bare FastAPI app: {bare:.2f} s", "≤ 0.5 s"))
            rows.append(("warm start, until a first answer needing the word lists", f"{first:.2f} s",
                         f"(that run's /healthz: {ready:.2f} s)", ""))  # fmt: skip
            rows += _measure(port, asked, seconds, engine)
            rows.append(("server peak RSS", f"{_peak_rss_mb(server.pid):.0f} MB", "", "≤ 600 MB"))
        finally:
            server.terminate()
            server.wait(10)
    return _table(rows)


def compare(ports: tuple[int, int], questions: list[str], *, rounds: int = 3) -> str:
    """Uncached latency of two servers already running on loopback (say, two commits), asked the
    same distinct `questions`, alternately and in alternating order, so that the machine's slow
    and fast spells fall on both alike. Returns a table of p50 and p95 per port."""
    clients = [_Client(port) for port in ports]
    for port, client in zip(ports, clients):
        if client.get("/healthz")[1] != 200:
            raise QAError(f"no server answers /healthz on 127.0.0.1:{port}")
    for client in clients:
        for q in questions[:5]:  # warm-up: first calls touch cold pages
            client.ask(f"oppvarming {q}")
    times: list[list[float]] = [[], []]
    errors = [0, 0]
    # A question asked in an earlier run would be answered from the cache; a short tag keeps
    # it apart (the engine's cost is per token: a 19-digit tag made questions 65 % longer).
    tag = time.time_ns() // 1000 % 100_000
    for round_ in range(rounds):
        for i, q in enumerate(questions):
            for side in (0, 1) if (i + round_) % 2 == 0 else (1, 0):
                ms, status = clients[side].ask(f"{q} ({tag}-{round_})")
                times[side].append(ms)
                errors[side] += status != 200
    rows = [
        (f"uncached latency p50 / p95, port {port} ({len(t)} answers, {e} errors)",
         f"{_percentile(t, 50):.2f} / {_percentile(t, 95):.2f} ms", "", "")
        for port, t, e in zip(ports, times, errors)
    ]  # fmt: skip
    return _table(rows)


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    """The rows as a Markdown table: figure, measured, floor in the same run, target."""
    lines = ["| figure | measured | floor (same run) | target |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def _measure(port: int, questions: list[str], seconds: float, engine: dict) -> list[tuple[str, str, str, str]]:
    client = _Client(port)
    for q in questions[:5]:  # warm-up: first calls touch cold pages
        client.ask(f"oppvarming {q}")
    uncached = [client.ask(q)[0] for q in questions]
    floor = [client.get("/healthz")[0] for _ in range(200)]
    repeated = [client.ask(questions[0])[0] for _ in range(200)]
    p50, p95 = _percentile(uncached, 50), _percentile(uncached, 95)
    healthz, again = _percentile(floor, 50), _percentile(repeated, 50)
    out = [
        (f"uncached latency p50 / p95 ({len(uncached)} distinct questions)", f"{p50:.1f} / {p95:.1f} ms",
         f"engine alone, one question: {engine['one_p50']:.1f} / {engine['one_p95']:.1f} ms", "≤ 15 / ≤ 40 ms"),
        ("repeated question p50", f"{again:.2f} ms", f"/healthz over HTTP: {healthz:.2f} ms (+{again - healthz:.2f})",
         "≤ 1 ms over the floor"),
    ]  # fmt: skip
    ceiling, _, _ = _throughput(port, questions, 8, min(seconds, 5.0), path=lambda q: "/healthz")
    for clients in (1, 8):
        rate, errors, total = _throughput(port, questions, clients, seconds)
        floor_text = (
            f"engine alone, one at a time: {engine['one_rate']:.0f}/s"
            if clients == 1
            else f"/healthz at 8 clients: {ceiling:.0f}/s; engine alone, batches of 8: {engine['batch_rate']:.0f}/s"
        )
        out.append((f"throughput, {clients} client{'s' if clients > 1 else ''} ({total} answers, {errors} errors)",
                    f"{rate:.0f} answers/s", floor_text, "≥ 400/s" if clients > 1 else ""))  # fmt: skip
    return out


def _engine_floors(questions: list[str]) -> dict:
    """The engine's own times, in this process, before the server starts: one question at a
    time, batches of 8 on one thread (as the server runs them when busy), and passages."""
    from index.embedders import load_embedder
    from qa.answering.startup import load_inputs
    from qa.operations.settings import load_settings

    settings = load_settings()
    embedder = load_embedder(settings.model)
    passages = [text for rows in load_inputs(settings, embedder=embedder).passages.values() for _, text in rows]
    for q in questions[:5]:
        embedder.embed_queries([q])
    one = [_timed(lambda q=q: embedder.embed_queries([q])) for q in questions]
    concurrent = getattr(embedder, "_concurrent_questions", None)  # the engine thread's busy-server call
    batches = [questions[i : i + 8] for i in range(0, len(questions), 8)]
    batched = sum(_timed(lambda b=b: embedder.embed_queries(b) if concurrent is None else concurrent(b)) for b in batches)
    sample = passages[:: max(1, len(passages) // 512)]
    per_passage = sum(_timed(lambda i=i: embedder.embed_passages(sample[i : i + 32])) for i in range(0, len(sample), 32))
    return {
        "one_p50": _percentile(one, 50),
        "one_p95": _percentile(one, 95),
        "one_rate": 1000 / statistics.mean(one),
        "batch_rate": len(questions) / (batched / 1000),
        "build": per_passage / 1000 / len(sample) * len(passages),
        "passages": len(passages),
    }


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _one_pledge_edited(tmp: Path, env: dict) -> tuple[str, dict]:
    """A copy of the programme with one word added to its first pledge, and the env that uses it."""
    from qa.answering.startup import load_programme
    from qa.operations.settings import load_settings

    settings = load_settings()
    copy = tmp / Path(settings.corpus).name
    copy.write_text(Path(settings.corpus).read_text(encoding="utf-8").replace("● ", "● gjerne ", 1), encoding="utf-8")
    quiet = logging.getLogger("qa.answering.startup")
    level, _ = quiet.level, quiet.setLevel(logging.ERROR)  # the ledger's warning that the copy was edited
    try:
        before = load_programme(settings.corpus, settings.ids).pledges
        after = load_programme(copy, settings.ids).pledges
    finally:
        quiet.setLevel(level)
    changed = [a.id for a, b in zip(after, before) if a.text != b.text]
    return ", ".join(changed) or "nothing changed", {**env, "QA_CORPUS": str(copy)}


def _median_start(command: list[str], port: int, env: dict) -> float:
    """Median seconds from starting `command` until its /healthz answers, over STARTS runs."""
    times = []
    for _ in range(STARTS):
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(port, process)
            times.append(time.perf_counter() - started)
        finally:
            process.terminate()
            process.wait(10)
    return statistics.median(times)


def _throughput(
    port: int, questions: list[str], clients: int, seconds: float, path: Callable[[str], str] | None = None
) -> tuple[float, int, int]:
    """Answers per second with `clients` threads asking distinct, uncached questions (or
    requests per second to `path(question)` instead)."""
    counts = [0] * clients
    errors = [0] * clients
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        client = _Client(port)
        i = n
        while time.perf_counter() < deadline and i < 100_000:
            # Each question is asked once in the server's life (the answer cache would
            # answer it again), with a number no longer than voters' own would be.
            question = f"{questions[i % len(questions)]} {next(_ASKED)}"
            _, status = client.ask(question) if path is None else client.get(path(question))
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


def distinct_questions(n: int) -> list[str]:
    """`n` different questions: the tuning set's, then the same again with a number added."""
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
        time.sleep(0.005)
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
