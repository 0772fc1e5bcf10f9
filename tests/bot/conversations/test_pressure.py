"""Back-pressure (bot/conversations/service.py): more messages than the assistant can take
in time are each answered once, in order, and none is lost; what cannot be taken is
refused before anything is stored."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_API_KEY, make_settings
from tests.support.fake_rasa import FakeRasa, fake_rasa
from tests.support.server import live_gateway

HEADERS = {"Authorization": f"Bearer {TEST_API_KEY}"}
ONE_MOMENT = "One moment, please"


@pytest.fixture
def slow_rasa() -> Iterator[FakeRasa]:
    with fake_rasa() as fake:
        fake.delay_s = 0.25
        yield fake


def _gateway(sqlite_url: str, rasa: FakeRasa, **pressure: str) -> Any:
    settings = make_settings(
        sqlite_url,
        MATCHDAY_RASA_PORT=str(rasa.port),
        MATCHDAY_REPLY_PATIENCE="0.4",
        MATCHDAY_ASSISTANT_CONCURRENCY="2",
        **pressure,
    )
    return live_gateway(settings)


async def _post(
    client: httpx.AsyncClient, conversation: str, text: str, client_id: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"text": text, "client_message_id": client_id},
    )


def test_an_overload_is_answered_once_in_order_and_nothing_is_lost(
    sqlite_url: str, slow_rasa: FakeRasa
) -> None:
    # 12 conversations x 4 messages, all sent at once: at 2 at a time and 0.25 s each the
    # assistant needs 6 s, far past the 0.4 s patience.
    conversations = [f"over-{uuid.uuid4().hex[:8]}" for _ in range(12)]
    texts = [f"question {n} about tickets" for n in range(4)]

    async def fan(client: httpx.AsyncClient, conversation: str) -> list[httpx.Response]:
        sent = []
        for n, text in enumerate(texts):  # one after another, without waiting for answers
            sent.append(asyncio.create_task(_post(client, conversation, text, f"{n}")))
            await asyncio.sleep(0.02)
        return list(await asyncio.gather(*sent))

    async def overload(base_url: str) -> list[list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=60) as client:
            return list(await asyncio.gather(*(fan(client, c) for c in conversations)))

    with _gateway(sqlite_url, slow_rasa, MATCHDAY_CONVERSATION_QUEUE="10") as base_url:
        answers = asyncio.run(overload(base_url))
        codes = [r.status_code for responses in answers for r in responses]
        assert set(codes) <= {200, 202}, codes
        pending = [r.json() for responses in answers for r in responses if r.status_code == 202]
        assert pending, "no message waited past the patience"
        for body in pending:  # told "one moment", not left in silence
            assert body["pending"] is True
            assert body["replies"][0]["text"].startswith(ONE_MOMENT)
        # The pending answers come: wait until every conversation has its four.
        with httpx.Client(base_url=base_url, headers=HEADERS, timeout=30) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                histories = [
                    client.get(f"/api/v1/conversations/{c}/messages").json()["messages"]
                    for c in conversations
                ]
                if all(sum(m["sender"] == "bot" for m in h) == 4 for h in histories):
                    break
                time.sleep(0.5)
        # Every message reached the assistant once, in the order its fan sent it ...
        for conversation in conversations:
            received = [b["message"] for b in slow_rasa.received if b["sender"] == conversation]
            assert received == texts, (conversation, received)
        assert slow_rasa.most_busy <= 2  # ... never more than the concurrency at once
        # ... and every answer is stored, the pending ones included, each after its question.
        with httpx.Client(base_url=base_url, headers=HEADERS, timeout=30) as client:
            for conversation in conversations:
                history = client.get(f"/api/v1/conversations/{conversation}/messages").json()
                said = [
                    (m["sender"], m["text"])
                    for m in history["messages"]
                    if m["sender"] in ("fan", "bot")
                ]
                expected = [pair for text in texts for pair in (("fan", text), ("bot", text))]
                assert [(s, t if s == "fan" else t.split(": ", 1)[1]) for s, t in said] == (
                    expected
                ), said


def test_what_cannot_be_taken_is_refused_before_anything_is_stored(
    sqlite_url: str, slow_rasa: FakeRasa
) -> None:
    conversation = f"full-{uuid.uuid4().hex[:8]}"

    async def burst(base_url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=60) as client:
            sent = []
            for n in range(5):
                sent.append(asyncio.create_task(_post(client, conversation, f"m{n}", f"{n}")))
                await asyncio.sleep(0.02)
            return list(await asyncio.gather(*sent))

    with _gateway(sqlite_url, slow_rasa, MATCHDAY_CONVERSATION_QUEUE="2") as base_url:
        answers = asyncio.run(burst(base_url))
        refused = [r for r in answers if r.status_code == 429]
        taken = [r for r in answers if r.status_code in (200, 202)]
        assert len(taken) >= 2 and refused, [r.status_code for r in answers]
        for response in refused:
            assert response.json()["error"]["code"] == "conversation_busy"
            assert int(response.headers["Retry-After"]) > 0
        with httpx.Client(base_url=base_url, headers=HEADERS, timeout=30) as client:
            # A retry of a refused message, once the conversation is free, is processed once.
            retry = answers.index(refused[0])
            again = client.post(
                f"/api/v1/conversations/{conversation}/messages",
                json={"text": f"m{retry}", "client_message_id": f"{retry}"},
            )
            assert again.status_code == 200, again.text
            history = client.get(f"/api/v1/conversations/{conversation}/messages").json()
        fan_texts = [m["text"] for m in history["messages"] if m["sender"] == "fan"]
        taken_texts = [f"m{answers.index(r)}" for r in taken]
        assert fan_texts == [*taken_texts, f"m{retry}"]  # refused ones left no trace
        received = [b["message"] for b in slow_rasa.received if b["sender"] == conversation]
        assert received == fan_texts


def test_a_widget_fan_is_told_one_moment_and_then_answered(
    sqlite_url: str, slow_rasa: FakeRasa
) -> None:
    from tests.bot.channels.webchat.conftest import serving, widget_settings

    slow_rasa.delay_s = 1.0
    settings = widget_settings(sqlite_url, slow_rasa, MATCHDAY_REPLY_PATIENCE="0.3")
    with serving(settings) as widget:
        session = widget.session()
        with widget.socket(session["token"]) as socket:
            frames = socket.say("w-1", "你好，有票吗", language="zh")
    kinds = [f["type"] for f in frames]
    notes = [f for f in frames if f["type"] == "typing" and f.get("note")]
    assert len(notes) == 1 and notes[0]["note"].startswith("请稍候")  # in the fan's language
    # ... then the answer, then the ack: the message was processed, once.
    assert kinds.index("typing", kinds.index("typing") + 1) < kinds.index("ack")
    answers = [f["message"] for f in frames if f["type"] == "message"]
    assert [m["sender"] for m in answers] == ["fan", "bot"]
    assert [
        b["message"] for b in slow_rasa.received if b["sender"] == session["conversation_id"]
    ] == ["你好，有票吗"]
