"""Group chats: the bot answers general questions when addressed, takes a fan's own
tickets and orders to a private chat, keeps one conversation per member, and never
posts a QR code or order details to the group (the stand-in Bot API records every
call, so a sendPhoto to the group would show)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Chat, Message, MessageEntity, User

from bot.channels.telegram.chats import ChatStore, chat_of, conversation_id
from bot.channels.telegram.delivery import ChatDelivery, Outgoing
from bot.channels.telegram.groups import (
    GroupRules,
    addressed,
    payload_of,
    private_link,
    start_argument,
    without_mention,
)
from core.db import engine_for, make_sessionmaker
from core.media import signed_path, ticket_qr_path
from core.texts import text as catalogue_text
from tests.bot.channels.telegram.conftest import MEDIA_SECRET, TelegramDesk, telegram_desk
from tests.conftest import TEST_API_KEY
from tests.support import orders
from tests.support.databases import migrated
from tests.support.fake_rasa import Answer, Script, fake_rasa
from tests.support.telegram_api import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USERNAME,
    FakeBotApi,
    text_message,
    user,
)
from tests.ticketing.conftest import load_club
from ticketing.tickets import ticket_views

GROUP, OTHER_GROUP = -1_001_555_000_111, -4_242
_groups = itertools.count(-1_001_555_000_200, -1)
BOT = f"@{BOT_USERNAME}"
_users = itertools.count(90_000)
_message_ids = itertools.count(7000)

# --- the scripted assistant: what it would answer if the channel let it ------------------

# Filled by the `desk` fixture: a real ticket's signed QR link and its order reference.
SHOWN: dict[str, str] = {}


def _group_answer(text: str, language: str) -> Answer:
    lowered = text.lower()
    if "my tickets" in lowered or "我的票" in text:
        messages = [{"text": f"({language}) Your tickets:"}, {"image": SHOWN["link"]}]
        return Answer(messages, "order_status", 0.95)
    if "refund" in lowered:
        return Answer([{"text": "Which order?"}], "refund", 0.93)
    if "cat 1" in lowered:  # a bare answer outside a form starts buying
        return Answer([{"text": "Which match?"}], "inform", 0.9, active_loop="buy_form")
    if "fixtures" in lowered:
        buttons = [
            {"title": "Tickets v Harbour City", "payload": '/buy_tickets{"fixture":"2"}'},
            {"title": "Step-free entry?", "payload": '/faq_other{"faq_id":"step-free"}'},
        ]
        return Answer([{"text": "Matches this week:", "buttons": buttons}], "match_availability", 1)
    if "misbehave" in lowered:  # a general-looking question the dialogue answers wrongly
        messages = [
            {"text": f"Your order {SHOWN['ref']} is confirmed."},
            {"image": SHOWN["link"]},
            {"text": "Gates open two hours before kick-off."},
        ]
        return Answer(messages, "stadium_entry", 0.9)
    return Answer([{"text": f"({language}) bot answer: {text}"}], "faq_other", 0.9)


GROUP_SCRIPT = Script(_group_answer, slots={}, untouched=("faq_other", 0.9))


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TelegramDesk]:
    """The channel against the stand-in Bot API, a member who bought a ticket, and the
    scripted assistant above."""
    folder = tmp_path_factory.mktemp("groups")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MATCHDAY_KEYS_DIR", str(folder / "keys"))
        url = migrated(f"sqlite:///{folder / 'desk.db'}")
        club = load_club(url, Path(folder) / "club")
        with fake_rasa(GROUP_SCRIPT) as rasa, telegram_desk(url, rasa) as desk:
            desk.api.wait_for(lambda: desk.api.method_calls("getUpdates"), 20, "polling")
            headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
            with httpx.Client(base_url=desk.base_url, headers=headers, timeout=30) as client:
                order = orders.buy(client, f"tg:{next(_users)}", club.fixture, 1)
            with club.db() as session:
                [ticket] = ticket_views(session, [order["tickets"][0]["id"]])
            path = signed_path(MEDIA_SECRET, ticket_qr_path(ticket.id, ticket.version))
            SHOWN.update(link=f"{desk.base_url}{path}", ref=str(order["order_id"]))
            yield desk


# --- updates from a group, as Telegram sends them -------------------------------------------


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def group_message(
    user_id: int,
    text: str,
    *,
    group: int = GROUP,
    language_code: str = "en",
    reply_to_bot: bool = False,
) -> dict[str, Any]:
    """A member's message in a supergroup, with the entities Telegram marks."""
    entities: list[dict[str, Any]] = []
    if text.startswith("/"):
        entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
    at = text.find(BOT)
    if at >= 0:
        entities.append({"type": "mention", "offset": _utf16(text[:at]), "length": len(BOT)})
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "from": user(user_id, language_code),
        "chat": {"id": group, "title": "Riverside fans", "type": "supergroup"},
        "date": int(time.time()),
        "text": text,
    }
    if entities:
        message["entities"] = entities
    if reply_to_bot:
        message["reply_to_message"] = {
            "message_id": 1,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Riverside"},
            "chat": message["chat"],
            "date": int(time.time()),
            "text": "Gates open two hours before kick-off.",
        }
    return {"message": message}


