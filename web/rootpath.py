"""Serving under a sub-path (`QA_ROOT_PATH=/sporsmal` behind a proxy that strips the prefix).

Everything that prints a URL reads the ASGI `root_path` of the request (`root_of`), the
mechanism Starlette's own `url_for` uses; nothing else knows the prefix. It gets into the scope
in one of two ways:

- the server sets it: `python -m qa serve --root-path /sporsmal` (or `QA_ROOT_PATH`) passes it
  to uvicorn, as does `uvicorn --root-path /sporsmal` started directly;
- the app sets it (`RootPath`), when QA_ROOT_PATH is set and the server gave none: so
  `uvicorn web.app:create_app --factory` with QA_ROOT_PATH in the environment works too.

Either way the scope then looks as the ASGI spec says (`path` starts with `root_path`), and
routing sees the path below it (`route_path`). A server's own root path wins over QA_ROOT_PATH.

Starlette's trailing-slash redirect is replaced (`SlashRedirect`): it wrote an absolute URL
built from the request's Host header, which a client or a proxy chooses; this one writes a
path (root path included) and no host, so the browser stays on the address it used.

This module does not choose the prefix (qa.operations.settings validates QA_ROOT_PATH) and does
not render anything.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

# Characters a path may hold unescaped (RFC 3986 pchar and "/").
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def root_of(request_or_scope) -> str:
    """The root path the app is served under, "" or "/sporsmal" (never a trailing slash)."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    return scope.get("root_path", "").rstrip("/")


def route_path(scope: Scope) -> str:
    """The path below the root path: what the routes match ("/api/ask" at /sporsmal/api/ask)."""
    path, root = scope["path"], root_of(scope)
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


class RootPath:
    """Put QA_ROOT_PATH into each request's scope when the server has not set a root path."""

    def __init__(self, app: ASGIApp, root: str) -> None:
        self.app = app
        self.root = root.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.root and scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            scope = dict(scope, root_path=self.root)
            path = scope["path"]
            if not (path == self.root or path.startswith(self.root + "/")):  # a proxy that strips the prefix
                scope["path"] = self.root + path
                raw = scope.get("raw_path")
                if raw is not None:
                    scope["raw_path"] = self.root.encode("ascii") + raw
        await self.app(scope, receive, send)


class SlashRedirect:
    """The router's fallback: `/p/x` redirects to `/p/x/` (and `/program/` to `/program`) with a
    Location that is a path under the root path, never a URL with the request's Host in it."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.fallback = router.default
        router.redirect_slashes = False
        router.default = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        location = self.location(scope) if scope["type"] == "http" else None
        if location is None:
            await self.fallback(scope, receive, send)
            return
        await RedirectResponse(location, status_code=307)(scope, receive, send)

    def location(self, scope: Scope) -> str | None:
        """Where the other spelling of this path is, when a route answers it; else None."""
        path = route_path(scope)
        if path == "/" or not path.startswith("/") or path.startswith("//"):
            return None  # "//host/" would be a URL on another site
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        if not other or other.startswith("//"):
            return None
        root = root_of(scope)
        probe = dict(scope, path=root + other, root_path=root)
        if not any(route.matches(probe)[0] is not Match.NONE for route in self.router.routes):
            return None
        query = scope.get("query_string", b"").decode("latin-1")
        return quote(root + other, safe=_PATH_SAFE) + (f"?{query}" if query else "")


class PerRoot:
    """What is rendered once per root path (the fixed pages, the served widget), made on first use.

    A server has one root path, two at most (its own and QA_ROOT_PATH's); the scope's root path
    comes from the server's configuration, never from a client, so this stays small.
    """

    def __init__(self, make) -> None:
        self._make = make
        self._made: dict = {}

    def at(self, root: str):
        made = self._made.get(root)
        if made is None:
            made = self._made.setdefault(root, self._make(root))
        return made
