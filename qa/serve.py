"""Start the web app with uvicorn: check the port, build the index once, then serve.

The app itself lives in `web.app`; it is named by import string so `qa` never imports `web`.
"""

from __future__ import annotations

import socket

from qa.answer import load_answerer
from qa.errors import ConfigError
from qa.settings import Settings

APP = "web.app:create_app"


def serve(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    _check_port(host, port)
    # Build (or verify) the index here, once, so worker processes only ever load it.
    load_answerer(settings, progress=True)
    # No access log: it would pair each client's address with the question in the URL.
    uvicorn.run(
        APP, factory=True, host=host, port=port, workers=workers, log_level="info", proxy_headers=False, access_log=False
    )


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
