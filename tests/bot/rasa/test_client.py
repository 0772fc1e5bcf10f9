"""bot/rasa/client.py: the gateway's client of its Rasa servers, one or several."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.rasa.client import RasaClient, server_for
from tests.support.fake_rasa import TOKEN, fake_rasa


def test_conversations_are_spread_and_each_stays_on_one_server() -> None:
    with fake_rasa() as first, fake_rasa() as second:
        urls = [f"http://127.0.0.1:{first.port}", f"http://127.0.0.1:{second.port}"]

        async def talk() -> None:
            client = RasaClient(urls, TOKEN)
            try:
                for n in range(20):
                    for text in ("hi", "how much are tickets?"):
                        answer = await client.send(f"conv-{n}", text, {"language": "en"})
                        assert answer.messages and answer.turn is not None
            finally:
                await client.aclose()

        asyncio.run(talk())
        by_server = [Counter(b["sender"] for b in fake.received) for fake in (first, second)]
    assert all(by_server), by_server  # both servers take conversations
    for n in range(20):  # each conversation on one server only, both its messages there
        homes = [i for i, seen in enumerate(by_server) if seen[f"conv-{n}"]]
        assert homes == [server_for(f"conv-{n}", 2)]
        assert by_server[homes[0]][f"conv-{n}"] == 2


def test_near_ids_spread_evenly() -> None:
    counts = Counter(server_for(f"web-{n}", 2) for n in range(2000))
    assert 900 < counts[0] < 1100
    assert Counter(server_for(f"smoke-{n}", 3) for n in range(300)).keys() == {0, 1, 2}
