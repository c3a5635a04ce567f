"""Who the client is behind proxies, and a rate limit that a flood of addresses cannot clear."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qa.errors import ConfigError
from qa.operations.settings import load_settings, proxy_networks
from tests.conftest import FakeEmbedder
from web import ratelimit
from web.app import create_app
from web.ratelimit import OVERFLOW, RateLimiter, bucket_of, client_address

DOCKER = proxy_networks("127.0.0.0/8,172.17.0.0/16,fd00::/8")


# --- QA_TRUSTED_PROXIES ------------------------------------------------------------------------


def test_trusted_proxies_take_addresses_and_cidr_ranges(monkeypatch):
    monkeypatch.setenv("QA_TRUSTED_PROXIES", " 127.0.0.0/8, 172.17.0.0/16 ,::1, 10.1.2.3 ")
    assert [str(n) for n in load_settings().proxies] == ["127.0.0.0/8", "172.17.0.0/16", "::1/128", "10.1.2.3/32"]


@pytest.mark.parametrize("bad", ["localhost", "172.17.0.0/33", "10.0.0.300", "127.0.0.1;10.0.0.1"])
def test_a_bad_trusted_proxy_stops_start_up_in_one_line_naming_it(monkeypatch, bad):
    monkeypatch.setenv("QA_TRUSTED_PROXIES", f"127.0.0.1,{bad}")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("QA_TRUSTED_PROXIES: ")
    assert f"'{bad}' is not an IP address or CIDR range" in message
    assert "\n" not in message


def test_the_command_line_refuses_a_bad_trusted_proxy_with_one_line(monkeypatch, capsys):
    from qa.operations.cli import main

    monkeypatch.setenv("QA_TRUSTED_PROXIES", "docker-network")
    assert main(["pledges"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: QA_TRUSTED_PROXIES: 'docker-network' is not an IP address or CIDR range")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("172.17.0.5", ["203.0.113.5"], "203.0.113.5"),  # a proxy inside the Docker network
        ("127.3.4.5", ["203.0.113.5"], "203.0.113.5"),  # any loopback address, not just 127.0.0.1
        ("172.18.0.5", ["203.0.113.5"], "172.18.0.5"),  # outside the range: not trusted
        ("172.17.0.5", ["203.0.113.5, 172.17.0.9"], "203.0.113.5"),  # a chain of our proxies
        ("172.17.0.5", [""], "unknown"),  # an empty header from a trusted proxy
        ("127.0.0.1", ["  "], "unknown"),  # ... is not the machine itself
        ("172.17.0.5", ["not-an-address"], "unknown"),
        ("172.17.0.5", ["203.0.113.5, garbage"], "unknown"),  # the hop our proxy wrote is what counts
        ("172.17.0.5", ["203.0.113.5:4711"], "203.0.113.5"),
        ("172.17.0.5", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("::ffff:172.17.0.5", ["::ffff:203.0.113.5"], "203.0.113.5"),  # IPv4-mapped is IPv4
        ("fd00::7", ["2001:DB8::1"], "2001:db8::1"),
        ("127.0.0.1", [], "127.0.0.1"),  # no header at all: the operator on this machine
    ],
)
def test_the_client_behind_trusted_networks(peer, forwarded, client):
    assert client_address(peer, forwarded, DOCKER) == client


def test_unknown_clients_behind_a_proxy_share_one_limited_bucket(settings):
    app = create_app(settings.model_copy(update={"rate_limit": 2}), embedder=FakeEmbedder())
    with TestClient(app, client=("127.0.0.1", 50000)) as proxy:

        def ask(headers: dict) -> int:
            return proxy.get("/api/ask", params={"q": "buss"}, headers=headers).status_code

        assert [ask({"X-Forwarded-For": ""}), ask({"X-Forwarded-For": "junk"})] == [200, 200]
        assert ask({"X-Forwarded-For": " , "}) == 429  # the same bucket, and limited
        assert ask({"X-Forwarded-For": "192.0.2.1"}) == 200  # a known voter has their own
        assert all(ask({}) == 200 for _ in range(5))  # the machine itself, no header: never limited
        # A loopback address a proxy forwards is somebody's (another container, a tunnel): limited.
        assert [ask({"X-Forwarded-For": "127.0.0.5"}) for _ in range(3)] == [200, 200, 429]


def test_a_cidr_range_of_proxies_is_trusted_by_the_app(settings):
    update = {"rate_limit": 1, "trusted_proxies": "172.17.0.0/16"}
    app = create_app(settings.model_copy(update=update), embedder=FakeEmbedder())
    with TestClient(app, client=("172.17.3.4", 50000)) as docker_proxy:

        def ask(address: str) -> int:
            return docker_proxy.get("/api/ask", params={"q": "buss"}, headers={"X-Forwarded-For": address}).status_code

        assert [ask("192.0.2.1"), ask("192.0.2.2"), ask("192.0.2.1")] == [200, 200, 429]


# --- IPv6 per /64 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "bucket"),
    [
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("192.0.2.7", "192.0.2.7"),
        ("unknown", "unknown"),
    ],
)
def test_an_ipv6_client_is_its_slash_64(client, bucket):
    assert bucket_of(client) == bucket


def test_cycling_through_ipv6_addresses_in_one_slash_64_buys_no_more_questions(settings):
    app = create_app(settings.model_copy(update={"rate_limit": 2}), embedder=FakeEmbedder())
    with TestClient(app, client=("127.0.0.1", 50000)) as proxy:

        def ask(address: str) -> int:
            return proxy.get("/api/ask", params={"q": "buss"}, headers={"X-Forwarded-For": address}).status_code

        assert [ask(f"2001:db8:0:1::{n:x}") for n in range(1, 4)] == [200, 200, 429]
        assert ask("2001:db8:0:2::1") == 200  # the neighbouring /64 is someone else


# --- a flood of distinct addresses -------------------------------------------------------------


def test_a_flood_of_new_addresses_does_not_clear_known_clients_and_memory_stays_bounded(monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 100)
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.wait("192.0.2.1") for _ in range(4)][-1] > 0  # a known client, spent
    for n in range(5000):
        limiter.wait(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(limiter._buckets) <= 101
    assert limiter.wait("192.0.2.1") > 0  # still spent: the flood did not reset it
    assert limiter.wait("198.51.100.1") > 0  # a newcomer shares the flood's overflow bucket
    assert OVERFLOW in limiter._buckets


def test_once_buckets_refill_new_clients_get_their_own_again(monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 10)
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    for n in range(50):
        limiter.wait(f"c{n}")
    assert len(limiter._buckets) <= 11
    now[0] += 61  # everyone has refilled
    assert limiter.wait("newcomer") == 0
    assert "newcomer" in limiter._buckets


def test_a_known_client_is_never_moved_to_the_overflow_bucket(monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 2)
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    limiter.wait("a")
    limiter.wait("b")
    for _ in range(60):
        limiter.wait("flood")
    assert limiter.wait("a") == 0 and limiter.wait("b") == 0
    assert limiter.wait("another") > 0  # the flood spent the shared overflow bucket


@pytest.mark.parametrize(
    ("peer", "headers", "origin"),
    [
        ("127.0.0.1", {"x-forwarded-proto": "https", "x-forwarded-host": "mdgbaerum.no"}, "https://mdgbaerum.no"),
        ("127.0.0.1", {"x-forwarded-proto": "gopher", "x-forwarded-host": "bad host/x"}, "http://app:8000"),
        ("203.0.113.9", {"x-forwarded-proto": "https", "x-forwarded-host": "evil.example"}, "http://app:8000"),
        ("127.0.0.1", {}, "http://app:8000"),
    ],
)
def test_shared_links_name_the_scheme_and_host_a_trusted_proxy_reports(peer, headers, origin):
    from web.ratelimit import public_origin

    trusted = proxy_networks("127.0.0.1")
    assert public_origin("http", "app:8000", peer, headers, trusted) == origin
    assert public_origin("http", "evil.example/<script>", "203.0.113.9", {}, trusted) == ""  # not a host: no origin
