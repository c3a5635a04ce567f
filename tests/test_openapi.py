"""The OpenAPI document says what the routes do (web/openapi.py); the same points schemathesis
checks against the live app (tests/test_openapi_live.py), here fast and one by one."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from qa.answering.limits import MAX_QUESTION
from tests.conftest import FakeEmbedder
from web.app import create_app

TOKEN = "openapi-admin-token-1234"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(settings, tmp_path):
    on = settings.model_copy(update={"db": str(tmp_path / "log" / "questions.sqlite3"), "admin_token": TOKEN})
    with TestClient(create_app(on, embedder=FakeEmbedder())) as client:
        yield client


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").json()


def _operations(spec: dict):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_error_is_documented_as_the_detail_string_the_server_sends(spec, client):
    assert spec["components"]["schemas"]["Error"]["properties"] == {"detail": {"type": "string", "description": "what is wrong, one sentence in Norwegian"}}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (path, method, status)
    assert set(client.get("/api/admin/questions?days=0", headers=BEARER).json()) == {"detail"}  # a framework 422 too


def test_feedback_documents_its_404_and_422(spec, client):
    responses = spec["paths"]["/api/feedback"]["post"]["responses"]
    assert {"204", "404", "413", "422", "503"} <= set(responses)
    assert client.post("/api/feedback", json={"ask_id": "unknown", "helpful": True}).status_code == 404
    assert client.post("/api/feedback", content=b"not json").status_code == 422


def test_q_is_documented_with_the_length_limits_and_the_letters_the_api_enforces(spec, client):
    q = next(p for p in spec["paths"]["/api/ask"]["get"]["parameters"] if p["name"] == "q")["schema"]
    assert (q["minLength"], q["maxLength"]) == (1, MAX_QUESTION)
    pattern = re.compile(q["pattern"])
    for text, accepted in [("buss", True), ("a" * MAX_QUESTION, True), ("?!", False), ("hei\x01", False), ("\u202ehei", False), ("  buss\n", True)]:
        status = client.get("/api/ask", params={"q": text}).status_code
        assert (status == 200) == accepted == bool(pattern.fullmatch(text) and len(text) <= MAX_QUESTION), text


def test_admin_routes_declare_bearer_and_basic_and_refuse_without_them(spec, client):
    schemes = spec["components"]["securitySchemes"]
    assert {name: s["scheme"] for name, s in schemes.items()} == {"adminBearer": "bearer", "adminBasic": "basic"}
    admin = [(p, m, op) for p, m, op in _operations(spec) if p.startswith("/api/admin/")]
    assert len(admin) == 8
    for path, method, operation in admin:
        assert operation["security"] == [{"adminBearer": []}, {"adminBasic": []}], (path, method)
        assert {"401", "429"} <= set(operation["responses"]), (path, method)
    assert "security" not in spec["paths"]["/api/ask"]["get"]
    assert client.get("/api/admin/alternates").status_code == 401


def test_admin_bodies_are_documented_with_the_programmes_pledge_ids(spec, client):
    body = spec["paths"]["/api/admin/alternates"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True and schema["required"] == ["pledge_id", "question"]
    assert schema["properties"]["pledge_id"]["enum"] == sorted(client.app.state.answerer.programme.by_id)
    assert client.post("/api/admin/alternates", headers=BEARER).status_code == 415  # documented
    assert "415" in spec["paths"]["/api/admin/alternates"]["post"]["responses"]


def test_an_id_too_large_for_the_database_is_a_422_not_a_500(client):
    response = client.delete(f"/api/admin/alternates/{2**64}", headers=BEARER)
    assert response.status_code == 422 and set(response.json()) == {"detail"}
    assert client.delete(f"/api/admin/alternates/{2**63 - 1}", headers=BEARER).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/admin/alternates", "GET, POST"),
        ("POST", "/api/admin/alternates/1", "DELETE, PATCH"),
        ("OPTIONS", "/healthz", "GET, HEAD"),
        ("POST", "/api/ask", "GET"),
        ("HEAD", "/api/ask", "GET"),  # FastAPI serves HEAD only where a route says so, as /healthz does
    ],
)
def test_a_405_lists_every_method_of_the_path(client, method, path, allowed):
    response = client.request(method, path, headers=BEARER)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