def group_button_press(user_id: int, data: str, group: int = GROUP) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": f"cbq-{user_id}-{next(_message_ids)}",
            "from": user(user_id),
            "message": {
                "message_id": 1,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Riverside"},
                "chat": {"id": group, "title": "Riverside fans", "type": "supergroup"},
                "date": int(time.time()),
                "text": "…",
            },
            "chat_instance": "-987654321",
            "data": data,
        }
    }


def to_rasa(desk: TelegramDesk, conversation: str) -> list[dict[str, Any]]:
    return [r for r in desk.rasa.received if r["sender"] == conversation]


def urls(api: FakeBotApi, chat_id: int) -> list[str]:
    return [
        b["url"]
        for c in api.calls_to(chat_id, "sendMessage")
        for row in c.keyboard
        for b in row
        if "url" in b
    ]


def said_in(api: FakeBotApi, chat_id: int, *needles: str) -> list[str]:
    """The messages to the chat that contain every needle."""
    return [t for t in api.texts_to(chat_id) if all(n in t for n in needles)]


def wait_said(api: FakeBotApi, chat_id: int, *needles: str) -> str:
    found: list[str] = api.wait_for(lambda: said_in(api, chat_id, *needles), 30, str(needles))
    return found[-1]


def pointer(language: str, name: str = "Fan") -> str:
    return catalogue_text("telegram.group.private_only", language, name=name)


# --- the fan's own tickets: a private chat ------------------------------------------------


def test_my_tickets_asked_in_a_group_get_a_pointer_to_the_private_chat(desk: TelegramDesk) -> None:
    english, chinese = next(_users), next(_users)
    desk.api.push(group_message(english, f"{BOT} show my tickets"))
    desk.api.push(group_message(chinese, f"{BOT} 我的票", language_code="zh-hans"))
    wait_said(desk.api, GROUP, pointer("en"))
    wait_said(desk.api, GROUP, pointer("zh"))
    link = f"https://t.me/{BOT_USERNAME}?start=order_status"
    assert urls(desk.api, GROUP).count(link) == 2, "a button opening the private chat"
    buttons = [b for c in desk.api.calls_to(GROUP, "sendMessage") for r in c.keyboard for b in r]
    titles = {catalogue_text("telegram.group.open_private", lang) for lang in ("en", "zh")}
    assert {b["text"] for b in buttons if b.get("url") == link} == titles
    assert desk.api.calls_to(GROUP, "sendPhoto") == []
    for member in (english, chinese):
        assert to_rasa(desk, f"tg-{GROUP}-u{member}") == [], "no turn in the group"


def test_a_refund_a_purchase_or_a_person_in_a_group_never_reaches_the_dialogue(
    desk: TelegramDesk,
) -> None:
    fan, group = next(_users), next(_groups)
    desk.api.push(group_message(fan, f"{BOT} I want a refund", group=group))
    desk.api.push(group_button_press(fan, 'p:/buy_tickets{"fixture":"7"}', group=group))
    desk.api.push(group_message(fan, f"/human@{BOT_USERNAME}", group=group))
    desk.api.push(group_message(fan, "/start fixture_9", group=group))
    desk.api.push(group_message(fan, f"{BOT} 2 in cat 1", group=group))
    desk.api.wait_for(lambda: len(said_in(desk.api, group, pointer("en"))) >= 5, 30, "5 pointers")
    assert sorted(urls(desk.api, group)) == sorted(
        f"https://t.me/{BOT_USERNAME}?start={topic}"
        for topic in ("refund", "fixture_7", "talk_to_human", "fixture_9", "buy_tickets")
    )
    assert to_rasa(desk, f"tg-{group}-u{fan}") == []


