"""Failed admin logins: counted per client, limited, logged without the token."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from tests.conftest import FakeEmbedder
from web.admin_auth import FAILURES_PER_MINUTE
from web.app import create_app

TOKEN = "staff-token-1234-abcd"
WRONG = "guess-zz-unique-0000"


def admin_app(settings, tmp_path):
    update = {"db": str(tmp_path / "q.sqlite3"), "admin_token": TOKEN}
    return create_app(settings.model_copy(update=update), embedder=FakeEmbedder())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_wrong_tokens_are_limited_per_client_and_then_even_the_right_one_waits(settings, tmp_path):
    app = admin_app(settings, tmp_path)
    with TestClient(app, client=("192.0.2.10", 5000)) as attacker:
        statuses = [attacker.get("/api/admin/questions", headers=bearer(WRONG)).status_code for _ in range(FAILURES_PER_MINUTE)]
        assert statuses == [401] * FAILURES_PER_MINUTE
        refused = attacker.get("/api/admin/questions", headers=bearer(WRONG))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["detail"].startswith("For mange feil innlogginger. Vent ")
        assert attacker.get("/api/admin/questions", headers=bearer(TOKEN)).status_code == 429
    with TestClient(app, client=("192.0.2.11", 5000)) as staff:  # another client is not affected
        assert staff.get("/api/admin/questions", headers=bearer(TOKEN)).status_code == 200


def test_a_browser_without_credentials_is_not_counted_as_a_failure(settings, tmp_path):
    with TestClient(admin_app(settings, tmp_path), client=("192.0.2.12", 5000)) as browser:
        assert all(browser.get("/admin").status_code == 401 for _ in range(FAILURES_PER_MINUTE * 2))
        assert browser.get("/admin", headers=bearer(TOKEN)).status_code == 200


def test_ipv6_guesses_from_one_slash_64_share_one_allowance(settings, tmp_path):
    app = admin_app(settings, tmp_path)
    for n in range(FAILURES_PER_MINUTE):
        with TestClient(app, client=(f"2001:db8:5:6::{n + 1:x}", 5000)) as guesser:
            assert guesser.get("/admin", headers=bearer(WRONG)).status_code == 401
    with TestClient(app, client=("2001:db8:5:6::ffff", 5000)) as guesser:
        assert guesser.get("/admin", headers=bearer(TOKEN)).status_code == 429


def test_a_failed_login_is_logged_with_the_client_and_never_the_token(settings, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="web.admin_auth")
    with TestClient(admin_app(settings, tmp_path), client=("192.0.2.13", 5000)) as client:
        client.get("/admin", headers=bearer(WRONG))
        client.get("/admin", headers={"Authorization": "Basic c3RhYjp6ei11bmlxdWUtcGFzcw=="})  # stab:zz-unique-pass
        client.get("/admin", headers=bearer(TOKEN))
    refused = [r.getMessage() for r in caplog.records if "admin login refused" in r.getMessage()]
    assert len(refused) == 2
    assert all("192.0.2.13" in line for line in refused)
    logged = caplog.text
    for secret in [WRONG, "zz-unique", "c3RhYjp6ei11bmlxdWUtcGFzcw", TOKEN]:
        assert secret not in logged
