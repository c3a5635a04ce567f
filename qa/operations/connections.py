"""Keep slow or idle clients from exhausting the server: bounded connections, a request deadline.

uvicorn on its own waits for ever for a request that never finishes arriving, and keeps every
connection it accepts, so ~1,100 idle sockets exhaust a 1,024 file-descriptor limit; asyncio then
logs "socket.accept() out of system resource" on every retry. Here, given to uvicorn as its HTTP
protocol (`server_options`):

- a request must arrive whole (head and body) within `QA_REQUEST_TIMEOUT` seconds of its first
  byte, or of the connection opening; otherwise the connection is closed. Between requests,
  uvicorn's own keep-alive timeout applies;
- at most `QA_MAX_CONNECTIONS` connections are open at once, and never more than the process's
  file-descriptor limit allows (`connection_limit`). A new connection over the limit first evicts
  the longest-waiting one that has not sent a whole request (a slow or idle client); if every
  connection is busy with a request, the newcomer gets an immediate 503 and is closed;
- the "out of system resource" line is logged at most once every `ACCEPT_LOG_EVERY` seconds,
  with a count of the lines it stood for (`AcceptErrorFilter`).

It does not limit how many questions a client asks (web.ratelimit does) and does not read
requests itself; uvicorn's h11 protocol does.
"""

from __future__ import annotations

import copy
import logging
import resource
import time

import h11
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from qa.operations.settings import Settings, load_settings

RESERVED_FDS = 64  # descriptors kept for the index, the question log, the listening socket, logs
ACCEPT_LOG_EVERY = 10.0  # seconds between two "out of system resource" lines
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 1\r\nconnection: close\r\ncontent-length: 21\r\n\r\nServeren er opptatt.\n"
)


def connection_limit(wanted: int) -> tuple[int, int]:
    """(connections, accept batch): `wanted` lowered so that the connections, plus one batch of
    sockets accepted before any is turned away, fit the file-descriptor limit.

    The soft limit is first raised to the hard one, as far as the system lets a process.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    spare = max(2, soft - RESERVED_FDS)
    # asyncio accepts up to `backlog` sockets in one go, before any connection_made runs.
    batch = max(1, min(128, spare // 8))
    return max(1, min(wanted, spare - batch)), batch


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request deadline and a hard bound on open connections."""

    # Set once per process by `configure`: by `server_options` in the process that calls
    # uvicorn, or from the environment on the first connection in a spawned worker.
    max_connections: int | None = None
    accept_batch = 128
    request_timeout = 10.0

    @classmethod
    def configure(cls, settings: Settings) -> None:
        cls.max_connections, cls.accept_batch = connection_limit(settings.max_connections)
        cls.request_timeout = settings.request_timeout

    def connection_made(self, transport) -> None:  # type: ignore[override]
        if GuardedH11Protocol.max_connections is None:
            GuardedH11Protocol.configure(load_settings())
            install_accept_filter()  # uvicorn started directly has not had log_config()
        super().connection_made(transport)
        self._deadline = None
        self._opened = time.monotonic()
        if len(self.connections) > self.max_connections and not self._evict_one_waiting():
            transport.write(BUSY)
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()  # the request is in (or the connection is ending)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting(self) -> bool:
        """True while this connection has not sent a whole request and none is being answered."""
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and (self.cycle is None or self.cycle.response_complete)

    def _evict_one_waiting(self) -> bool:
        waiting = [c for c in self.connections if c is not self and isinstance(c, GuardedH11Protocol) and c._waiting()]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._opened)
        oldest._close()
        self.connections.discard(oldest)  # counted out now; connection_lost follows later
        return True

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._expired)

    def _disarm(self) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._waiting():
            self._close()

    def _close(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()


class AcceptErrorFilter(logging.Filter):
    """Let "socket.accept() out of system resource" through once per `ACCEPT_LOG_EVERY` seconds."""

    MESSAGE = "socket.accept() out of system resource"

    def __init__(self, every: float = ACCEPT_LOG_EVERY, clock=time.monotonic) -> None:
        super().__init__()
        self._every = every
        self._clock = clock
        self._last = -float("inf")
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.MESSAGE):
            return True
        now = self._clock()
        if now - self._last < self._every:
            self._suppressed += 1
            return False
        if self._suppressed:
            record.msg = f"{record.msg}\n(the same error {self._suppressed} more times since the last report)"
        self._last, self._suppressed = now, 0
        return True


def install_accept_filter() -> None:
    """Put `AcceptErrorFilter` on the `asyncio` logger, unless log_config() already has."""
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, AcceptErrorFilter) for f in asyncio_log.filters):
        asyncio_log.addFilter(AcceptErrorFilter())


def log_config() -> dict:
    """uvicorn's logging configuration plus the accept-error filter on the `asyncio` logger.

    Given to uvicorn, it is applied in every worker process.
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["accept_errors"] = {"()": f"{__name__}.AcceptErrorFilter"}
    config["loggers"]["asyncio"] = {"level": "WARNING", "filters": ["accept_errors"]}
    return config


def server_options(settings: Settings) -> dict:
    """The uvicorn options that bound connections and time out incomplete requests."""
    GuardedH11Protocol.configure(settings)
    limit = GuardedH11Protocol.max_connections
    return {
        "http": GuardedH11Protocol,
        # uvicorn answers 503 itself once this many requests are being handled at once.
        "limit_concurrency": limit + 1,
        "timeout_keep_alive": 5,
        "backlog": GuardedH11Protocol.accept_batch,
        "log_config": log_config(),
    }
