"""Who may read the staff report: the `QA_ADMIN_TOKEN`, as a Bearer token or a Basic password.

Two guards, as `Annotated` dependencies (web.deps explains the style):

- `AdminEnabledDep`: 404 unless a token is configured, so without one the report does not exist;
- `AdminDep`: that, and 401 with a Basic challenge unless the request carries the token, so staff
  can open the page in a browser. The comparison takes constant time.

A wrong token is logged (the client's address, never what was sent) and counts against that
client's allowance of `FAILURES_PER_MINUTE`; once it is spent, every admin request from that
client gets 429 with `Retry-After`, the right token included, until it refills, so the token
cannot be guessed at network speed. A request with no credentials at all (a browser's first
visit, before it shows the login box) is not a failure.

It checks credentials only; the routes they guard are in `web.admin`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from pydantic import SecretStr

from web.deps import SettingsDep
from web.ratelimit import RateLimiter, bucket_of, client_address

log = logging.getLogger(__name__)

REALM = 'Basic realm="MDG admin", charset="UTF-8"'
FAILURES_PER_MINUTE = 10  # wrong tokens a client may send a minute, in bursts of as many


async def admin_enabled(settings: SettingsDep) -> bytes:
    """The admin token as bytes; 404 when none is set."""
    token = settings.admin_token
    if isinstance(token, SecretStr):  # kept out of reprs and logs until it is compared
        token = token.get_secret_value()
    if not token:
        raise HTTPException(404, "Not Found")
    return token.encode()


AdminEnabledDep = Annotated[bytes, Depends(admin_enabled)]


async def require_admin(request: Request, token: AdminEnabledDep, settings: SettingsDep) -> None:
    """Pass only a request that carries the admin token; 401 with a Basic challenge otherwise,
    429 while the client has sent too many wrong tokens."""
    failures = _failures(request)
    peer = request.client.host if request.client else None
    client = bucket_of(client_address(peer, request.headers.getlist("x-forwarded-for"), settings.proxies))
    wait = failures.blocked(client)
    if wait:
        raise HTTPException(429, _too_many_tries(wait), headers={"Retry-After": str(wait)})
    header = request.headers.get("authorization", "")
    given = credentials(header)
    if given is not None and secrets.compare_digest(given, token):
        return
    if header.strip():  # credentials were sent, and they were wrong
        failures.wait(client)
        log.warning("admin login refused: wrong token from %s (token not logged)", client)
    raise HTTPException(401, "Krever administratortoken.", headers={"WWW-Authenticate": REALM})


AdminDep = Annotated[None, Depends(require_admin)]  # a guard: a route needs only that it passed


def _failures(request: Request) -> RateLimiter:
    """The app's count of wrong tokens per client, made on first use."""
    failures = getattr(request.app.state, "admin_failures", None)
    if failures is None:
        failures = request.app.state.admin_failures = RateLimiter(FAILURES_PER_MINUTE)
    return failures


def _too_many_tries(seconds: int) -> str:
    unit = "sekund" if seconds == 1 else "sekunder"
    return f"For mange feil innlogginger. Vent {seconds} {unit} og prøv igjen."


def credentials(header: str) -> bytes | None:
    """The token from `Bearer <token>` or the password from `Basic base64(user:password)`."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value.encode("latin-1")  # the raw header bytes (Starlette decodes headers as latin-1)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        _, colon, password = decoded.partition(b":")
        return password if colon else None
    return None