def test_no_qr_code_or_order_reference_is_posted_in_a_group_even_if_the_assistant_sends_one(
    desk: TelegramDesk,
) -> None:
    fan, group = next(_users), next(_groups)
    desk.api.push(group_message(fan, f"{BOT} misbehave: when do gates open?", group=group))
    withheld = catalogue_text("telegram.group.withheld", "en", name="Fan")
    wait_said(desk.api, group, withheld)
    assert [r["message"] for r in to_rasa(desk, f"tg-{group}-u{fan}")] == [
        "misbehave: when do gates open?"
    ]
    assert said_in(desk.api, group, "Gates open two hours"), "the general part is posted"
    assert desk.api.calls_to(group, "sendPhoto") == []
    assert said_in(desk.api, group, SHOWN["ref"]) == []
    assert said_in(desk.api, group, "/media/tickets/") == []
    assert urls(desk.api, group) == [f"https://t.me/{BOT_USERNAME}?start=private"]


def test_the_last_guard_sends_no_photo_ticket_link_or_order_reference_to_a_group(
    desk: TelegramDesk,
) -> None:
    """Whoever asks ChatDelivery (a notice, an agent, a bug): a group gets none of it."""
    sessions = make_sessionmaker(engine_for(desk.database_url))
    fan = next(_users)

    async def send() -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(desk.api.base_url))
        bot = Bot(BOT_TOKEN, session=session)
        rules = GroupRules(sessions, lambda text: asyncio.sleep(0, {}))
        delivery = ChatDelivery(bot, ChatStore(sessions), private_text=rules.private_text)
        items = [
            Outgoing("Ticket 1/1: seat W2-F-17", photo=b"\x89PNG not really"),
            Outgoing(f"Your order {SHOWN['ref']} is confirmed."),
            Outgoing(f"Your ticket: {SHOWN['link']}"),
            Outgoing("Gates open two hours before kick-off."),
        ]
        try:
            await delivery.send(OTHER_GROUP, items)
            await delivery.send(fan, items)  # a private chat: everything
        finally:
            await bot.session.close()

    asyncio.run(send())
    assert desk.api.calls_to(OTHER_GROUP, "sendPhoto") == []
    assert desk.api.texts_to(OTHER_GROUP) == ["Gates open two hours before kick-off."]
    assert len(desk.api.calls_to(fan, "sendPhoto")) == 1
    assert len(desk.api.texts_to(fan)) == 4


# --- general questions: answered in the group -----------------------------------------------


def test_a_general_question_in_a_group_is_answered_there(desk: TelegramDesk) -> None:
    fan, group = next(_users), next(_groups)
    desk.api.push(group_message(fan, "anyone going on Saturday?", group=group))  # not for us
    desk.api.push(group_message(fan, f"{BOT} when do gates open?", group=group))
    wait_said(desk.api, group, "(en) bot answer: when do gates open?")
    desk.api.push(group_message(fan, "and is there parking?", group=group, reply_to_bot=True))
    wait_said(desk.api, group, "(en) bot answer: and is there parking?")
    [first, second] = to_rasa(desk, f"tg-{group}-u{fan}")
    assert [first["message"], second["message"]] == ["when do gates open?", "and is there parking?"]
    metadata = first["metadata"]
    assert metadata["customer"] == f"tg:{fan}"
    assert metadata["client"]["telegram"]["chat_type"] == "group"
    assert said_in(desk.api, group, "Saturday") == []


def test_buying_from_a_fixture_list_in_a_group_is_a_link_to_the_private_chat(
    desk: TelegramDesk,
) -> None:
    fan, group = next(_users), next(_groups)
    desk.api.push(group_message(fan, f"{BOT} fixtures this week?", group=group))
    wait_said(desk.api, group, "Matches this week:")
    [listing] = desk.api.calls_to(group, "sendMessage")
    [buy, faq] = [b for row in listing.keyboard for b in row]
    assert buy == {
        "text": "Tickets v Harbour City",
        "url": f"https://t.me/{BOT_USERNAME}?start=fixture_2",
    }
    assert faq["callback_data"].startswith("p:/faq_other")
    desk.api.push(group_button_press(fan, faq["callback_data"], group=group))
    wait_said(desk.api, group, 'bot answer: /faq_other{"faq_id":"step-free"}')
    typed = '/faq_other{"faq_id":"secret-entry"}'  # typed intent syntax is plain text
    desk.api.push(group_message(fan, f"{BOT} {typed}", group=group))
    wait_said(desk.api, group, "secret-entry")
    said = [r["message"] for r in to_rasa(desk, f"tg-{group}-u{fan}")]
    assert said[1:] == ['/faq_other{"faq_id":"step-free"}', typed.lstrip("/")]


def test_two_members_of_a_group_have_separate_conversations(desk: TelegramDesk) -> None:
    first, second, group = next(_users), next(_users), next(_groups)
    desk.api.push(group_message(first, f"{BOT} hello from one", group=group))
    wait_said(desk.api, group, "hello from one")
    desk.api.push(group_message(second, f"{BOT} hello from two", group=group))
    wait_said(desk.api, group, "hello from two")
    for member, words in ((first, "hello from one"), (second, "hello from two")):
        [turn] = to_rasa(desk, f"tg-{group}-u{member}")
        assert turn["message"] == words
        assert turn["metadata"]["customer"] == f"tg:{member}"
    assert to_rasa(desk, f"tg-{group}") == [], "no conversation shared by the group"


