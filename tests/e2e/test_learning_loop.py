"""An agent's answer becomes FAQ knowledge: drafted, approved, answerable at once."""

from __future__ import annotations

import uuid

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.test_handoff_console import PASSWORD, create_user


def agent_token(stack: Stack, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{stack.base_url}/api/v1/agent/session",
        json={"username": username, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_a_published_answer_is_found_by_triage_without_a_restart(stack: Stack) -> None:
    supervisor = f"sup-{uuid.uuid4().hex[:6]}"
    create_user(stack, supervisor, "supervisor")
    headers = agent_token(stack, supervisor)
    question = "Is there a prayer room at the stadium?"
    paraphrase = "is there a room for prayer in the stadium?"
    with stack.client() as client:
        before = client.post("/api/v1/triage", json={"text": paraphrase})
    assert before.status_code == 200
    before_faq = before.json()["faq"]

    draft = httpx.post(
        f"{stack.base_url}/api/v1/agent/knowledge",
        headers=headers,
        json={
            "question": question,
            "answer": "Yes: a quiet multi-faith prayer room is next to Gate C "
            "on the East Stand concourse.",
            "language": "en",
            "topic": "faq_other",
        },
    )
    assert draft.status_code == 201, draft.text
    assert draft.json()["status"] == "draft"
    draft_id = draft.json()["id"]
    approved = httpx.post(
        f"{stack.base_url}/api/v1/agent/knowledge/{draft_id}/approve",
        headers=headers,
        json={"answer_zh": "有的：东看台 C 门旁的大厅里有一间安静的多信仰祈祷室。"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"

    with stack.client() as client:
        after = client.post("/api/v1/triage", json={"text": paraphrase})
        chinese = client.post("/api/v1/triage", json={"text": "球场里有祈祷室吗？"})
    assert after.status_code == 200
    body = after.json()
    assert body["route"] == "faq", body
    assert body["faq"]["id"] == f"db-{draft_id}"
    assert body["faq"] != before_faq
    assert chinese.json()["faq"]["id"] == f"db-{draft_id}"
    if chinese.json()["route"] == "faq" and chinese.json()["reply"]:
        assert "祈祷室" in chinese.json()["reply"]
