"""Schemathesis hooks for tests/test_openapi_live.py (loaded through SCHEMATHESIS_HOOKS).

Every request comes from a client address of its own (X-Forwarded-For, believed from loopback):
schemathesis sends many wrong admin tokens on purpose, and from one address those would soon earn
every admin request a 429 (web.admin_auth), so the rest of the run would test nothing but that.
"""

from __future__ import annotations

import itertools

import schemathesis

_clients = itertools.count(1)


@schemathesis.hook
def before_call(context, case, **kwargs):
    n = next(_clients)
    case.headers = {**(case.headers or {}), "X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}