# --- private chats: as before, and the group's deep link ----------------------------------


def test_private_chats_are_unchanged_and_keep_their_tickets(desk: TelegramDesk) -> None:
    fan = next(_users)
    desk.api.push(text_message(fan, "show my tickets"))
    desk.api.wait_for(lambda: desk.api.calls_to(fan, "sendPhoto"), 30, "the QR photo")
    [turn] = to_rasa(desk, f"tg-{fan}")
    assert turn["metadata"]["customer"] == f"tg:{fan}"
    assert turn["metadata"]["client"]["telegram"]["chat_type"] == "private"
    assert said_in(desk.api, fan, "Your tickets:")


def test_the_deep_link_from_a_group_opens_the_private_chat_on_its_topic(
    desk: TelegramDesk,
) -> None:
    fan = next(_users)
    desk.api.push(text_message(fan, "/start order_status"))
    wait_said(desk.api, fan, "bot answer: /order_status")
    assert [r["message"] for r in to_rasa(desk, f"tg-{fan}")] == ["/order_status"]


# --- the rules, one by one ---------------------------------------------------------------


def test_member_conversations_name_their_group() -> None:
    assert conversation_id(GROUP, 42) == f"tg-{GROUP}-u42"
    assert chat_of(f"tg-{GROUP}-u42") == GROUP and chat_of("tg-42") == 42
    for broken in (f"tg-{GROUP}-u-4", "tg--u4", f"tg-{GROUP}-u", "tg-x-u4"):
        assert chat_of(broken) is None


def _message(text: str, entities: list[MessageEntity], reply_from: User | None = None) -> Message:
    chat = Chat(id=GROUP, type="supergroup")
    replied = None
    if reply_from is not None:
        replied = Message(message_id=1, date=0, chat=chat, from_user=reply_from, text="…")
    return Message(
        message_id=2,
        date=0,
        chat=chat,
        from_user=User(id=7, is_bot=False, first_name="Fan"),
        text=text,
        entities=entities,
        reply_to_message=replied,
    )


def test_a_group_message_is_for_the_bot_when_it_names_or_answers_it() -> None:
    me = User(id=BOT_ID, is_bot=True, first_name="Riverside", username=BOT_USERNAME)
    other = User(id=5, is_bot=True, first_name="Other", username="other_bot")

    def command(text: str) -> Message:
        length = len(text.split()[0])
        return _message(text, [MessageEntity(type="bot_command", offset=0, length=length)])

    assert addressed(command("/help"), me)
    assert addressed(command(f"/help@{BOT_USERNAME.upper()}"), me)
    assert not addressed(command("/help@other_bot"), me)
    mention = "⚽ 喂 @riverside_test_bot 几点开门"  # the ball counts two UTF-16 units
    offset = len(mention[: mention.index("@")].encode("utf-16-le")) // 2
    assert addressed(
        _message(mention, [MessageEntity(type="mention", offset=offset, length=19)]), me
    )
    assert not addressed(
        _message("@other_bot hi", [MessageEntity(type="mention", offset=0, length=10)]), me
    )
    assert addressed(_message("and parking?", [], reply_from=me), me)
    assert not addressed(_message("and parking?", [], reply_from=other), me)
    assert not addressed(_message("gates open at six", []), me)
    assert without_mention(f"{BOT} when? {BOT.upper()}", BOT_USERNAME) == "when?"


def test_payloads_and_start_arguments() -> None:
    found = payload_of('/buy_tickets{"fixture":"2"}')
    assert found is not None and (found.intent, found.entities) == ("buy_tickets", {"fixture": "2"})
    assert payload_of("/refund") is not None
    for text in ("/buy tickets", '/x{"a":', "/x[1]", "hello"):
        assert payload_of(text) is None
    assert start_argument("buy_tickets", {"fixture": "2"}) == "fixture_2"
    assert start_argument("buy_tickets", {"fixture": "x"}) == "buy_tickets"
    assert start_argument("inform") == "buy_tickets"
    assert start_argument("stadium_entry") == "private"
    assert private_link(BOT_USERNAME, "refund") == f"https://t.me/{BOT_USERNAME}?start=refund"
    assert private_link(BOT_USERNAME, "no spaces!") == f"https://t.me/{BOT_USERNAME}?start=private"
    assert private_link(None, "refund") is None
