"""A fan talks to the real desk through the REST API."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import yaml

from core.clock import utcnow
from core.db import engine_for, make_sessionmaker
from core.settings import ROOT
from knowledge.when import parse_when
from tests.e2e.conftest import Stack
from ticketing.fixtures import list_fixtures
from ticketing.schedule import local_window

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def response_texts(name: str) -> dict[str, str]:
    """The English and Chinese texts of a domain response."""
    texts = {}
    for variant in DOMAIN["responses"][name]:
        language = (variant.get("condition") or [{"value": "en"}])[0]["value"]
        texts[language] = variant["text"]
    return texts


def new_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def weekend_fixtures(stack: Stack) -> list[tuple[str, str]]:
    """(English, Chinese) away-team names of this weekend's fixtures, from the database."""
    tz = "Asia/Shanghai"
    now = utcnow()
    period = parse_when("this weekend", now.astimezone(ZoneInfo(tz)).date())
    assert period is not None
    lower, upper = local_window(period.start, period.end, tz)
    sessions = make_sessionmaker(engine_for(stack.database_url))
    with sessions() as session:
        found = list_fixtures(session, after=max(lower, now), before=upper)
    return [(f.away_en, f.away_zh) for f in found]


def test_hi_gets_a_greeting(stack: Stack) -> None:
    body = stack.say(new_id(), "hi")
    assert body["status"] == "bot"
    replies = body["replies"]
    assert isinstance(replies, list) and replies
    assert replies[0]["sender"] == "bot"
    assert replies[0]["text"] == response_texts("utter_greet")["en"]


def test_weekend_fixtures_come_from_the_ticketing_database(stack: Stack) -> None:
    expected = weekend_fixtures(stack)
    body = stack.say(new_id(), "which matches are on this weekend?")
    replies = body["replies"]
    assert isinstance(replies, list) and replies
    text = replies[0]["text"]
    if expected:
        for away_en, _ in expected:
            assert away_en in text
        assert replies[0].get("buttons"), "each listed match offers a ticket button"
    else:
        assert "no matches" in text


def test_a_chinese_fan_is_answered_in_chinese(stack: Stack) -> None:
    expected = weekend_fixtures(stack)
    body = stack.say(new_id(), "这周末有什么比赛？")
    text = body["replies"][0]["text"]  # type: ignore[index]
    assert "本周末" in text
    for _, away_zh in expected:
        assert away_zh in text


def test_the_language_of_the_conversation_is_kept(stack: Stack) -> None:
    conversation = new_id()
    stack.say(conversation, "你好")
    body = stack.say(conversation, "ok thanks")  # English words, Chinese conversation
    assert body["replies"][0]["text"] == response_texts("utter_thanks")["zh"]  # type: ignore[index]


def test_a_repeated_client_message_id_is_processed_once(stack: Stack) -> None:
    conversation = new_id()
    first = stack.say(conversation, "hello", client_message_id="m-1")
    again = stack.say(conversation, "hello", client_message_id="m-1")
    assert again == first
    with stack.client() as client:
        history = client.get(f"/api/v1/conversations/{conversation}/messages").json()
    senders = [m["sender"] for m in history["messages"]]
    assert senders.count("fan") == 1
    assert senders == ["fan"] + ["bot"] * (len(senders) - 1)
    times = [m["created_at"] for m in history["messages"]]
    assert all(t.endswith("Z") for t in times) and times == sorted(times)


def test_history_pages_with_after_and_limit(stack: Stack) -> None:
    conversation = new_id()
    stack.say(conversation, "hi")
    stack.say(conversation, "thank you")
    with stack.client() as client:
        everything = client.get(f"/api/v1/conversations/{conversation}/messages").json()
        ids = [m["id"] for m in everything["messages"]]
        page = client.get(
            f"/api/v1/conversations/{conversation}/messages",
            params={"after": ids[0], "limit": 2},
        ).json()
    assert [m["id"] for m in page["messages"]] == ids[1:3]


def test_readyz_reports_every_dependency(stack: Stack) -> None:
    response = httpx.get(f"{stack.base_url}/readyz")
    assert response.status_code == 200
    servers = {"rasa": "ok", "rasa_2": "ok"} if (os.cpu_count() or 1) >= 2 else {"rasa": "ok"}
    assert response.json()["checks"] == {**servers, "action_server": "ok", "database": "ok"}


def test_triage_classifies_without_creating_a_conversation(stack: Stack) -> None:
    with stack.client() as client:
        result = client.post("/api/v1/triage", json={"text": "which matches are on next week?"})
        assert result.status_code == 200
        body = result.json()
        assert body["topic"] == "match_availability"
        assert body["route"] == "intent"
        assert body["language"] == "en"
        assert 0 < body["intent"]["confidence"] <= 1
        person = client.post("/api/v1/triage", json={"text": "我要转人工"}).json()
        assert person["route"] == "handoff" and person["language"] == "zh"
        weather = client.post("/api/v1/triage", json={"text": "what's the weather in Paris"})
        assert weather.json()["route"] == "out_of_scope"
        assert weather.json()["reply"] == response_texts("utter_out_of_scope")["en"]


def test_api_docs_are_served(stack: Stack) -> None:
    spec = httpx.get(f"{stack.base_url}/openapi.json").json()
    assert "/api/v1/conversations/{conversation_id}/messages" in spec["paths"]
    assert httpx.get(f"{stack.base_url}/docs").status_code == 200


def test_timings_are_utc(stack: Stack) -> None:
    conversation = new_id()
    stack.say(conversation, "hi")
    with stack.client() as client:
        history = client.get(f"/api/v1/conversations/{conversation}/messages").json()
    created = history["messages"][0]["created_at"]
    from datetime import datetime

    parsed = datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert abs(parsed - utcnow()) < timedelta(minutes=5)


def test_concurrent_fans_are_all_answered(stack: Stack) -> None:
    """Ten fans at once on SQLite: every message answered, none lost to a lock."""
    import asyncio

    async def fan(client: httpx.AsyncClient, index: int) -> list[int]:
        codes = []
        for text in ("hi", "which matches are on this weekend?", "thanks"):
            response = await client.post(
                f"/api/v1/conversations/rush-{index}-{new_id()}/messages", json={"text": text}
            )
            codes.append(response.status_code)
        return codes

    async def rush() -> list[list[int]]:
        async with httpx.AsyncClient(
            base_url=stack.base_url, headers=stack.headers, timeout=120
        ) as client:
            return await asyncio.gather(*(fan(client, i) for i in range(10)))

    assert all(code == 200 for codes in asyncio.run(rush()) for code in codes)
