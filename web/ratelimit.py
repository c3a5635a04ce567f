"""Who is asking, and whether they may ask again: per-client rate limiting of questions.

A token bucket per client: `per_minute` questions a minute, in bursts of up to `per_minute`.
The client is the peer address, or, when the peer is a trusted proxy (QA_TRUSTED_PROXIES:
addresses and CIDR ranges, matched with `ipaddress`), the nearest forwarded address that is
not itself a trusted proxy. An IPv4 client is one address; an IPv6 client is its /64, the
block one household or one virtual machine is given, so cycling through addresses does not
buy more questions.

A client on this machine itself (loopback, with no forwarded address behind it) is the
operator: health checks, benchmarks, evaluation scripts; it is not limited. A trusted proxy
that sends an `X-Forwarded-For` with no usable address in it is forwarding an "unknown"
client: all of those share one bucket, and are never taken for the machine itself.

Memory is bounded: at most `MAX_CLIENTS` buckets. When the table is full, buckets that have
refilled are forgotten; if that frees nothing, a new client shares one overflow bucket with
every other newcomer until room is made, so a flood of distinct addresses fails closed and
never clears the buckets of the clients already known. It lives in memory in one process;
with several workers each enforces its own limit, so the effective limit is per worker. It
does not identify anyone beyond the address the request came from.
"""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import time
from collections.abc import Callable, Collection

MAX_CLIENTS = 50_000  # buckets kept at most
SWEEP_EVERY = 1.0  # seconds between scans of a full table for refilled buckets
UNKNOWN = "unknown"  # a client whose address no one told us
OVERFLOW = "overflow"  # the bucket newcomers share while the table is full

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimiter:
    """Thread-safe token buckets keyed by client, in bounded memory."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self._capacity = float(per_minute)
        self._refill = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at time)
        self._swept = -math.inf
        self._lock = threading.Lock()

    def wait(self, client: str) -> int:
        """Take one from `client`'s allowance: 0 if allowed, else whole seconds to wait."""
        now = self._clock()
        with self._lock:
            key = self._key(client, now)
            tokens = self._tokens(key, now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return self._seconds_until_one(tokens)

    def blocked(self, client: str) -> int:
        """Whole seconds until `client` may try again (0: now), without taking anything."""
        now = self._clock()
        with self._lock:
            key = client if client in self._buckets else OVERFLOW if self._full() else client
            tokens = self._tokens(key, now)
            return 0 if tokens >= 1.0 else self._seconds_until_one(tokens)

    def _tokens(self, key: str, now: float) -> float:
        tokens, then = self._buckets.get(key, (self._capacity, now))
        return min(self._capacity, tokens + (now - then) * self._refill)

    def _seconds_until_one(self, tokens: float) -> int:
        return max(1, math.ceil((1.0 - tokens) / self._refill))

    def _full(self) -> bool:
        return len(self._buckets) >= MAX_CLIENTS

    def _key(self, client: str, now: float) -> str:
        """`client`, or the overflow bucket when the table is full and cannot be thinned."""
        if client in self._buckets or not self._full():
            return client
        if now - self._swept >= SWEEP_EVERY:  # a scan is O(n): at most one a second
            self._swept = now
            full = [c for c in self._buckets if c != OVERFLOW and self._tokens(c, now) >= self._capacity]
            for c in full:
                del self._buckets[c]
        if not self._full():
            return client
        return OVERFLOW


def parse_address(text: str) -> Address | None:
    """An address from a peer or an `X-Forwarded-For` hop (`[v6]:port`, `v4:port` allowed);
    IPv4-mapped IPv6 becomes IPv4. None when it is not an address."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address | None, trusted: Collection[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def client_address(peer: str | None, forwarded_for: list[str], trusted: Collection[Network]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the nearest
    address in `X-Forwarded-For` that is not itself a trusted proxy.

    Entries further left than that were written by the client and cannot be trusted. A trusted
    proxy's header with no address in it, or a hop that is not an address, gives `UNKNOWN`.
    """
    if peer is None:
        return UNKNOWN
    address = parse_address(peer)
    if address is None:
        return peer[:64]  # not an IP peer (a Unix socket, a test client): its own name
    if not _trusted(address, trusted) or not forwarded_for:
        return str(address)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    if not hops:
        return UNKNOWN
    for hop in reversed(hops):
        forwarded = parse_address(hop)
        if forwarded is None:
            return UNKNOWN
        if not _trusted(forwarded, trusted):
            return str(forwarded)
    return str(parse_address(hops[0]))  # every hop is one of our proxies


def bucket_of(client: str) -> str:
    """The rate-limit key of a client: an IPv4 address as it is, an IPv6 address as its /64."""
    address = parse_address(client)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return client


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


_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def public_origin(scheme: str, host: str, peer: str | None, headers, trusted: Collection[Network]) -> str:
    """"scheme://host" as the voter's browser sees the service: the request's own, or, when the
    peer is a trusted proxy, its `X-Forwarded-Proto` and `X-Forwarded-Host`, so that behind an
    https proxy shared links say https. A host not shaped like one gives "" (relative links)."""
    if _trusted(parse_address(peer or ""), trusted):
        proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        forwarded = headers.get("x-forwarded-host", "").split(",")[0].strip()
        scheme = proto if proto in ("http", "https") else scheme
        host = forwarded if _HOST.match(forwarded) else host
    return f"{scheme}://{host}" if _HOST.match(host) else ""
