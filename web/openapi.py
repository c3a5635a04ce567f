"""The OpenAPI document, made to match what the server does (schemathesis checks it, tests/test_openapi_live.py).

The routes declare their own parameters, bodies and error statuses with the pieces here (`error`,
`QUESTION`, `ADMIN_ERRORS`); `document(app)` then fixes what FastAPI generates the same way for
every route: every error body is `{"detail": string}` (`Error`, what web.app's handlers send,
never FastAPI's list of dicts), and the admin routes declare how they are authenticated (the
`QA_ADMIN_TOKEN` as a Bearer token or a Basic password, web.admin_auth) and that the pledge ids
they take are the programme's own. This module only describes; it checks nothing.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from qa.answering.limits import MAX_QUESTION

ERROR = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string", "description": "what is wrong, one sentence in Norwegian"}},
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}

# What `qa.answering.limits.clean_question` lets through, as a JSON Schema: at most MAX_QUESTION
# characters, no control characters but tab and line breaks, no bidi overrides, and at least one
# letter or digit ([^\W_] in Python's regular expressions, as schemathesis reads them).
_BAD = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
QUESTION = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_QUESTION,
    "pattern": rf"^[^{_BAD}]*[^\W_][^{_BAD}]*$",
}

SECURITY = [{"adminBearer": []}, {"adminBasic": []}]
SECURITY_SCHEMES = {
    "adminBearer": {"type": "http", "scheme": "bearer", "description": "QA_ADMIN_TOKEN"},
    "adminBasic": {"type": "http", "scheme": "basic", "description": "any user name, QA_ADMIN_TOKEN as the password"},
}


def error(description: str) -> dict:
    """One documented error response: `description`, and the `Error` body."""
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


ADMIN_ERRORS = {
    401: error("no admin token, or a wrong one (with a Basic challenge)"),
    404: error("the admin pages are off (no QA_ADMIN_TOKEN), or no such entry"),
    429: error("too many wrong tokens from this client; see Retry-After"),
}


def document(app: FastAPI, pledge_ids=lambda: None) -> None:
    """Replace `app.openapi` with one that returns the corrected document (built once).

    Args:
        app: the application, its routes all included.
        pledge_ids: called when the document is first built, after start-up: the default
            programme's pledge ids, or None when not known; the admin bodies name them as an enum.
    """

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = _corrected(spec, pledge_ids())
        return app.openapi_schema

    app.openapi = openapi


def _corrected(spec: dict, ids) -> dict:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    response["content"] = {"application/json": {"schema": _ERROR_REF}}
            if path.startswith("/api/admin/"):
                operation["security"] = SECURITY
                if ids:
                    _name_pledges(operation, sorted(ids))
    components["securitySchemes"] = SECURITY_SCHEMES
    return spec


def _name_pledges(operation: dict, ids: list[str]) -> None:
    for content in operation.get("requestBody", {}).get("content", {}).values():
        pledge = content.get("schema", {}).get("properties", {}).get("pledge_id")
        for schema in pledge.get("anyOf", [pledge]) if pledge is not None else ():
            if schema.get("type") == "string":
                schema["enum"] = ids
