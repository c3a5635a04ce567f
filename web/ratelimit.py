"""Who is asking, and whether they may ask again: per-client rate limiting of questions.

A token bucket per client address: `per_minute` questions a minute, in bursts of up to
`per_minute`. A client on this machine itself (loopback, with no forwarded address behind it)
is the operator: health checks, benchmarks, evaluation scripts; it is not limited. A reverse
proxy on this machine is trusted by default (QA_TRUSTED_PROXIES), so voters behind it are
limited by their own addresses, and one that forwards no address fails open rather than
putting every voter in one shared bucket. It lives in memory in one process; with several workers each enforces its own
limit, so the effective limit is per worker. It does not identify anyone beyond the address
the request came from, and it forgets a client as soon as its bucket is full again.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Collection

MAX_CLIENTS = 50_000  # buckets kept before idle ones are dropped


class RateLimiter:
    """Thread-safe token buckets keyed by client address."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self._capacity = float(per_minute)
        self._refill = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at time)
        self._lock = threading.Lock()

    def wait(self, client: str) -> int:
        """Take one question from `client`'s allowance: 0 if allowed, else whole seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(client, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - then) * self._refill)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_CLIENTS:
                    self._forget_idle(now)
                return 0
            self._buckets[client] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self._refill))

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose bucket has refilled; if that is not enough, start afresh."""
        full = [
            c for c, (tokens, then) in self._buckets.items() if tokens + (now - then) * self._refill >= self._capacity
        ]
        for client in full:
            del self._buckets[client]
        if len(self._buckets) > MAX_CLIENTS // 2:
            self._buckets.clear()  # a flood of distinct addresses: fail open rather than grow


def client_address(peer: str | None, forwarded_for: list[str], trusted: Collection[str]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the nearest
    address in `X-Forwarded-For` that is not itself a trusted proxy.

    Entries further left than that were written by the client and cannot be trusted.
    """
    if peer is None:
        return "unknown"
    if peer not in trusted or not forwarded_for:
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return hops[0][:64] if hops else peer


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8 and ::1: a request from this machine itself."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def too_many_questions(seconds: int) -> str:
    """The Norwegian message for a client that must wait `seconds`."""
    unit = "sekund" if seconds == 1 else "sekunder"
    return f"Du har stilt mange spørsmål på kort tid. Vent {seconds} {unit} og prøv igjen."
