"""A small OpenAI-compatible chat-completions server for the drafting tests: real HTTP on loopback.

It runs `http.server` in a thread on a port the OS picks, answers `POST /v1/chat/completions`
from a script of replies (the last one repeats), and records every request it got (path,
headers, JSON body). Nothing here is a mock of the HTTP client: the client under test talks
to this server over a socket, as it would to llama.cpp, Ollama or a hosted API.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Scripted:
    status: int = 200
    body: dict | str = ""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


def completion(content: str, finish_reason: str = "stop", **message) -> Scripted:
    """A 200 chat completion whose first choice says `content`."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish_reason,
            }
        ],
    }
    return Scripted(200, body)


def expansions_reply(*texts: str) -> Scripted:
    return completion(json.dumps({"expansions": list(texts)}, ensure_ascii=False))


class FakeOpenAI:
    """Use as a context manager; `url` is the base URL (…/v1) to put in QA_AUTHOR_URL."""

    def __init__(self, *script: Scripted) -> None:
        self.script = list(script) or [completion("{}")]
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                with fake._lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(raw)})
                    reply = fake.script.pop(0) if len(fake.script) > 1 else fake.script[0]
                time.sleep(reply.delay)
                body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda *args: None
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
