"""Static files and pre-rendered pages, held in memory and served with validators.

Everything under `web/static` is read once when the app is created; a request is a dict
lookup, never a file read, and a name that is not one of those files is a 404 (so no path,
`..` or otherwise, can reach anything else). Bodies are gzip-compressed once up front.

widget.js is served with what it must know about its server written in (`serve_widget`): the
limits it shares with the server and the templates (`browser_limits`, read from
qa/answering/limits.py and the question log's comment limit), whether questions are stored, and
its API base (the root path, web.rootpath), once per root path.
`/widget/allowed` tells the widget, on any site, whether the API answers that site's origin: a
browser hides a CORS refusal behind the same error as a network failure.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from qa.answering import limits
from qa.questionlog import store
from web.rootpath import root_of
from web.security import allows_origin

STATIC = Path(__file__).parent / "static"

MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".html": "text/html; charset=utf-8",
}
COMPRESSIBLE = {".css", ".js", ".svg", ".html"}

LONG = "public, max-age=31536000, immutable"  # URLs that carry the content's version
SHORT = "public, max-age=600"  # fixed URLs such as /widget.js: revalidate after ten minutes
WIDGET_FACTS = b"const SERVER = {};"  # the line of widget.js that serve_widget fills in


@dataclass(frozen=True)
class Blob:
    """A response body prepared once: its bytes, a gzip copy, a media type and an ETag."""

    body: bytes
    media_type: str
    etag: str
    gzipped: bytes | None = None

    @classmethod
    def of(cls, body: bytes, media_type: str, *, compress: bool = True) -> Blob:
        digest = hashlib.sha256(body).hexdigest()[:16]
        packed = gzip.compress(body, 9, mtime=0) if compress and len(body) > 1024 else None
        return cls(body, media_type, f'"{digest}"', packed)

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:10]

    def respond(self, request: Request, cache_control: str, headers: dict[str, str] | None = None) -> Response:
        """The body, or 304 when the client has it; gzip when the client accepts it."""
        out = {"ETag": self.etag, "Cache-Control": cache_control, **(headers or {})}
        if self.gzipped is not None:
            out["Vary"] = "Accept-Encoding"
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=out)
        body = self.body
        if self.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body, out["Content-Encoding"] = self.gzipped, "gzip"
        return Response(body, media_type=self.media_type, headers=out)


def load_static(folder: Path = STATIC) -> dict[str, Blob]:
    """Every file directly in `folder` with a known type, by name."""
    blobs = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in MEDIA_TYPES:
            blobs[path.name] = Blob.of(
                path.read_bytes(), MEDIA_TYPES[path.suffix], compress=path.suffix in COMPRESSIBLE
            )
    return blobs


def browser_limits() -> dict[str, int]:
    """The limits a browser enforces before it sends anything, as the server checks them: the
    question's length (`qa.answering.limits.MAX_QUESTION`) and a feedback comment's."""
    return {"question": limits.MAX_QUESTION, "comment": store.MAX_COMMENT}


def serve_widget(source: Blob, *, stored: bool, root: str = "") -> Blob:
    """widget.js as this server serves it: `source` with its SERVER line filled in with the
    limits, whether questions are stored (the widget then says so) and its API base: the root
    path the server is under, "/" or "/sporsmal/" (web.rootpath), which the widget resolves
    against its own script's origin."""
    if WIDGET_FACTS not in source.body:
        raise RuntimeError(f"widget.js has no line {WIDGET_FACTS.decode()!r} to fill in")
    facts = json.dumps({"stored": stored, "limits": browser_limits(), "base": root + "/"}, separators=(",", ":"))
    filled = source.body.replace(WIDGET_FACTS, f"const SERVER = {facts};".encode())
    return Blob.of(filled, source.media_type)


def static_url(blobs: dict[str, Blob], name: str, root: str = "") -> str:
    """The URL of a static file under `root`, versioned by its content so it can be cached for a year."""
    return f"{root}/static/{name}?v={blobs[name].version}"


router = APIRouter(include_in_schema=False)


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
async def static_file(name: str, request: Request) -> Response:
    blob = _widget(request) if name == "widget.js" else request.app.state.static.get(name)
    if blob is None:
        raise HTTPException(404, "Filen finnes ikke.")
    return blob.respond(request, LONG if "v" in request.query_params else SHORT)


@router.api_route("/widget.js", methods=["GET", "HEAD"])
async def widget(request: Request) -> Response:
    """The embed: any site may load it (it then talks only to this server)."""
    return _widget(request).respond(request, SHORT, {"Access-Control-Allow-Origin": "*"})


def _widget(request: Request) -> Blob:
    """widget.js filled in for the root path this request came in under."""
    return request.app.state.widgets.at(root_of(request))


@router.get("/widget/allowed")
async def widget_allowed(request: Request) -> Response:
    """`{"allowed": bool}`: whether /api/* answers the requesting page's origin (QA_ALLOWED_ORIGINS).
    Any site may read it, as it may read /widget.js; it says no more than a refused preflight does."""
    origin = request.headers.get("origin")
    allowed = origin is None or allows_origin(request.app.state.settings.origins, origin)
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store", "Vary": "Origin"}
    return JSONResponse({"allowed": allowed}, headers=headers)
