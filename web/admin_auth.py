"""Who may read the staff report: the `QA_ADMIN_TOKEN`, as a Bearer token or a Basic password.

Two guards, as `Annotated` dependencies (web.deps explains the style):

- `AdminEnabledDep`: 404 unless a token is configured, so without one the report does not exist;
- `AdminDep`: that, and 401 with a Basic challenge unless the request carries the token, so staff
  can open the page in a browser. The comparison takes constant time.

It checks credentials only; the routes they guard are in `web.admin`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from pydantic import SecretStr

from web.deps import SettingsDep

REALM = 'Basic realm="MDG admin", charset="UTF-8"'


async def admin_enabled(settings: SettingsDep) -> bytes:
    """The admin token as bytes; 404 when none is set."""
    token = settings.admin_token
    if isinstance(token, SecretStr):  # kept out of reprs and logs until it is compared
        token = token.get_secret_value()
    if not token:
        raise HTTPException(404, "Not Found")
    return token.encode()


AdminEnabledDep = Annotated[bytes, Depends(admin_enabled)]


async def require_admin(request: Request, token: AdminEnabledDep) -> None:
    """Pass only a request that carries the admin token; 401 with a Basic challenge otherwise."""
    given = credentials(request.headers.get("authorization", ""))
    if given is None or not secrets.compare_digest(given, token):
        raise HTTPException(401, "Krever administratortoken.", headers={"WWW-Authenticate": REALM})


AdminDep = Annotated[None, Depends(require_admin)]  # a guard: a route needs only that it passed


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
