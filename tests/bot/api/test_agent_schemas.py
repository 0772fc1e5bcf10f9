"""The agent API documents its answers: every JSON response is a named model."""

from __future__ import annotations

from typing import Any

import pytest

from bot.api.app import create_app
from tests.conftest import make_settings

AGENT = "/api/v1/agent"
RESPONSES = {
    ("post", "/session"): ("200", "SessionOut"),
    ("get", "/me"): ("200", "MeOut"),
    ("post", "/password"): ("200", "PasswordOut"),
    ("get", "/queue"): ("200", "QueueOut"),
    ("get", "/conversations"): ("200", "QueueOut"),
    ("get", "/conversations/{conversation_id}"): ("200", "ConversationDetail"),
    ("post", "/conversations/{conversation_id}/claim"): ("200", "ClaimOut"),
    ("post", "/conversations/{conversation_id}/messages"): ("201", "AgentMessage"),
    ("post", "/conversations/{conversation_id}/notes"): ("201", "NoteOut"),
    ("post", "/conversations/{conversation_id}/handback"): ("200", "StatusOut"),
    ("post", "/conversations/{conversation_id}/close"): ("200", "StatusOut"),
    ("get", "/callbacks"): ("200", "CallbacksOut"),
    ("post", "/callbacks/{callback_id}/take"): ("200", "ClaimOut"),
    ("get", "/canned"): ("200", "CannedOut"),
    ("get", "/agents"): ("200", "AgentsOut"),
    ("post", "/conversations/{conversation_id}/assign"): ("200", "ClaimOut"),
    ("get", "/audit"): ("200", "AuditOut"),
    ("post", "/knowledge"): ("201", "DraftStatusOut"),
    ("get", "/knowledge"): ("200", "DraftsOut"),
    ("post", "/knowledge/{draft_id}/approve"): ("200", "DraftStatusOut"),
}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database = tmp_path_factory.mktemp("openapi") / "desk.db"
    document: dict[str, Any] = create_app(make_settings(f"sqlite:///{database}")).openapi()
    return document


def _body_schema(operation: dict[str, Any], status: str) -> dict[str, Any]:
    content = operation["responses"][status]["content"]
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


def _component(spec: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


@pytest.mark.parametrize(("method", "path"), sorted(RESPONSES))
def test_each_agent_endpoint_names_its_response_model(
    spec: dict[str, Any], method: str, path: str
) -> None:
    status, model = RESPONSES[(method, path)]
    operation = spec["paths"][AGENT + path][method]
    assert _body_schema(operation, status) == {"$ref": f"#/components/schemas/{model}"}


def test_no_agent_endpoint_answers_with_an_undocumented_object(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        if not path.startswith(AGENT):
            continue
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or "content" not in response:
                    continue
                assert (method, path.removeprefix(AGENT)) in RESPONSES, (method, path)
                assert "$ref" in _body_schema(operation, status), (method, path, status)


def test_the_conversation_view_documents_its_parts(spec: dict[str, Any]) -> None:
    detail = _component(spec, "ConversationDetail")["properties"]
    assert list(detail) == [
        "id",
        "status",
        "owner",
        "language",
        "channel",
        "handoff",
        "messages",
        "notes",
        "context",
    ]
    assert detail["messages"]["items"] == {"$ref": "#/components/schemas/AgentMessage"}
    assert detail["context"] == {"$ref": "#/components/schemas/ConversationContext"}
    context = _component(spec, "ConversationContext")["properties"]
    assert context["orders"]["items"] == {"$ref": "#/components/schemas/OrderSummary"}
    queue = _component(spec, "QueueOut")["properties"]
    assert queue["conversations"]["items"] == {"$ref": "#/components/schemas/QueueEntry"}
