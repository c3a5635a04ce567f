"""Start the web app with uvicorn: check the port and the settings, build the index once, serve.

The app itself lives in `web.app`; it is named by import string so `qa` never imports `web`.
Nothing here runs the model: the engine's OpenMP runtime keeps a thread team per process
and calling thread, and a second team in the serving process halves its speed. A missing
or stale index is built in a child process before the server starts, so workers only load it.
With one worker, the server starts in this process and takes over the programme, model and
index checked here (`hand_over`) instead of loading them a second time.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys

from index.store import IndexStale, content_hash, load
from qa.answering.startup import hand_over, load_inputs
from qa.errors import ConfigError
from qa.operations.settings import Settings
from qa.programmes.library import every_programme

log = logging.getLogger(__name__)

APP = "web.app:create_app"


def serve(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    _check_port(host, port)
    programmes = every_programme(settings)  # a bad registry stops here, with one line
    stale, embedder = [], None
    for each in programmes:
        inputs = load_inputs(each, embedder=embedder)  # a bad corpus or model stops here, with one line
        embedder = inputs.embedder  # every programme has the one model: loaded once
        try:
            stored = load(each.index_dir, model_id=inputs.embedder.model_id, content=content_hash(inputs.passages))
            if workers == 1 and each is settings:  # one programme, served in this process: no second load
                hand_over(settings, inputs, stored)
        except IndexStale as exc:
            log.warning("building the index in %s: %s", each.index_dir, exc)
            stale.append(each)
    if stale and _build_in_a_child() != 0:  # `qa build` builds every programme that needs it
        raise ConfigError("the index could not be built (see the line above)") from None
    # Spawned workers read their settings from the environment: `--root-path` goes there too.
    os.environ["QA_ROOT_PATH"] = settings.root_path
    uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, **uvicorn_options(settings))


def _build_in_a_child() -> int:
    """`python -m qa build` in a child process; its exit code. A SIGTERM to this process while it
    builds stops the child too (a service manager or `kill` that signals only this process would
    otherwise leave the build running on its own) and exits as that signal would."""
    received: list[int] = []
    child: subprocess.Popen | None = None

    def stop(signum, _frame):  # records and passes on; raising here could interrupt Popen itself
        received.append(signum)
        if child is not None:
            child.terminate()

    previous = signal.signal(signal.SIGTERM, stop)  # before the child exists: no moment unguarded
    try:
        child = subprocess.Popen([sys.executable, "-m", "qa", "build"])
        if received:  # it came while the child was being started
            child.terminate()
        code = child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child is not None and child.poll() is None:  # Ctrl-C reaches it too; nothing may leave it running
            child.terminate()
            child.wait()
    if received:
        raise SystemExit(128 + received[0])
    return code


def uvicorn_options(settings: Settings) -> dict:
    """The uvicorn options every server of the app runs with (tests start theirs with them too)."""
    from qa.operations.connections import server_options

    return {
        "log_level": "info",
        # The client's address comes from X-Forwarded-For of a trusted proxy only (web.ratelimit).
        "proxy_headers": False,
        # Under a sub-path the server puts it in every request's scope (web.rootpath reads it).
        "root_path": settings.root_path,
        # No access log: it would pair each client's address with the question in the URL.
        "access_log": False,
        # Slow and idle clients are bounded and timed out (qa.operations.connections).
        **server_options(settings),
    }


def _check_port(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
