"""Escalation, queue, agent work and hand back through the real gateway (fake Rasa)."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from tests.handoff.conftest import Desk, bearer, new_id, ws_url
from tests.support.fake_rasa import FakeRasa
from tests.support.metrics import sample

ESCALATIONS = "matchday_escalations_total"


def sent_to_rasa(rasa: FakeRasa, conversation_id: str) -> list[str]:
    return [m["message"] for m in rasa.received if m["sender"] == conversation_id]


def test_no_agent_online_keeps_the_bot_and_takes_a_message(desk: Desk, rasa: FakeRasa) -> None:
    fan = new_id()
    counted = sample(ESCALATIONS, reason="explicit_request", outcome="no_agent")
    body = desk.fan(fan, "I want a human")
    assert body["status"] == "bot"
    assert sample(ESCALATIONS, reason="explicit_request", outcome="no_agent") == counted + 1
    offer = body["replies"][-1]
    assert offer["sender"] == "system" and "No agent is online" in offer["text"]
    assert [b["payload"] for b in offer["buttons"]] == ["/leave_message", "/continue_with_bot"]
    assert desk.fan(fan, "which matches are on?")["replies"][0]["sender"] == "bot"

    prompt = desk.fan(fan, "/leave_message")
    assert prompt["status"] == "bot" and "write your message" in prompt["replies"][0]["text"]
    saved = desk.fan(fan, "Please call me about my refund for RA-7KX2QD")
    assert "with our team" in saved["replies"][0]["text"]
    assert "Please call me" not in sent_to_rasa(rasa, fan)[-1]

    agent = desk.agent(new_id("agent"))
    callbacks = agent.get("/callbacks").json()["callbacks"]
    mine = [c for c in callbacks if c["conversation_id"] == fan]
    assert mine and mine[0]["text"] == "Please call me about my refund for RA-7KX2QD"
    assert mine[0]["reason"] == "explicit_request"
    taken = agent.post(f"/callbacks/{mine[0]['id']}/take")
    assert taken.status_code == 200 and taken.json()["status"] == "with_agent"
    assert agent.post(f"/callbacks/{mine[0]['id']}/take").status_code == 409
    assert agent.post(f"/conversations/{fan}/messages", json={"text": "Hi, about that refund"})
    assert desk.history(fan)["messages"][-1]["text"] == "Hi, about that refund"


def test_queue_claim_reply_hand_back(desk: Desk, rasa: FakeRasa) -> None:
    agent = desk.agent(new_id("agent"))
    fan = new_id()
    desk.fan(fan, "hi")
    counted = sample(ESCALATIONS, reason="explicit_request", outcome="queued")
    queued = desk.fan(fan, "I want a human")
    assert queued["status"] == "queued"
    assert sample(ESCALATIONS, reason="explicit_request", outcome="queued") == counted + 1
    assert "number 1 in the queue" in queued["replies"][-1]["text"]
    assert "about 2 min" in queued["replies"][-1]["text"]  # no pickups yet: the policy default
    row = next(c for c in agent.get("/queue").json()["conversations"] if c["id"] == fan)
    assert row["reason"] == "explicit_request" and row["status"] == "queued"
    assert set(row) >= {"id", "status", "priority", "language", "topic", "reason", "waiting_since"}

    before = len(sent_to_rasa(rasa, fan))
    for n in range(5):
        assert desk.fan(fan, f"still there? {n}") == {
            "conversation_id": fan,
            "status": "queued",
            "replies": [],
        }
    assert len(sent_to_rasa(rasa, fan)) == before, "the bot is silent while queued"

    claimed = agent.post(f"/conversations/{fan}/claim")
    assert claimed.status_code == 200
    assert claimed.json()["status"] == "with_agent" and claimed.json()["owner"]
    view = agent.get(f"/conversations/{fan}").json()
    fan_texts = [m["text"] for m in view["messages"] if m["sender"] == "fan"]
    assert fan_texts[-5:] == [f"still there? {n}" for n in range(5)]
    assert view["context"]["slots"]["fixture"] == "demo-fixture"
    assert any(i["intent"] == "greet" for i in view["context"]["intents"])
    assert view["context"]["orders"] == []

    sent = agent.post(f"/conversations/{fan}/messages", json={"text": "Hello, how can I help?"})
    assert sent.status_code == 201
    assert desk.fan(fan, "my tickets are missing")["replies"] == []
    history = desk.history(fan)
    assert history["status"] == "with_agent"
    texts = [(m["sender"], m["text"]) for m in history["messages"]]
    assert ("agent", "Hello, how can I help?") in texts
    assert any(s == "system" and "joined the conversation" in t for s, t in texts)

    assert agent.post(f"/conversations/{fan}/handback").json()["status"] == "bot"
    back = desk.fan(fan, "hi")
    assert back["status"] == "bot" and back["replies"][0]["sender"] == "bot"
    assert "left the conversation" in desk.history(fan)["messages"][-3]["text"]


def test_reasons_from_the_dialogue_and_the_nlu(desk: Desk) -> None:
    agent = desk.agent(new_id("agent"))
    names = ("pay", "miss", "fb", "apart", "topic", "oos", "angry")
    payment, miss, fallback, apart, topic, oos, angry = (new_id(k) for k in names)
    assert desk.fan(payment, "pay now please")["status"] == "queued"
    assert desk.fan(miss, "hmm tickets")["status"] == "bot"  # never on the first miss
    assert desk.fan(miss, "hmm refund")["status"] == "queued"
    assert desk.fan(fallback, "xyzzy")["status"] == "bot"
    assert desk.fan(fallback, "xyzzy again")["status"] == "queued"
    for text in ("xyzzy", "hi", "xyzzy again", "hi"):  # misses, but never two in a row
        assert desk.fan(apart, text)["status"] == "bot"
    for _ in range(3):  # unsure of the intent, yet answered with the topic: no miss
        assert desk.fan(topic, "eh refunds")["status"] == "bot"
    for _ in range(3):
        assert desk.fan(oos, "I hate this awful weather")["status"] == "bot"
    assert desk.fan(angry, "this is a useless bot")["status"] == "queued"
    reasons = {c["id"]: c["reason"] for c in agent.get("/queue").json()["conversations"]}
    assert reasons[payment] == "payment_failed"
    assert reasons[miss] == "repeated_miss"
    assert reasons[fallback] == "repeated_miss"
    assert reasons[angry] == "frustration"
    assert not {apart, topic, oos} & set(reasons)


def test_frustration_written_in_traditional_characters_is_heard(desk: Desk) -> None:
    agent = desk.agent(new_id("agent"))
    fan = new_id("angry-zh")
    assert desk.fan(fan, "你們這些騙子，氣死我了")["status"] == "queued"
    reasons = {c["id"]: c["reason"] for c in agent.get("/queue").json()["conversations"]}
    assert reasons[fan] == "frustration"


def test_unclear_answers_inside_a_form_are_left_to_the_form(desk: Desk) -> None:
    agent = desk.agent(new_id("agent"))  # online: a miss would be queued at once
    fan, other = new_id("form"), new_id("loose")
    for text in ("cheap ones", "erm the east", "cheap ones"):
        assert desk.fan(fan, text)["status"] == "bot"  # the form re-prompts; no agent
    assert desk.fan(other, "hmm tickets")["status"] == "bot"
    assert desk.fan(other, "hmm refund")["status"] == "queued"  # outside a form: two misses
    queued = {c["id"] for c in agent.get("/queue").json()["conversations"]}
    assert other in queued and fan not in queued


def test_priority_profiles_jump_the_queue_and_chinese_fans_are_told_in_chinese(
    desk: Desk,
) -> None:
    agent = desk.agent(new_id("agent"))
    first, elderly, zh = new_id("first"), new_id("elderly"), new_id("zh")
    desk.fan(first, "/human")
    body = desk.fan(elderly, "/human", metadata={"profile": "elderly"})
    assert "number 1 in the queue" in body["replies"][-1]["text"]
    zh_body = desk.fan(zh, "我要转人工")
    assert zh_body["status"] == "queued" and "排在第 1 位" in zh_body["replies"][-1]["text"]
    queue = agent.get("/queue").json()["conversations"]
    order = [c["id"] for c in queue if c["id"] in (first, elderly)]
    assert order == [elderly, first]
    assert next(c for c in queue if c["id"] == elderly)["profile"] == "elderly"
    agent.post(f"/conversations/{zh}/claim")
    joined = desk.history(zh)["messages"][-1]
    assert joined["sender"] == "system" and "已加入对话" in joined["text"]
    closed = agent.post(f"/conversations/{zh}/close", json={"resolution": "resolved"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert "结束" in desk.history(zh)["messages"][-1]["text"]
    bad = agent.post(f"/conversations/{first}/close", json={"resolution": "bored"})
    assert bad.status_code == 422
    reopened = desk.fan(zh, "你好")
    assert reopened["status"] == "bot" and reopened["replies"]


def test_the_agent_sees_queue_and_fan_messages_live_in_order(desk: Desk) -> None:
    agent = desk.agent(new_id("agent"))
    fan = new_id()
    consoles = sample("matchday_websocket_sessions", kind="console")
    with connect(ws_url(desk.base_url), additional_headers=bearer(agent)) as socket:
        assert json.loads(socket.recv(10))["type"] == "hello"
        assert sample("matchday_websocket_sessions", kind="console") == consoles + 1
        desk.fan(fan, "/human")
        event = json.loads(socket.recv(10))
        assert event["type"] == "queue" and event["action"] == "added"
        assert event["item"]["id"] == fan
        for n in range(10):
            desk.fan(fan, f"message {n}")
        texts = [json.loads(socket.recv(10))["message"]["text"] for _ in range(10)]
        assert texts == [f"message {n}" for n in range(10)]
        agent.post(f"/conversations/{fan}/claim")
        kinds = [json.loads(socket.recv(10))["type"] for _ in range(3)]
        assert kinds == ["message", "status", "queue"]
        socket.send(json.dumps({"type": "typing", "conversation_id": fan}))
        typing = json.loads(socket.recv(10))
        assert typing == {
            "type": "typing",
            "conversation_id": fan,
            "who": "agent",
            "agent": typing["agent"],
        }


def test_notes_canned_replies_and_knowledge_drafts(desk: Desk) -> None:
    supervisor = desk.agent(new_id("sup"), role="supervisor")
    agent = desk.agent(new_id("agent"))
    fan = new_id()
    desk.fan(fan, "/human")
    agent.post(f"/conversations/{fan}/claim")
    note = agent.post(f"/conversations/{fan}/notes", json={"text": "fan is polite"})
    assert note.status_code == 201
    assert agent.get(f"/conversations/{fan}").json()["notes"][0]["text"] == "fan is polite"
    assert all(m["text"] != "fan is polite" for m in desk.history(fan)["messages"])
    assert agent.get("/canned").json()["replies"][0]["zh"]

    draft = agent.post(
        "/knowledge",
        json={"question": "Can I bring a flag?", "answer": "Yes, up to 1x2 m.", "language": "en"},
    )
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    draft_id = draft.json()["id"]
    assert agent.post(f"/knowledge/{draft_id}/approve", json={}).status_code == 403
    approved = supervisor.post(
        f"/knowledge/{draft_id}/approve",
        json={"answer_zh": "可以，最大 1x2 米。", "topic": "stadium_entry"},
    )
    assert approved.status_code == 200 and approved.json() == {
        "id": draft_id,
        "status": "published",
    }
    assert supervisor.post(f"/knowledge/{draft_id}/approve", json={}).status_code == 409
    bad_topic = agent.post(
        "/knowledge", json={"question": "q", "answer": "a", "language": "en", "topic": "nope"}
    )
    assert bad_topic.status_code == 422

    actions = [e["action"] for e in supervisor.get("/audit").json()["entries"]]
    for action in ("login", "claim", "note", "knowledge_draft", "knowledge_published"):
        assert action in actions


def test_supervisor_sees_agents_and_reassigns(desk: Desk) -> None:
    supervisor = desk.agent(new_id("sup"), role="supervisor")
    first_name, second_name = new_id("a"), new_id("b")
    first = desk.agent(first_name)
    desk.add_agent(second_name)
    fan = new_id()
    desk.fan(fan, "/human")
    first.post(f"/conversations/{fan}/claim")
    agents = {a["username"]: a for a in supervisor.get("/agents").json()["agents"]}
    assert agents[first_name]["online"] and agents[first_name]["open_conversations"] == 1
    assert not agents[second_name]["online"]
    moved = supervisor.post(f"/conversations/{fan}/assign", json={"username": second_name})
    assert moved.status_code == 200 and moved.json()["owner"] == second_name
    refused = first.post(f"/conversations/{fan}/messages", json={"text": "still me?"})
    assert refused.status_code == 403
    assert (
        first.post(f"/conversations/{fan}/assign", json={"username": first_name}).status_code == 403
    )
    live = supervisor.get("/queue", params={"include_claimed": "true"}).json()["conversations"]
    assert next(c for c in live if c["id"] == fan)["owner"] == second_name
