"""Two agents claiming the same conversation at the same instant: exactly one wins.

Runs on SQLite and on PostgreSQL, over real HTTP, with the two claims released by a
barrier; several rounds, so the race is really run.
"""

from __future__ import annotations

import threading

import httpx

from tests.handoff.conftest import Desk, desk_settings, new_id
from tests.support.fake_rasa import FakeRasa
from tests.support.server import live_gateway

ROUNDS = 6


def _race(clients: list[httpx.Client], conversation_id: str) -> list[httpx.Response]:
    barrier = threading.Barrier(len(clients))
    results: list[httpx.Response | None] = [None] * len(clients)

    def claim(index: int) -> None:
        barrier.wait()
        results[index] = clients[index].post(f"/conversations/{conversation_id}/claim")

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_exactly_one_claim_wins(database_url: str, rasa: FakeRasa) -> None:
    with live_gateway(desk_settings(database_url, rasa)) as base_url:
        desk = Desk(base_url, database_url)
        alice, bob = desk.agent("alice"), desk.agent("bob")
        for _ in range(ROUNDS):
            fan = new_id()
            assert desk.fan(fan, "/human")["status"] == "queued"
            responses = _race([alice, bob], fan)
            codes = sorted(r.status_code for r in responses)
            assert codes == [200, 409], [r.text for r in responses]
            winner = next(r for r in responses if r.status_code == 200).json()["owner"]
            loser = next(r for r in responses if r.status_code == 409).json()
            assert loser["error"]["code"] == "already_claimed"
            view = alice.get(f"/conversations/{fan}") if winner == "alice" else None
            if view is not None:
                assert view.json()["owner"] == "alice"
            joined = [
                m
                for m in desk.history(fan)["messages"]
                if m["sender"] == "system" and "joined" in m["text"]
            ]
            assert len(joined) == 1, "the fan is told once"
