"""A real server process for the tests that need one (nginx in front, `uvicorn --workers` directly).

`small_server_env` is the environment of a server on the small programme of the `settings`
fixture, as tests/test_slow_clients.py starts one: on the fake embedder with `serve_fake`
(tests/serve_guarded.py, the uvicorn options of `python -m qa serve`), or on the configured model
with `python -m qa serve` itself; `running` starts a command, waits until `/healthz`
answers and stops it afterwards, its output in a log file for the failure message. Not a test
module itself.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from qa.operations.settings import Settings

CHECKOUT = Path(__file__).resolve().parent.parent


def small_server_env(settings: Settings, folder: Path, **qa: str) -> dict[str, str]:
    """`QA_*` variables for a server over the `settings` fixture's programme, writing into
    `folder`; `qa` adds or replaces some (`root_path="/sporsmal"`)."""
    env = {
        **os.environ,
        "QA_CORPUS": str(settings.corpus),
        "QA_EXPANSIONS": str(settings.expansions),
        **{f"QA_{name}": "off" for name in ("TOPICS", "QUESTIONS", "BACKGROUND", "FITTED")},
        "QA_INDEX_DIR": str(folder / "index"),
        "QA_DB": "off",
    }
    env.update({f"QA_{k.upper()}": v for k, v in qa.items()})
    return env


def get(port: int, path: str, timeout: float = 5) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], log: Path, port: int, *, health: str = "/healthz", wait: float = 90) -> Iterator[subprocess.Popen]:
    """Run `command` (in its own process group) until the block ends; first wait for `health` on `port`."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=CHECKOUT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + wait
            while True:
                assert process.poll() is None, f"the server exited ({process.returncode}):\n{log.read_text()}"
                try:
                    if get(port, health, timeout=2) == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"the server did not answer {health}:\n{log.read_text()}"
                time.sleep(0.1)
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # the server and its workers, nothing else
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(5)


def serve_fake(port: int) -> list[str]:
    """The command of a server on the fake embedder with `python -m qa serve`'s uvicorn options."""
    return [sys.executable, "-m", "tests.serve_guarded", str(port)]
