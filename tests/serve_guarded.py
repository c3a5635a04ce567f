"""Serve the web app with the fake embedder under the uvicorn options `python -m qa serve` uses.

For the slow-client fault tests (tests/test_slow_clients.py): settings come from `QA_*`
variables, the port and (optionally) the number of workers from the command line. Not a test
module itself.
"""

from __future__ import annotations

import sys

import uvicorn

from qa.operations.serve import uvicorn_options
from qa.operations.settings import load_settings
from tests.conftest import FakeEmbedder
from web.app import create_app


def app():
    """The app factory for `uvicorn --workers N` (each worker builds its own)."""
    return create_app(load_settings(), embedder=FakeEmbedder())


if __name__ == "__main__":
    settings = load_settings()
    port, workers = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1
    target = app()  # builds the index once, as `python -m qa serve` does before its workers start
    if workers > 1:  # spawned workers, each configuring the guard from the environment
        target = "tests.serve_guarded:app"
    options = {"factory": True, "workers": workers} if workers > 1 else {}
    uvicorn.run(target, host="127.0.0.1", port=port, **options, **uvicorn_options(settings))
