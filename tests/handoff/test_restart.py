"""A gateway restart in the middle of a handoff loses nothing: queue entry, messages,
assignment, the agent's session and the router's memory all live in the database."""

from __future__ import annotations

import httpx

from tests.handoff.conftest import Desk, desk_settings, new_id
from tests.support.fake_rasa import FakeRasa
from tests.support.server import live_gateway


def test_restart_mid_handoff(database_url: str, rasa: FakeRasa) -> None:
    settings = desk_settings(database_url, rasa)
    queued_fan, held_fan, struggling_fan = new_id("q"), new_id("held"), new_id("low")
    with live_gateway(settings) as base_url:
        desk = Desk(base_url, database_url)
        agent = desk.agent("alice")
        token = agent.headers["Authorization"]
        desk.fan(queued_fan, "/human")
        desk.fan(queued_fan, "waiting 1")
        desk.fan(held_fan, "I need a human")
        agent.post(f"/conversations/{held_fan}/claim")
        agent.post(f"/conversations/{held_fan}/messages", json={"text": "Hi from Alice"})
        desk.fan(held_fan, "thanks Alice")
        desk.fan(struggling_fan, "hmm one")  # a first miss
        before = {fan: desk.history(fan)["messages"] for fan in (queued_fan, held_fan)}

    with live_gateway(settings) as base_url:
        desk = Desk(base_url, database_url)
        # The session opened before the restart still works.
        agent = httpx.Client(
            base_url=f"{base_url}/api/v1/agent", headers={"Authorization": token}, timeout=30
        )
        assert agent.get("/me").status_code == 200
        for fan in (queued_fan, held_fan):
            assert desk.history(fan)["messages"] == before[fan]
        queue = {c["id"]: c for c in agent.get("/queue").json()["conversations"]}
        assert queue[queued_fan]["status"] == "queued"
        mine = [c["id"] for c in agent.get("/conversations").json()["conversations"]]
        assert held_fan in mine
        view = agent.get(f"/conversations/{held_fan}").json()
        assert view["status"] == "with_agent" and view["owner"] == "alice"
        assert desk.fan(held_fan, "after the restart")["replies"] == []
        assert agent.post(f"/conversations/{held_fan}/messages", json={"text": "still here"})
        assert desk.history(held_fan)["messages"][-1]["text"] == "still here"
        assert desk.fan(queued_fan, "waiting 2")["status"] == "queued"
        claimed = agent.post(f"/conversations/{queued_fan}/claim")
        assert claimed.status_code == 200
        fan_texts = [
            m["text"]
            for m in agent.get(f"/conversations/{queued_fan}").json()["messages"]
            if m["sender"] == "fan"
        ]
        assert fan_texts == ["/human", "waiting 1", "waiting 2"]
        assert desk.fan(struggling_fan, "hmm two")["status"] == "queued", "memory survived"
