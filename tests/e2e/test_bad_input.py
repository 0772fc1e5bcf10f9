"""Bad input to the messages endpoint: a clear 4xx, and nothing written."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.conftest import Stack


def _post(stack: Stack, conversation: str, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{stack.base_url}/api/v1/conversations/{conversation}/messages",
        content=content,
        headers={**stack.headers, "Content-Type": "application/json", **headers},
        timeout=30,
    )


BAD_BODIES = [
    pytest.param(b'{"text": ""}', 422, "text", id="empty-text"),
    pytest.param(b'{"text": "   "}', 422, "text", id="blank-text"),
    pytest.param(b"{}", 422, "text", id="missing-text"),
    pytest.param(b'{"text": 42}', 422, "text", id="text-not-a-string"),
    pytest.param(b'{"text": ["hi"]}', 422, "text", id="text-a-list"),
    pytest.param(b'{"text": "hi", "language": "fr"}', 422, "language", id="unknown-language"),
    pytest.param(('{"text": "' + "a" * 20_000 + '"}').encode(), 422, "text", id="20kB-text"),
    pytest.param(b'{"text": "hi"', 400, None, id="invalid-json"),
    pytest.param(b'["hi"]', 400, None, id="not-an-object"),
    pytest.param(b'{"text": "\xff\xfe caf\xe9"}', 400, None, id="non-utf8"),
    pytest.param(b"", 400, None, id="no-body"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_BODIES)
def test_bad_bodies_get_a_named_error_and_write_nothing(
    stack: Stack, body: bytes, status: int, field: str | None
) -> None:
    conversation = f"bad-{uuid.uuid4().hex[:10]}"
    response = _post(stack, conversation, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    if field is not None:
        assert error["field"] == field
        assert field in error["message"]
    history = httpx.get(
        f"{stack.base_url}/api/v1/conversations/{conversation}/messages", headers=stack.headers
    )
    assert history.status_code == 404, "nothing may be stored for a refused message"


def test_a_huge_body_is_refused_before_parsing(stack: Stack) -> None:
    response = _post(stack, "huge", b'{"text": "' + b"x" * 200_000 + b'"}')
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_bad_conversation_id_is_refused(stack: Stack) -> None:
    response = _post(stack, "bad%20id%21", b'{"text": "hi"}')
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "conversation_id"


@pytest.mark.parametrize("auth", [None, "Bearer wrong-key", "Basic abc"])
def test_a_wrong_api_key_gets_401(stack: Stack, auth: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    response = httpx.post(
        f"{stack.base_url}/api/v1/conversations/x-auth/messages",
        content=b'{"text": "hi"}',
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_the_desk_keeps_serving_after_bad_input(stack: Stack) -> None:
    for body, *_ in (p.values for p in BAD_BODIES):
        _post(stack, "storm", body)
    assert httpx.get(f"{stack.base_url}/readyz").status_code == 200
    assert stack.say(f"after-{uuid.uuid4().hex[:8]}", "hi")["replies"]
