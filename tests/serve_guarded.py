"""Serve the web app with the fake embedder under the uvicorn options `python -m qa serve` uses.

For the slow-client fault tests (tests/test_slow_clients.py): settings come from `QA_*`
variables, the port from the command line. Not a test module itself.
"""

from __future__ import annotations

import sys

import uvicorn

from qa.operations.connections import server_options
from qa.operations.settings import load_settings
from tests.conftest import FakeEmbedder
from web.app import create_app

if __name__ == "__main__":
    settings = load_settings()
    app = create_app(settings, embedder=FakeEmbedder())
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info", access_log=False, **server_options(settings))
